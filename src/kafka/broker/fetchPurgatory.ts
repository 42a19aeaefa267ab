// Parked Fetch requests (Kafka's DelayedFetch purgatory): a fetch that found fewer than
// min_bytes waits until an append to one of its partitions or its max_wait_ms, whichever comes
// first, and is then answered from a fresh read. Bounded: past fetchWaitersMax a new fetch is
// answered at once with what it has, never queued without limit.

export const fetchWaitersMax = 10_000;

interface Waiter {
  readonly keys: readonly string[];
  readonly wake: () => void;
}

export class FetchPurgatory {
  private readonly byKey = new Map<string, Set<Waiter>>();
  private count = 0;

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Parks until an append to one of `keys` or `maxWaitMs` and resolves true; resolves false at once
   * when the purgatory is full, so the caller answers now instead of looping. With no keys (a fetch
   * naming no partition it can read) only the timer ends the wait, as in Kafka.
   */
  park(keys: readonly string[], maxWaitMs: number): Promise<boolean> {
    if (this.count >= fetchWaitersMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const w: Waiter = {
        keys,
        wake: () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.remove(w);
          resolve(true);
        },
      };
      const timer = setTimeout(w.wake, maxWaitMs);
      timer.unref();
      for (const k of keys) {
        let set = this.byKey.get(k);
        if (!set) {
          set = new Set();
          this.byKey.set(k, set);
        }
        set.add(w);
      }
      this.count++;
    });
  }

  /** Wakes every fetch parked on this partition. */
  appended(topic: string, partition: number): void {
    this.wakeKey(FetchPurgatory.key(topic, partition));
  }

  /** Wakes every fetch parked on the partition with this key (FetchPurgatory.key). */
  wakeKey(key: string): void {
    const set = this.byKey.get(key);
    if (!set) return;
    for (const w of [...set]) w.wake();
  }

  wakeAll(): void {
    for (const set of [...this.byKey.values()]) for (const w of [...set]) w.wake();
  }

  private remove(w: Waiter): void {
    this.count--;
    for (const k of w.keys) {
      const set = this.byKey.get(k);
      if (!set) continue;
      set.delete(w);
      if (set.size === 0) this.byKey.delete(k);
    }
  }
}
