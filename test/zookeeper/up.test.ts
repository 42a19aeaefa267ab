// `clustergenie up` (the README's first command) starts a 3-member ensemble on loopback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { killOnExit } from '../helpers/children.js';
import { fourLetter, waitFor } from '../helpers/net.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'clustergenie.js');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose next `count` ports are free (up takes consecutive ports). */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

test('up starts 3 ZooKeeper members that elect a leader and replicate writes, and a Kafka broker on them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-up-'));
  const [client, quorum, election, admin, kafkaPort] = [
    await freeRange(3),
    await freeRange(3),
    await freeRange(3),
    await freeRange(1),
    await freeRange(1),
  ];
  const child = spawn(
    process.execPath,
    [
      bin,
      'up',
      '--data-dir',
      dir,
      '--zk-port',
      String(client),
      '--zk-quorum-port',
      String(quorum),
      '--zk-election-port',
      String(election),
      '--admin-port',
      String(admin),
      '--kafka-port',
      String(kafkaPort),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const modes = async (): Promise<string[]> =>
      Promise.all(
        [0, 1, 2].map(async (i) => /Mode: (\w+)/.exec(await fourLetter('127.0.0.1', client + i, 'srvr').catch(() => ''))?.[1] ?? '-'),
      );
    await waitFor(
      async () => (await modes()).sort().join() === 'follower,follower,leader',
      30_000,
      () => `modes: ${out}`,
    );
    const c = new ZooKeeperClient({ connectString: `127.0.0.1:${client}`, sessionTimeoutMs: 10_000 });
    await c.connect();
    await c.create('/up', Buffer.from('ok'));
    await c.close();
    const d = new ZooKeeperClient({ connectString: `127.0.0.1:${client + 2}`, sessionTimeoutMs: 10_000 });
    await d.connect();
    await d.sync('/');
    assert.equal(String((await d.getData('/up')).data), 'ok');
    await d.close();

    // The broker registers in the ensemble and serves a real client.
    await waitFor(
      () => /Kafka broker 1 serving on/.test(out),
      30_000,
      () => `the broker: ${out}`,
    );
    const kafka = new kafkajs.Kafka({ brokers: [`127.0.0.1:${kafkaPort}`], logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: 'up-check', messages: [{ key: 'k', value: 'v' }] });
    assert.equal(sent?.errorCode, 0);
    await producer.disconnect();
    const zk = new ZooKeeperClient({ connectString: `127.0.0.1:${client}`, sessionTimeoutMs: 10_000 });
    await zk.connect();
    const ids = await zk.getChildren('/brokers/ids');
    assert.deepEqual(ids, ['1']);
    assert.ok((await zk.getChildren('/brokers/topics')).includes('up-check'));
    await zk.close();

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
});
