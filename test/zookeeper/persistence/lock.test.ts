// Two servers never share a data directory; a lock left behind by a killed server is taken over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirLockedError } from '../../../src/zookeeper/persistence/files.js';
import { startOurZooKeeper, startOurZooKeeperProcess } from '../../helpers/ourZk.js';
import { freePort } from '../../helpers/net.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'clustergenie.js');

test('a second server on a data directory in use is refused, in-process and as a process', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cg-lock-'));
  const first = await startOurZooKeeperProcess({ dataDir });
  try {
    await assert.rejects(startOurZooKeeper({ dataDir }), (e: unknown) => {
      assert.ok(e instanceof DataDirLockedError);
      assert.match((e as Error).message, new RegExp(`in use by process ${first.pid}`));
      return true;
    });
    const cfg = join(dataDir, 'second.cfg');
    await writeFile(cfg, `tickTime=2000\ndataDir=${dataDir}\nclientPort=${await freePort()}\nclientPortAddress=127.0.0.1\n`);
    const r = spawnSync(process.execPath, [bin, 'zookeeper', '--config', cfg], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 7, 'a data directory in use is "busy" in the exit-code table');
    assert.match(r.stderr, /data directory .* is in use by process \d+ \(lock file .*\.clustergenie\.lock\)/);
  } finally {
    await first.stop();
  }
  // A clean stop releases the lock.
  assert.equal(existsSync(join(dataDir, '.clustergenie.lock')), false);
  await rm(dataDir, { recursive: true, force: true });
});

test('a lock left by a killed server is taken over, and one held in this process is refused', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cg-lock-'));
  try {
    const killed = await startOurZooKeeperProcess({ dataDir });
    process.kill(killed.pid, 'SIGKILL');
    await killed.exited;
    assert.match(await readFile(join(dataDir, '.clustergenie.lock'), 'utf8'), new RegExp(`^${killed.pid} `));
    await killed.stop();
    const next = await startOurZooKeeper({ dataDir });
    try {
      assert.match(await readFile(join(dataDir, '.clustergenie.lock'), 'utf8'), new RegExp(`^${process.pid} `));
      await assert.rejects(startOurZooKeeper({ dataDir }), /already used by a server in this process/);
    } finally {
      await next.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
