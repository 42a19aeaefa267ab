// A FIFO queue with O(1) push/shift: a ring over a power-of-two array. Unlike an array used with
// shift() (O(n) once it grows) or an array trimmed now and then, a steady flow through it
// allocates nothing: the ring only grows (doubling) when full, and goes back to its initial size
// once it empties after a burst. Each item may carry a numeric stamp (a zxid, say), kept in a
// Float64Array beside it so that a stamp above the small-integer range is never boxed.

const CAPACITY_MIN = 16;
/** A ring this big or bigger is dropped for a small one when it empties. */
const CAPACITY_KEEP_MAX = 4096;

export class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(CAPACITY_MIN).fill(undefined);
  private stamps = new Float64Array(CAPACITY_MIN);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(v: T, stamp = 0): void {
    if (this.count === this.items.length) this.resize(this.items.length * 2);
    const at = (this.head + this.count) & (this.items.length - 1);
    this.items[at] = v;
    this.stamps[at] = stamp;
    this.count++;
  }

  peek(): T | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  /** The stamp the oldest item was pushed with (NaN when empty). */
  peekStamp(): number {
    return this.count > 0 ? this.stamps[this.head]! : NaN;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const items = this.items;
    const v = items[this.head];
    items[this.head] = undefined; // the ring must not keep what left it alive
    this.head = (this.head + 1) & (items.length - 1);
    if (--this.count === 0) {
      this.head = 0;
      if (items.length >= CAPACITY_KEEP_MAX) this.resize(CAPACITY_MIN);
    }
    return v;
  }

  /** Remove and return everything, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shift() as T);
    return out;
  }

  /** A ring of `capacity` slots holding the items in order from slot 0 (capacity >= count). */
  private resize(capacity: number): void {
    const items = new Array<T | undefined>(capacity).fill(undefined);
    const stamps = new Float64Array(capacity);
    const mask = this.items.length - 1;
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & mask;
      items[i] = this.items[from];
      stamps[i] = this.stamps[from]!;
    }
    this.items = items;
    this.stamps = stamps;
    this.head = 0;
  }
}
