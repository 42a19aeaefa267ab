// `clustergenie zk`: every command against a running server, its effect read back with Apache's
// own CLI (zkCli.sh's ZooKeeperMain, one JVM session for the file) and what it prints checked
// against what zkCli sees; one bad-argument path each (missing node 4, bad version 5, bad path 2,
// no server 6); export/import round trip; `watch --count 1` seeing a change zkCli makes; the shell
// driven through stdin; and a few commands against Apache ZooKeeper 3.8 itself.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../src/cli/exitCodes.js';
import { tokenize } from '../../src/cli/zkShell.js';
import { planImport } from '../../src/cli/zkTree.js';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { startApacheZooKeeper } from '../helpers/apacheZk.js';
import { killOnExit } from '../helpers/children.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { startOurZooKeeper, type StartedZk } from '../helpers/ourZk.js';
import { waitFor } from '../helpers/wait.js';
import { ZkCliSession } from '../interop/helpers/zkcli.js';

const here = dirname(fileURLToPath(import.meta.url));
const mainJs = join(here, '..', '..', 'src', 'cli', 'main.js');

/** `clustergenie zk --server <server> <args>` of the build under test; `input` goes to its stdin. */
const zkCmd = (server: string, args: string[], input?: string): Promise<CliResult> => runCli(['zk', '--server', server, ...args], input);

let dir: string;
let zkServer: StartedZk;
let server: string;
let java: ZkCliSession;
let client: ZooKeeperClient;
const zk = (args: string[], input?: string): Promise<CliResult> => zkCmd(server, args, input);
const ok = async (args: string[], input?: string): Promise<CliResult> => {
  const r = await zk(args, input);
  assert.equal(r.code, 0, `zk ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-cli-zk-'));
  zkServer = await startOurZooKeeper();
  server = zkServer.connectString;
  client = new ZooKeeperClient({ connectString: server });
  await client.connect();
  java = await ZkCliSession.start(server);
});

after(async () => {
  await java?.quit().catch(() => java.killAndWait());
  await client?.close();
  await zkServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('create, get, set, ls, stat, getAcl, delete: the effects as zkCli.sh sees them', async () => {
  assert.equal((await ok(['create', '/cli'])).stdout, 'Created /cli\n');
  await ok(['create', '/cli/a', 'hello world']);
  assert.deepEqual(await java.run('get /cli/a'), ['hello world']);

  // create -s: a sequential name, as zkCli lists it.
  const seq = JSON.parse((await ok(['--json', 'create', '-s', '/cli/seq-', 'x'])).stdout) as { path: string };
  assert.match(seq.path, /^\/cli\/seq-\d{10}$/);
  // create -e from a one-shot command: the node goes with the command's session.
  await ok(['create', '-e', '/cli/eph']);
  assert.match((await java.run('stat /cli/eph')).join('\n'), /Node does not exist/);

  // Data written by Java, read by us.
  await java.run('create /cli/b from-java');
  assert.equal((await ok(['get', '/cli/b'])).stdout, 'from-java\n');
  const gotS = (await ok(['get', '-s', '/cli/b'])).stdout;
  assert.match(gotS, /^from-java\ncZxid = 0x[0-9a-f]+\n/);
  assert.match(gotS, /dataVersion = 0\n/);

  // set, and set -v: the right version goes through, a stale one exits 5 and changes nothing.
  await ok(['set', '/cli/a', 'second']);
  assert.deepEqual(await java.run('get /cli/a'), ['second']);
  const stale = await zk(['set', '-v', '0', '/cli/a', 'third']);
  assert.equal(stale.code, ExitCode.conflict, stale.stderr);
  assert.match(stale.stderr, /BADVERSION/);
  assert.deepEqual(await java.run('get /cli/a'), ['second']);
  await ok(['set', '-v', '1', '/cli/a', 'third']);
  assert.deepEqual(await java.run('get /cli/a'), ['third']);

  // ls as zkCli lists it (ours sorted, one per line).
  const javaLs = (await java.run('ls /cli'))[0]!;
  const ours = (await ok(['ls', '/cli'])).stdout.trim().split('\n');
  assert.deepEqual(ours, javaLs.slice(1, -1).split(', ').sort());
  assert.deepEqual(ours, ['a', 'b', seq.path.slice('/cli/'.length)]);
  assert.deepEqual(JSON.parse((await ok(['ls', '--json', '/cli'])).stdout), { path: '/cli', children: ours });
  const recursive = (await ok(['ls', '-R', '/cli'])).stdout.trim().split('\n');
  assert.deepEqual(recursive, ['/cli', '/cli/a', '/cli/b', seq.path]);

  // stat --json against zkCli's stat.
  const stat = (JSON.parse((await ok(['stat', '--json', '/cli/a'])).stdout) as { stat: Record<string, unknown> }).stat;
  const javaStat = await java.run('stat /cli/a');
  assert.ok(javaStat.includes(`dataVersion = ${stat.version}`), javaStat.join('\n'));
  assert.ok(javaStat.includes(`mZxid = 0x${(stat.mzxid as number).toString(16)}`), javaStat.join('\n'));
  assert.equal(stat.version, 2);
  assert.equal(
    (await ok(['stat', '/cli/a'])).stdout.split('\n').find((l) => l.startsWith('dataVersion')),
    'dataVersion = 2',
  );

  // getAcl: zkCli prints 'world,'anyone / : cdrwa.
  assert.deepEqual(await java.run('getAcl /cli/a'), ["'world,'anyone", ': cdrwa']);
  assert.deepEqual(JSON.parse((await ok(['getAcl', '--json', '/cli/a'])).stdout).acl, [
    { scheme: 'world', id: 'anyone', perms: 'cdrwa', permsMask: 31 },
  ]);

  // delete; a non-empty node exits 5 unless -r.
  await ok(['delete', '/cli/b']);
  assert.match((await java.run('stat /cli/b')).join('\n'), /Node does not exist/);
  await ok(['create', '/cli/a/child']);
  const notEmpty = await zk(['delete', '/cli/a']);
  assert.equal(notEmpty.code, ExitCode.conflict);
  assert.match(notEmpty.stderr, /NOTEMPTY/);
  await ok(['delete', '-r', '/cli/a']);
  assert.match((await java.run('stat /cli/a')).join('\n'), /Node does not exist/);
});

test('bad arguments: missing node 4, existing node 5, bad version on delete 5, bad path 2, unknown flag 2, no server 6', async () => {
  await ok(['create', '/bad']);
  const cases: [string[], number, RegExp][] = [
    [['get', '/bad/missing'], ExitCode.notFound, /NONODE.*\/bad\/missing|\/bad\/missing.*NONODE/],
    [['ls', '/bad/missing'], ExitCode.notFound, /NONODE/],
    [['stat', '/bad/missing'], ExitCode.notFound, /NONODE/],
    [['set', '/bad/missing', 'x'], ExitCode.notFound, /NONODE/],
    [['delete', '/bad/missing'], ExitCode.notFound, /NONODE/],
    [['create', '/bad'], ExitCode.conflict, /NODEEXISTS/],
    [['create', '/bad/missing/deeper'], ExitCode.notFound, /NONODE/],
    [['delete', '-v', '7', '/bad'], ExitCode.conflict, /BADVERSION/],
    [['get', 'no-slash'], ExitCode.usage, /no-slash/],
    [['create', '/bad//x'], ExitCode.usage, /\/bad\/\/x/],
    [['set', '-v', 'abc', '/bad', 'x'], ExitCode.usage, /-v/],
    [['get', '--bogus', '/bad'], ExitCode.usage, /bogus/],
  ];
  for (const [args, code, re] of cases) {
    const r = await zk(args);
    assert.equal(r.code, code, `zk ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.deepEqual(await java.run('stat /bad').then((l) => l.find((x) => x.startsWith('dataVersion'))), 'dataVersion = 0');
  // Nothing listens there: exit 6 naming --server, within the timeout.
  const port = await freePort();
  const t0 = Date.now();
  const r = await zkCmd(`127.0.0.1:${port}`, ['--timeout-ms', '1500', 'ls', '/']);
  assert.equal(r.code, ExitCode.unavailable, r.stderr);
  assert.match(r.stderr, /--server/);
  assert.ok(Date.now() - t0 < 15_000);
});

test('get --raw writes the exact bytes; get on a pipe writes the text as stored', async () => {
  const bytes = Buffer.from([0, 255, 1, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 10]);
  await client.create('/raw', bytes);
  assert.deepEqual((await ok(['get', '--raw', '/raw'])).stdoutBytes, bytes);
  const j = JSON.parse((await ok(['get', '--json', '/raw'])).stdout) as { dataBase64: string; stat: { dataLength: number } };
  assert.equal(j.dataBase64, bytes.toString('base64'));
  assert.equal(j.stat.dataLength, bytes.length);
  await client.create('/nulldata', null);
  assert.equal((await ok(['get', '--json', '/nulldata'])).stdout.includes('"data":null'), true);
});

test('tree prints the subtree indented', async () => {
  await client.create('/t', null);
  await client.create('/t/x', 'x');
  await client.create('/t/x/deep', 'd');
  await client.create('/t/y', 'y');
  assert.equal((await ok(['tree', '/t'])).stdout, '/t\n├── x\n│   └── deep\n└── y\n');
  assert.deepEqual(JSON.parse((await ok(['tree', '--json', '/t'])).stdout), {
    path: '/t',
    children: [
      { path: '/t/x', children: [{ path: '/t/x/deep', children: [] }] },
      { path: '/t/y', children: [] },
    ],
  });
});

test('export and import round trip a subtree, binary data included; import keeps or overwrites existing nodes', async () => {
  await client.create('/src', 'root');
  await client.create('/src/a', Buffer.from([0, 1, 2, 255]));
  await client.create('/src/a/b', 'é ünïcode');
  await client.create('/src/c', null);
  const file = join(dir, 'export.json');
  await ok(['export', '/src', '-o', file]);
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(doc.path, '/src');
  assert.equal(Buffer.from(doc.data, 'base64').toString(), 'root');
  assert.deepEqual(
    doc.children.map((c: { path: string }) => c.path),
    ['/src/a', '/src/c'],
  );
  // The same document on stdout.
  assert.deepEqual(JSON.parse((await ok(['export', '/src'])).stdout), doc);

  const imported = JSON.parse((await ok(['--json', 'import', file, '/dst/copy'])).stdout);
  assert.deepEqual(imported, { created: 4, updated: 0, skipped: 0 });
  assert.deepEqual(await java.run('get /dst/copy/a/b'), ['é ünïcode']);
  assert.deepEqual((await client.getData('/dst/copy/a')).data, Buffer.from([0, 1, 2, 255]));
  const again = JSON.parse((await ok(['export', '/dst/copy'])).stdout);
  const rename = (s: string): string => s.replace(/"\/src/g, '"/dst/copy');
  assert.equal(JSON.stringify(again), rename(JSON.stringify(doc)));

  // Existing nodes are skipped unless --overwrite.
  await java.run('set /dst/copy/a/b changed');
  assert.match((await ok(['import', file, '/dst/copy'])).stdout, /created 0, updated 0, skipped 4/);
  assert.deepEqual(await java.run('get /dst/copy/a/b'), ['changed']);
  assert.match((await ok(['import', '--overwrite', file, '/dst/copy'])).stdout, /updated 4/);
  assert.deepEqual(await java.run('get /dst/copy/a/b'), ['é ünïcode']);

  // A file that is not an export is a usage error naming what is wrong; nothing is created.
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ path: '/x', data: 'not base64!', children: [] }));
  const r = await zk(['import', bad, '/dst/bad']);
  assert.equal(r.code, ExitCode.usage, r.stderr);
  assert.match(r.stderr, /base64/);
  assert.equal(await client.exists('/dst/bad'), null);
});

test('watch --count 1 prints a change zkCli.sh makes, then exits 0', async () => {
  const child = spawn(process.execPath, [mainJs, 'zk', '--server', server, 'watch', '/watched', '--count', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    await waitFor(() => stderr.includes('watching /watched'), { timeoutMs: 20_000, what: () => `the watch to be set (${stderr})` });
    await java.run('create /watched by-java');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'NodeCreated /watched by-java\n');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('the shell reads commands from stdin and answers each', async () => {
  await client.create('/sh', null);
  await client.create('/sh/one', 'first');
  const r = await ok(['shell'], 'ls /sh\nget /sh/one\nset /sh/one "two words"\nget /sh/missing\nhelp\nquit\nls /\n');
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'one');
  assert.equal(lines[1], 'first');
  assert.match(r.stdout, /commands \(each takes --help\)/);
  assert.match(r.stderr, /NONODE/);
  // quit ended it: the `ls /` after it did not run.
  assert.ok(!lines.includes('zookeeper'), r.stdout);
  assert.deepEqual(await java.run('get /sh/one'), ['two words']);
});

test('against Apache ZooKeeper 3.8: create, get, ls, export and delete', async () => {
  const apache = await startApacheZooKeeper();
  try {
    const s = apache.connectString;
    const a = async (args: string[]): Promise<CliResult> => {
      const r = await zkCmd(s, args);
      assert.equal(r.code, 0, `zk ${args.join(' ')} against Apache: ${r.stderr}`);
      return r;
    };
    await a(['create', '/apache', 'hi']);
    await a(['create', '/apache/kid', 'k']);
    assert.equal((await a(['get', '/apache'])).stdout, 'hi\n');
    assert.deepEqual((await a(['ls', '/apache'])).stdout, 'kid\n');
    const doc = JSON.parse((await a(['export', '/apache'])).stdout);
    assert.deepEqual(doc.children, [{ path: '/apache/kid', data: Buffer.from('k').toString('base64'), children: [] }]);
    const missing = await zkCmd(s, ['get', '/apache/none']);
    assert.equal(missing.code, ExitCode.notFound);
    await a(['delete', '-r', '/apache']);
    const gone = await zkCmd(s, ['stat', '/apache']);
    assert.equal(gone.code, ExitCode.notFound);
  } finally {
    await apache.stop();
  }
});

test('the shell splits lines as a shell does; a malformed export is refused before anything is written', () => {
  assert.deepEqual(tokenize(`set /x "two words" 'it''s' a\\ b ""`), ['set', '/x', 'two words', 'its', 'a b', '']);
  assert.deepEqual(tokenize('  ls   -R\t/  '), ['ls', '-R', '/']);
  assert.deepEqual(tokenize('set /x "say \\"hi\\""'), ['set', '/x', 'say "hi"']);
  assert.throws(() => tokenize('get "/x'), /unterminated/);
  const steps = planImport({ path: '/a', data: 'aGk=', children: [{ path: '/a/b', data: '', children: [] }] }, '/dst');
  assert.deepEqual(
    steps.map((s) => [s.path, s.data.toString()]),
    [
      ['/dst', 'hi'],
      ['/dst/b', ''],
    ],
  );
  assert.throws(() => planImport({ path: '/a', data: '', children: [{ path: '/a/..', data: '', children: [] }] }, '/d'), /usable name/);
  assert.throws(() => planImport([], '/d'), /not an object/);
  assert.throws(
    () => planImport({ path: '/a', data: '', children: [{ path: '/a/b', data: '', children: [] }] }, '/d', 1),
    /more than 1 nodes/,
  );
});
