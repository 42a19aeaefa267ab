// `clustergenie jobs` against a real Job Service, scheduler and worker (processes of this build,
// on our ZooKeeper and a Kafka broker), each outcome checked through the Job Service HTTP API:
// submit --wait to completed, list/show as JSON, cancel of a delayed job, the exit codes of an
// unknown job (4), a finished job's cancel (5), an unreachable service (6) and bad input (2), and
// the redrive of a dead job. `clustergenie alerts` reads monitoring.alerts on the same cluster.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { JobView } from '../../src/genie/jobs/view.js';
import { ensureTopics } from '../../src/genie/kafka.js';
import { type AlertRecord, MONITOR_TOPICS, monitorTopics, ZERO_TIME } from '../../src/genie/monitor/events.js';
import { freePort } from '../../src/util/net.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { JobsSystem } from '../helpers/jobsSystem.js';
import { waitFor } from '../helpers/wait.js';

let sys: JobsSystem;
const jobs = (...args: string[]): Promise<CliResult> => runCli(['jobs', '--url', sys.api, ...args]);
const job = async (id: string): Promise<JobView> => (await sys.get<JobView>(`/api/jobs/${id}`)).body;

before(async () => {
  sys = await JobsSystem.start({ brokers: 1, workers: 1, partitions: 1 });
});

after(async () => {
  await sys?.close();
});

test('submit --wait follows an echo job to completed (exit 0), and the Job Service holds its result', async () => {
  const r = await jobs('submit', 'echo', '--payload', '{"hello":"cli"}', '--wait', '--json');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${sys.logs()}`);
  const done = JSON.parse(r.stdout) as JobView;
  assert.equal(done.state, 'completed');
  const seen = await job(done.id);
  assert.equal(seen.state, 'completed');
  assert.deepEqual(seen.result, { hello: 'cli' });
  // Text mode: the id, then the events as lines (stdout is not a terminal here) and the final state.
  const text = await jobs('submit', 'echo', '--payload', '{"n":2}', '--key', 'cli-echo-2', '--wait');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /job\.completed/);
  assert.match(text.stdout, /^cli-echo-2 echo completed attempt 1\/3$/m);
  assert.match(text.stdout, /^result \{"n":2\}$/m);
});

test('list and show as JSON agree with the API; a delayed job is cancelled; a second cancel is a conflict (5)', async () => {
  const submitted = await jobs('submit', 'sleep', '--payload', '{"ms":10}', '--delay', '600000', '--priority', 'high', '--json');
  assert.equal(submitted.code, 0, submitted.stderr);
  const { id } = JSON.parse(submitted.stdout) as { id: string };
  await waitFor(async () => (await job(id)).partition >= 0, { timeoutMs: 20_000, what: `job ${id} in the view` });
  const listed = await jobs('list', '--type', 'sleep', '--limit', '10', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const list = JSON.parse(listed.stdout) as { jobs: JobView[]; nextCursor: string | null };
  const mine = list.jobs.find((j) => j.id === id);
  assert.ok(mine, listed.stdout);
  assert.equal(mine.priority, 'high');
  assert.ok(mine.runAt !== null && Date.parse(mine.runAt) > Date.now() + 500_000, `due in 10 minutes: ${mine.runAt}`);
  const shown = await jobs('show', id, '--json');
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal((JSON.parse(shown.stdout) as JobView).id, id);
  assert.equal((JSON.parse(shown.stdout) as JobView).state, (await job(id)).state);
  const recent = JSON.parse((await jobs('list', '--since', '10m', '--state', 'created,queued,retrying', '--json')).stdout) as {
    jobs: JobView[];
  };
  assert.ok(
    recent.jobs.some((j) => j.id === id),
    'listed as created in the last 10 minutes',
  );
  const table = await jobs('list', '--q', id);
  assert.match(table.stdout, /^ID\s+TYPE\s+STATE/m);
  assert.match(table.stdout, new RegExp(`^${id}\\s+sleep\\s+`, 'm'));

  const cancelled = await jobs('cancel', id, '--reason', 'not needed');
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, new RegExp(`cancel requested for ${id}`));
  const final = await waitFor(async () => ((await job(id)).state === 'cancelled' ? job(id) : undefined), {
    timeoutMs: 30_000,
    what: `job ${id} cancelled`,
  });
  assert.equal(final.cancelReason, 'not needed');
  const again = await jobs('cancel', id);
  assert.equal(again.code, 5, again.stderr);
  assert.match(again.stderr, /409 conflict/);
  // watch of a job that ended cancelled: exit 1.
  const watched = await jobs('watch', id);
  assert.equal(watched.code, 1, watched.stderr);
  assert.match(watched.stdout, new RegExp(`^${id} sleep cancelled`, 'm'));
});

test('an unknown job is 4, an unreachable service 6 naming --url, bad input 2', async () => {
  const unknown = await jobs('show', 'no-such-job-here');
  assert.equal(unknown.code, 4, unknown.stderr);
  assert.match(unknown.stderr, /job no-such-job-here: 404 not_found/);
  assert.equal((await jobs('cancel', 'no-such-job-here')).code, 4);
  const port = await freePort();
  const down = await runCli(['jobs', '--url', `http://127.0.0.1:${port}`, 'list']);
  assert.equal(down.code, 6, down.stderr);
  assert.match(down.stderr, new RegExp(`cannot reach the Job Service at http://127\\.0\\.0\\.1:${port} .*--url`));
  const badJson = await jobs('submit', 'echo', '--payload', '{not json');
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /--payload is not JSON/);
  const badState = await jobs('list', '--state', 'sleeping');
  assert.equal(badState.code, 2);
  assert.match(badState.stderr, /--state must be among/);
  const refused = await jobs('submit', 'echo', '--attempts', '500');
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /field attempts/);
  assert.equal((await jobs('redrive')).code, 2);
});

test('a job that always fails with --attempts 1 ends dead (watch exits 1), and redrive --type queues it again', async () => {
  // The built-in `fail` job throws on every attempt; no other test here submits one, so --type fail redrives only it.
  const type = 'fail';
  const r = await jobs('submit', type, '--payload', '{"message":"failing as asked"}', '--attempts', '1', '--wait', '--json');
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const dead = JSON.parse(r.stdout) as JobView;
  assert.equal(dead.state, 'dead');
  assert.match(dead.lastError?.message ?? '', /failing as asked/);
  assert.equal((await job(dead.id)).state, 'dead');
  const listed = JSON.parse((await jobs('list', '--state', 'dead', '--type', type, '--json')).stdout) as { jobs: JobView[] };
  assert.deepEqual(
    listed.jobs.map((j) => j.id),
    [dead.id],
  );
  const redriven = await jobs('redrive', '--type', type, '--json');
  assert.equal(redriven.code, 0, redriven.stderr);
  const body = JSON.parse(redriven.stdout) as { redriven: { id: string; attempt: number }[] };
  assert.deepEqual(body.redriven, [{ id: dead.id, attempt: 2 }]);
  // Run again (attempt 2) and, failing again, dead again.
  const after2 = await waitFor(
    async () => {
      const j = await job(dead.id);
      return j.attempt === 2 && j.state === 'dead' ? j : undefined;
    },
    { timeoutMs: 30_000, what: `job ${dead.id} run again` },
  );
  assert.equal(after2.attemptLimit, 2);
  const retried = await jobs('retry', dead.id);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, /queued again \(attempt 3\)/);
});

function alert(fingerprint: string, status: 'firing' | 'resolved', name: string): AlertRecord {
  const now = new Date().toISOString();
  return {
    schemaVersion: 1,
    type: status === 'firing' ? 'alert.firing' : 'alert.resolved',
    status,
    fingerprint,
    labels: { alertname: name, severity: 'critical', broker: '3' },
    annotations: { summary: `${name} <b>summary</b>` },
    startsAt: now,
    endsAt: status === 'firing' ? ZERO_TIME : now,
    value: null,
    monitor: 'cli-test',
    emittedAt: now,
  };
}

test('alerts reads monitoring.alerts: the latest record per fingerprint, exit 3 while one fires, --all shows the resolved one too', async () => {
  const none = await runCli(['alerts', '--bootstrap-server', sys.bootstrap]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no alerts firing/);
  await ensureTopics(
    { bootstrapBrokers: sys.bootstrap.split(','), clientId: 'alerts-cli-test' },
    monitorTopics({ partitions: 2, replicationFactor: 1 }),
  );
  const kafka = new kafkajs.Kafka({ brokers: sys.bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const records = [alert('aaaa000000000001', 'firing', 'KafkaBrokerDown'), alert('bbbb000000000002', 'firing', 'ZooKeeperLatencyHigh')];
    records.push(alert('aaaa000000000001', 'resolved', 'KafkaBrokerDown'));
    for (const r of records)
      await producer.send({ topic: MONITOR_TOPICS.alerts, acks: -1, messages: [{ key: r.fingerprint, value: JSON.stringify(r) }] });
  } finally {
    await producer.disconnect();
  }
  const firing = await runCli(['alerts', '--bootstrap-server', sys.bootstrap, '--json']);
  assert.equal(firing.code, 3, firing.stderr);
  const doc = JSON.parse(firing.stdout) as { firing: number; alerts: AlertRecord[] };
  assert.equal(doc.firing, 1);
  assert.deepEqual(
    doc.alerts.map((a) => [a.fingerprint, a.status]),
    [['bbbb000000000002', 'firing']],
  );
  const all = await runCli(['alerts', '--bootstrap-server', sys.bootstrap, '--all', '--json']);
  assert.equal(all.code, 3, all.stderr);
  const both = (JSON.parse(all.stdout) as { alerts: AlertRecord[] }).alerts.map((a) => [a.fingerprint, a.status]).sort();
  assert.deepEqual(both, [
    ['aaaa000000000001', 'resolved'],
    ['bbbb000000000002', 'firing'],
  ]);
  const text = await runCli(['alerts', '--bootstrap-server', sys.bootstrap]);
  assert.equal(text.code, 3);
  assert.match(text.stdout, /^firing\s+ZooKeeperLatencyHigh\s+critical\s+broker=3\s+/m);
  const unreachable = await runCli(['alerts', '--bootstrap-server', `127.0.0.1:${await freePort()}`]);
  assert.equal(unreachable.code, 6, unreachable.stderr);
  assert.match(unreachable.stderr, /--bootstrap-server/);
});
