// Bounds how far V8 lets the old generation grow between full collections.
//
// After a full GC V8 lets the old generation grow by a factor it picks from GC and mutator speed
// (up to 4x the live size) before collecting again. A ZooKeeper server holds a large, long-lived
// tree and allocates short-lived request objects at a high rate: with a million znodes (~210 MB
// live) the heap grew to ~370 MB of mostly garbage and RSS to ~600 MB. A fixed factor of 1.2 keeps
// RSS near the live size for a few more full collections, whose marking runs concurrently.
// `--heap-growing-percent` is read at each collection, so it can be set at run time.
// Measured in docs/PERFORMANCE.md.

import { setFlagsFromString } from 'node:v8';

/** Default old generation growth between full collections, percent of the live size. */
export const HEAP_GROWTH_PERCENT_DEFAULT = 20;

/** Sets V8's old generation growth factor to 1 + percent/100; 0 leaves V8's own heuristics. */
export function limitOldGenerationGrowth(percent: number = HEAP_GROWTH_PERCENT_DEFAULT): void {
  if (!(percent > 0)) return;
  setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}

/** The growth from CLUSTERGENIE_HEAP_GROWTH_PERCENT (0 = V8's own heuristics), else the default. */
export function heapGrowthFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['CLUSTERGENIE_HEAP_GROWTH_PERCENT'];
  if (raw === undefined || raw === '') return HEAP_GROWTH_PERCENT_DEFAULT;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0 || v > 1000) {
    throw new Error(`CLUSTERGENIE_HEAP_GROWTH_PERCENT must be an integer percent from 0 to 1000, got "${raw}"`);
  }
  return v;
}
