// Bounds how far V8 lets the old generation grow between full collections.
//
// After a full GC V8 lets the old generation grow by a factor it picks from GC and mutator speed
// (up to 4x the live size) before collecting again. When the tree lived on the V8 heap, that took
// a server with a million znodes to ~600 MB of RSS; the tree's bulk is off the heap now
// (server/valueStore.ts, typed-array columns), and the limit mostly keeps a small server's RSS
// under 100 MB (V8's own factor: 98-111 MB in the small-data benchmark workloads). It costs CPU on
// writes that grow the tree (more full GCs): ~15% on 3-node create, measured in docs/PERFORMANCE.md.
// `--heap-growing-percent` is read at each collection, so it can be set at run time.

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
