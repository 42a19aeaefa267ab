// Quota enforcement (enforceQuota=true) through a client: one scripted scenario of multis, deletes,
// an ephemeral's session ending and setData past byteHardLimit runs against a real Apache
// ZooKeeper 3.8 (the oracle), our standalone server and a follower of our 3-member ensemble (the
// leader's prep decides there); the three transcripts must be identical. Then the quota must
// survive restarts: our standalone server restarted twice (log replay, then the snapshot), and
// the ensemble's leader restarted (a new leader enforces the replicated limits).
//
// Like ZooKeeper, a write is checked against the stats as last applied: each sub-op of a multi
// is checked alone, so a multi of creates that fit one by one can go past countHardLimit (the
// transcript pins this down on Apache too).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperClient } from '../../src/zookeeper/client/client.js';
import { Op } from '../../src/zookeeper/client/requests.js';
import { isZooKeeperError, MultiError } from '../../src/zookeeper/client/errors.js';
import { ZooKeeperTestingCluster } from '../../src/cluster/zkTestingCluster.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { waitFor } from '../helpers/wait.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENFORCE = { enforceQuota: 'true' };
const LIMITS = 'count=-1,bytes=-1=;byteHardLimit=20;countHardLimit=4';

async function connect(connectString: string): Promise<ZooKeeperClient> {
  const c = new ZooKeeperClient({ connectString, sessionTimeoutMs: 10_000, reconnectDelayMaxMs: 200, shuffleHosts: false });
  await c.connect({ timeoutMs: 30_000 });
  return c;
}

/** "ok", or the error code's name; a failed multi lists each op's outcome. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof MultiError) return `${e.codeName} [${e.results.map((r) => (r.type === 'error' ? r.codeName : r.type)).join(' ')}]`;
    if (isZooKeeperError(e)) return e.codeName;
    throw e;
  }
}

async function stats(c: ZooKeeperClient): Promise<string> {
  return (await c.getData('/zookeeper/quota/m/zookeeper_stats')).data?.toString() ?? '';
}

/** count and bytes of the subtree at `path`, walked by the client. */
async function recount(c: ZooKeeperClient, path: string): Promise<string> {
  let count = 0;
  let bytes = 0;
  const walk = async (p: string): Promise<void> => {
    const { data } = await c.getData(p);
    count++;
    bytes += data?.length ?? 0;
    for (const k of await c.getChildren(p)) await walk(`${p}/${k}`);
  };
  await walk(path);
  return `count=${count},bytes=${bytes}`;
}

/** The scenario; `connectString` may list a single member. Returns what it saw, step by step. */
async function phase1(connectString: string): Promise<string[]> {
  const t: string[] = [];
  const c = await connect(connectString);
  try {
    await c.create('/m');
    await c.create('/m/a', 'xx');
    // What zkCli's setquota writes.
    await c.create('/zookeeper/quota/m');
    await c.create('/zookeeper/quota/m/zookeeper_limits', LIMITS);
    await c.create('/zookeeper/quota/m/zookeeper_stats', 'count=0,bytes=0');
    t.push(`stats ${await stats(c)}`);
    // The second create goes past byteHardLimit: the whole multi fails, nothing is applied.
    t.push(`multi past bytes: ${await outcome(c.multi([Op.create('/m/b', 'yy'), Op.create('/m/c', 'x'.repeat(19)), Op.create('/m/d')]))}`);
    t.push(`/m/b after failed multi: ${(await c.exists('/m/b')) === null ? 'absent' : 'present'}`);
    t.push(`stats ${await stats(c)}`);
    // Each create fits alone (2 + 1 <= 4): ZooKeeper lets all three through.
    t.push(`multi of fitting creates: ${await outcome(c.multi([Op.create('/m/b'), Op.create('/m/c'), Op.create('/m/d')]))}`);
    t.push(`stats ${await stats(c)}`);
    t.push(`create past countHardLimit: ${await outcome(c.create('/m/e'))}`);
    t.push(`create under a missing parent: ${await outcome(c.create('/m/none/x'))}`);
    t.push(`create existing: ${await outcome(c.create('/m/b'))}`);
    t.push(`deletes: ${await outcome(c.multi([Op.delete('/m/b'), Op.delete('/m/c')]))} ${await outcome(c.delete('/m/d'))}`);
    t.push(`stats ${await stats(c)}`);
    // An ephemeral counts while its session lives.
    const other = await connect(connectString);
    t.push(`ephemeral: ${await outcome(other.create('/m/eph', 'e', { mode: 1 }))}`);
    t.push(`stats ${await stats(c)}`);
    await other.close();
    await waitFor(async () => (await c.exists('/m/eph')) === null, { timeoutMs: 20_000, what: 'the ephemeral to go with its session' });
    t.push(`stats after the session closed ${await stats(c)}`);
    t.push(`setData to 18 bytes: ${await outcome(c.setData('/m/a', 'y'.repeat(18)))}`);
    t.push(`stats ${await stats(c)}`);
    t.push(`multi setData past bytes: ${await outcome(c.multi([Op.check('/m/a', 1), Op.setData('/m/a', 'z'.repeat(21))]))}`);
    // The quota is checked before the version.
    t.push(`setData past bytes, wrong version: ${await outcome(c.setData('/m/a', 'z'.repeat(21), 7))}`);
    t.push(`setData within bytes, wrong version: ${await outcome(c.setData('/m/a', 'z'.repeat(2), 7))}`);
    t.push(`/m/a ${(await c.getData('/m/a')).data?.toString()}`);
    t.push(`stats ${await stats(c)}`);
    t.push(`recount ${await recount(c, '/m')}`);
  } finally {
    await c.close();
  }
  return t;
}

/** After a restart: the limits and stats are back and still enforced. */
async function phase2(connectString: string): Promise<void> {
  const c = await connect(connectString);
  try {
    assert.equal((await c.getData('/zookeeper/quota/m/zookeeper_limits')).data?.toString(), LIMITS);
    assert.equal(await stats(c), 'count=2,bytes=18');
    assert.equal(await recount(c, '/m'), 'count=2,bytes=18');
    assert.equal(await outcome(c.create('/m/x', 'abc')), 'QUOTAEXCEEDED');
    assert.equal(await outcome(c.setData('/m', 'abc')), 'QUOTAEXCEEDED');
    assert.equal(await outcome(c.create('/m/y')), 'ok');
    assert.equal(await outcome(c.delete('/m/y')), 'ok');
    assert.equal(await stats(c), 'count=2,bytes=18');
  } finally {
    await c.close();
  }
}

const EXPECTED = [
  'stats count=2,bytes=2',
  'multi past bytes: QUOTAEXCEEDED [OK QUOTAEXCEEDED RUNTIMEINCONSISTENCY]',
  '/m/b after failed multi: absent',
  'stats count=2,bytes=2',
  'multi of fitting creates: ok',
  'stats count=5,bytes=2',
  'create past countHardLimit: QUOTAEXCEEDED',
  'create under a missing parent: NONODE',
  'create existing: NODEEXISTS',
  'deletes: ok ok',
  'stats count=2,bytes=2',
  'ephemeral: ok',
  'stats count=3,bytes=3',
  'stats after the session closed count=2,bytes=2',
  'setData to 18 bytes: ok',
  'stats count=2,bytes=18',
  'multi setData past bytes: QUOTAEXCEEDED [OK QUOTAEXCEEDED]',
  'setData past bytes, wrong version: QUOTAEXCEEDED',
  'setData within bytes, wrong version: BADVERSION',
  `/m/a ${'y'.repeat(18)}`,
  'stats count=2,bytes=18',
  'recount count=2,bytes=18',
];

describe('quota enforcement through a client: Apache ZooKeeper 3.8, our server, our ensemble', { timeout: 110_000 }, () => {
  let apache: ServerHandle | undefined;
  let oracle: string[] = [];

  before(async () => {
    apache = await startApacheZooKeeper({ extraConfig: ENFORCE });
    oracle = await phase1(apache.connectString);
  });

  after(async () => {
    await apache?.stop();
  });

  it('Apache ZooKeeper 3.8 gives the expected transcript (the oracle is what we think it is)', () => {
    assert.deepEqual(oracle, EXPECTED);
  });

  it('standalone: the same transcript; the quota survives restarts (log replay, then snapshot)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cg-quota-'));
    try {
      let zk = await startOurZooKeeper({ dataDir, extraConfig: ENFORCE });
      try {
        assert.deepEqual(await phase1(zk.connectString), oracle);
      } finally {
        await zk.stop();
      }
      for (let i = 0; i < 2; i++) {
        zk = await startOurZooKeeper({ dataDir, extraConfig: ENFORCE });
        try {
          await phase2(zk.connectString);
        } finally {
          await zk.stop();
        }
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('ensemble: through a follower the same transcript; after the leader restarts the new leader enforces', async () => {
    const cluster = await ZooKeeperTestingCluster.start({ size: 3, extraConfig: ENFORCE });
    try {
      const leader = await waitFor(() => (cluster.serving().length === 3 ? cluster.leader() : undefined), {
        timeoutMs: 30_000,
        what: 'all three members serving with a leader',
      });
      const follower = cluster.members.find((m) => m.id !== leader)!;
      assert.deepEqual(await phase1(`127.0.0.1:${follower.clientPort}`), oracle);
      await cluster.restartMember(leader);
      await waitFor(() => cluster.serving().length === 3 && cluster.leader() !== undefined, {
        timeoutMs: 30_000,
        what: 'the ensemble serving again after the leader restarted',
      });
      for (const m of cluster.members) await phase2(`127.0.0.1:${m.clientPort}`);
    } finally {
      await cluster.close();
    }
  });
});
