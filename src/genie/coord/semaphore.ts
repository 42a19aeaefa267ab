// A global counting semaphore in ZooKeeper (docs/JOBS.md "Coordination in ZooKeeper").
//
// Each acquire creates an ephemeral-sequential lease `<leasesPath>/lease-<uuid>-<seq>`. Leases in
// sequence order form one queue; a lease is HELD when fewer than `limit` leases precede it. The
// limit is read from a znode at every check, so a change applies to waiters already queued.
//
// Why this is safe: a lease's position only falls over time (leases before it can only go; new
// ones come after it), so a lease that once saw itself within the limit stays within it while the
// limit does not shrink, and at most `limit` leases can ever see that at once. Shrinking the limit
// does not revoke held leases; it only admits nobody until the count falls below the new limit.
//
// No thundering herd: every lease's data version says whether it was admitted (0 = waiting,
// >= 1 = held: an admitted lease "touches" its node once). A waiter watches exactly one thing:
//   - its predecessor lease, if the predecessor is still waiting: the predecessor's admission
//     (touch) or departure wakes it, and nobody else;
//   - the lease directory's children and the limit znode, if it has no predecessor or the
//     predecessor is held: it is the FIRST waiter, the only one a holder's release can admit.
// So a release wakes the first waiter (one children event); if admitted it touches its node,
// which wakes the next waiter (one data event), which becomes the new first waiter. A limit
// raised by k wakes the first waiter and admits k leases as a chain of touches. A new waiter
// joining wakes only the first waiter. Each release or admission costs O(1) notifications.
//
// Sessions: a waiter whose connection drops keeps its lease and re-checks after the reconnect; a
// waiter whose session expired re-creates its lease in the next session (at the back of the
// queue). A HOLDER whose session expired has lost its lease (the ephemeral is gone and another
// waiter may be admitted): SemaphoreLease emits 'lost'. The worker keeps running the job it
// started (jobs are at-least-once and the cap is a best effort across a session loss) and logs it.
//
// Lease names carry a random "protection" id so a create whose reply was lost to a connection
// loss is found again instead of leaving an orphan lease that would block the queue; a lease
// remembers the session that owns it (the one a retried create ended in), for the same reason.
//
// Aborts: every wait first looks at signal.aborted. An abort during a check fires its event
// before the wait adds a listener, and a listener added after the event is never called.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CreateMode, Err, EventType } from '../../zookeeper/protocol/constants.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError, ZooKeeperError } from '../../zookeeper/client/errors.js';
import { mkdirp, retryOnConnectionLoss } from '../../zookeeper/client/recipes.js';
import type { Data, Stat, Watcher } from '../../zookeeper/client/types.js';

export interface SemaphoreOptions {
  /** Directory of the leases (created if missing). */
  leasesPath: string;
  /** Znode holding the limit; it need not exist. */
  limitPath: string;
  /** The limit from the limit znode's data (null: the znode does not exist). Infinity = no cap. */
  parseLimit(data: Buffer | null): number;
  /** Stored in each lease (e.g. the worker id), for operators looking at the queue. */
  data?: Data;
  /** After the session expired, ask the client for a new one (client.connect()). Default true. */
  renewSession?: boolean;
}

const LEASE_PREFIX = 'lease-';
const SEQ_RE = /-(\d{10})$/;

const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

function sortLeases(children: string[]): string[] {
  const seq = (n: string): number => Number(SEQ_RE.exec(n)![1]);
  return children.filter((c) => c.startsWith(LEASE_PREFIX) && SEQ_RE.test(c)).sort((a, b) => seq(a) - seq(b));
}

export interface SemaphoreLeaseEvents {
  /** The session expired while the lease was held: it no longer counts against the limit. */
  lost: [];
}

type SessionEvent = 'connected' | 'expired' | 'closed' | 'authFailed';

/**
 * One listener per client and session event, fanned out to whoever waits: a worker may have many
 * acquires and leases at once, and a listener each would pile up on the client's emitter.
 */
class SessionHub {
  private readonly subscribers = new Set<(event: SessionEvent) => void>();
  private readonly handlers = new Map<SessionEvent, () => void>();

  constructor(private readonly client: ZooKeeperClient) {
    for (const ev of ['connected', 'expired', 'closed', 'authFailed'] as const) {
      this.handlers.set(ev, () => {
        for (const fn of [...this.subscribers]) fn(ev);
      });
    }
  }

  subscribe(fn: (event: SessionEvent) => void): () => void {
    if (this.subscribers.size === 0) for (const [ev, h] of this.handlers) this.client.on(ev, h);
    this.subscribers.add(fn);
    return () => {
      if (!this.subscribers.delete(fn) || this.subscribers.size > 0) return;
      for (const [ev, h] of this.handlers) this.client.off(ev, h);
    };
  }
}

const hubs = new WeakMap<ZooKeeperClient, SessionHub>();
function hubOf(client: ZooKeeperClient): SessionHub {
  let hub = hubs.get(client);
  if (hub === undefined) {
    hub = new SessionHub(client);
    hubs.set(client, hub);
  }
  return hub;
}

/** A held lease. release() is idempotent. */
export class SemaphoreLease extends EventEmitter<SemaphoreLeaseEvents> {
  private held = true;
  private released = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: ZooKeeperClient,
    /** Full path of the lease znode. */
    readonly path: string,
  ) {
    super();
    this.unsubscribe = hubOf(client).subscribe((ev) => {
      if (ev !== 'expired' && ev !== 'closed' && ev !== 'authFailed') return;
      this.unsubscribe();
      if (!this.held) return;
      this.held = false;
      this.emit('lost');
    });
  }

  /** Still counted against the limit (release() not called and the session alive). */
  get isHeld(): boolean {
    return this.held;
  }

  /** Delete the lease (waits out a connection loss; a lease already gone is fine). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.held = false;
    this.unsubscribe();
    try {
      await retryOnConnectionLoss(this.client, () => this.client.delete(this.path));
    } catch (e) {
      // NONODE: gone already; SESSIONEXPIRED (or closed): gone with the session.
      if (!isZooKeeperError(e, Err.NONODE) && !isZooKeeperError(e, Err.SESSIONEXPIRED)) throw e;
    }
  }
}

type CheckOutcome = 'held' | 'wait' | 'again' | 'gone';

export class ZkSemaphore {
  /** Node events delivered to this semaphore's watches: the wake-ups it caused (for tests and metrics). */
  watchEvents = 0;
  private waitingNow = 0;
  private readonly data: Buffer | null;
  private readonly closer = new AbortController();
  /** Local acquires waiting as first waiter; one shared watcher wakes them. */
  private readonly firstWaiters = new Set<() => void>();
  /**
   * Watchers are registered per function, so a stable function per path keeps the client's watch
   * tables from collecting one stale closure per wait on the limit znode and the lease directory.
   */
  private readonly firstWaiterWatcher: Watcher = (ev) => {
    if (ev.type !== EventType.None) this.watchEvents++;
    for (const wake of [...this.firstWaiters]) wake();
  };

  constructor(
    private readonly client: ZooKeeperClient,
    private readonly options: SemaphoreOptions,
  ) {
    const d = options.data;
    this.data = d === undefined || d === null ? null : Buffer.from(typeof d === 'string' ? Buffer.from(d) : d);
  }

  /** Acquires blocked waiting for their turn right now. */
  get waiting(): number {
    return this.waitingNow;
  }

  /** Make every pending acquire reject (held leases stay until released). */
  close(): void {
    this.closer.abort(new Error('semaphore closed'));
  }

  /**
   * Wait for a lease. Rejects with `signal.reason` when aborted while waiting (the queued lease is
   * withdrawn), or with a ZooKeeperError if the client is closed.
   */
  async acquire(signal?: AbortSignal): Promise<SemaphoreLease> {
    const abort = signal === undefined ? this.closer.signal : AbortSignal.any([signal, this.closer.signal]);
    abort.throwIfAborted();
    let tag = `${LEASE_PREFIX}${randomUUID()}-`;
    let node: string | undefined;
    let nodeSession = 0n;
    let wake: () => void = () => undefined;
    // One watcher per acquire for the predecessor (see firstWaiterWatcher).
    const predecessorWatcher: Watcher = (ev) => {
      if (ev.type !== EventType.None) this.watchEvents++;
      wake();
    };
    try {
      for (;;) {
        abort.throwIfAborted();
        await this.connected(abort);
        if (node !== undefined && nodeSession !== this.client.sessionId) {
          node = undefined; // created in a session that expired: it is gone
          tag = `${LEASE_PREFIX}${randomUUID()}-`;
        }
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const thisWake = wake;
        try {
          if (node === undefined) {
            // The session the lease was made in: a retried create may have crossed an expiry.
            ({ path: node, session: nodeSession } = await this.createLease(tag, abort));
          }
          const outcome = await this.check(node, predecessorWatcher, () => this.firstWaiters.add(thisWake));
          if (outcome === 'held') {
            // The touch tells our successor, if it watches us, that it may be first in line now.
            await retryOnConnectionLoss(this.client, () => this.client.setData(node!, this.data));
            const lease = new SemaphoreLease(this.client, node);
            if (this.client.sessionId !== nodeSession || abort.aborted) {
              await lease.release().catch(() => undefined);
              abort.throwIfAborted();
              node = undefined;
              continue;
            }
            return lease;
          }
          if (outcome === 'gone') {
            node = undefined;
            tag = `${LEASE_PREFIX}${randomUUID()}-`;
            continue;
          }
          if (outcome === 'again') continue;
          this.waitingNow++;
          try {
            await this.wakeOrAbort(woken, abort);
          } finally {
            this.waitingNow--;
          }
        } catch (e) {
          if (isZooKeeperError(e, Err.CONNECTIONLOSS)) continue;
          // Expired (not closed): the next pass waits for a new session and queues a new lease.
          if (isZooKeeperError(e, Err.SESSIONEXPIRED) && this.client.state !== 'closed' && this.client.state !== 'authFailed') continue;
          if (isZooKeeperError(e, Err.NONODE) && node !== undefined) {
            node = undefined; // our lease vanished under us (touch after expiry)
            continue;
          }
          throw e;
        } finally {
          this.firstWaiters.delete(thisWake);
        }
      }
    } catch (e) {
      if (node !== undefined) {
        const withdrawn = node;
        // In the background: the caller gets its rejection now; the delete waits for a connection.
        void retryOnConnectionLoss(this.client, () => this.client.delete(withdrawn)).catch(() => undefined);
      }
      throw e;
    }
  }

  /** Create our lease; resolves with its path and the session that owns it. */
  private async createLease(tag: string, abort: AbortSignal): Promise<{ path: string; session: bigint }> {
    const dir = this.options.leasesPath;
    for (;;) {
      try {
        const path = await this.client.create(join(dir, tag), this.data, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
        // Read before any other I/O event: a reply comes in the session it was sent in.
        return { path, session: this.client.sessionId };
      } catch (e) {
        if (isZooKeeperError(e, Err.NONODE)) {
          await mkdirp(this.client, dir);
          continue;
        }
        if (!isZooKeeperError(e, Err.CONNECTIONLOSS)) throw e;
      }
      // The reply was lost: the lease may exist. Find it by its protection tag; one made in a
      // session that has expired since is going (or gone) with it, so it is not ours to keep.
      await this.connected(abort);
      const children = await retryOnConnectionLoss(this.client, () => this.client.getChildren(dir));
      for (const name of children.filter((c) => c.startsWith(tag))) {
        const stat = await retryOnConnectionLoss(this.client, () => this.client.exists(join(dir, name)));
        if (stat !== null && stat.ephemeralOwner === this.client.sessionId) return { path: join(dir, name), session: stat.ephemeralOwner };
      }
    }
  }

  /** Where our lease stands; arms exactly one wake-up source when the answer is 'wait'. */
  private async check(node: string, predecessorWatcher: Watcher, becomeFirstWaiter: () => void): Promise<CheckOutcome> {
    const dir = this.options.leasesPath;
    const mine = baseName(node);
    const sorted = sortLeases(await this.client.getChildren(dir));
    const i = sorted.indexOf(mine);
    if (i < 0) return 'gone';
    if (i < (await this.readLimit())) return 'held';
    if (i > 0) {
      const pred = await this.predecessorStat(join(dir, sorted[i - 1]!), predecessorWatcher);
      if (pred === null) return 'again';
      if (pred.version === 0) return 'wait'; // the predecessor still waits: its touch or exit wakes us
    }
    // First waiter: any departure before us or a limit change may admit us. The watched reads are
    // the ones we decide on, so nothing that happens after them goes unnoticed.
    becomeFirstWaiter();
    const watched = sortLeases(await this.client.getChildren(dir, this.firstWaiterWatcher));
    const j = watched.indexOf(mine);
    if (j < 0) return 'gone';
    return j < (await this.readLimit(this.firstWaiterWatcher)) ? 'held' : 'wait';
  }

  /**
   * The predecessor's Stat with a watch on it, or null if it is gone. getData, not exists: on a
   * missing node exists would leave a watch for its creation, which never comes (one stale watch
   * per race, kept by client and server until the session ends).
   */
  private async predecessorStat(path: string, watcher: Watcher): Promise<Stat | null> {
    try {
      return (await this.client.getData(path, watcher)).stat;
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return null;
      throw e;
    }
  }

  private async readLimit(watcher?: Watcher): Promise<number> {
    const path = this.options.limitPath;
    try {
      if (watcher !== undefined && (await this.client.exists(path, watcher)) === null) return this.options.parseLimit(null);
      return this.options.parseLimit((await this.client.getData(path)).data);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return this.options.parseLimit(null);
      throw e;
    }
  }

  /** Resolves once the client has a live session (asking for a new one after expiry). */
  private connected(abort: AbortSignal): Promise<void> {
    const c = this.client;
    if (c.isConnected) return Promise.resolve();
    if (c.state === 'closed' || c.state === 'authFailed') {
      return Promise.reject(new ZooKeeperError(Err.SESSIONEXPIRED, this.options.leasesPath, `client is ${c.state}`));
    }
    const renew = (): void => {
      if (this.options.renewSession ?? true) c.connect().catch(() => undefined);
    };
    if (c.state === 'expired') renew();
    return new Promise<void>((resolve, reject) => {
      // An abort that came while we were busy fires no event for a listener added now.
      if (abort.aborted) {
        reject(abort.reason);
        return;
      }
      const done = (): void => {
        unsubscribe();
        abort.removeEventListener('abort', onAbort);
      };
      const unsubscribe = hubOf(c).subscribe((ev) => {
        // Started while disconnected, and the reconnect found the session gone: nobody else may ask.
        if (ev === 'expired') {
          renew();
          return;
        }
        done();
        if (ev === 'connected') resolve();
        else reject(new ZooKeeperError(Err.SESSIONEXPIRED, this.options.leasesPath, `client is ${ev}`));
      });
      const onAbort = (): void => {
        done();
        reject(abort.reason);
      };
      abort.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wait for our watch, any session change (a reconnect may have missed events), or the abort. */
  private wakeOrAbort(woken: Promise<void>, abort: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // The abort may have come during the check that decided to wait: its event is past, so a
      // listener added now would never run and the acquire would hang until some watch fired.
      if (abort.aborted) {
        reject(abort.reason);
        return;
      }
      const done = (): void => {
        unsubscribe();
        abort.removeEventListener('abort', onAbort);
      };
      const onWake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(abort.reason);
      };
      const unsubscribe = hubOf(this.client).subscribe(onWake);
      abort.addEventListener('abort', onAbort, { once: true });
      woken.then(onWake, onWake);
    });
  }
}
