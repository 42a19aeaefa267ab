import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SemaphoreLease, ZkSemaphore } from '../../../src/genie/coord/semaphore.js';
import { TokenBucket, ZkTypeLimits } from '../../../src/genie/coord/typeLimits.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { connectionLoss } from '../../../src/zookeeper/client/errors.js';
import { mkdirp } from '../../../src/zookeeper/client/recipes.js';
import type { Stat, Watcher } from '../../../src/zookeeper/client/types.js';
import { CreateMode } from '../../../src/zookeeper/protocol/constants.js';
import { type StartedZk, startOurZooKeeper } from '../../helpers/ourZk.js';
import { startTcpProxy } from '../../helpers/tcpProxy.js';
import { waitFor } from '../../helpers/wait.js';

let server: StartedZk & Awaited<ReturnType<typeof startOurZooKeeper>>;
const clients: ZooKeeperClient[] = [];

async function client(): Promise<ZooKeeperClient> {
  const c = new ZooKeeperClient({ connectString: server.connectString, sessionTimeoutMs: 6000 });
  clients.push(c);
  await c.connect();
  return c;
}

/** A client with hooks into the semaphore's calls, to land a fault at one exact step. */
class HookedClient extends ZooKeeperClient {
  /** Called once a read that leaves a watch (exists, getData) has its reply. */
  afterWatchedRead: ((path: string) => void) | undefined;
  /** Called after a getChildren reply, before the caller sees it. */
  afterGetChildren: ((path: string, children: string[]) => Promise<void>) | undefined;
  /** Replaces the next create (one shot). */
  nextCreate: ((path: string) => Promise<string>) | undefined;

  override async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const stat = await super.exists(path, watcher);
    if (watcher !== undefined) this.afterWatchedRead?.(path);
    return stat;
  }
  override async getData(path: string, watcher?: Watcher): Promise<{ data: Buffer | null; stat: Stat }> {
    const r = await super.getData(path, watcher);
    if (watcher !== undefined) this.afterWatchedRead?.(path);
    return r;
  }
  override async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    const children = await super.getChildren(path, watcher);
    await this.afterGetChildren?.(path, children);
    return children;
  }
  override async create(...args: Parameters<ZooKeeperClient['create']>): Promise<string> {
    const replaced = this.nextCreate;
    this.nextCreate = undefined;
    return replaced !== undefined ? replaced(args[0]) : super.create(...args);
  }
}

async function hookedClient(connectString = server.connectString): Promise<HookedClient> {
  const c = new HookedClient({ connectString, sessionTimeoutMs: 6000 });
  clients.push(c);
  await c.connect();
  return c;
}

/** `p`, or a rejection naming `what` if it has not settled after `ms` (a hang fails instead of stalling the file). */
async function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const seqOf = (lease: string): number => Number(lease.slice(lease.lastIndexOf('-') + 1));

let seq = 0;
/** A semaphore on a fresh path whose limit is the number in the limit znode (no znode: 0). */
function semaphoreOn(c: ZooKeeperClient, name: string): ZkSemaphore {
  return new ZkSemaphore(c, {
    leasesPath: `/test/sem/${name}/leases`,
    limitPath: `/test/sem/${name}/limit`,
    parseLimit: (d) => (d === null ? 0 : Number(d.toString())),
  });
}

async function setLimit(c: ZooKeeperClient, name: string, limit: number): Promise<void> {
  await mkdirp(c, `/test/sem/${name}`);
  const path = `/test/sem/${name}/limit`;
  if ((await c.exists(path)) === null) await c.create(path, String(limit));
  else await c.setData(path, String(limit));
}

const leaseCount = async (c: ZooKeeperClient, name: string): Promise<number> =>
  (await c.getChildren(`/test/sem/${name}/leases`).catch(() => [])).length;

/** Acquire, and record when it resolved. */
function pending(sem: ZkSemaphore, signal?: AbortSignal): { promise: Promise<SemaphoreLease>; lease: SemaphoreLease | undefined } {
  const p: { promise: Promise<SemaphoreLease>; lease: SemaphoreLease | undefined } = { promise: sem.acquire(signal), lease: undefined };
  p.promise.then(
    (l) => {
      p.lease = l;
    },
    () => undefined,
  );
  return p;
}

before(async () => {
  server = await startOurZooKeeper();
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server.stop();
});

// A deadline per suite: a lost wake-up would otherwise hang the file (and the whole run) instead of failing it.
describe('ZkSemaphore', { timeout: 60_000 }, () => {
  test('limit 2 across 5 clients looping: never more than 2 holders, everyone gets through', async () => {
    const name = `loop${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 2);
    let holders = 0;
    let maxHolders = 0;
    let rounds = 0;
    const worker = async (): Promise<void> => {
      const sem = semaphoreOn(await client(), name);
      for (let i = 0; i < 8; i++) {
        const lease = await sem.acquire();
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        assert.ok(holders <= 2, `${holders} holders`);
        // Hold until two leases have been held at once. A short hold would leave that to luck:
        // under load each admission takes several round trips, so holders may never overlap.
        // The others stay queued meanwhile and the second place is free, so one must be admitted.
        await waitFor(() => maxHolders === 2, { timeoutMs: 30_000, what: 'a second holder while one holds (limit 2)' });
        await new Promise((r) => setTimeout(r, 2));
        holders--;
        rounds++;
        await lease.release();
      }
    };
    await Promise.all(Array.from({ length: 5 }, worker));
    assert.equal(rounds, 40);
    assert.equal(maxHolders, 2, 'the limit was reached, not just respected');
    assert.equal(await leaseCount(admin, name), 0);
  });

  test('a waiter is admitted when a holder session closes (its ephemeral lease goes)', async () => {
    const name = `close${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const holderClient = await client();
    const held = await semaphoreOn(holderClient, name).acquire();
    assert.equal(held.isHeld, true);
    const waiter = pending(semaphoreOn(await client(), name));
    await waitFor(async () => (await leaseCount(admin, name)) === 2, { what: 'the waiter queued' });
    assert.equal(waiter.lease, undefined);
    await holderClient.close();
    const lease = await waiter.promise;
    assert.equal(lease.isHeld, true);
    await lease.release();
  });

  test('abort while waiting rejects with the reason and withdraws the lease', async () => {
    const name = `abort${seq++}`;
    const c = await client();
    await setLimit(c, name, 1);
    const sem = semaphoreOn(c, name);
    const held = await sem.acquire();
    const ac = new AbortController();
    const waiter = sem.acquire(ac.signal);
    await waitFor(() => sem.waiting === 1, { what: 'a waiter' });
    ac.abort(new Error('gave up'));
    await assert.rejects(waiter, /gave up/);
    await waitFor(async () => (await leaseCount(c, name)) === 1, { what: 'the withdrawn lease deleted' });
    await assert.rejects(sem.acquire(AbortSignal.abort(new Error('already'))), /already/);
    await held.release();
    await held.release(); // idempotent
    assert.equal(await leaseCount(c, name), 0);
  });

  test('an abort that lands while the waiter is still deciding to wait rejects it (the abort is not missed)', async () => {
    const name = `abortMidCheck${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const held = await semaphoreOn(admin, name).acquire();
    const c = await hookedClient();
    const sem = semaphoreOn(c, name);
    const ac = new AbortController();
    // The waiter's first watched read is answered; it goes on to decide 'wait' with the abort
    // already in the past, so only a look at signal.aborted can see it.
    c.afterWatchedRead = () => {
      c.afterWatchedRead = undefined;
      ac.abort(new Error('gave up mid-check'));
    };
    const waiter = sem.acquire(ac.signal);
    await assert.rejects(settlesWithin(waiter, 20_000, 'the aborted acquire'), /gave up mid-check/);
    await waitFor(async () => (await leaseCount(admin, name)) === 1, { what: 'the withdrawn lease deleted' });
    await held.release();
  });

  test('an acquire started while disconnected renews a session that expires meanwhile', async () => {
    const name = `renew${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const proxy = await startTcpProxy(server.host, server.port);
    try {
      const c = await hookedClient(proxy.connectString);
      const lost = c.sessionId;
      proxy.block();
      proxy.cut();
      await waitFor(() => c.state === 'connecting', { what: 'the client disconnected' });
      // It waits for a connection; the next one it gets says its session expired.
      const waiter = semaphoreOn(c, name).acquire();
      assert.ok(server.shell.core.expireSession(lost));
      proxy.unblock();
      const lease = await settlesWithin(waiter, 20_000, 'the acquire');
      assert.notEqual(c.sessionId, lost);
      await lease.release();
    } finally {
      await proxy.close();
    }
  });

  test('a lease whose create crossed a session expiry is the one that queues (no orphan lease blocks the queue)', async () => {
    const name = `orphan${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const held = await semaphoreOn(admin, name).acquire();
    const proxy = await startTcpProxy(server.host, server.port);
    try {
      const c = await hookedClient(proxy.connectString);
      const lost = c.sessionId;
      // The first create is lost with its connection, and the session is gone for good before the
      // client gets back: the lease is created again in the new session while createLease retries.
      c.nextCreate = async (path) => {
        proxy.block();
        proxy.cut();
        assert.ok(server.shell.core.expireSession(lost));
        await waitFor(() => !server.shell.core.sessions.sessions.has(lost) && c.state !== 'connected', { what: 'session closed' });
        proxy.unblock();
        throw connectionLoss(path, 'lost with the connection (test)');
      };
      const sem = semaphoreOn(c, name);
      const waiter = sem.acquire();
      await waitFor(() => sem.waiting === 1 && c.sessionId !== lost, { what: 'queued in the new session' });
      assert.equal(await leaseCount(admin, name), 2);
      await held.release();
      const lease = await settlesWithin(waiter, 20_000, 'the acquire');
      assert.equal(await leaseCount(admin, name), 1, 'only the held lease is left');
      await lease.release();
    } finally {
      await proxy.close();
    }
  });

  test('after a lost create reply, a lease with our tag but another session is not taken for ours', async () => {
    const name = `foreignTag${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 2);
    await mkdirp(admin, `/test/sem/${name}/leases`);
    const c = await hookedClient();
    // As when the first attempt was made in a session that has expired since but whose ephemerals
    // the server has not removed yet: the tagged lease exists, owned by a session not ours.
    c.nextCreate = async (path) => {
      await admin.create(path, null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      throw connectionLoss(path, 'reply lost (test)');
    };
    const lease = await semaphoreOn(c, name).acquire();
    assert.equal((await admin.exists(lease.path))?.ephemeralOwner, c.sessionId);
    assert.equal(await leaseCount(admin, name), 2);
    await lease.release();
  });

  test('a predecessor gone before it is read leaves no watch behind', async () => {
    const name = `gonePred${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const first = await semaphoreOn(admin, name).acquire();
    const secondSem = semaphoreOn(admin, name);
    const ac = new AbortController();
    const second = secondSem.acquire(ac.signal);
    await waitFor(() => secondSem.waiting === 1, { what: 'the second waiting' });
    const c = await hookedClient();
    // The third reads [first, second, third]; the second gives up before the third reads it.
    let gone: string | undefined;
    c.afterGetChildren = async (path, children) => {
      if (children.length !== 3) return;
      c.afterGetChildren = undefined;
      gone = `${path}/${children.sort((a, b) => seqOf(a) - seqOf(b))[1]!}`;
      ac.abort(new Error('second gives up'));
      await assert.rejects(second, /second gives up/);
      await waitFor(async () => (await admin.exists(gone!)) === null, { what: 'the second lease withdrawn' });
    };
    const third = semaphoreOn(c, name).acquire();
    await waitFor(() => gone !== undefined, { what: 'the race staged' });
    await first.release();
    await (await third).release();
    assert.equal(server.shell.core.tree.watches.data.byPath.has(gone!), false, `a watch was left on ${gone}`);
  });

  test('a raised limit admits queued waiters without any release; a removed limit znode means none', async () => {
    const name = `limit${seq++}`;
    const c = await client();
    await setLimit(c, name, 1);
    const sem = semaphoreOn(c, name);
    const first = await sem.acquire();
    const waiters = [pending(sem), pending(sem), pending(sem)];
    await waitFor(() => sem.waiting === 3, { what: '3 waiters' });
    await setLimit(c, name, 3);
    await waitFor(() => waiters.filter((w) => w.lease).length === 2, { what: 'two admitted' });
    // The third wakes on the second's admission and checks again before it waits once more.
    await waitFor(() => sem.waiting === 1, { what: 'the third waiting again' });
    assert.equal(waiters[2]!.lease, undefined, 'three held already: the limit');
    // No limit znode: the parser says 0 here, so the last one stays queued until a release.
    await c.delete(`/test/sem/${name}/limit`);
    await first.release();
    await setLimit(c, name, 3);
    const last = await waiters[2]!.promise;
    for (const w of waiters) await (await w.promise).release();
    assert.equal(last.isHeld, false);
  });

  test('no thundering herd: each release wakes O(1) waiters', async () => {
    const name = `herd${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const cs = [await client(), await client(), await client()];
    const holder = await semaphoreOn(cs[0]!, name).acquire();
    const waitersMax = 12;
    const sems: ZkSemaphore[] = [];
    const waiters: ReturnType<typeof pending>[] = [];
    for (let i = 0; i < waitersMax; i++) {
      const sem = semaphoreOn(cs[i % cs.length]!, name);
      sems.push(sem);
      waiters.push(pending(sem));
      // In order, so the queue order is known.
      await waitFor(async () => (await leaseCount(admin, name)) === i + 2, { what: `waiter ${i} queued` });
    }
    const events = (): number => sems.reduce((n, s) => n + s.watchEvents, 0);
    await waitFor(() => sems.every((s) => s.waiting === 1), { what: 'all waiting' });
    const before = events();
    let current = holder;
    for (let i = 0; i < waitersMax; i++) {
      await current.release();
      current = await waiters[i]!.promise;
      assert.equal(waiters.filter((w) => w.lease?.isHeld).length, 1, 'one holder at a time');
    }
    await current.release();
    const perRelease = (events() - before) / waitersMax;
    console.log(`# ${perRelease.toFixed(2)} watch events per release`);
    // A herd would wake every remaining waiter on each release (~6.5 on average here).
    assert.ok(perRelease <= 3.5, `${perRelease} watch events per release`);
  });

  test('holder session expiry: the lease is lost and the next waiter admitted; an expired waiter requeues', async () => {
    const name = `expire${seq++}`;
    const admin = await client();
    await setLimit(admin, name, 1);
    const a = await client();
    a.on('expired', () => a.connect().catch(() => undefined));
    const lease = await semaphoreOn(a, name).acquire();
    let lost = false;
    lease.on('lost', () => {
      lost = true;
    });
    const b = await client();
    const bSem = semaphoreOn(b, name);
    const waiterB = pending(bSem);
    await waitFor(() => bSem.waiting === 1, { what: 'b waiting' });
    assert.ok(server.shell.core.expireSession(a.sessionId));
    const bLease = await waiterB.promise;
    await waitFor(() => lost, { what: "the holder's 'lost' event" });
    assert.equal(lease.isHeld, false);
    await lease.release(); // harmless
    // Now a waiter's session expires: it queues again in its new session and gets through.
    const aSem = semaphoreOn(a, name);
    await waitFor(() => a.isConnected, { what: 'a reconnected' });
    const waiterA = pending(aSem);
    await waitFor(() => aSem.waiting === 1, { what: 'a waiting' });
    const oldSession = a.sessionId;
    assert.ok(server.shell.core.expireSession(a.sessionId));
    await waitFor(() => a.isConnected && a.sessionId !== oldSession && aSem.waiting === 1, { what: 'a queued in a new session' });
    await bLease.release();
    const aLease = await waiterA.promise;
    assert.equal(aLease.isHeld, true);
    await aLease.release();
    assert.equal(await leaseCount(admin, name), 0);
  });
});

describe('ZkTypeLimits', { timeout: 60_000 }, () => {
  test('no limit: immediate no-op; concurrency: a global cap that follows changes', async () => {
    const c = await client();
    const gateA = new ZkTypeLimits(c, { leaseData: 'worker-a' });
    const gateB = new ZkTypeLimits(await client(), { leaseData: 'worker-b' });
    const signal = new AbortController().signal;
    const free = await Promise.all(Array.from({ length: 20 }, () => gateA.acquire('unlimited', signal)));
    for (const r of free) r();
    assert.equal((await c.exists('/clustergenie/semaphores/unlimited')) === null, true, 'no lease written');

    await ZkTypeLimits.setTypeLimit(c, 'capped', { concurrency: 1 });
    assert.deepEqual(Object.fromEntries(await ZkTypeLimits.listTypeLimits(c)), { capped: { concurrency: 1 } });
    const releaseA = await gateA.acquire('capped', signal);
    let bAdmitted = false;
    const b = gateB.acquire('capped', signal).then((r) => {
      bAdmitted = true;
      return r;
    });
    await waitFor(async () => (await c.getChildren('/clustergenie/semaphores/capped')).length === 2, { what: 'b queued' });
    assert.equal(bAdmitted, false);
    await ZkTypeLimits.setTypeLimit(c, 'capped', { concurrency: 2 });
    const releaseB = await b;
    releaseA();
    releaseB();
    // Cleared: the cache follows the watch and acquire no longer touches ZooKeeper.
    assert.equal(await ZkTypeLimits.clearTypeLimit(c, 'capped'), true);
    assert.equal(await ZkTypeLimits.clearTypeLimit(c, 'capped'), false);
    await waitFor(async () => {
      const r = await gateA.acquire('capped', signal);
      r();
      return (await c.getChildren('/clustergenie/semaphores/capped')).length === 0;
    });
    await assert.rejects(ZkTypeLimits.setTypeLimit(c, 'bad/type', { concurrency: 1 }), RangeError);
    await assert.rejects(ZkTypeLimits.setTypeLimit(c, 't', { concurrency: 0 }), RangeError);
    gateA.close();
    gateB.close();
  });

  test('an abort while queued rejects with the reason', async () => {
    const c = await client();
    await ZkTypeLimits.setTypeLimit(c, 'one', { concurrency: 1 });
    const gate = new ZkTypeLimits(c);
    const release = await gate.acquire('one', new AbortController().signal);
    const ac = new AbortController();
    const waiting = gate.acquire('one', ac.signal);
    await waitFor(async () => (await c.getChildren('/clustergenie/semaphores/one')).length === 2, { what: 'queued' });
    ac.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    release();
    gate.close();
  });

  test('ratePerSecond paces starts, shared among live workers', async () => {
    const c = await client();
    await ZkTypeLimits.setTypeLimit(c, 'paced', { ratePerSecond: 10 });
    await mkdirp(c, '/clustergenie/workers');
    await c.create('/clustergenie/workers/w1', '{}', { mode: CreateMode.EPHEMERAL });
    await c.create('/clustergenie/workers/w2', '{}', { mode: CreateMode.EPHEMERAL });
    const gate = new ZkTypeLimits(c);
    const signal = new AbortController().signal;
    // 2 workers: 5 per second here, a burst of 5 then one per 200 ms.
    const started = performance.now();
    for (let i = 0; i < 8; i++) (await gate.acquire('paced', signal))();
    const elapsed = performance.now() - started;
    // Only the lower bound: pacing may never be faster; how much slower depends on the machine's load.
    assert.ok(elapsed >= 500, `8 starts at 5/s took only ${elapsed.toFixed(0)} ms`);
    gate.close();
  });

  test('TokenBucket reserves in order and refunds', () => {
    const b = new TokenBucket(2, 0);
    assert.equal(b.take(0), 0);
    assert.equal(b.take(0), 0);
    assert.equal(b.take(0), 500);
    assert.equal(b.take(0), 1000);
    b.refund(0);
    assert.equal(b.take(0), 1000);
    assert.equal(b.take(1500), 0, 'refilled 3 tokens by t=1500: the debt of 2 paid, one left');
    assert.equal(b.take(1500), 500);
    assert.equal(b.take(10_000), 0, 'refills only up to the burst (2)');
    assert.equal(b.take(10_000), 0);
    assert.equal(b.take(10_000), 500);
  });
});
