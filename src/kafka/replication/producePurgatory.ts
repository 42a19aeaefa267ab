// Parked acks=all produces (Kafka's DelayedProduce): after the leader's append, a produce waits
// until the high watermark covers each partition's last offset, then answers; at its timeout the
// partitions still waiting answer REQUEST_TIMED_OUT. The verdict per partition comes from the
// caller (`check`), so the rules stay in the leader core and this file only keeps the waiting
// list and the timers. Bounded: past producesParkedMax a produce is answered at once with
// REQUEST_TIMED_OUT for what it could not wait for, never queued without limit. The same class
// parks DeleteRecords until the followers' log starts follow (Kafka's DelayedDeleteRecords), with
// its own instance and check.

import { ErrorCode } from '../protocol/errors.js';

/** acks=all produces parked at once. */
export const producesParkedMax = 10_000;

/** One partition of a parked produce. */
export interface ParkedPartition {
  /** Partition key (FetchPurgatory.key). */
  readonly key: string;
  /** The offset the HW must reach: the last appended offset + 1. */
  readonly requiredOffset: number;
  /** undefined while waiting, then the error code to answer with. */
  errorCode: number | undefined;
}

/** The verdict for one partition: undefined = keep waiting, else the error code (NONE when done). */
export type ProduceCheck = (key: string, requiredOffset: number) => number | undefined;

interface Op {
  readonly parts: readonly ParkedPartition[];
  readonly done: () => void;
}

export class ProducePurgatory {
  private readonly byKey = new Map<string, Set<Op>>();
  private count = 0;

  constructor(private readonly check: ProduceCheck) {}

  get size(): number {
    return this.count;
  }

  /**
   * Waits until every partition has a verdict or `timeoutMs` passes (those still waiting get
   * REQUEST_TIMED_OUT). Resolves with the same partitions, their errorCode filled in.
   */
  park(parts: ParkedPartition[], timeoutMs: number): Promise<ParkedPartition[]> {
    if (this.evaluate(parts)) return Promise.resolve(parts);
    if (this.count >= producesParkedMax) {
      for (const p of parts) p.errorCode ??= ErrorCode.REQUEST_TIMED_OUT;
      return Promise.resolve(parts);
    }
    return new Promise((resolve) => {
      let finished = false;
      const op: Op = {
        parts,
        done: () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          this.remove(op);
          resolve(parts);
        },
      };
      const timer = setTimeout(
        () => {
          for (const p of parts) p.errorCode ??= ErrorCode.REQUEST_TIMED_OUT;
          op.done();
        },
        Math.max(0, timeoutMs),
      );
      for (const p of parts) {
        if (p.errorCode !== undefined) continue;
        let set = this.byKey.get(p.key);
        if (!set) {
          set = new Set();
          this.byKey.set(p.key, set);
        }
        set.add(op);
      }
      this.count++;
    });
  }

  /** Re-checks every produce waiting on this partition (its HW, ISR or leadership changed). */
  tryComplete(key: string): void {
    const set = this.byKey.get(key);
    if (!set) return;
    for (const op of [...set]) if (this.evaluate(op.parts)) op.done();
  }

  /** Answers every parked produce now (shutdown): those still waiting time out. */
  completeAll(errorCode: number = ErrorCode.REQUEST_TIMED_OUT): void {
    for (const set of [...this.byKey.values()]) {
      for (const op of [...set]) {
        for (const p of op.parts) p.errorCode ??= errorCode;
        op.done();
      }
    }
  }

  /** Fills in verdicts; true when no partition is left waiting. */
  private evaluate(parts: readonly ParkedPartition[]): boolean {
    let waiting = false;
    for (const p of parts) {
      if (p.errorCode !== undefined) continue;
      p.errorCode = this.check(p.key, p.requiredOffset);
      if (p.errorCode === undefined) waiting = true;
    }
    return !waiting;
  }

  private remove(op: Op): void {
    this.count--;
    for (const p of op.parts) {
      const set = this.byKey.get(p.key);
      if (!set) continue;
      set.delete(op);
      if (set.size === 0) this.byKey.delete(p.key);
    }
  }
}
