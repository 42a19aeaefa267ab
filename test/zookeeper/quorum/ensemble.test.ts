// A 3-member ensemble of ours, in process on real sockets (src/cluster/zkTestingCluster.ts):
// election, writes through any member, reads everywhere, leader failover with sessions kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import { CreateMode, ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { fourLetter, waitFor } from '../../helpers/net.js';

async function client(connectString: string): Promise<ZooKeeperClient> {
  const c = new ZooKeeperClient({ connectString, sessionTimeoutMs: 10_000 });
  await c.connect();
  return c;
}

test('3 members elect one leader, serve writes from any member and reads everywhere', async () => {
  const cluster = await ZooKeeperTestingCluster.start({ size: 3 });
  const clients: ZooKeeperClient[] = [];
  try {
    await waitFor(
      async () => cluster.serving().length === 3 && cluster.leader() !== undefined,
      20_000,
      () => `not all serving: ${cluster.serving()}`,
    );
    const leader = cluster.leader()!;
    const modes = await Promise.all(
      cluster.members.map(async (m) => /Mode: (\w+)/.exec(await fourLetter('127.0.0.1', m.clientPort, 'srvr'))?.[1]),
    );
    assert.deepEqual(modes.sort(), ['follower', 'follower', 'leader']);
    const mntr = await fourLetter('127.0.0.1', cluster.get(leader).clientPort, 'mntr');
    assert.match(mntr, /^zk_server_state\tleader$/m);
    assert.match(mntr, /^zk_peer_state\tleading - broadcast$/m);
    assert.match(mntr, /^zk_followers\t2$/m);
    assert.match(mntr, /^zk_synced_followers\t2$/m);
    assert.match(mntr, /^zk_pending_syncs\t0$/m);
    const follower = cluster.members.find((m) => m.id !== leader)!;
    assert.match(await fourLetter('127.0.0.1', follower.clientPort, 'mntr'), /^zk_peer_state\tfollowing - broadcast$/m);
    const conf = await fourLetter('127.0.0.1', cluster.members[0]!.clientPort, 'conf');
    assert.match(conf, /^membership: $/m);
    for (const m of cluster.members)
      assert.ok(conf.includes(`server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}:participant`), conf);
    // A client on each member writes; every member then reads every write (after sync).
    for (const m of cluster.members) clients.push(await client(`127.0.0.1:${m.clientPort}`));
    for (let i = 0; i < clients.length; i++) {
      for (let k = 0; k < 20; k++) await clients[i]!.create(`/m${i}-${k}`, Buffer.from(`v${i}-${k}`));
    }
    await clients[0]!.setData('/m1-3', Buffer.from('changed'));
    for (const c of clients) {
      await c.sync('/');
      const kids = (await c.getChildren('/')).filter((k) => k.startsWith('m'));
      assert.equal(kids.length, 60);
      assert.equal(String((await c.getData('/m1-3')).data), 'changed');
    }
    // mntr's latency summaries after 61 writes: the leader counted quorum acks, every member
    // commit propagation and fsyncs (what operators read when the quorum is slow).
    const counted = async (port: number, name: string): Promise<number> => {
      const m = new RegExp(`^zk_cnt_${name}\\t(\\d+)$`, 'm').exec(await fourLetter('127.0.0.1', port, 'mntr'));
      assert.ok(m, `zk_cnt_${name} missing`);
      return Number(m[1]);
    };
    assert.ok((await counted(cluster.get(leader).clientPort, 'quorum_ack_latency')) >= 61);
    for (const m of cluster.members) {
      const propagated = await counted(m.clientPort, 'commit_propagation_latency');
      assert.ok(propagated >= 61, `member ${m.id}: ${propagated} commits timed`);
      assert.ok((await counted(m.clientPort, 'fsynctime')) >= 1, `member ${m.id}: no fsync timed`);
    }
    assert.ok(leader > 0);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster.close();
  }
});

test('the leader stops: a new one is elected, sessions and data survive, writes go on', async () => {
  const cluster = await ZooKeeperTestingCluster.start({ size: 3 });
  let c: ZooKeeperClient | undefined;
  try {
    await waitFor(
      async () => cluster.serving().length === 3 && cluster.leader() !== undefined,
      20_000,
      () => 'no leader',
    );
    const first = cluster.leader()!;
    c = await client(cluster.connectString);
    const sessionId = c.sessionId;
    await c.create('/eph', Buffer.from('e'), { mode: CreateMode.EPHEMERAL });
    for (let k = 0; k < 10; k++) await c.create(`/before${k}`, Buffer.from('x'));
    await cluster.stopMember(first);
    await waitFor(
      async () => {
        const l = cluster.leader();
        return l !== undefined && l !== first;
      },
      20_000,
      () => 'no new leader',
    );
    await waitFor(
      async () => {
        try {
          await c!.create('/after', Buffer.from('y'));
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      () => 'writes did not resume',
    );
    assert.equal(c.sessionId, sessionId, 'the session moved with the client');
    assert.notEqual(await c.exists('/eph'), null, 'the ephemeral of the live session is still there');
    for (let k = 0; k < 10; k++) assert.notEqual(await c.exists(`/before${k}`), null);
    // The old leader comes back as a follower and catches up.
    await cluster.startMember(first);
    await waitFor(
      async () => cluster.serving().includes(first),
      20_000,
      () => 'the old leader did not rejoin',
    );
    const back = await client(`127.0.0.1:${cluster.get(first).clientPort}`);
    await back.sync('/');
    assert.notEqual(await back.exists('/after'), null);
    await back.close();
  } finally {
    await c?.close().catch(() => {});
    await cluster.close();
  }
});

test('the testing cluster expires a session on demand: its ephemerals go everywhere, the client hears it', async () => {
  const cluster = await ZooKeeperTestingCluster.start({ size: 3 });
  const clients: ZooKeeperClient[] = [];
  try {
    await waitFor(
      async () => cluster.serving().length === 3 && cluster.leader() !== undefined,
      20_000,
      () => 'no leader',
    );
    const follower = cluster.members.find((m) => m.id !== cluster.leader())!;
    const victim = await client(`127.0.0.1:${follower.clientPort}`);
    clients.push(victim);
    await victim.create('/owned', Buffer.from('x'), { mode: CreateMode.EPHEMERAL });
    let expired = false;
    victim.on('expired', () => (expired = true));
    cluster.expireSession(victim.sessionId);
    for (const m of cluster.members) {
      const c = await client(`127.0.0.1:${m.clientPort}`);
      clients.push(c);
      await waitFor(
        async () => {
          await c.sync('/');
          return (await c.exists('/owned')) === null;
        },
        10_000,
        () => `/owned still on member ${m.id}`,
      );
    }
    await waitFor(
      async () => expired,
      10_000,
      () => 'the client did not hear that its session expired',
    );
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster.close();
  }
});
