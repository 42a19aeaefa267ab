// docs/OPERATIONS.md's backup recipe, checked: `cp -a` of a live server's data directory while a
// client writes (snapshots rolling meanwhile) restores cleanly. A server started on the copy
// serves every znode acknowledged before the copy began, the znodes it has form a prefix of the
// writes (no holes), and Apache ZooKeeper 3.8 starts on a second copy and agrees.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { startOurZooKeeper, startOurZooKeeperProcess } from '../../helpers/ourZk.js';

/** Small, so several snapshots and log files roll while the copy runs. */
const snapCount = '200';
const writesBeforeCopy = 600;

function copyDir(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cp = spawn('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cp.stderr.on('data', (d: Buffer) => (err += d.toString()));
    cp.once('error', reject);
    cp.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp -a failed (${code}): ${err}`))));
  });
}

async function connect(connectString: string): Promise<ZooKeeperClient> {
  const client = new ZooKeeperClient({ connectString, sessionTimeoutMs: 10_000 });
  await client.connect({ timeoutMs: 15_000 });
  return client;
}

async function sequenceIn(connectString: string): Promise<number[]> {
  const client = await connect(connectString);
  try {
    const names = await client.getChildren('/backup');
    return names.map((n) => Number(n.slice('n-'.length))).sort((a, b) => a - b);
  } finally {
    await client.close();
  }
}

function assertPrefix(seq: number[], atLeast: number, what: string): void {
  assert.ok(seq.length >= atLeast, `${what}: ${seq.length} znodes, expected at least the ${atLeast} acknowledged before the copy`);
  for (const [i, v] of seq.entries()) assert.equal(v, i, `${what}: znode n-${i} missing (a hole in the writes)`);
}

test('a copy of a live data directory taken under writes restores on our server and on Apache ZooKeeper', async () => {
  const work = await mkdtemp(join(tmpdir(), 'cg-backup-'));
  const live = await startOurZooKeeperProcess({ dataDir: join(work, 'live'), extraConfig: { 'zookeeper.snapCount': snapCount } });
  const client = await connect(live.connectString);
  try {
    await client.create('/backup', 'x');
    let next = 0;
    for (; next < writesBeforeCopy; next++) await client.create(`/backup/n-${next}`, `v${next}`);
    const acknowledgedBeforeCopy = next;
    // Keep writing while the copy runs, as a live system would.
    let writing = true;
    const writer = (async () => {
      while (writing) await client.create(`/backup/n-${next++}`, `v${next}`);
    })();
    await copyDir(live.dataDir, join(work, 'copy'));
    await copyDir(live.dataDir, join(work, 'copy-apache'));
    writing = false;
    await writer;

    // The live server still runs (and holds its lock): the copy must start anyway.
    const restored = await startOurZooKeeper({ dataDir: join(work, 'copy') });
    try {
      assertPrefix(await sequenceIn(restored.connectString), acknowledgedBeforeCopy, 'ours on the copy');
    } finally {
      await restored.stop();
    }
    const apache = await startApacheZooKeeper({ dataDir: join(work, 'copy-apache') });
    try {
      assertPrefix(await sequenceIn(apache.connectString), acknowledgedBeforeCopy, 'Apache on the copy');
    } finally {
      await apache.stop();
    }
  } finally {
    await client.close();
    await live.stop();
    await rm(work, { recursive: true, force: true });
  }
});
