// Producer ids for InitProducerId, handed out from blocks this broker claims in ZooKeeper
// (/latest_producer_id_block, written by the injected claimBlock). As Kafka's
// RPCProducerIdManager does, the next block is claimed in the background once 90% of the current
// one is used, so InitProducerId rarely waits on ZooKeeper. No id is ever handed out twice: a
// claimed block must lie wholly above every id seen before.

export interface ProducerIdBlock {
  /** First id of the block. */
  start: number;
  /** Last id of the block, inclusive (block_end in the znode). */
  end: number;
}

export interface ProducerIdManagerOptions {
  claimBlock: () => Promise<ProducerIdBlock>;
  /** Share of a block used before the next one is claimed; Kafka uses 0.9. */
  prefetchRatio?: number;
  /** Bound on callers waiting for a block at once; more are refused at once. */
  waitersMax?: number;
}

export class ProducerIdManager {
  private readonly claimBlock: () => Promise<ProducerIdBlock>;
  private readonly prefetchRatio: number;
  private readonly waitersMax: number;
  private current: ProducerIdBlock | undefined;
  private nextInCurrent = 0;
  private prefetched: ProducerIdBlock | undefined;
  private claiming: Promise<void> | undefined;
  /** The highest id of any block accepted so far (-1: none). */
  private highestClaimed = -1;
  private waiters = 0;
  /** The last background claim failure, for diagnostics. */
  lastClaimError: Error | undefined;

  constructor(opts: ProducerIdManagerOptions) {
    this.claimBlock = opts.claimBlock;
    this.prefetchRatio = opts.prefetchRatio ?? 0.9;
    this.waitersMax = opts.waitersMax ?? 10_000;
  }

  /** The next unused producer id; claims a block first when none is left. */
  async nextId(): Promise<number> {
    for (;;) {
      const id = this.take();
      if (id !== undefined) return id;
      if (this.waiters >= this.waitersMax) throw new Error('too many InitProducerId requests waiting for a producer id block');
      this.waiters++;
      try {
        await this.claim();
      } finally {
        this.waiters--;
      }
    }
  }

  /** An id from the blocks on hand, or undefined when they are used up. */
  private take(): number | undefined {
    if (this.current === undefined || this.nextInCurrent > this.current.end) {
      if (this.prefetched === undefined) return undefined;
      this.current = this.prefetched;
      this.nextInCurrent = this.current.start;
      this.prefetched = undefined;
    }
    const b = this.current;
    const id = this.nextInCurrent++;
    const size = b.end - b.start + 1;
    if (this.prefetched === undefined && this.claiming === undefined && this.nextInCurrent - b.start >= size * this.prefetchRatio) {
      // Ahead of time; a failure only means the claim happens when the block runs out.
      this.claim().catch((err: Error) => {
        this.lastClaimError = err;
      });
    }
    return id;
  }

  /** One claim at a time; concurrent callers share it. */
  private claim(): Promise<void> {
    this.claiming ??= (async () => {
      try {
        const block = await this.claimBlock();
        if (!Number.isSafeInteger(block.start) || !Number.isSafeInteger(block.end) || block.start < 0 || block.end < block.start) {
          throw new Error(`claimed producer id block [${block.start}, ${block.end}] is malformed`);
        }
        if (block.start <= this.highestClaimed) {
          throw new Error(
            `claimed producer id block [${block.start}, ${block.end}] overlaps ids up to ${this.highestClaimed} already claimed`,
          );
        }
        this.highestClaimed = block.end;
        this.prefetched = block;
        this.lastClaimError = undefined;
      } finally {
        this.claiming = undefined;
      }
    })();
    return this.claiming;
  }
}
