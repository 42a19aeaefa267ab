// Recipes on top of ZooKeeperClient, the ones Kafka-style brokers need:
//   mkdirp / removeRecursive
//   EphemeralNode  — an ephemeral registration that survives session expiry (re-created in the
//                    next session; can ask the client to start that session)
//   LeaderElection — ephemeral-sequential candidates; each watches its predecessor only
//   Lock           — the same pattern, as an exclusive lock with acquire/release
// Sequential candidate names carry a random id so a create whose reply was lost to a
// connection loss can be found again (Curator's "protection" mode).

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CreateMode, Err, EventType } from '../protocol/constants.js';
import { OPEN_ACL_UNSAFE } from './acl.js';
import type { ZooKeeperClient } from './client.js';
import { isZooKeeperError, ZooKeeperError } from './errors.js';
import { toData } from './requests.js';
import type { Acl, ConnectedInfo, Data, Stat, WatchedEvent } from './types.js';

const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};
const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
/** Own copy of caller data. */
const ownData = (d: Data): Buffer | null => {
  const b = toData(d);
  return b === null ? null : Buffer.from(b);
};

/** A promise for the client's next `disconnected` event, with a way to stop listening. */
function nextDisconnect(client: ZooKeeperClient): { promise: Promise<void>; cancel(): void } {
  let cancel!: () => void;
  const promise = new Promise<void>((resolve) => {
    const on = (): void => resolve();
    client.once('disconnected', on);
    cancel = () => client.off('disconnected', on);
  });
  return { promise, cancel };
}

/** Resolves when the client has a live connection; rejects if it reaches a terminal state. */
export function waitConnected(client: ZooKeeperClient): Promise<void> {
  if (client.isConnected) return Promise.resolve();
  switch (client.state) {
    case 'closed':
    case 'expired':
    case 'authFailed':
      return Promise.reject(
        new ZooKeeperError(client.state === 'authFailed' ? Err.AUTHFAILED : Err.SESSIONEXPIRED, undefined, client.state),
      );
  }
  return new Promise((resolve, reject) => {
    const onConnected = (): void => {
      off();
      resolve();
    };
    const onDead = (): void => {
      off();
      reject(new ZooKeeperError(Err.SESSIONEXPIRED, undefined, client.state));
    };
    const off = (): void => {
      client.off('connected', onConnected);
      client.off('expired', onDead);
      client.off('closed', onDead);
      client.off('authFailed', onDead);
    };
    client.on('connected', onConnected);
    client.on('expired', onDead);
    client.on('closed', onDead);
    client.on('authFailed', onDead);
  });
}

/** Run `fn`, retrying after reconnects while it fails with CONNECTIONLOSS. */
export async function retryOnConnectionLoss<T>(client: ZooKeeperClient, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isZooKeeperError(e, Err.CONNECTIONLOSS)) throw e;
      await waitConnected(client);
    }
  }
}

/** Create `path` and any missing ancestors (persistent). `data` goes to the last node only. */
export async function mkdirp(client: ZooKeeperClient, path: string, options: { data?: Data; acl?: readonly Acl[] } = {}): Promise<void> {
  if (path === '/') return;
  if ((await retryOnConnectionLoss(client, () => client.exists(path))) !== null) return;
  const parts = path.split('/').filter((p) => p !== '');
  let cur = '';
  for (let i = 0; i < parts.length; i++) {
    cur += `/${parts[i]}`;
    const last = i === parts.length - 1;
    try {
      await retryOnConnectionLoss(client, () => client.create(cur, last ? options.data : null, { acl: options.acl ?? OPEN_ACL_UNSAFE }));
    } catch (e) {
      if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
    }
  }
}

/** Delete `path` and everything below it. A missing node is not an error. */
export async function removeRecursive(client: ZooKeeperClient, path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let children: string[];
    try {
      children = await retryOnConnectionLoss(client, () => client.getChildren(path));
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return;
      throw e;
    }
    for (const c of children) await removeRecursive(client, join(path, c));
    if (path === '/') return;
    try {
      await retryOnConnectionLoss(client, () => client.delete(path, -1));
      return;
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) return;
      // Someone added a child meanwhile: go round again (bounded).
      if (isZooKeeperError(e, Err.NOTEMPTY) && attempt < 100) continue;
      throw e;
    }
  }
}

/** Serialises a reconcile loop: run() while running just asks for one more pass. */
class Reconciler {
  private running: Promise<void> | undefined;
  private again = false;
  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.pass();
          } catch (e) {
            this.onError(e);
          }
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}

// ---- EphemeralNode

export interface EphemeralNodeOptions {
  data?: Data;
  acl?: readonly Acl[];
  /** Create missing parents (persistent). Default true. */
  createParents?: boolean;
  /** After Expired, ask the client for a fresh session (client.connect()). Default true. */
  renewSession?: boolean;
}

export interface EphemeralNodeEvents {
  /** The node exists and belongs to our current session. */
  created: [path: string, sessionId: bigint];
  /** Our session expired: the node is gone until the next session re-creates it. */
  lost: [];
  /** The node exists but belongs to another session; we wait for it to go. */
  conflict: [ownerSessionId: bigint];
  error: [error: unknown];
}

/**
 * An ephemeral node that follows the client's sessions: created on start(), re-created after
 * the session expires and a new one is established, tolerant of lost create replies.
 */
export class EphemeralNode extends EventEmitter<EphemeralNodeEvents> {
  private started = false;
  private data: Buffer | null;
  private readonly reconciler: Reconciler;
  private readonly onConnected = (info: ConnectedInfo): void => {
    if (info.newSession && this.started) void this.reconciler.run();
  };
  private readonly onExpired = (): void => {
    if (!this.started) return;
    this.emit('lost');
    if (this.options.renewSession ?? true) this.client.connect().catch(() => undefined);
  };

  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly options: EphemeralNodeOptions = {},
  ) {
    super();
    this.data = ownData(options.data);
    this.reconciler = new Reconciler(
      () => this.ensure(),
      (e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      },
    );
  }

  /** Start; resolves once the node has been created in the current session (or on failure). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.client.on('connected', this.onConnected);
    this.client.on('expired', this.onExpired);
    await this.reconciler.run();
  }

  /** Stop following sessions and delete the node if it is ours. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.client.off('connected', this.onConnected);
    this.client.off('expired', this.onExpired);
    try {
      const stat = await this.client.exists(this.path);
      if (stat && stat.ephemeralOwner === this.client.sessionId) await this.client.delete(this.path, stat.version);
    } catch (e) {
      if (!isZooKeeperError(e)) throw e;
    }
  }

  /** Change the node's data (kept for re-creation too). */
  async setData(data: Data): Promise<void> {
    this.data = ownData(data);
    if (this.started && this.client.isConnected) await this.client.setData(this.path, this.data);
  }

  private async ensure(): Promise<void> {
    while (this.started) {
      if (!this.client.isConnected) {
        try {
          await waitConnected(this.client);
        } catch {
          return; // expired/closed: onConnected(newSession) restarts us
        }
      }
      try {
        await this.client.create(this.path, this.data, {
          mode: CreateMode.EPHEMERAL,
          acl: this.options.acl ?? OPEN_ACL_UNSAFE,
        });
        this.emit('created', this.path, this.client.sessionId);
        return;
      } catch (e) {
        if (isZooKeeperError(e, Err.CONNECTIONLOSS)) continue;
        if (isZooKeeperError(e, Err.SESSIONEXPIRED)) return;
        if (isZooKeeperError(e, Err.NONODE) && (this.options.createParents ?? true)) {
          await mkdirp(this.client, parentOf(this.path));
          continue;
        }
        if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
      }
      // NODEEXISTS: ours (a create whose reply we lost), or someone else's.
      let signal!: () => void;
      const changed = new Promise<void>((r) => (signal = r));
      // Any event (deleted, changed, or the session ending) means: look again.
      const watcher = (): void => signal();
      let stat: Stat | null;
      try {
        stat = await this.client.exists(this.path, watcher);
      } catch (e) {
        if (isZooKeeperError(e, Err.CONNECTIONLOSS)) continue;
        if (isZooKeeperError(e, Err.SESSIONEXPIRED)) return;
        throw e;
      }
      if (stat === null) continue;
      if (stat.ephemeralOwner === this.client.sessionId) {
        this.emit('created', this.path, this.client.sessionId);
        return;
      }
      this.emit('conflict', stat.ephemeralOwner);
      const lostConn = nextDisconnect(this.client);
      await Promise.race([changed, lostConn.promise]);
      lostConn.cancel();
    }
  }
}

// ---- sequential candidates (election and lock)

const sequenceOf = (name: string): number => Number(name.slice(-10));

function sortCandidates(children: string[], prefix: string): string[] {
  return children
    .filter((c) => c.startsWith(prefix) && /-?\d{10}$/.test(c.slice(-10)))
    .sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Create an ephemeral-sequential candidate, finding it again if the reply was lost. */
async function createCandidate(
  client: ZooKeeperClient,
  dir: string,
  prefix: string,
  data: Buffer | null,
  acl: readonly Acl[],
): Promise<string> {
  const tag = `${prefix}${randomUUID()}-`;
  for (;;) {
    try {
      return await client.create(join(dir, tag), data, { mode: CreateMode.EPHEMERAL_SEQUENTIAL, acl });
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) {
        await mkdirp(client, dir);
        continue;
      }
      if (!isZooKeeperError(e, Err.CONNECTIONLOSS)) throw e;
      await waitConnected(client);
      const children = await retryOnConnectionLoss(client, () => client.getChildren(dir));
      const mine = children.find((c) => c.startsWith(tag));
      if (mine !== undefined) return join(dir, mine);
    }
  }
}

export interface LeaderElectionOptions {
  /** Stored in our candidate node (e.g. the broker id). */
  data?: Data;
  acl?: readonly Acl[];
  /** Candidate name prefix. Default 'n_'. */
  prefix?: string;
  /** After Expired, ask the client for a fresh session. Default true. */
  renewSession?: boolean;
}

export interface LeaderElectionEvents {
  leader: [];
  /** We are a candidate but not the leader; `leaderNode` is the current leader's node name. */
  follower: [leaderNode: string];
  /** Our candidacy ended with the session; we rejoin in the next session. */
  lost: [];
  error: [error: unknown];
}

/** The standard ZooKeeper election recipe: lowest sequence wins; watch your predecessor. */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  private started = false;
  private node: string | undefined;
  private _isLeader = false;
  private _leaderNode: string | undefined;
  private readonly prefix: string;
  private readonly data: Buffer | null;
  private readonly reconciler: Reconciler;
  private decided: (() => void) | undefined;
  private readonly onConnected = (info: ConnectedInfo): void => {
    if (info.newSession && this.started) {
      this.node = undefined;
      void this.reconciler.run();
    }
  };
  private readonly onExpired = (): void => {
    if (!this.started) return;
    this.node = undefined;
    this._isLeader = false;
    this.emit('lost');
    if (this.options.renewSession ?? true) this.client.connect().catch(() => undefined);
  };

  constructor(
    private readonly client: ZooKeeperClient,
    readonly electionPath: string,
    private readonly options: LeaderElectionOptions = {},
  ) {
    super();
    this.prefix = options.prefix ?? 'n_';
    this.data = ownData(options.data);
    this.reconciler = new Reconciler(
      () => this.check(),
      (e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      },
    );
  }

  get isLeader(): boolean {
    return this._isLeader;
  }
  /** Our candidate node's full path, once created. */
  get nodePath(): string | undefined {
    return this.node;
  }
  /** The current leader's node name, as last seen. */
  get leaderNode(): string | undefined {
    return this._leaderNode;
  }

  /** Join; resolves once we know whether we lead or follow. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.client.on('connected', this.onConnected);
    this.client.on('expired', this.onExpired);
    const first = new Promise<void>((r) => (this.decided = r));
    void this.reconciler.run();
    await first;
  }

  /** Leave the election (deletes our candidate node). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.client.off('connected', this.onConnected);
    this.client.off('expired', this.onExpired);
    const node = this.node;
    this.node = undefined;
    this._isLeader = false;
    this.decided?.();
    if (node !== undefined) {
      try {
        await this.client.delete(node);
      } catch (e) {
        if (!isZooKeeperError(e)) throw e;
      }
    }
  }

  private async check(): Promise<void> {
    while (this.started) {
      try {
        if (this.node === undefined) {
          this.node = await createCandidate(this.client, this.electionPath, this.prefix, this.data, this.options.acl ?? OPEN_ACL_UNSAFE);
          if (!this.started) {
            await this.client.delete(this.node).catch(() => undefined);
            return;
          }
        }
        const mine = this.node.slice(this.node.lastIndexOf('/') + 1);
        const sorted = sortCandidates(await this.client.getChildren(this.electionPath), this.prefix);
        const i = sorted.indexOf(mine);
        if (i < 0) {
          this.node = undefined; // our node vanished (deleted by someone): rejoin
          continue;
        }
        this._leaderNode = sorted[0];
        if (i === 0) {
          if (!this._isLeader) {
            this._isLeader = true;
            this.emit('leader');
          }
          this.decide();
          return;
        }
        const watcher = (ev: WatchedEvent): void => {
          if (ev.type !== EventType.None && this.started) void this.reconciler.run();
        };
        const pred = await this.client.exists(join(this.electionPath, sorted[i - 1]!), watcher);
        if (pred === null) continue;
        if (this._isLeader) this._isLeader = false;
        this.emit('follower', sorted[0]!);
        this.decide();
        return;
      } catch (e) {
        if (isZooKeeperError(e, Err.CONNECTIONLOSS)) {
          try {
            await waitConnected(this.client);
          } catch {
            return;
          }
          continue;
        }
        if (isZooKeeperError(e, Err.SESSIONEXPIRED)) return;
        throw e;
      }
    }
  }

  private decide(): void {
    const d = this.decided;
    this.decided = undefined;
    d?.();
  }
}

export interface LockOptions {
  data?: Data;
  acl?: readonly Acl[];
  /** Candidate name prefix. Default 'lock-'. */
  prefix?: string;
}

export interface LockEvents {
  /** The session holding the lock expired: the lock is no longer ours. */
  lost: [];
}

/** Exclusive lock: ephemeral-sequential candidates, lowest holds it, each watches its predecessor. */
export class Lock extends EventEmitter<LockEvents> {
  private node: string | undefined;
  private held = false;
  private readonly prefix: string;
  private readonly onExpired = (): void => {
    this.node = undefined;
    if (this.held) {
      this.held = false;
      this.emit('lost');
    }
  };

  constructor(
    private readonly client: ZooKeeperClient,
    readonly lockPath: string,
    private readonly options: LockOptions = {},
  ) {
    super();
    this.prefix = options.prefix ?? 'lock-';
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Wait for the lock. With `timeoutMs`, gives up with OPERATIONTIMEOUT (and withdraws). */
  async acquire(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.held) throw new ZooKeeperError(Err.BADARGUMENTS, this.lockPath, 'lock already held by this object');
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    const data = ownData(this.options.data);
    this.client.on('expired', this.onExpired);
    try {
      for (;;) {
        try {
          if (this.node === undefined) {
            this.node = await createCandidate(this.client, this.lockPath, this.prefix, data, this.options.acl ?? OPEN_ACL_UNSAFE);
          }
          const mine = this.node.slice(this.node.lastIndexOf('/') + 1);
          const sorted = sortCandidates(await this.client.getChildren(this.lockPath), this.prefix);
          const i = sorted.indexOf(mine);
          if (i < 0) {
            this.node = undefined;
            continue;
          }
          if (i === 0) {
            this.held = true;
            return;
          }
          let wake!: () => void;
          const woke = new Promise<void>((r) => (wake = r));
          const pred = await this.client.exists(join(this.lockPath, sorted[i - 1]!), () => wake());
          if (pred === null) continue;
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw new ZooKeeperError(Err.OPERATIONTIMEOUT, this.lockPath, 'lock not acquired in time');
          let timer: NodeJS.Timeout | undefined;
          const lost = nextDisconnect(this.client);
          await Promise.race([
            woke,
            lost.promise,
            remaining === Infinity ? new Promise<void>(() => undefined) : new Promise<void>((r) => (timer = setTimeout(r, remaining))),
          ]);
          lost.cancel();
          if (timer) clearTimeout(timer);
          if (Date.now() >= deadline) throw new ZooKeeperError(Err.OPERATIONTIMEOUT, this.lockPath, 'lock not acquired in time');
        } catch (e) {
          if (isZooKeeperError(e, Err.CONNECTIONLOSS)) {
            await waitConnected(this.client);
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      this.client.off('expired', this.onExpired);
      const node = this.node;
      this.node = undefined;
      if (node !== undefined) await this.client.delete(node).catch(() => undefined);
      throw e;
    }
  }

  /** Release the lock (deletes our node). */
  async release(): Promise<void> {
    this.client.off('expired', this.onExpired);
    const node = this.node;
    this.node = undefined;
    const wasHeld = this.held;
    this.held = false;
    if (node === undefined) {
      if (!wasHeld) throw new ZooKeeperError(Err.BADARGUMENTS, this.lockPath, 'lock not held');
      return;
    }
    try {
      await retryOnConnectionLoss(this.client, () => this.client.delete(node));
    } catch (e) {
      if (!isZooKeeperError(e, Err.NONODE)) throw e;
    }
  }
}
