// Global per-type limits for the workers: `/clustergenie/limits/<type>` JSON
// {concurrency?, ratePerSecond?} (docs/JOBS.md "Coordination in ZooKeeper").
//
// ZkTypeLimits matches the worker's TypeGate interface (src/genie/workers/gate.ts) structurally:
//   acquire(type, signal) resolves with a release function once the job may start.
// - No limit znode for the type: resolves at once with a no-op release.
// - concurrency: a ZkSemaphore under `/clustergenie/semaphores/<type>` whose limit is read from
//   the same znode, so a change applies to queued waiters without a restart.
// - ratePerSecond: APPROXIMATE. Each worker runs a local token bucket at ratePerSecond divided by
//   the live workers (children of /clustergenie/workers, watched). Uneven load across workers
//   means the cluster-wide rate can fall short of the limit, and for a moment after workers join
//   or leave it can exceed it; a precise global rate would cost a ZooKeeper write per job.
//   The token is taken after the concurrency lease, so starts (not attempts to queue) are paced.
// Limits are read once per type and then kept current by watches.

import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { mkdirp, retryOnConnectionLoss, waitConnected } from '../../zookeeper/client/recipes.js';
import type { Watcher } from '../../zookeeper/client/types.js';
import { Err, EventType } from '../../zookeeper/protocol/constants.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { JOB_LIMITS, JOB_ZK_PATHS } from '../jobs/events.js';
import { ZkSemaphore } from './semaphore.js';

export interface TypeLimit {
  /** Jobs of the type running at once across all workers. */
  concurrency?: number;
  /** Jobs of the type started per second across all workers (approximate, see above). */
  ratePerSecond?: number;
}

export const TYPE_LIMIT_BOUNDS = {
  concurrencyMax: 1_000_000,
  ratePerSecondMax: 1_000_000,
  /** Types whose limits are cached and watched; beyond it a type's limit is read per acquire. */
  typesTrackedMax: 10_000,
} as const;

const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
const isZnodeSafeType = (type: string): boolean => type.length <= JOB_LIMITS.typeLengthMax && TYPE_RE.test(type);

const limitPathOf = (type: string): string => `${JOB_ZK_PATHS.limits}/${type}`;
const leasesPathOf = (type: string): string => `${JOB_ZK_PATHS.semaphores}/${type}`;

/** The limit in a limits znode's data; null when absent, empty or unreadable (no limit applies). */
export function parseTypeLimit(data: Buffer | null): TypeLimit | null {
  if (data === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(data.toString());
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const limit: TypeLimit = {};
  if (typeof o.concurrency === 'number' && Number.isInteger(o.concurrency) && o.concurrency >= 1) limit.concurrency = o.concurrency;
  if (typeof o.ratePerSecond === 'number' && Number.isFinite(o.ratePerSecond) && o.ratePerSecond > 0) limit.ratePerSecond = o.ratePerSecond;
  return limit.concurrency === undefined && limit.ratePerSecond === undefined ? null : limit;
}

/**
 * Pure token bucket with reservations: take() always reserves a token and says how long to wait
 * before using it, so waiters are served in order; refund() returns an unused reservation.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    nowMs: number,
  ) {
    this.tokens = this.burst;
    this.last = nowMs;
  }

  /** One second of tokens, at least one. */
  private get burst(): number {
    return Math.max(1, this.rate);
  }

  private refill(nowMs: number): void {
    if (nowMs > this.last) this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.rate) / 1000);
    this.last = Math.max(this.last, nowMs);
  }

  /** Reserve a token; milliseconds until it may be used (0: now). */
  take(nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  refund(nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  setRate(rate: number, nowMs: number): void {
    this.refill(nowMs);
    this.rate = rate;
    this.tokens = Math.min(this.tokens, this.burst);
  }
}

interface TypeState {
  limit: TypeLimit | null;
  /** The first read; later reads (on watch events) update `limit` in the background. */
  loaded: Promise<void>;
  /** One function per type, so the client's watch table holds it once however often it is re-armed. */
  watcher: Watcher | undefined;
  semaphore: ZkSemaphore;
  bucket: TokenBucket | undefined;
}

const noop = (): void => undefined;

export interface ZkTypeLimitsOptions {
  /** Stored in each lease, e.g. the worker id. */
  leaseData?: string;
  logger?: Logger;
}

export class ZkTypeLimits {
  private readonly types = new Map<string, TypeState>();
  private liveWorkers = 1;
  private workersWatched: Promise<void> | undefined;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly zk: ZooKeeperClient,
    private readonly options: ZkTypeLimitsOptions = {},
  ) {
    this.log = options.logger ?? silentLogger;
  }

  /** TypeGate.acquire: resolves with the release function once a job of `type` may start. */
  async acquire(type: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.closed || !isZnodeSafeType(type)) return noop; // such a type cannot have a limit znode
    const st = await this.stateOf(type);
    signal.throwIfAborted();
    const limit = st.limit;
    if (limit === null) return noop;
    let release = noop;
    if (limit.concurrency !== undefined) {
      const lease = await st.semaphore.acquire(signal);
      lease.once('lost', () => {
        this.log.warn({ type, lease: lease.path }, 'ZooKeeper session expired while a job held a concurrency lease; the job keeps running');
      });
      let released = false;
      release = () => {
        if (released) return;
        released = true;
        lease.release().catch((e: unknown) => this.log.warn({ type, err: e }, 'releasing a concurrency lease failed'));
      };
    }
    if (limit.ratePerSecond !== undefined) {
      try {
        await this.paced(type, st, limit.ratePerSecond, signal);
      } catch (e) {
        release();
        throw e;
      }
    }
    return release;
  }

  /** Stop watching; pending acquires reject, held leases stay until released. */
  close(): void {
    this.closed = true;
    for (const st of this.types.values()) st.semaphore.close();
  }

  /** Set (create or replace) the limit of a type. */
  static async setTypeLimit(zk: ZooKeeperClient, type: string, limit: TypeLimit): Promise<void> {
    if (!isZnodeSafeType(type)) throw new RangeError(`type ${JSON.stringify(type)} is not a valid job type`);
    const { concurrency, ratePerSecond } = limit;
    if (concurrency === undefined && ratePerSecond === undefined) throw new RangeError('give concurrency, ratePerSecond or both');
    if (
      concurrency !== undefined &&
      (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > TYPE_LIMIT_BOUNDS.concurrencyMax)
    ) {
      throw new RangeError(`concurrency must be an integer from 1 to ${TYPE_LIMIT_BOUNDS.concurrencyMax}`);
    }
    if (
      ratePerSecond !== undefined &&
      (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0 || ratePerSecond > TYPE_LIMIT_BOUNDS.ratePerSecondMax)
    ) {
      throw new RangeError(`ratePerSecond must be a number above 0 and at most ${TYPE_LIMIT_BOUNDS.ratePerSecondMax}`);
    }
    const data = JSON.stringify({
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(ratePerSecond !== undefined ? { ratePerSecond } : {}),
    });
    const path = limitPathOf(type);
    for (;;) {
      try {
        await retryOnConnectionLoss(zk, () => zk.setData(path, data));
        return;
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE)) throw e;
      }
      try {
        await mkdirp(zk, JOB_ZK_PATHS.limits);
        await retryOnConnectionLoss(zk, () => zk.create(path, data));
        return;
      } catch (e) {
        if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e; // created meanwhile: set it
      }
    }
  }

  /** Remove a type's limit; false if it had none. */
  static async clearTypeLimit(zk: ZooKeeperClient, type: string): Promise<boolean> {
    if (!isZnodeSafeType(type)) return false;
    try {
      await retryOnConnectionLoss(zk, () => zk.delete(limitPathOf(type)));
      return true;
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return false;
      throw e;
    }
  }

  /** The limit of every type that has one. */
  static async listTypeLimits(zk: ZooKeeperClient): Promise<Map<string, TypeLimit>> {
    const out = new Map<string, TypeLimit>();
    let types: string[];
    try {
      types = await retryOnConnectionLoss(zk, () => zk.getChildren(JOB_ZK_PATHS.limits));
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return out;
      throw e;
    }
    for (const t of types.sort()) {
      try {
        const limit = parseTypeLimit((await retryOnConnectionLoss(zk, () => zk.getData(limitPathOf(t)))).data);
        if (limit !== null) out.set(t, limit);
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE)) throw e;
      }
    }
    return out;
  }

  private async stateOf(type: string): Promise<TypeState> {
    let st = this.types.get(type);
    if (st === undefined) {
      const tracked = this.types.size < TYPE_LIMIT_BOUNDS.typesTrackedMax;
      if (!tracked) this.log.warn({ type, typesTrackedMax: TYPE_LIMIT_BOUNDS.typesTrackedMax }, 'too many job types to watch limits of');
      const semaphore = new ZkSemaphore(this.zk, {
        leasesPath: leasesPathOf(type),
        limitPath: limitPathOf(type),
        parseLimit: (data) => parseTypeLimit(data)?.concurrency ?? Number.POSITIVE_INFINITY,
        ...(this.options.leaseData !== undefined ? { data: this.options.leaseData } : {}),
      });
      const fresh: TypeState = { limit: null, loaded: Promise.resolve(), watcher: undefined, semaphore, bucket: undefined };
      fresh.loaded = this.loadLimit(type, fresh, tracked);
      if (!tracked) {
        await fresh.loaded;
        return fresh;
      }
      this.types.set(type, fresh);
      st = fresh;
    }
    await st.loaded;
    return st;
  }

  /** Read the type's limit, leaving a watch that reads it again on every change. */
  private async loadLimit(type: string, st: TypeState, watch: boolean): Promise<void> {
    const path = limitPathOf(type);
    st.watcher ??= (ev) => {
      if (this.closed) return;
      if (ev.type === EventType.None && this.zk.state === 'closed') return;
      // Meanwhile acquire() goes on with the last value read: a ZooKeeper outage must not stall
      // the types that have no limit.
      this.loadLimit(type, st, true).catch((e: unknown) => this.log.warn({ type, err: e }, 'reading a type limit failed'));
    };
    const watcher = st.watcher;
    for (;;) {
      try {
        const stat = await this.zk.exists(path, watch ? watcher : undefined);
        st.limit = stat === null ? null : parseTypeLimit((await this.zk.getData(path)).data);
        return;
      } catch (e) {
        if (isZooKeeperError(e, Err.NONODE)) {
          st.limit = null; // deleted between the reads; the exists watch fires for it
          return;
        }
        if (!isZooKeeperError(e, Err.CONNECTIONLOSS) && !isZooKeeperError(e, Err.SESSIONEXPIRED)) throw e;
        if (this.closed || this.zk.state === 'closed' || this.zk.state === 'authFailed') return;
        // Wait for the connection (or for whoever renews an expired session).
        await waitConnected(this.zk).catch(() => new Promise<void>((r) => this.zk.once('connected', () => r())));
      }
    }
  }

  private async paced(type: string, st: TypeState, ratePerSecond: number, signal: AbortSignal): Promise<void> {
    await this.watchWorkers();
    signal.throwIfAborted(); // an abort during the count above fires no event for the listener below
    const rate = ratePerSecond / this.liveWorkers;
    const now = Date.now();
    if (st.bucket === undefined) st.bucket = new TokenBucket(rate, now);
    else st.bucket.setRate(rate, now);
    const waitMs = st.bucket.take(now);
    if (waitMs === 0) return;
    const bucket = st.bucket;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        bucket.refund(Date.now());
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    this.log.debug({ type, waitMs }, 'rate limited');
  }

  /** Count live workers (children of the workers znode), kept current by a watch. */
  private watchWorkers(): Promise<void> {
    this.workersWatched ??= this.countWorkers();
    return this.workersWatched;
  }

  private readonly workersWatcher: Watcher = () => {
    if (!this.closed && this.zk.state !== 'closed') void this.countWorkers();
  };

  private async countWorkers(): Promise<void> {
    const watcher = this.workersWatcher;
    for (;;) {
      try {
        const stat = await this.zk.exists(JOB_ZK_PATHS.workers, watcher);
        // No registry yet: pace as if alone; the exists watch fires when it appears.
        this.liveWorkers = stat === null ? 1 : Math.max(1, (await this.zk.getChildren(JOB_ZK_PATHS.workers, watcher)).length);
        return;
      } catch (e) {
        if (isZooKeeperError(e, Err.NONODE)) continue;
        if (this.closed || this.zk.state === 'closed' || this.zk.state === 'authFailed') return;
        if (!isZooKeeperError(e, Err.CONNECTIONLOSS) && !isZooKeeperError(e, Err.SESSIONEXPIRED)) {
          this.log.warn({ err: e }, 'counting live workers failed; pacing with the last count');
          return;
        }
        await waitConnected(this.zk).catch(() => new Promise<void>((r) => this.zk.once('connected', () => r())));
      }
    }
  }
}
