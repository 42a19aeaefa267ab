// The command line's frame: every command answers --help and --version with exit 0; usage
// mistakes and servers' start-up failures end with the documented exit codes and messages that
// name the flag or setting to change; docs/CLI.md's exit-code table is exitCodes.ts's.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../src/cli/exitCodes.js';
import { killOnExit } from '../helpers/children.js';
import { runCli } from '../helpers/cli.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
const mainJs = join(here, '..', '..', 'src', 'cli', 'main.js');
const repoRoot = join(here, '..', '..', '..');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs `jobs` a few at a time (each is a Node start-up; the machine has 2 cores). */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

const SERVERS = [
  ['zookeeper'],
  ['zk', '--config', 'x.cfg'],
  ['kafka'],
  ['up'],
  ['jobs-service'],
  ['worker'],
  ['scheduler'],
  ['ship-logs'],
  ['log-consumer'],
  ['log-store'],
  ['monitor'],
  ['dashboard'],
  ['zookeeper-tools'],
];
const CLIENTS = [['status'], ['zk'], ['topics'], ['produce'], ['consume'], ['groups'], ['jobs'], ['logs'], ['alerts'], ['down']];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-cli-help-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('--help of every command prints its usage and exits 0 (and -h)', async () => {
  // -h for a few (one server main.ts answers for, one that answers itself, one client): each run is a Node start-up.
  const cases = [...[...SERVERS, ...CLIENTS].map((c) => [...c, '--help']), ['zookeeper', '-h'], ['worker', '-h'], ['zk', 'ls', '-h']];
  const results = await pool(cases, 3, runCli);
  cases.forEach((c, i) => {
    const r = results[i]!;
    assert.equal(r.code, 0, `${c.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stdout, /usage/i, `${c.join(' ')} prints no usage: ${r.stdout}`);
    const name = c[0] === 'zk' && c[1] === '--config' ? 'zookeeper' : c[0]!;
    assert.ok(r.stdout.includes(name), `${c.join(' ')}'s usage does not name ${name}: ${r.stdout}`);
  });
});

test('--version of every command and of clustergenie prints the package version and exits 0 (and -V)', async () => {
  const cases = [
    ['--version'],
    ['-V'],
    ...[...SERVERS, ...CLIENTS].flatMap((c) => [
      [...c, '--version'],
      [...c, '-V'],
    ]),
  ];
  const results = await pool(cases, 3, runCli);
  cases.forEach((c, i) => {
    assert.equal(results[i]!.code, 0, `${c.join(' ')}: ${results[i]!.stderr}`);
    assert.equal(results[i]!.stdout.trim(), version, c.join(' '));
  });
});

test('an unknown flag or command is a usage error (2)', async () => {
  for (const args of [
    ['zookeeper', '--bogus'],
    ['kafka', '--config', 'x.properties', '--bogus'],
    ['status', '--bogus'],
    ['zk', 'ls', '/', '--bogus'],
    ['zk', 'frobnicate'],
    ['no-such-command'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, ExitCode.usage, `${args.join(' ')}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, /bogus|frobnicate|no-such-command/, args.join(' '));
  }
  // With no command and no terminal, `zk` asks for one instead of waiting for a shell.
  const zk = await runCli(['zk']);
  assert.equal(zk.code, ExitCode.usage);
  assert.match(zk.stderr, /which command/);
});

test('zookeeper without --config exits 2 naming the flag; a missing or garbage zoo.cfg exits 2 naming the file or key', async () => {
  const none = await runCli(['zookeeper']);
  assert.equal(none.code, ExitCode.usage);
  assert.match(none.stderr, /--config/);
  const missing = join(dir, 'missing.cfg');
  const r1 = await runCli(['zookeeper', '--config', missing]);
  assert.equal(r1.code, ExitCode.usage);
  assert.ok(r1.stderr.includes(missing), r1.stderr);
  const garbage = join(dir, 'garbage.cfg');
  writeFileSync(garbage, `dataDir=${join(dir, 'g')}\nclientPort=banana\n\u0000\u0001 %%% ===\n`);
  const r2 = await runCli(['zookeeper', '--config', garbage]);
  assert.equal(r2.code, ExitCode.usage, r2.stderr);
  assert.match(r2.stderr, /clientPort/);
  // The `zk --config` alias is the same server.
  const r3 = await runCli(['zk', '--config', garbage]);
  assert.equal(r3.code, ExitCode.usage, r3.stderr);
});

test('a dataDir that is a file exits 2 naming dataDir', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  for (const dataDir of [file, join(file, 'below')]) {
    const cfg = join(dir, 'file.cfg');
    writeFileSync(cfg, `tickTime=2000\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\n`);
    const r = await runCli(['zookeeper', '--config', cfg]);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /dataDir/);
    assert.doesNotMatch(r.stderr, /EEXIST|ENOTDIR/);
  }
});

test('a busy clientPort exits 7 naming clientPort', async () => {
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  try {
    const port = (holder.address() as { port: number }).port;
    const cfg = join(dir, 'busy.cfg');
    writeFileSync(cfg, `tickTime=2000\ndataDir=${join(dir, 'busy')}\nclientPort=${port}\nclientPortAddress=127.0.0.1\n`);
    const r = await runCli(['zookeeper', '--config', cfg]);
    assert.equal(r.code, ExitCode.busy, r.stderr);
    assert.match(r.stderr, /clientPort/);
    assert.ok(r.stderr.includes(String(port)), r.stderr);
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test("an ensemble member's busy quorum port exits 7 naming its server.N line", async () => {
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  try {
    const quorumPort = (holder.address() as { port: number }).port;
    const memberDir = join(dir, 'member1');
    mkdirSync(memberDir);
    writeFileSync(join(memberDir, 'myid'), '1\n');
    const [c, e, q2, e2, q3, e3] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const cfg = join(dir, 'member1.cfg');
    writeFileSync(
      cfg,
      `tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=${memberDir}\nclientPort=${c}\nclientPortAddress=127.0.0.1\n` +
        `server.1=127.0.0.1:${quorumPort}:${e}\nserver.2=127.0.0.1:${q2}:${e2}\nserver.3=127.0.0.1:${q3}:${e3}\n`,
    );
    const r = await runCli(['zookeeper', '--config', cfg]);
    assert.equal(r.code, ExitCode.busy, r.stderr);
    assert.match(r.stderr, /server\.1 \(its quorum port/);
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test('a data dir locked by a running server exits 7', async () => {
  const cfg = join(dir, 'locked.cfg');
  writeFileSync(cfg, `tickTime=2000\ndataDir=${join(dir, 'locked')}\nclientPort=0\nclientPortAddress=127.0.0.1\n`);
  const holder = spawn(process.execPath, [mainJs, 'zookeeper', '--config', cfg], { stdio: ['ignore', 'pipe', 'ignore'] });
  killOnExit(holder);
  const exited = new Promise((r) => holder.once('exit', r));
  try {
    let out = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('listening'), { timeoutMs: 20_000, what: 'the first server to listen' });
    const r = await runCli(['zookeeper', '--config', cfg]);
    assert.equal(r.code, ExitCode.busy, r.stderr);
    assert.match(r.stderr, /dataDir/);
  } finally {
    holder.kill('SIGKILL');
    await exited;
  }
});

test("docs/CLI.md's exit-code table is exitCodes.ts's", () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'CLI.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const rows = [...section.matchAll(/^\| (\d+) \| `(\w+)` \| .+ \|$/gm)].map((m) => [m[2]!, Number(m[1])] as const);
  assert.deepEqual(
    rows,
    Object.entries(ExitCode).map(([name, code]) => [name, code] as const),
  );
});

test('a broker whose listener port is busy exits 7 naming listeners', async () => {
  const zk = await startOurZooKeeper();
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  try {
    const port = (holder.address() as { port: number }).port;
    const props = join(dir, 'busy-broker.properties');
    writeFileSync(
      props,
      `broker.id=1\nlisteners=PLAINTEXT://127.0.0.1:${port}\nlog.dirs=${join(dir, 'busy-broker')}\nzookeeper.connect=${zk.connectString}\n`,
    );
    const r = await runCli(['kafka', '--config', props]);
    assert.equal(r.code, ExitCode.busy, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} is in use .*change listeners in`));
  } finally {
    await new Promise((r) => holder.close(r));
    await zk.stop();
  }
});
