// The built-in job types on their own: results, payload checks, aborts, and the http type against
// a loopback server.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { JobSpec } from '../../../src/genie/jobs/events.js';
import { builtinHandlers, InvalidPayloadError, type JobInfo, UnrecoverableError } from '../../../src/genie/workers/builtins.js';
import { silentLogger } from '../../../src/util/log.js';

let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      if (req.url === '/slow') return; // never answers: the caller's abort must end it
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function run(type: string, payload: unknown, signal = new AbortController().signal, progress: number[] = [], attempt = 1) {
  const handler = builtinHandlers[type];
  assert.ok(handler, type);
  const spec = { id: 'j', type, payload } as JobSpec;
  const job: JobInfo = { id: 'j', type, payload, attempt, attemptLimit: 3, redelivered: false, spec };
  return handler(job, { signal, progress: (p) => progress.push(p), log: silentLogger });
}

test('echo returns its payload; fail throws, unrecoverable when asked', async () => {
  assert.deepEqual(await run('echo', { a: [1, 2] }), { a: [1, 2] });
  await assert.rejects(run('fail', { message: 'nope' }), (e: Error) => e.message === 'nope' && !(e instanceof UnrecoverableError));
  await assert.rejects(run('fail', { message: 'never', unrecoverable: true }), UnrecoverableError);
  // Flaky: fails before attempt 3, succeeds from it.
  await assert.rejects(run('fail', { message: 'not yet', untilAttempt: 3 }, undefined, [], 2), /not yet/);
  assert.deepEqual(await run('fail', { untilAttempt: 3 }, undefined, [], 3), { attempt: 3 });
});

test('sleep waits, reports progress on long sleeps, and stops at once on abort', async () => {
  assert.deepEqual(await run('sleep', { ms: 5 }), { sleptMs: 5 });
  const progress: number[] = [];
  await run('sleep', { ms: 1000 }, undefined, progress);
  assert.deepEqual(progress, [25, 50, 75, 100]);
  const ac = new AbortController();
  const t0 = Date.now();
  const p = run('sleep', { ms: 60_000 }, ac.signal);
  setTimeout(() => ac.abort(new Error('stop')), 20);
  await assert.rejects(p, /stop/);
  assert.ok(Date.now() - t0 < 5000);
  await assert.rejects(run('sleep', { ms: -1 }), InvalidPayloadError);
  await assert.rejects(run('sleep', 'soon'), InvalidPayloadError);
});

test('cpu keeps busy for its time and yields to aborts', async () => {
  const r = (await run('cpu', { ms: 30 })) as { busyMs: number; spins: number };
  assert.equal(r.busyMs, 30);
  assert.ok(r.spins > 0);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('enough')), 20);
  await assert.rejects(run('cpu', { ms: 60_000 }, ac.signal), /enough/);
});

test('http: a 2xx body is the result, JSON bodies are sent as JSON, non-2xx throws, only http(s)', async () => {
  const ok = (await run('http', { url: `${base}/hello`, method: 'post', body: { x: 1 } })) as { status: number; body: string };
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'POST /hello application/json {"x":1}');
  await assert.rejects(run('http', { url: `${base}/missing` }), /answered 404/);
  await assert.rejects(run('http', { url: 'file:///etc/passwd' }), InvalidPayloadError);
  await assert.rejects(run('http', { url: 'not a url' }), InvalidPayloadError);
  await assert.rejects(run('http', { url: `${base}/slow`, timeoutMs: 100 }), /timeout|aborted/i);
});
