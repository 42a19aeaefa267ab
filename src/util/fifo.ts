// A FIFO queue with O(1) push/shift: a ring over a power-of-two array. Unlike an array used with
// shift() (O(n) once it grows) or an array trimmed now and then, a steady flow through it
// allocates nothing: the ring only grows (doubling) when full, and goes back to its initial size
// once it empties after a burst.

const CAPACITY_MIN = 16;
/** A ring this big or bigger is dropped for a small one when it empties. */
const CAPACITY_KEEP_MAX = 4096;

export class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(CAPACITY_MIN).fill(undefined);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(v: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = v;
    this.count++;
  }

  peek(): T | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const items = this.items;
    const v = items[this.head];
    items[this.head] = undefined; // the ring must not keep what left it alive
    this.head = (this.head + 1) & (items.length - 1);
    if (--this.count === 0) {
      this.head = 0;
      if (items.length >= CAPACITY_KEEP_MAX) this.items = new Array<T | undefined>(CAPACITY_MIN).fill(undefined);
    }
    return v;
  }

  /** Remove and return everything, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shift() as T);
    return out;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
