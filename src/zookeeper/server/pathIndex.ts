// Path → slot for the node table: an open-addressing hash table in one Int32Array (linear
// probing, backward-shift deletion, no tombstones) plus the slot → path array. A JS Map costs
// ~30-40 bytes per entry on the V8 heap and a lookup of a path it lacks walks a bucket chain
// through strings scattered over the heap (a cache miss each); here an entry is 2 int32s at
// most half full, and a miss stops at the first bucket whose stored hash differs.
// Pure: NodeTable owns one.

export const NO_SLOT = -1;

const EMPTY = -1;
const INITIAL_BUCKETS = 1024;

/** FNV-1a over UTF-16 code units, then murmur3's finalizer so that sequential names spread. */
export function hashPath(path: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < path.length; k++) h = Math.imul(h ^ path.charCodeAt(k), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class PathIndex {
  /** Bucket b: [2b] the path hash, [2b+1] the slot or EMPTY. */
  private table = PathIndex.emptyTable(INITIAL_BUCKETS);
  private mask = INITIAL_BUCKETS - 1;
  private paths: (string | undefined)[] = [];
  private count = 0;

  private static emptyTable(buckets: number): Int32Array {
    return new Int32Array(buckets * 2).fill(EMPTY);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.table = PathIndex.emptyTable(INITIAL_BUCKETS);
    this.mask = INITIAL_BUCKETS - 1;
    this.paths = [];
    this.count = 0;
  }

  find(path: string): number {
    const t = this.table;
    const mask = this.mask;
    const h = hashPath(path);
    for (let b = h & mask; ; b = (b + 1) & mask) {
      const slot = t[2 * b + 1]!;
      if (slot === EMPTY) return NO_SLOT;
      if (t[2 * b] === h && this.paths[slot] === path) return slot;
    }
  }

  pathAt(slot: number): string | undefined {
    return this.paths[slot];
  }

  /** Adds `path` at `slot`; the caller has checked that the path is absent and the slot free. */
  add(path: string, slot: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    this.insert(hashPath(path), slot);
    this.paths[slot] = path;
    this.count++;
  }

  /** Forgets the path at `slot`, if any. */
  remove(slot: number): void {
    const path = this.paths[slot];
    if (path === undefined) return;
    const t = this.table;
    const mask = this.mask;
    let hole = hashPath(path) & mask;
    while (t[2 * hole + 1] !== slot) hole = (hole + 1) & mask;
    // Backward shift: pull later entries of the probe run into the hole when their home bucket
    // lies at or before it (cyclically), so that every run stays unbroken without tombstones.
    for (let b = (hole + 1) & mask; t[2 * b + 1] !== EMPTY; b = (b + 1) & mask) {
      const home = t[2 * b]! & mask;
      const distHole = (hole - home) & mask;
      const distHere = (b - home) & mask;
      if (distHole <= distHere) {
        t[2 * hole] = t[2 * b]!;
        t[2 * hole + 1] = t[2 * b + 1]!;
        hole = b;
      }
    }
    t[2 * hole + 1] = EMPTY;
    this.paths[slot] = undefined;
    this.count--;
  }

  *keys(): IterableIterator<string> {
    for (const p of this.paths) if (p !== undefined) yield p;
  }

  forEach(f: (path: string, slot: number) => void): void {
    const paths = this.paths;
    for (let slot = 0; slot < paths.length; slot++) {
      const p = paths[slot];
      if (p !== undefined) f(p, slot);
    }
  }

  private insert(h: number, slot: number): void {
    const t = this.table;
    const mask = this.mask;
    let b = h & mask;
    while (t[2 * b + 1] !== EMPTY) b = (b + 1) & mask;
    t[2 * b] = h;
    t[2 * b + 1] = slot;
  }

  private resize(buckets: number): void {
    const old = this.table;
    this.table = PathIndex.emptyTable(buckets);
    this.mask = buckets - 1;
    for (let b = 0; b < old.length; b += 2) if (old[b + 1] !== EMPTY) this.insert(old[b]!, old[b + 1]!);
  }
}
