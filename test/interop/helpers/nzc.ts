// Promise wrappers around node-zookeeper-client (NZC) 1.1.3 for the interop suite: connect with
// a deadline, record state events, turn callbacks into promises and errors into codes.

import zookeeper from 'node-zookeeper-client';

export const { ACL, Id, Permission, CreateMode, Event, Exception, State } = zookeeper;
export type Stat = zookeeper.Stat;
export type NzcEvent = zookeeper.Event;

const DEADLINE_MS = 10_000;

/** Rejects with `what` if `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let t: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}

/** A one-shot watcher whose event can be awaited. */
export class WatchProbe {
  readonly events: NzcEvent[] = [];
  private resolvers: ((e: NzcEvent) => void)[] = [];
  readonly fn = (e: NzcEvent): void => {
    this.events.push(e);
    const r = this.resolvers;
    this.resolvers = [];
    for (const f of r) f(e);
  };
  /** Resolves with the first event (or the one already received). */
  next(what = 'watch event', ms = DEADLINE_MS): Promise<NzcEvent> {
    if (this.events.length > 0) return Promise.resolve(this.events[0]!);
    return within(new Promise((r) => this.resolvers.push(r)), what, ms);
  }
}

type StateName = 'connected' | 'disconnected' | 'expired' | 'authenticationFailed';

export class Nzc {
  /** State events in order: connected / disconnected / expired / authenticationFailed. */
  readonly states: StateName[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly client: zookeeper.Client) {
    for (const s of ['connected', 'disconnected', 'expired', 'authenticationFailed'] as const) {
      client.on(s, () => {
        this.states.push(s);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      });
    }
  }

  static async connect(connectString: string, opts: zookeeper.ClientOptions = {}): Promise<Nzc> {
    const c = new Nzc(zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 20, ...opts }));
    c.client.connect();
    try {
      await c.waitState('connected');
    } catch (e) {
      c.destroy();
      throw e;
    }
    return c;
  }

  /** Waits until the `n`-th (1-based) occurrence of state event `s`. */
  async waitState(s: StateName, n = 1, ms = DEADLINE_MS): Promise<void> {
    const count = () => this.states.filter((x) => x === s).length;
    await within(
      (async () => {
        while (count() < n) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      `NZC state ${s} #${n} (states so far: ${this.states.join(',')})`,
      ms,
    );
  }

  get sessionId(): bigint {
    return long(this.client.getSessionId());
  }

  private call<T>(what: string, f: (cb: (err: Error | null, v: T) => void) => void): Promise<T> {
    return within(new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v)))), what);
  }

  create(
    path: string,
    data?: Buffer | null,
    mode: number = CreateMode.PERSISTENT,
    acls: zookeeper.ACL[] = ACL.OPEN_ACL_UNSAFE,
  ): Promise<string> {
    return this.call(`create ${path}`, (cb) => this.client.create(path, data, acls, mode, cb));
  }
  remove(path: string, version = -1): Promise<void> {
    return this.call(`remove ${path}`, (cb) => this.client.remove(path, version, (e) => cb(e, undefined)));
  }
  setData(path: string, data: Buffer, version = -1): Promise<Stat> {
    return this.call(`setData ${path}`, (cb) => this.client.setData(path, data, version, cb));
  }
  getData(path: string, watcher?: zookeeper.Watcher): Promise<{ data: Buffer | undefined; stat: Stat }> {
    return this.call(`getData ${path}`, (cb) => this.client.getData(path, watcher, (e, data, stat) => cb(e, { data, stat })));
  }
  exists(path: string, watcher?: zookeeper.Watcher): Promise<Stat | null> {
    return this.call(`exists ${path}`, (cb) => this.client.exists(path, watcher, cb));
  }
  getChildren(path: string, watcher?: zookeeper.Watcher): Promise<{ children: string[]; stat: Stat }> {
    return this.call(`getChildren ${path}`, (cb) =>
      this.client.getChildren(path, watcher, (e, children, stat) => cb(e, { children, stat })),
    );
  }
  getACL(path: string): Promise<{ acls: zookeeper.ACL[]; stat: Stat }> {
    return this.call(`getACL ${path}`, (cb) => this.client.getACL(path, (e, acls, stat) => cb(e, { acls, stat })));
  }
  setACL(path: string, acls: zookeeper.ACL[], version = -1): Promise<Stat> {
    return this.call(`setACL ${path}`, (cb) => this.client.setACL(path, acls, version, cb));
  }
  mkdirp(path: string): Promise<string> {
    return this.call(`mkdirp ${path}`, (cb) => this.client.mkdirp(path, cb));
  }
  /** Commits and resolves with the error (or null) and the per-op results. */
  commit(tx: zookeeper.Transaction): Promise<{ error: zookeeper.Exception | null; results: zookeeper.TransactionResult[] }> {
    return within(
      new Promise((resolve) => tx.commit((error, results) => resolve({ error: error as zookeeper.Exception | null, results }))),
      'transaction commit',
    );
  }

  /** Closes the session (closeSession, then the server closes the socket). */
  async close(): Promise<void> {
    const st = this.client.getState();
    if (st === State.SYNC_CONNECTED) {
      const n = this.states.filter((s) => s === 'disconnected').length;
      this.client.close();
      await this.waitState('disconnected', n + 1);
    } else if (st !== State.EXPIRED && st !== State.AUTH_FAILED) {
      this.destroy();
    }
  }

  /** Stops a client that is not connected (reconnect loop) without a closeSession. */
  destroy(): void {
    // NZC has no public way to stop reconnecting: put its connection manager in CLOSING, where a
    // socket close does not trigger a retry, then drop the socket.
    const cm = (this.client as unknown as { connectionManager: { state: number; socket?: { destroy(): void } } }).connectionManager;
    cm.state = -1;
    cm.socket?.destroy();
  }
}

/** The error code of a rejected NZC call (0 if it succeeded). */
export async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof Exception) return e.getCode();
    throw e;
  }
}
