// Detail reads (a topic's partitions and offsets, a group's members and lag) shared by every tab:
// one read per key in flight, its answer reused for `freshMs` (the view's refresh period), so ten
// tabs on one group cost the brokers what one does. Bounded; writes drop the keys they change.

/** Keys remembered at once; the oldest is dropped past this. */
export const sharedReadsMax = 1000;

export class SharedReads {
  private readonly entries = new Map<string, { atMs: number; value: Promise<unknown> }>();

  constructor(
    private readonly freshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value for `key`, read by `read` unless a fresh or in-flight one exists. A failed read is not kept. */
  get<T>(key: string, read: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.atMs < this.freshMs) return hit.value as Promise<T>;
    const value = read();
    this.entries.delete(key);
    this.entries.set(key, { atMs: this.now(), value });
    if (this.entries.size > sharedReadsMax) this.entries.delete(this.entries.keys().next().value!);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Forgets `key` (after a write that changes what it reads). */
  drop(key: string): void {
    this.entries.delete(key);
  }
}
