// `up --workers-min 1 --workers-max 3` on real processes: the worker-process autoscaler
// (src/cli/upWorkerScaler.ts, the shell up runs) over worker processes of this build's CLI, the
// Job Service and the scheduler on a process cluster. A backlog of slow jobs grows the workers
// (worker.scaled with scope "processes" on cluster-events, more registrations in ZooKeeper);
// every job completes exactly once (the checker on every event); idle, they shrink back to one
// by graceful stops.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { workerProcess } from '../../../src/cluster/serviceProcess.js';
import { JOB_ZK_PATHS } from '../../../src/genie/jobs/events.js';
import { WorkerProcessScaler } from '../../../src/cli/upWorkerScaler.js';
import { checkJobHistory, describeProblems, firstProblemHistory } from '../../helpers/jobHistory.js';
import { JobsSystem } from '../../helpers/jobsSystem.js';
import { waitFor } from '../../helpers/wait.js';

// One slot per job: the backlog cannot be absorbed by a pool growing its concurrency instead.
const workerArgs = ['--concurrency-min', '1', '--concurrency', '1', '--concurrency-max', '1'];
let sys: JobsSystem;
let scaler: WorkerProcessScaler | undefined;
const said: string[] = [];

before(async () => {
  sys = await JobsSystem.start({ brokers: 1, workers: 1, partitions: 3, workerArgs });
});

after(async () => {
  await scaler?.stop();
  await sys?.close();
});

let lastRegistered: string[] = [];
async function registeredWorkers(): Promise<string[]> {
  const zk = await sys.cluster.zkClient();
  lastRegistered = (await zk.getChildren(JOB_ZK_PATHS.workers)).sort();
  return lastRegistered;
}

test('worker processes grow with a backlog of slow jobs up to the partitions, every job completes once, and shrink back to min when idle', {
  timeout: 150_000,
}, async (t) => {
  const setup = { dir: sys.dir, bootstrap: sys.bootstrap, zkConnect: sys.zkConnect };
  // Slot 1 is the running worker; slots 2 and 3 are started by the scaler. Kept in sys.workers
  // so close() kills them and logs() shows them.
  for (const n of [2, 3]) sys.workers.push(workerProcess(setup, n, workerArgs));
  scaler = new WorkerProcessScaler({
    slots: sys.workers,
    initial: 1,
    min: 1,
    max: 3,
    bootstrap: sys.bootstrap,
    zkConnect: sys.zkConnect,
    intervalMs: 500,
    policy: { backlogPerProcessHigh: 20, idleBacklogMax: 10, idleShrinkMs: 3000, cooldownMs: 2000 },
    stopTimeoutMs: 20_000,
    say: (line) => said.push(line),
  });
  scaler.start();
  const jobs = Array.from({ length: 40 }, (_, i) => ({ id: `scale-${i}`, type: 'sleep', payload: { ms: 1000 } }));
  // A 503 means Kafka did not take the batch yet (a just-started broker): nothing was accepted, ask again.
  let last = '';
  const submitted = await waitFor(
    async () => {
      const r = await sys.post<{ jobs: { id: string }[] }>('/api/jobs/batch', { jobs });
      last = `${r.status} ${JSON.stringify(r.body).slice(0, 500)}`;
      if (r.status === 503) return undefined;
      return r;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: () => `the batch accepted (last answer ${last})` },
  );
  assert.equal(submitted.status, 202, last);
  const ids = submitted.body.jobs.map((j) => j.id);
  assert.equal(ids.length, 40);

  const s = scaler;
  const why = (): string => `scaler said:\n${said.join('\n')}\n${sys.logs().slice(-6000)}`;
  // Grows: three partitions, so three processes at most.
  await waitFor(() => s.processes === 3, { timeoutMs: 30_000, intervalMs: 200, what: () => `3 worker processes; ${why()}` });
  await waitFor(async () => (await registeredWorkers()).length === 3, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: () => `3 registered workers, have ${lastRegistered.join(',')}; ${why()}`,
  });
  // Every job ends, completed, in the Job Service's view.
  await waitFor(
    async () => {
      for (const id of ids) if ((await sys.get<{ state: string }>(`/api/jobs/${id}`)).body.state !== 'completed') return false;
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: () => `all 40 jobs completed; ${why()}` },
  );
  // Idle: back to one process, one graceful stop at a time.
  await waitFor(() => s.processes === 1, { timeoutMs: 45_000, intervalMs: 250, what: () => `back to 1 worker process; ${why()}` });
  await waitFor(async () => (await registeredWorkers()).length === 1, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: () => `1 registered worker, have ${lastRegistered.join(',')}; ${why()}`,
  });
  assert.ok(!sys.workers[1]!.alive && !sys.workers[2]!.alive, 'the scaler stopped the slots it started');
  assert.ok(
    sys.workers.slice(1).every((w) => w.lastExit?.expected && w.lastExit.signal === null),
    `stopped workers exited on their own after SIGTERM: ${JSON.stringify(sys.workers.map((w) => w.lastExit))}`,
  );

  const { events, markers, scaled } = await sys.readAllRecords();
  const report = checkJobHistory(ids, events, markers);
  assert.equal(describeProblems(report), '', firstProblemHistory(report, events));
  for (const id of ids) assert.equal(report.terminal.get(id), 'completed');
  // Each decision is on the topic as worker.scaled with scope processes, from, to and its reason.
  const processes = scaled.filter((e) => e.scope === 'processes');
  t.diagnostic(`decisions: ${processes.map((e) => `${e.from}->${e.to} (${e.reason})`).join('; ')}`);
  assert.deepEqual(
    processes.map((e) => [e.from, e.to]),
    s.changes.map((c) => [c.from, c.to]),
  );
  assert.ok(processes.some((e) => e.to > e.from && /^backlog \d+ records over \d+ processes$/.test(e.reason)));
  assert.ok(processes.some((e) => e.to < e.from && /^idle \d+ ms$/.test(e.reason)));
  assert.ok(processes.every((e) => e.worker === `up-${process.pid}` && e.v === 1 && e.to >= 1 && e.to <= 3));
  assert.equal(processes.at(-1)?.to, 1);
});
