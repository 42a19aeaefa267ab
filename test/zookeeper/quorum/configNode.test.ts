// /zookeeper/config on ensemble members holds the membership as Apache ZooKeeper writes it there
// (ZKDatabase.initConfigInZKDatabase): the server lines with their client addresses and
// `version=<hex>`, with version -1 and mzxid = the membership's version in the Stat. Curator's
// EnsembleTracker reads it (test/interop/curator.test.ts, scenario ensembleConfig, compares it with
// Apache 3.8 and 3.9). Setting it is no txn: it must survive a restart and never move the log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import type { QuorumMember } from '../../../src/zookeeper/quorum/config.js';
import { DynamicConfig } from '../../../src/zookeeper/quorum/reconfigHost.js';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import { waitFor } from '../../helpers/net.js';

function expectedConfig(cluster: ZooKeeperTestingCluster): string {
  const lines = cluster.members.map(
    (m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}:participant;127.0.0.1:${m.clientPort}\n`,
  );
  return `${lines.join('')}version=0`;
}

test('/zookeeper/config on every member holds the membership, also after a restart', async () => {
  const cluster = await ZooKeeperTestingCluster.start({ size: 3 });
  const clients: ZooKeeperClient[] = [];
  const connect = async (id: number): Promise<ZooKeeperClient> => {
    const c = new ZooKeeperClient({ connectString: `127.0.0.1:${cluster.get(id).clientPort}`, sessionTimeoutMs: 4000 });
    clients.push(c);
    await c.connect({ timeoutMs: 20_000 });
    return c;
  };
  try {
    await waitFor(
      () => cluster.serving().length === 3 && cluster.leader() !== undefined,
      20_000,
      () => `serving: ${cluster.serving()}`,
    );
    const want = expectedConfig(cluster);
    for (const m of cluster.members) {
      const c = await connect(m.id);
      const { data, stat } = await c.getData('/zookeeper/config');
      assert.equal(data?.toString('utf8'), want, `member ${m.id}`);
      assert.equal(stat.version, -1, `member ${m.id}: version`);
      assert.equal(stat.mzxid, 0, `member ${m.id}: mzxid is the membership's version`);
      assert.equal(stat.czxid, 0, `member ${m.id}: czxid`);
      assert.equal(stat.aversion, -1, `member ${m.id}: aversion`);
      assert.equal(stat.dataLength, Buffer.byteLength(want), `member ${m.id}: dataLength`);
    }
    // Writes move the log on; a follower restarted afterwards recovers them and fills the node again.
    const writer = clients[0]!;
    for (let i = 0; i < 5; i++) await writer.create(`/n${i}`, Buffer.from(String(i)));
    const last = (await writer.exists('/n4'))!.czxid;
    const follower = cluster.members.find((m) => m.id !== cluster.leader())!.id;
    await cluster.restartMember(follower);
    await waitFor(
      () => cluster.serving().length === 3,
      20_000,
      () => `serving after the restart: ${cluster.serving()}`,
    );
    const c = await connect(follower);
    await c.sync('/n4');
    const { data, stat } = await c.getData('/zookeeper/config');
    assert.equal(data?.toString('utf8'), want, 'after the restart');
    assert.equal(stat.version, -1);
    assert.equal((await c.getData('/n4')).data?.toString(), '4', 'the restarted member has every write');
    assert.ok(last > 0);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster.close();
  }
});

test('filling /zookeeper/config takes no zxid: the tree stays where the log is', () => {
  const tree = new DataTree();
  tree.lastProcessedZxid = 5;
  const version = 0x100000003; // a membership committed at a later zxid than this tree has seen
  const address = { host: '127.0.0.1', quorumPort: 2888, electionPort: 3888 };
  const members: QuorumMember[] = [
    { id: 1, ...address, addresses: [address], role: 'participant', clientAddress: '127.0.0.1', clientPort: 2181, clientFromStatic: false },
  ];
  tree.setConfigNode(DynamicConfig.render({ members, version }), version, 1234);
  assert.equal(tree.lastProcessedZxid, 5);
  const slot = tree.find('/zookeeper/config');
  assert.equal(tree.dataAt(slot)?.toString('utf8'), 'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\nversion=100000003');
  const stat = tree.statAt(slot);
  assert.equal(stat.mzxid, version);
  assert.equal(stat.version, -1);
  assert.equal(stat.mtime, 1234);
});
