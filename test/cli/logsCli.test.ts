// `clustergenie logs query|tail` against the log store as its own process (Loki's HTTP API only):
// lines pushed with Loki's JSON push are found by a query (text and --json), a metric query prints
// a table, `tail --count 2` prints the two matching lines pushed after it connected and exits 0,
// bad LogQL exits 2 with the store's message, an unreachable store 6; control characters in a
// line reach the terminal escaped.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { logStoreProcess, type ServiceProcess } from '../../src/cluster/serviceProcess.js';
import { freePort } from '../../src/util/net.js';
import { killOnExit } from '../helpers/children.js';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
const mainJs = join(here, '..', '..', 'src', 'cli', 'main.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; done: Promise<Run> } {
  const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<Run>((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return { child, out: () => out, err: () => err, done };
}

async function cli(args: string[], timeoutMs = 30_000): Promise<Run> {
  const p = start(args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}

let dir: string;
let store: ServiceProcess;
let url: string;
const logs = (...args: string[]): Promise<Run> => cli(['logs', '--url', url, ...args]);

/** Loki's JSON push of `lines` into one stream, timestamps now (ns), one apart. */
async function push(labels: Record<string, string>, lines: string[]): Promise<void> {
  const base = BigInt(Date.now()) * 1_000_000n;
  const res = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: labels, values: lines.map((l, i) => [String(base + BigInt(i)), l]) }] }),
  });
  assert.equal(res.status, 204, await res.text());
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-logscli-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // The log store needs no Kafka or ZooKeeper: the setup's addresses are unused.
  store = logStoreProcess(
    { dir, bootstrap: '127.0.0.1:9', zkConnect: '127.0.0.1:9' },
    { host: '127.0.0.1', port, dataDir: join(dir, 'store') },
  );
  store.start();
  await store.waitReady(30_000);
  await push({ service: 'cli-test', level: 'info' }, [
    'first line of cli-test',
    'second line has needle',
    'third \u001b[31mred\u001b[0m line',
  ]);
  await push({ service: 'other', level: 'warn' }, ['a needle elsewhere']);
});

after(async () => {
  await store?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("query prints matching lines newest first as `time labels line`, with --json as Loki's data", async () => {
  const r = await logs('query', '{service="cli-test"} |= "needle"', '--since', '10m');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.out);
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \{level="info", service="cli-test"\} second line has needle$/);
  const all = await logs('query', '{service=~"cli-test|other"}', '--limit', '10');
  assert.equal(all.code, 0, all.err);
  const order = all.out.trimEnd().split('\n');
  assert.equal(order.length, 4, all.out);
  // Escapes are shown, not sent to the terminal.
  assert.ok(!all.out.includes('\u001b'), 'no raw escape character');
  assert.match(all.out, /third \\x1b\[31mred\\x1b\[0m line/);
  const json = await logs('query', '{service="cli-test"}', '--json', '--forward');
  assert.equal(json.code, 0, json.err);
  const data = JSON.parse(json.out) as { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
  assert.equal(data.resultType, 'streams');
  assert.deepEqual(
    data.result[0]!.values.map((v) => v[1]),
    ['first line of cli-test', 'second line has needle', 'third \u001b[31mred\u001b[0m line'],
  );
});

test('a metric query prints a table of series and values', async () => {
  const r = await logs('query', 'sum by (service) (count_over_time({service=~".+"} |= "needle" [10m]))', '--since', '5m', '--step', '60s');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^TIME\s+SERIES\s+VALUE$/m);
  assert.match(r.out, /\{service="cli-test"\}\s+1$/m);
  assert.match(r.out, /\{service="other"\}\s+1$/m);
});

test('tail --count 2 prints the two matching lines pushed after it connected, then exits 0', async () => {
  const t = start(['logs', '--url', url, 'tail', '{service="tailed"}', '--count', '2']);
  try {
    await waitFor(() => /tailing/.test(t.err()) || t.child.exitCode !== null, {
      timeoutMs: 15_000,
      what: () => `tail connected: ${t.err()}`,
    });
    await push({ service: 'not-tailed' }, ['ignored']);
    await push({ service: 'tailed' }, ['tail one', 'tail two']);
    const r = await Promise.race([t.done, new Promise<undefined>((res) => setTimeout(res, 15_000))]);
    assert.ok(r, `tail ended: ${t.out()} ${t.err()}`);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.out);
    assert.match(lines[0]!, /\{service="tailed"\} tail one$/);
    assert.match(lines[1]!, /\{service="tailed"\} tail two$/);
  } finally {
    if (t.child.exitCode === null) t.child.kill('SIGKILL');
  }
});

test("bad LogQL is exit 2 with the store's message (query and tail); an unreachable store is 6 naming --url", async () => {
  const q = await logs('query', '{service="cli-test"');
  assert.equal(q.code, 2, q.err);
  assert.match(q.err, /the log store refused the query: .*parse error/);
  const t = await logs('tail', 'sum(rate({service="x"}[1m]))');
  assert.equal(t.code, 2, t.err);
  assert.match(t.err, /the log store refused the query: tail needs a log query/);
  const since = await logs('query', '{service="cli-test"}', '--since', 'yesterday');
  assert.equal(since.code, 2);
  assert.match(since.err, /--since must be a duration/);
  const port = await freePort();
  const down = await cli(['logs', '--url', `http://127.0.0.1:${port}`, 'query', '{a="b"}']);
  assert.equal(down.code, 6, down.err);
  assert.match(down.err, new RegExp(`cannot reach the log store at http://127\\.0\\.0\\.1:${port} .*--url`));
});
