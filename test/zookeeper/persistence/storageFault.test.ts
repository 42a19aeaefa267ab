// A transaction log write or fsync that fails (injected through StorageIo): the server never
// acknowledges what it could not persist, refuses later writes with NOTREADONLY, keeps serving
// reads, says why in mntr/srvr, and a restart on a healthy disk has every acknowledged write.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZooKeeperClient } from '../../../src/zookeeper/client/client.js';
import { ZooKeeperError } from '../../../src/zookeeper/client/errors.js';
import { Err } from '../../../src/zookeeper/protocol/constants.js';
import { nodeStorageIo, type StorageIo } from '../../../src/zookeeper/persistence/io.js';
import { startOurZooKeeper } from '../../helpers/ourZk.js';
import { fourLetter, waitFor } from '../../helpers/net.js';

/** Real files, except that once `broken` is set every datasync fails like a dying disk. */
function faultyIo(): StorageIo & { broken: boolean; syncs: number } {
  const io = {
    broken: false,
    syncs: 0,
    async create(path: string) {
      const f = await nodeStorageIo.create(path);
      return {
        write: (b: Buffer, pos: number) => f.write(b, pos),
        truncate: (n: number) => f.truncate(n),
        close: () => f.close(),
        async datasync() {
          io.syncs++;
          if (io.broken) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          await f.datasync();
        },
      };
    },
  };
  return io;
}

test('a failing fsync: nothing unpersisted is acknowledged, writes are refused, reads go on, a restart has every acknowledged write', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cg-fault-'));
  const io = faultyIo();
  const zk = await startOurZooKeeper({ dataDir, storageIo: io });
  const client = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  try {
    await client.connect();
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) acked.push(await client.create(`/ok${i}`, Buffer.from(`v${i}`)));

    io.broken = true;
    // Many writes in flight when the disk breaks: none may succeed.
    const inflight = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.create(`/lost${i}`, Buffer.from('x'))));
    for (const r of inflight) {
      assert.equal(r.status, 'rejected', 'a write the disk did not take was acknowledged');
      assert.ok(r.reason instanceof ZooKeeperError);
      assert.equal((r.reason as ZooKeeperError).code, Err.CONNECTIONLOSS, 'outcome unknown: the connection is dropped');
    }

    // The client reconnects (same session, no txn needed); writes now fail fast, reads work.
    await waitFor(
      async () => {
        try {
          await client.create('/after', Buffer.from('y'));
          return false;
        } catch (e) {
          return e instanceof ZooKeeperError && e.code === Err.NOTREADONLY;
        }
      },
      10_000,
      () => 'writes were not refused with NOTREADONLY after the fsync failure',
    );
    const { data } = await client.getData('/ok7');
    assert.equal(String(data), 'v7');
    assert.equal((await client.getChildren('/')).filter((c) => c.startsWith('ok')).length, 20);

    const mntr = await fourLetter(zk.host, zk.port, 'mntr');
    assert.match(mntr, /^zk_storage_error\tcannot write the transaction log .*log\.[0-9a-f]+: EIO/m);
    const srvr = await fourLetter(zk.host, zk.port, 'srvr');
    assert.match(srvr, /^Storage error: cannot write the transaction log/m);
  } finally {
    await client.close().catch(() => {});
    await zk.stop();
  }

  // Restart on a healthy disk: every acknowledged write is there, in order.
  const again = await startOurZooKeeper({ dataDir });
  const c2 = new ZooKeeperClient({ connectString: again.connectString, sessionTimeoutMs: 10_000 });
  try {
    await c2.connect();
    for (let i = 0; i < 20; i++) assert.equal(String((await c2.getData(`/ok${i}`)).data), `v${i}`);
    assert.equal(await c2.exists('/after'), null, 'a refused write appeared after restart');
    assert.ok(!(await fourLetter(again.host, again.port, 'mntr')).includes('zk_storage_error'));
  } finally {
    await c2.close();
    await again.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
