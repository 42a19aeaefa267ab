// Apache's zkCli.sh (the Debian package's ZooKeeperMain) on a follower of our in-process ensemble
// with local sessions: persistent writes and reads work; an ephemeral create upgrades the session
// (localSessionsUpgradingEnabled=true) or is refused as an ephemeral on a local session (false).
// Needs java and /usr/share/java/zookeeper.jar (apt-get install zookeeper); see helpers/zkcli.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperTestingCluster } from '../../src/cluster/zkTestingCluster.js';
import { serverIdOfSession } from '../../src/zookeeper/server/localSessions.js';
import { ensembleReady, waitFor } from '../helpers/net.js';
import { ZkCliSession } from './helpers/zkcli.js';

async function onFollower(
  upgrading: boolean,
  body: (cli: ZkCliSession, cluster: ZooKeeperTestingCluster, leader: number, follower: number) => Promise<void>,
): Promise<void> {
  const cluster = await ZooKeeperTestingCluster.start({
    extraConfig: { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: String(upgrading) },
  });
  let cli: ZkCliSession | undefined;
  try {
    const { leader, follower } = await ensembleReady(cluster);
    cli = await ZkCliSession.start(`127.0.0.1:${cluster.get(follower).clientPort}`);
    await body(cli, cluster, leader, follower);
    await cli.quit();
    cli = undefined;
  } finally {
    await cli?.killAndWait();
    await cluster.close();
  }
}

test('zkCli on a follower, local sessions with upgrading: create -e upgrades the session', async () => {
  await onFollower(true, async (cli, cluster, leader, follower) => {
    assert.deepEqual(await cli.run('create /p data'), ['Created /p']);
    assert.deepEqual(await cli.run('get /p'), ['data']);
    const leaderCore = cluster.get(leader).member!.shell.core;
    assert.equal(leaderCore.sessions.sessions.size, 0, 'the leader tracks no session before the upgrade');
    assert.deepEqual(await cli.run('create -e /e eph'), ['Created /e']);
    await waitFor(
      () => leaderCore.tree.get('/e') !== undefined,
      10_000,
      () => '/e not on the leader',
    );
    const owner = leaderCore.tree.get('/e')!.ephemeralOwner;
    assert.equal(serverIdOfSession(owner), follower);
    assert.equal(leaderCore.durableSessions.has(owner), true, 'the session is global now');
  });
});

test('zkCli on a follower, local sessions without upgrading: create -e is refused', async () => {
  await onFollower(false, async (cli, cluster, leader) => {
    assert.deepEqual(await cli.run('create /p data'), ['Created /p']);
    const out = (await cli.run('create -e /e eph')).join('\n');
    assert.match(out, /Ephemeral node on local session/i, out);
    assert.deepEqual(await cli.run('ls /'), ['[p, zookeeper]']);
    assert.equal(cluster.get(leader).member!.shell.core.tree.get('/e'), undefined);
  });
});
