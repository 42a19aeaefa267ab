// Waiting on conditions with deadlines (never sleeping for correctness).

import type { EventEmitter } from 'node:events';

/** Poll `cond` until it is truthy; fail after `timeoutMs`. Returns the truthy value. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const suffix = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      const what = typeof opts.what === 'function' ? opts.what() : (opts.what ?? 'condition');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

/** The next `event` from `emitter` (its arguments), or an error after `timeoutMs`. */
// biome-ignore lint/suspicious/noExplicitAny: any event map: callers pass emitters with their own typed event maps
export function nextEvent<A extends unknown[] = unknown[]>(emitter: EventEmitter<any>, event: string, timeoutMs = 10_000): Promise<A> {
  return new Promise((resolve, reject) => {
    const on = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event '${event}'`));
    }, timeoutMs);
    emitter.once(event, on);
  });
}

/** Collects values pushed by callbacks; next() waits for the next one with a deadline. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];
  readonly all: T[] = [];

  push = (v: T): void => {
    this.all.push(v);
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  };

  get size(): number {
    return this.items.length;
  }

  next(timeoutMs = 10_000, what = 'value'): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      const w = (x: T): void => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}
