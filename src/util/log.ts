// Structured logging (pino, JSON lines on stderr). Quiet by default: `warn` unless
// CLUSTERGENIE_LOG_LEVEL (or --log-level) says otherwise.
//
// pino is loaded on the first line actually written, not at import: loading it (~30 CommonJS
// files) costs ~25 ms of CPU, and a server starting at the default level usually writes nothing
// while it starts. Three ensemble members starting at once on two cores pay that three times
// before anyone can vote (docs/PERFORMANCE.md, cold start). A line below the level is dropped
// by the same numeric check pino makes, so what is written does not change.

import { createRequire } from 'node:module';
import type { pino as Pino } from 'pino';

export interface LogFn {
  (obj: object, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}

/** The part of pino's Logger the code uses (a pino logger is one too). */
export interface Logger {
  level: string;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** pino's default levels. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function levelValue(level: string): number {
  const v = LEVELS[level];
  if (v === undefined) throw new Error(`unknown level ${level}`); // pino's message
  return v;
}

let pinoModule: typeof Pino | undefined;
function loadPino(): typeof Pino {
  // Synchronous: pino is CommonJS, and a log call cannot wait.
  pinoModule ??= (createRequire(import.meta.url)('pino') as { pino: typeof Pino }).pino;
  return pinoModule;
}

type Method = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Forwards to a pino logger made on the first call at an enabled level. */
class LazyLogger implements Logger {
  private real: Pino.Logger | undefined;
  private threshold: number;

  constructor(
    private readonly make: () => Pino.Logger,
    private lvl: string,
  ) {
    this.threshold = levelValue(lvl);
  }

  get level(): string {
    return this.lvl; // the setter keeps the real logger's level the same
  }

  set level(level: string) {
    this.threshold = levelValue(level);
    this.lvl = level;
    if (this.real) this.real.level = level;
  }

  private pino(): Pino.Logger {
    if (!this.real) {
      this.real = this.make();
      this.real.level = this.lvl; // a child's level may have been set before it was made
    }
    return this.real;
  }

  private write(method: Method, args: unknown[]): void {
    if (LEVELS[method]! < this.threshold) return;
    (this.pino()[method] as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  /** As pino's child: the parent's bindings and current level. */
  child(bindings: Record<string, unknown>): Logger {
    return new LazyLogger(() => this.pino().child(bindings), this.level);
  }
}

export function createLogger(name: string, level?: string): Logger {
  const lvl = level ?? process.env.CLUSTERGENIE_LOG_LEVEL ?? 'warn';
  return new LazyLogger(() => {
    const pino = loadPino();
    return pino({ name, level: lvl, base: { pid: process.pid } }, pino.destination(2));
  }, lvl);
}

/** A logger that drops everything (tests, embedded use). */
export const silentLogger: Logger = new LazyLogger(() => loadPino()({ level: 'silent' }), 'silent');
