// ProcessCluster runs each ZooKeeper member and Kafka broker as its own process of this build's
// main.js, and drives faults by id: a SIGKILLed broker's PID is gone and its registration leaves
// /brokers/ids once its session expires; restarted, it registers again; a broker paused past its
// session timeout is dropped and re-registers after it resumes; an outside kill is reported as
// unexpected.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ClusterNode, type ExitInfo, ProcessCluster } from '../../src/cluster/processCluster.js';
import { waitFor } from '../helpers/wait.js';

/** Small enough that an expiry is quick; ZooKeeper clamps it to 2..20 ticks (tickTime 200). */
const sessionTimeoutMs = 1500;

let dir: string;
let cluster: ProcessCluster;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-pcluster-'));
  cluster = await ProcessCluster.start({
    dir,
    tickTimeMs: 200,
    initLimit: 10,
    syncLimit: 5,
    brokerConfig: () => ({ 'zookeeper.session.timeout.ms': String(sessionTimeoutMs) }),
    startTimeoutMs: 60_000,
  });
});

after(async () => {
  await cluster?.close(10_000);
  await rm(dir, { recursive: true, force: true });
});

test('every member and broker is its own serving process, with its files where the cluster says', async () => {
  const pids = cluster.nodes.map((n) => n.pid);
  assert.equal(new Set(pids).size, 6);
  for (const n of cluster.nodes) {
    assert.ok(n.pid !== undefined && pidAlive(n.pid), `${n.name} runs`);
    assert.ok(existsSync(n.configPath), `${n.name}'s config exists`);
    assert.match(readFileSync(n.logPath, 'utf8'), /starting: .*main\.js (zookeeper|kafka) --config/);
    assert.equal(await n.servingStatus(), true);
  }
  assert.deepEqual(await cluster.registeredBrokers(), [1, 2, 3]);
  assert.equal(cluster.bootstrap.split(',').length, 3);
});

test('kill -9 of broker 2: its PID is gone, /brokers/ids loses it; restarted, it registers again with a new PID', async () => {
  const b2 = cluster.broker(2);
  const oldPid = b2.pid!;
  const info = await b2.kill();
  assert.equal(info?.signal, 'SIGKILL');
  assert.equal(info?.expected, true);
  assert.equal(pidAlive(oldPid), false);
  assert.equal(b2.pid, undefined);
  await waitFor(async () => !(await cluster.registeredBrokers()).includes(2), {
    timeoutMs: 30_000,
    what: 'broker 2 to leave /brokers/ids',
  });
  await b2.start();
  await b2.waitServing(60_000);
  assert.notEqual(b2.pid, oldPid);
  assert.deepEqual(await cluster.registeredBrokers(), [1, 2, 3]);
});

test('a broker paused past its session timeout leaves /brokers/ids and re-registers after it resumes', async () => {
  const b3 = cluster.broker(3);
  const pid = b3.pid!;
  const before = await cluster.registrationCzxid(3);
  assert.ok(before !== undefined);
  b3.pause();
  try {
    assert.equal(b3.paused, true);
    await waitFor(async () => !(await cluster.registeredBrokers()).includes(3), {
      timeoutMs: 30_000,
      what: 'paused broker 3 to expire out of /brokers/ids',
    });
  } finally {
    b3.resume();
  }
  assert.equal(b3.paused, false);
  await waitFor(async () => (await cluster.registrationCzxid(3)) !== undefined, {
    timeoutMs: 30_000,
    what: 'broker 3 to register again after resuming',
  });
  assert.notEqual(await cluster.registrationCzxid(3), before, 'a new registration (new broker epoch)');
  assert.equal(b3.pid, pid, 'the same process, never restarted');
});

test('a broker killed from outside is reported as an unexpected exit and starts again once its old session is gone; a stopped member exits as expected', async () => {
  const exits: [ClusterNode, ExitInfo][] = [];
  const onExit = (n: ClusterNode, i: ExitInfo): void => void exits.push([n, i]);
  cluster.on('exit', onExit);
  try {
    const b1 = cluster.broker(1);
    process.kill(b1.pid!, 'SIGKILL');
    await waitFor(() => exits.some(([n]) => n === b1), { timeoutMs: 10_000, what: 'the exit event of broker 1' });
    const [, info] = exits.find(([n]) => n === b1)!;
    assert.deepEqual(info, { code: null, signal: 'SIGKILL', expected: false });
    await b1.start();
    await b1.waitServing(60_000);

    const z3 = cluster.zookeeper(3);
    const stopped = await z3.stop(10_000);
    assert.equal(stopped?.expected, true);
    assert.equal(z3.alive, false);
    await z3.start();
    await z3.waitServing(30_000);
    assert.equal(await z3.servingStatus(), true);
  } finally {
    cluster.off('exit', onExit);
  }
});

test('stopAll stops brokers and members and leaves no process', async () => {
  const pids = cluster.nodes.map((n) => n.pid!);
  await cluster.stopAll({ brokerTimeoutMs: 20_000, zkTimeoutMs: 10_000 });
  for (const n of cluster.nodes) assert.equal(n.alive, false, `${n.name} stopped (${JSON.stringify(n.lastExit)})`);
  for (const p of pids) assert.equal(pidAlive(p), false);
  // SIGTERM, not SIGKILL: each ended by itself on the signal.
  for (const n of cluster.nodes) assert.notEqual(n.lastExit?.signal, 'SIGKILL', `${n.name} stopped cleanly`);
});
