// `clustergenie up --detach` and `clustergenie down`: the background up prints its table and
// leaves ZooKeeper serving, a second one on the same dir is refused (busy, 7), `down` stops the
// supervisor and every child and removes up.pid, `down` again is "not running"; and up's start-up
// errors name the flag to change (busy port 7, a --data-dir that is a file 2) before writing a file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isUpOn } from '../../src/cli/upDetach.js';
import { stablePortRange } from '../../src/util/net.js';
import { killOnExit } from '../helpers/children.js';
import { fourLetter } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
/** main.js of the build this test runs from, so the test runs that build's `up` and `down`. */
const mainJs = join(here, '..', '..', 'src', 'cli', 'main.js');
const runDeadlineMs = 120_000;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `clustergenie <args>` of this build to its end. */
function cli(args: string[], timeoutMs = runDeadlineMs): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`clustergenie ${args.join(' ')} still running after ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Alive and not a zombie (the detached up is nobody's child here: init reaps it). */
function running(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const dirs: string[] = [];
let dataDir: string;
let flags: string[];
let zkPort: number;
/** Every PID the background up reported (supervisor first), killed in `after` if a test left them. */
const pids: number[] = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cg-updetach-'));
  dirs.push(dataDir);
  zkPort = await stablePortRange(1);
  flags = [
    '--data-dir',
    dataDir,
    '--zk-members',
    '1',
    '--brokers',
    '1',
    '--no-services',
    '--zk-port',
    String(zkPort),
    '--admin-port',
    String(await stablePortRange(1)),
    '--kafka-port',
    String(await stablePortRange(1)),
    '--metrics-port',
    String(await stablePortRange(2)),
    '--tick-time',
    '500',
  ];
});

after(async () => {
  for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('up --detach returns 0 once ready, prints the table, leaves ZooKeeper serving, and keeps its PID in up.pid', async () => {
  const r = await cli(['up', '--detach', ...flags]);
  assert.equal(r.code, 0, `${r.out}\n${r.err}`);
  const supervisor = Number(readFileSync(join(dataDir, 'up.pid'), 'utf8').trim());
  pids.push(supervisor);
  for (const m of r.out.matchAll(/^ {2}(?:ZooKeeper member|Kafka broker) \d+\s+\S+\s+pid (\d+)/gm)) pids.push(Number(m[1]));
  assert.equal(pids.length, 3, r.out);
  assert.match(r.out, /^ {2}NAME\s+ADDRESS\s+PID\s+DATA DIR\s+LOG$/m);
  assert.match(
    r.out,
    new RegExp(`^ {2}ZooKeeper member 1\\s+127\\.0\\.0\\.1:${zkPort}\\s+pid \\d+\\s+zookeeper/zk1\\s+zookeeper/zk1/zookeeper\\.log$`, 'm'),
  );
  assert.match(r.out, new RegExp(`^ZooKeeper connect: +127\\.0\\.0\\.1:${zkPort}$`, 'm'));
  assert.match(r.out, /^Kafka bootstrap: +127\.0\.0\.1:\d+$/m);
  assert.match(r.out, new RegExp(`^Stop: clustergenie down --data-dir ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  assert.match(r.out, new RegExp(`^clustergenie up: ready \\(pid ${supervisor}\\)$`, 'm'));
  assert.match(r.err, /starting in the background/);
  for (const pid of pids) assert.ok(running(pid), `pid ${pid} runs after the parent exited`);
  // The supervisor is a `clustergenie up` on that dir, as down will check.
  const argv = readFileSync(`/proc/${supervisor}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.includes('up') && argv.includes(dataDir), argv.join(' '));
  assert.equal(await fourLetter('127.0.0.1', zkPort, 'ruok'), 'imok');
  const upJson = JSON.parse(readFileSync(join(dataDir, 'up.json'), 'utf8')) as { pid: number; processes: { pid: number }[] };
  assert.equal(upJson.pid, supervisor);
  assert.deepEqual(upJson.processes.map((p) => p.pid).sort(), pids.slice(1).sort());
  assert.match(readFileSync(join(dataDir, 'up.log'), 'utf8'), /clustergenie up: ready/);
});

test('a second up --detach on the same data dir fails at once naming the running up, which keeps running', async () => {
  const r = await cli(['up', '--detach', ...flags]);
  assert.equal(r.code, 7, `${r.out}\n${r.err}`);
  assert.match(r.err, new RegExp(`another \`clustergenie up\` \\(pid ${pids[0]}\\) is running from`));
  assert.match(r.err, /clustergenie down --data-dir/);
  assert.equal(readFileSync(join(dataDir, 'up.pid'), 'utf8').trim(), String(pids[0]));
  for (const pid of pids) assert.ok(running(pid), `pid ${pid} untouched`);
});

test('down stops the background up and all its children, and removes up.pid; down again is "not running"', async () => {
  const r = await cli(['down', '--data-dir', dataDir]);
  assert.equal(r.code, 0, `${r.out}\n${r.err}`);
  assert.match(r.out, new RegExp(`clustergenie up \\(pid ${pids[0]}\\) stopped`));
  await waitFor(() => pids.every((p) => !running(p)), { timeoutMs: 10_000, what: () => `pids ${pids.join(',')} gone` });
  assert.equal(existsSync(join(dataDir, 'up.pid')), false);
  assert.equal(existsSync(join(dataDir, 'up.json')), false);
  assert.match(readFileSync(join(dataDir, 'up.log'), 'utf8'), /clustergenie up: stopped/);
  const again = await cli(['down', '--data-dir', dataDir, '--json']);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(JSON.parse(again.out), { state: 'not-running', pid: null, dataDir });
});

test('down refuses nothing it does not own: an up.pid naming another program is stale and removed, that program untouched', async () => {
  const other = await mkdtemp(join(tmpdir(), 'cg-updetach-other-'));
  dirs.push(other);
  writeFileSync(join(other, 'up.pid'), `${process.pid}\n`);
  const r = await cli(['down', '--data-dir', other]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /not running .*now another program/);
  assert.equal(existsSync(join(other, 'up.pid')), false);
  assert.ok(pidAlive(process.pid));
});

test('down gives up after --timeout-ms on an up that ignores SIGTERM: exit 1, saying kill -9 <pid>', async () => {
  const stuckDir = await mkdtemp(join(tmpdir(), 'cg-updetach-stuck-'));
  dirs.push(stuckDir);
  // Looks like `clustergenie up --data-dir <dir>` to /proc, and ignores SIGTERM.
  const stuck = spawn(
    process.execPath,
    ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", '/fake/main.js', 'up', '--data-dir', stuckDir],
    { stdio: 'ignore' },
  );
  killOnExit(stuck);
  try {
    writeFileSync(join(stuckDir, 'up.pid'), `${stuck.pid}\n`);
    await waitFor(() => readFileSync(`/proc/${stuck.pid}/cmdline`, 'utf8').includes('up'), { timeoutMs: 5000, what: 'the stand-in runs' });
    const r = await cli(['down', '--data-dir', stuckDir, '--timeout-ms', '1000']);
    assert.equal(r.code, 1, `${r.out}\n${r.err}`);
    assert.match(r.err, new RegExp(`still running 1000 ms after SIGTERM .*kill -9 ${stuck.pid}`));
    assert.ok(running(stuck.pid!), 'down does not kill it harder by itself');
  } finally {
    stuck.kill('SIGKILL');
  }
});

test('a busy port names the flag to change (exit 7) and nothing is written; a --data-dir that is a file is a usage error (2)', async () => {
  const fresh = await mkdtemp(join(tmpdir(), 'cg-updetach-busy-'));
  dirs.push(fresh);
  const blocker: Server = createServer();
  const busy = await stablePortRange(3);
  await new Promise<void>((r) => blocker.listen(busy + 1, '127.0.0.1', () => r()));
  try {
    const base = ['up', '--data-dir', fresh, '--no-services', '--metrics-port', String(await stablePortRange(6))];
    const zk = await cli([...base, '--zk-members', '1', '--brokers', '1', '--zk-port', String(busy + 1)]);
    assert.equal(zk.code, 7, `${zk.out}\n${zk.err}`);
    assert.match(zk.err, new RegExp(`client port 127\\.0\\.0\\.1:${busy + 1} is already in use; give another --zk-port`));
    const quorum = await cli([
      ...base,
      '--zk-port',
      String(await stablePortRange(3)),
      '--zk-election-port',
      String(await stablePortRange(3)),
      '--kafka-port',
      String(await stablePortRange(3)),
      '--admin-port',
      String(await stablePortRange(1)),
      '--zk-quorum-port',
      String(busy),
    ]);
    assert.equal(quorum.code, 7, `${quorum.out}\n${quorum.err}`);
    assert.match(
      quorum.err,
      /ZooKeeper member 2's quorum port 127\.0\.0\.1:\d+ is already in use; give another --zk-quorum-port \(it is the first of 3/,
    );
    assert.equal(existsSync(join(fresh, 'zookeeper', 'zk1', 'zoo.cfg')), false, 'no config written');
    assert.equal(existsSync(join(fresh, 'up.pid')), false);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
  const file = join(fresh, 'a-file');
  writeFileSync(file, 'not a directory\n');
  const r = await cli(['up', '--data-dir', file, '--no-services']);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--data-dir .*a-file is a file, not a directory/);
  assert.doesNotMatch(r.err, /EEXIST|ENOTDIR/);
});

test('down recognises an up on the data dir from its command line only (relative --data-dir, the default ./data, the bin script)', () => {
  const node = process.execPath;
  assert.equal(isUpOn([node, '/x/dist/src/cli/main.js', 'up', '--data-dir', 'd'], '/srv', '/srv/d'), true);
  assert.equal(isUpOn([node, '/x/dist/src/cli/main.js', 'up', '--data-dir=/srv/d'], '/elsewhere', '/srv/d'), true);
  assert.equal(isUpOn([node, '/usr/lib/node_modules/clustergenie/bin/clustergenie.js', 'up'], '/srv', '/srv/data'), true);
  assert.equal(isUpOn([node, '/usr/local/bin/clustergenie', 'up', '--brokers', '1'], '/srv', '/srv/data'), true);
  // Another dir, another command, or an `up` that is only an argument of something else.
  assert.equal(isUpOn([node, '/x/main.js', 'up', '--data-dir', '/srv/other'], '/srv', '/srv/d'), false);
  assert.equal(isUpOn([node, '/x/main.js', 'down', '--data-dir', '/srv/d'], '/srv', '/srv/d'), false);
  assert.equal(isUpOn(['/bin/sleep', 'up'], '/srv', '/srv/data'), false);
});
