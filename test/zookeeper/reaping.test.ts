// Container and TTL reaping (ZooKeeper's ContainerManager): used-and-empty containers and
// expired childless TTL nodes are deleted through the pipeline, firing the usual watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, EventType, ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { waitFor } from '../helpers/net.js';

test('containers are reaped once used and empty; never-used ones stay (3.8 default)', async () => {
  // A long check interval: the test drives reapContainers() itself, so nothing races it.
  const zk = await startOurZooKeeper({ extraConfig: { 'znode.container.checkIntervalMs': '3600000' } });
  const c = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  try {
    await c.connect();
    await c.create('/used', null, { mode: CreateMode.CONTAINER });
    await c.create('/never', null, { mode: CreateMode.CONTAINER });
    await c.create('/used/child', 'x');
    assert.equal(zk.shell.core.reapContainers(100), 0, 'a container with a child stays');
    await c.delete('/used/child');
    const events: { type: number; path: string }[] = [];
    await c.exists('/used', (e) => events.push(e));
    assert.equal(zk.shell.core.reapContainers(100), 1);
    await waitFor(
      async () => (await c.exists('/used')) === null,
      5000,
      () => '/used to be reaped',
    );
    await waitFor(
      () => events.length === 1,
      5000,
      () => 'NodeDeleted for /used',
    );
    assert.equal(events[0]!.type, EventType.NodeDeleted);
    assert.equal(zk.shell.core.reapContainers(100), 0);
    assert.notEqual(await c.exists('/never'), null);
  } finally {
    await c.close();
    await zk.stop();
  }
});

test('TTL nodes are reaped after their TTL when childless, not before', async () => {
  let offsetMs = 0;
  const now = (): number => 1_800_000_000_000 + offsetMs;
  const zk = await startOurZooKeeper({ now, extraConfig: { 'znode.container.checkIntervalMs': '3600000' } });
  const c = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  try {
    await c.connect();
    const { stat } = await c.createWithStat('/ttl', 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 50 });
    assert.equal(stat.ephemeralOwner, 0n, 'TTL owner is shown as 0');
    await c.create('/ttl-parent', null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 50 });
    await c.create('/ttl-parent/kid', 'y');
    assert.equal(stat.mtime, now());
    offsetMs = 50;
    assert.equal(zk.shell.core.reapContainers(100), 0, 'not expired at exactly the TTL');
    offsetMs = 51;
    assert.equal(zk.shell.core.reapContainers(100), 1);
    await waitFor(
      async () => (await c.exists('/ttl')) === null,
      5000,
      () => '/ttl to be reaped',
    );
    assert.notEqual(await c.exists('/ttl-parent'), null, 'a TTL node with children stays');
  } finally {
    await c.close();
    await zk.stop();
  }
});

test('the shell runs the reaper on its own timer', async () => {
  const zk = await startOurZooKeeper({ extraConfig: { 'znode.container.checkIntervalMs': '50' } });
  const c = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  try {
    await c.connect();
    await c.create('/auto', null, { mode: CreateMode.CONTAINER });
    await c.create('/auto/x', '1');
    await c.delete('/auto/x');
    await waitFor(
      async () => (await c.exists('/auto')) === null,
      5000,
      () => 'timer-driven reaping',
    );
  } finally {
    await c.close();
    await zk.stop();
  }
});
