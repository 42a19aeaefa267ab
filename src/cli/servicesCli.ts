// What the HTTP-service commands (`jobs`, `logs`) share: a fetch that gives up on a silent
// service, and turning a failed connection into the exit code and a message naming the flag
// that points at the service.

import { CliError, ExitCode } from './exitCodes.js';

/** A request (not a stream) gets this long before the service counts as unreachable. */
export const requestTimeoutMs = 15_000;

/** fetch with a deadline unless the caller brings its own signal (streams end on Ctrl-C, not a timer). */
export const fetchWithTimeout: typeof fetch = (input, init = {}) =>
  fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(requestTimeoutMs) });

/** True for a connection-level failure of fetch or ws (refused, reset, DNS, timeout), not an HTTP answer. */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'TimeoutError') return true;
  if (e instanceof TypeError && /fetch failed/i.test(e.message)) return true;
  const code = (e as NodeJS.ErrnoException).code ?? ((e.cause as NodeJS.ErrnoException | undefined)?.code as string | undefined);
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE)$/.test(code);
}

/** The CliError (exit 6) for a service that did not answer, naming the flag to change. */
export function unreachable(what: string, url: string, flag: string, e: unknown): CliError {
  const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
  return new CliError(`cannot reach ${what} at ${url} (${cause}); is it running? Point ${flag} at it`, ExitCode.unavailable);
}

/** Parses a duration like 500ms, 30s, 15m, 1h, 2d (a bare number is seconds) into milliseconds. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new CliError(`${flag} must be a duration like 30s, 15m, 1h or 2d, got ${JSON.stringify(text)}`, ExitCode.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Parses an RFC 3339 time (or epoch milliseconds) into milliseconds. */
export function parseTimeMs(text: string, flag: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new CliError(`${flag} must be an RFC 3339 time like 2026-12-07T05:00:00Z, got ${JSON.stringify(text)}`, ExitCode.usage);
  return ms;
}

/** Normalizes a --url value (no trailing slash) or explains what is wrong with it. */
export function baseUrl(text: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(`${flag} must be a URL like http://127.0.0.1:8081, got ${JSON.stringify(text)}`, ExitCode.usage);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`${flag} must be an http or https URL, got ${JSON.stringify(text)}`, ExitCode.usage);
  return text.replace(/\/+$/, '');
}

/** Calls fn on the first SIGINT/SIGTERM (Ctrl-C ends a watch or tail cleanly); call the result to stop listening. */
export function onInterrupt(fn: () => void): () => void {
  const handler = (): void => fn();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
