// Client-supplied job ids, made idempotent across Job Service instances through ZooKeeper: the
// first submission of an id creates `/clustergenie/idempotency/<id>` (persistent; TTL nodes are
// not portable to every ZooKeeper), and any later one, to any instance, finds it and answers with
// the existing job instead of publishing again. Generated ids never come here.
//
// A claim whose publish failed is released (deleted) so the client's retry can succeed. A claim
// orphaned by a crash between create and publish would block its id forever, so a claim older than
// `orphanClaimAfterMs` whose job no instance has seen may be taken over (setData with the version
// read: one taker wins). If the original publish did land after all, the workers drop the second
// job.requested as a duplicate id.
//
// Keys older than `idempotencyKeyRetentionMs` are deleted by a periodic sweep in bounded batches
// (every instance may sweep; a NONODE from a concurrent delete is fine).

import { randomUUID } from 'node:crypto';
import { Err } from '../../zookeeper/protocol/constants.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { mkdirp, retryOnConnectionLoss } from '../../zookeeper/client/recipes.js';
import { JOB_ZK_PATHS } from './events.js';

export interface IdempotencyOptions {
  /** Keys older than this are swept. */
  idempotencyKeyRetentionMs: number;
  /** A claim this old whose job is unknown may be taken over (its publisher presumably died). */
  orphanClaimAfterMs: number;
  /** Keys examined per sweep. */
  sweepBatchMax: number;
}

export const idempotencyDefaults: IdempotencyOptions = {
  idempotencyKeyRetentionMs: 24 * 3600_000,
  orphanClaimAfterMs: 60_000,
  sweepBatchMax: 500,
};

/** What a key's znode holds. */
export interface IdempotencyRecord {
  jobId: string;
  createdAt: string;
  instance: string;
  /** Random per claim: a create retried after a lost reply recognises its own node by it. */
  claim: string;
}

export type ClaimResult = { claimed: true } | { claimed: false; record: IdempotencyRecord; ageMs: number };

export class IdempotencyRegistry {
  private readonly opts: IdempotencyOptions;
  private parentReady = false;
  /** Name after which the next sweep continues, so successive sweeps cover every key. */
  private sweepAfter = '';

  constructor(
    private readonly zk: ZooKeeperClient,
    private readonly instance: string,
    opts: Partial<IdempotencyOptions> = {},
  ) {
    this.opts = { ...idempotencyDefaults, ...opts };
  }

  private path(id: string): string {
    return `${JOB_ZK_PATHS.idempotency}/${id}`;
  }

  private data(id: string, nowMs: number, claim: string): string {
    const record: IdempotencyRecord = { jobId: id, createdAt: new Date(nowMs).toISOString(), instance: this.instance, claim };
    return JSON.stringify(record);
  }

  /** Claims `id` for this submission, or says who has it. */
  async claim(id: string, nowMs: number, attemptsLeft = 3): Promise<ClaimResult> {
    if (!this.parentReady) {
      await mkdirp(this.zk, JOB_ZK_PATHS.idempotency);
      this.parentReady = true;
    }
    const claim = randomUUID();
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.create(this.path(id), this.data(id, nowMs, claim)));
      return { claimed: true };
    } catch (e) {
      if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
    }
    try {
      const { data, stat } = await retryOnConnectionLoss(this.zk, () => this.zk.getData(this.path(id)));
      const record = parseRecord(id, data);
      // Our own create, retried after its reply was lost to a connection loss.
      if (record.claim === claim) return { claimed: true };
      return { claimed: false, record, ageMs: Math.max(0, nowMs - Number(stat.mtime)) };
    } catch (e) {
      // Released or swept between the create and the read: claim again.
      if (isZooKeeperError(e, Err.NONODE) && attemptsLeft > 0) return this.claim(id, nowMs, attemptsLeft - 1);
      throw e;
    }
  }

  /**
   * Takes over an orphaned claim (see the header): true when this instance now holds it. Only
   * a claim at least orphanClaimAfterMs old qualifies, and of concurrent takers one wins.
   */
  async takeOver(id: string, nowMs: number): Promise<boolean> {
    try {
      const { stat } = await retryOnConnectionLoss(this.zk, () => this.zk.getData(this.path(id)));
      if (nowMs - Number(stat.mtime) < this.opts.orphanClaimAfterMs) return false;
      await this.zk.setData(this.path(id), this.data(id, nowMs, randomUUID()), stat.version);
      return true;
    } catch (e) {
      if (isZooKeeperError(e, Err.BADVERSION) || isZooKeeperError(e, Err.NONODE)) return false;
      throw e;
    }
  }

  get orphanClaimAfterMs(): number {
    return this.opts.orphanClaimAfterMs;
  }

  /** Releases a claim whose publish failed, so a retry of the submission can succeed. */
  async release(id: string): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(this.path(id)));
    } catch (e) {
      if (!isZooKeeperError(e, Err.NONODE)) throw e;
    }
  }

  /** Deletes keys past their retention among the next sweepBatchMax keys; returns how many. */
  async sweep(nowMs: number): Promise<number> {
    let names: string[];
    try {
      names = await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(JOB_ZK_PATHS.idempotency));
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return 0;
      throw e;
    }
    names.sort();
    let batch = names.filter((n) => n > this.sweepAfter).slice(0, this.opts.sweepBatchMax);
    if (batch.length === 0) {
      this.sweepAfter = '';
      batch = names.slice(0, this.opts.sweepBatchMax);
    }
    this.sweepAfter = batch[batch.length - 1] ?? '';
    const stats = await Promise.all(batch.map((n) => this.zk.exists(this.path(n)).catch(() => null)));
    let deleted = 0;
    await Promise.all(
      batch.map(async (n, i) => {
        const stat = stats[i];
        if (!stat || nowMs - Number(stat.ctime) < this.opts.idempotencyKeyRetentionMs) return;
        try {
          await this.zk.delete(this.path(n), stat.version);
          deleted++;
        } catch (e) {
          // Taken over or deleted meanwhile: the next sweep looks again.
          if (!isZooKeeperError(e, Err.NONODE) && !isZooKeeperError(e, Err.BADVERSION)) throw e;
        }
      }),
    );
    return deleted;
  }
}

function parseRecord(id: string, data: Buffer | null): IdempotencyRecord {
  try {
    const r = JSON.parse(data?.toString('utf8') ?? 'null') as Partial<IdempotencyRecord> | null;
    if (r && typeof r.jobId === 'string') {
      return { jobId: r.jobId, createdAt: String(r.createdAt ?? ''), instance: String(r.instance ?? ''), claim: String(r.claim ?? '') };
    }
  } catch {
    // another writer's data: fall through
  }
  return { jobId: id, createdAt: '', instance: '', claim: '' };
}
