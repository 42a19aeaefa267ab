// Issue 15 end to end, on real processes: 3 Kafka brokers (RF 3, acks=all) on ZooKeeper, the Job
// Service, the scheduler and 3 workers as their own processes of this build's CLI. Jobs go in over
// HTTP; the checker (test/helpers/jobHistory.ts) reads every event back from cluster-events and
// finds nothing lost, ended twice, re-run after finishing, out of order or split.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkJobHistory, describeProblems } from '../../helpers/jobHistory.js';
import { coreJobScenarios, submitAll, waitAllTerminal } from '../../helpers/jobScenarios.js';
import { JobsSystem } from '../../helpers/jobsSystem.js';

let sys: JobsSystem;

before(async () => {
  sys = await JobsSystem.start({ brokers: 3, workers: 3, workerArgs: ['--concurrency', '32', '--concurrency-max', '64'] });
});

after(async () => {
  await sys?.close();
});

coreJobScenarios(() => sys, { mixedJobs: 10_000 });

test('kill -9 of a broker while jobs flow: every job still completes, nothing lost', { timeout: 300_000 }, async (t) => {
  const first = submitAll(
    Array.from({ length: 2000 }, (_, i) => ({ id: `broker-kill-a${i}`, type: 'echo', payload: { i } })),
    true,
  );
  await sys.cluster.broker(2).kill();
  const second = await submitAll(
    Array.from({ length: 1000 }, (_, i) => ({ id: `broker-kill-b${i}`, type: 'sleep', payload: { ms: i % 3 } })),
    true,
  );
  const ids = [...(await first), ...second];
  assert.equal(new Set(ids).size, 3000);
  await waitAllTerminal(ids, 200_000);
  const events = await sys.readAllEvents();
  const report = checkJobHistory(ids, events);
  t.diagnostic(`terminal events published twice after a lost acknowledgement: ${report.republished}`);
  const dup = report.duplicated[0];
  const detail = dup ? JSON.stringify(events.filter((e) => e.event.jobId === dup)) : '';
  assert.equal(describeProblems(report), '', detail);
  for (const id of ids) assert.equal(report.terminal.get(id), 'completed');
  await sys.cluster.broker(2).start();
  await sys.cluster.broker(2).waitServing(60_000);
});
