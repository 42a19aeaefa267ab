import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listWorkers, WorkerRegistration } from '../../../src/genie/coord/workerRegistry.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { startOurZooKeeper } from '../../helpers/ourZk.js';
import { waitFor } from '../../helpers/wait.js';

let server: Awaited<ReturnType<typeof startOurZooKeeper>>;
const clients: ZooKeeperClient[] = [];

async function client(): Promise<ZooKeeperClient> {
  const c = new ZooKeeperClient({ connectString: server.connectString, sessionTimeoutMs: 6000 });
  clients.push(c);
  await c.connect();
  return c;
}

async function readNode(c: ZooKeeperClient, id: string): Promise<{ info: Record<string, unknown>; version: number } | null> {
  try {
    const { data, stat } = await c.getData(`/clustergenie/workers/${id}`);
    return { info: JSON.parse(data!.toString()) as Record<string, unknown>, version: stat.version };
  } catch {
    return null;
  }
}

before(async () => {
  server = await startOurZooKeeper();
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server.stop();
});

describe('WorkerRegistration', () => {
  test('the node appears with the worker info, updates are coalesced, and close deletes it', async () => {
    const observer = await client();
    const reg = new WorkerRegistration(await client(), { id: 'w-1', capacity: 4, host: 'h1', pid: 42, updateIntervalMs: 300 });
    await reg.start();
    const first = await readNode(observer, 'w-1');
    assert.ok(first);
    assert.deepEqual(
      { ...first.info, startedAt: undefined, updatedAt: undefined },
      { id: 'w-1', host: 'h1', pid: 42, capacity: 4, running: 0, queued: 0, startedAt: undefined, updatedAt: undefined },
    );
    const started = Date.now();
    for (let i = 1; i <= 50; i++) reg.update({ running: i % 5, queued: i });
    await waitFor(async () => (await readNode(observer, 'w-1'))?.info.queued === 50, { what: 'the last update written' });
    const after = await readNode(observer, 'w-1');
    assert.ok(Date.now() - started >= 250, 'the first write waited out the interval after registration');
    assert.ok(after!.version <= 2, `50 updates took ${after!.version} writes`);
    assert.equal(after!.info.running, 0);
    assert.deepEqual(
      (await listWorkers(observer)).map((w) => [w.id, w.queued]),
      [['w-1', 50]],
    );
    reg.update({ capacity: 8 });
    await reg.flush();
    assert.equal((await readNode(observer, 'w-1'))?.info.capacity, 8);
    await reg.close();
    assert.equal(await readNode(observer, 'w-1'), null);
    assert.deepEqual(await listWorkers(observer), []);
  });

  test('the node disappears with the session and comes back, with the latest data, in the next one', async () => {
    const observer = await client();
    const zk = await client();
    zk.on('expired', () => zk.connect().catch(() => undefined));
    const reg = new WorkerRegistration(zk, { id: 'w-2', capacity: 2, updateIntervalMs: 50 });
    await reg.start();
    reg.update({ running: 2 });
    await waitFor(async () => (await readNode(observer, 'w-2'))?.info.running === 2, { what: 'running 2 written' });
    const oldSession = zk.sessionId;
    assert.ok(server.shell.core.expireSession(oldSession));
    await waitFor(
      async () => {
        const n = await readNode(observer, 'w-2');
        return zk.sessionId !== oldSession && n?.info.running === 2;
      },
      { what: 'node re-created in the new session' },
    );
    // Owned by the new session: the old session's node went with it and this is a new one.
    const stat = await observer.exists('/clustergenie/workers/w-2');
    assert.equal(stat?.ephemeralOwner, zk.sessionId);
    assert.notEqual(stat?.ephemeralOwner, oldSession);
    // A closed session takes the node with it too.
    await zk.close();
    await waitFor(async () => (await readNode(observer, 'w-2')) === null, { what: 'node gone after close' });
    await reg.close();
  });

  test('ids that are not znode names are refused', () => {
    assert.throws(() => new WorkerRegistration(clients[0]!, { id: 'a/b', capacity: 1 }), RangeError);
    assert.throws(() => new WorkerRegistration(clients[0]!, { id: '', capacity: 1 }), RangeError);
  });
});
