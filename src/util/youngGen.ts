// Caps V8's young generation for a long-running server process.
//
// V8 grows the young generation ("new space") up to 32 MiB on 64-bit under a steady allocation
// rate and rarely gives it back, so a busy server's RSS carries 32 MiB of mostly-dead objects.
// `--max-semi-space-size` fixes that, but only on the node command line, which a user launching
// `clustergenie zookeeper` does not write. The growth factor, though, is read each time V8 grows
// the space, so it can be changed at run time: once the space has reached the cap, growth is
// switched off. Measured in docs/PERFORMANCE.md (RSS and CPU per operation at several caps).

import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

/** Default cap of the young generation (both semi-spaces), MiB. */
export const YOUNG_GEN_MB_DEFAULT = 16;

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Stops the young generation from growing past `capMb`, checked after each GC until it reaches
 * the cap (the space grows only at a scavenge, by doubling, so it ends at most one step above
 * the cap; an idle server does no checking at all). 0 or less: no cap. Returns a function that
 * stops the check.
 */
export function capYoungGeneration(capMb: number = YOUNG_GEN_MB_DEFAULT): () => void {
  if (!(capMb > 0)) return () => {};
  const capBytes = capMb * 1024 * 1024;
  const check = (): boolean => {
    if (newSpaceBytes() < capBytes) return false;
    setFlagsFromString('--semi-space-growth-factor=1');
    return true;
  };
  if (check()) return () => {};
  const afterGc = new PerformanceObserver(() => {
    if (check()) afterGc.disconnect();
  });
  afterGc.observe({ entryTypes: ['gc'] });
  return () => afterGc.disconnect();
}

/** The cap from CLUSTERGENIE_YOUNG_GEN_MB (MiB; 0 = V8's own sizing), else the default. */
export function youngGenCapFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['CLUSTERGENIE_YOUNG_GEN_MB'];
  if (raw === undefined || raw === '') return YOUNG_GEN_MB_DEFAULT;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`CLUSTERGENIE_YOUNG_GEN_MB must be a number of MiB >= 0, got "${raw}"`);
  return v;
}
