// Read-only mode across a partition, in process (ZooKeeperTestingCluster): a member cut off from
// the other two serves read-only from the state it had, while the majority goes on writing; when
// the links heal its read-only clients are disconnected, it syncs, and it then holds every write
// of the majority in order. Apache ZooKeeper 3.8 as the oracle for the wire is in readOnly.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import { CreateMode, ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { GetDataRequest, GetChildrenRequest } from '../../../src/zookeeper/protocol/records.js';
import { fourLetter } from '../../helpers/net.js';
import { enc, RawClient } from '../../helpers/rawClient.js';
import { waitFor } from '../../helpers/wait.js';
import { JuteReader } from '../../../src/zookeeper/protocol/jute.js';

const HOST = '127.0.0.1';
const WRITES = 20;

function zxidOf(srvr: string): string | undefined {
  return /^Zxid: (0x[0-9a-f]+)$/m.exec(srvr)?.[1];
}

test('a partitioned member serves read-only from its old state, then catches up with every write of the majority, in order', {
  timeout: 120_000,
}, async () => {
  const cluster = await ZooKeeperTestingCluster.start({ size: 3, extraConfig: { 'readonlymode.enabled': 'true' } });
  const clients: ZooKeeperClient[] = [];
  try {
    await waitFor(() => cluster.leader() !== undefined && cluster.serving().length === 3, {
      timeoutMs: 30_000,
      what: 'a serving ensemble',
    });
    const leader = cluster.leader()!;
    const lone = cluster.members.find((m) => m.id !== leader)!;
    const majority = cluster.members.filter((m) => m.id !== lone.id);
    const isro = (): Promise<string> => fourLetter(HOST, lone.clientPort, 'isro').catch(() => '');

    const setup = new ZooKeeperClient({ connectString: `${HOST}:${lone.clientPort}`, sessionTimeoutMs: 10_000, closeTimeoutMs: 1000 });
    clients.push(setup);
    await setup.connect({ timeoutMs: 15_000 });
    await setup.create('/p', 'v0');
    await setup.create('/seq', '');
    await setup.close();
    assert.equal(await isro(), 'rw');

    cluster.partition([lone.id]);
    await waitFor(async () => (await isro()) === 'ro', { timeoutMs: 30_000, intervalMs: 50, what: `member ${lone.id} to turn read-only` });

    // The majority keeps a quorum and takes writes meanwhile.
    const writer = new ZooKeeperClient({
      connectString: majority.map((m) => `${HOST}:${m.clientPort}`).join(','),
      sessionTimeoutMs: 10_000,
      closeTimeoutMs: 1000,
    });
    clients.push(writer);
    await writer.connect({ timeoutMs: 15_000 });
    for (let i = 1; i <= WRITES; i++) {
      await writer.setData('/p', `v${i}`);
      await writer.create('/seq/n-', String(i), { mode: CreateMode.PERSISTENT_SEQUENTIAL });
    }
    const majoritySrvr = await fourLetter(HOST, majority[0]!.clientPort, 'srvr');

    // The read-only member answers from the state it had when it was cut off.
    const ro = await RawClient.connect(HOST, lone.clientPort, { readOnly: true });
    assert.equal(ro.connectResponse?.readOnly, true);
    const read = await ro.call(OpCode.getData, enc(GetDataRequest, { path: '/p', watch: false }));
    assert.equal(read.err, 0);
    assert.equal(new JuteReader(read.body).buffer()?.toString(), 'v0');
    const kids = await ro.call(OpCode.getChildren, enc(GetChildrenRequest, { path: '/seq', watch: false }));
    assert.equal(kids.err, 0);
    assert.equal(new JuteReader(kids.body).int(), 0, 'no child of /seq yet on the cut-off member');

    cluster.healAll();
    assert.ok(await ro.waitClosed(30_000), 'the read-only client is disconnected when the election ends');
    await waitFor(async () => (await isro()) === 'rw', { timeoutMs: 30_000, intervalMs: 50, what: `member ${lone.id} back to rw` });

    const reader = new ZooKeeperClient({ connectString: `${HOST}:${lone.clientPort}`, sessionTimeoutMs: 10_000, closeTimeoutMs: 1000 });
    clients.push(reader);
    await reader.connect({ timeoutMs: 15_000 });
    await reader.sync('/');
    assert.equal(String((await reader.getData('/p')).data), `v${WRITES}`);
    const seq = (await reader.getChildren('/seq')).sort();
    assert.equal(seq.length, WRITES);
    const datas = await Promise.all(seq.map(async (n) => String((await reader.getData(`/seq/${n}`)).data)));
    assert.deepEqual(
      datas,
      Array.from({ length: WRITES }, (_, i) => String(i + 1)),
      'the majority order',
    );
    // The member has at least what the majority had when it wrote last (the writer's session
    // close and new sessions may have added txns since).
    const loneZxid = BigInt(zxidOf(await fourLetter(HOST, lone.clientPort, 'srvr')) ?? '0x0');
    assert.ok(loneZxid >= BigInt(zxidOf(majoritySrvr) ?? '0x0'));
    // And it takes writes again.
    await reader.create('/after', 'x');
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await cluster.close();
  }
});
