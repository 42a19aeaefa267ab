// Structured logging (pino, JSON lines on stderr). Quiet by default: `warn` unless
// CLUSTERGENIE_LOG_LEVEL (or --log-level) says otherwise.

import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(name: string, level?: string): Logger {
  return pino(
    { name, level: level ?? process.env.CLUSTERGENIE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } },
    pino.destination(2),
  );
}

/** A logger that drops everything (tests, embedded use). */
export const silentLogger: Logger = pino({ level: 'silent' });
