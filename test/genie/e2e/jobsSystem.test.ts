// Issue 15 end to end, on real processes: 3 Kafka brokers (RF 3, acks=all) on ZooKeeper, the Job
// Service, the scheduler and 3 workers as their own processes of this build's CLI. Jobs go in over
// HTTP; the checker (test/helpers/jobHistory.ts) reads every event back from cluster-events and
// finds nothing lost, ended twice, re-run after finishing, out of order or split.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { partitionFor } from '../../../src/kafka/coordinator/partitionFor.js';
import { checkJobHistory, describeProblems, firstProblemHistory } from '../../helpers/jobHistory.js';
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

/** The broker leading the workers' group's __consumer_offsets partition: their group coordinator. */
async function workersCoordinator(): Promise<number> {
  const zk = await sys.cluster.zkClient();
  const p = partitionFor('clustergenie-workers', 50);
  const state = JSON.parse(String((await zk.getData(`/brokers/topics/__consumer_offsets/partitions/${p}/state`)).data)) as {
    leader: number;
  };
  return state.leader;
}

test('kill -9 of the workers group coordinator broker while jobs flow: every job still completes, nothing lost', {
  timeout: 300_000,
}, async (t) => {
  // The coordinator's broker, so the workers' Kafka client must find a new one (@platformatic/kafka
  // 1.35 cannot, and throws: the worker process exits and is started again, docs/JOBS.md).
  const victim = await workersCoordinator();
  t.diagnostic(`killing broker ${victim}, the workers' group coordinator`);
  const first = submitAll(
    Array.from({ length: 2000 }, (_, i) => ({ id: `broker-kill-a${i}`, type: 'echo', payload: { i } })),
    true,
  );
  await sys.cluster.broker(victim).kill();
  const second = await submitAll(
    Array.from({ length: 1000 }, (_, i) => ({ id: `broker-kill-b${i}`, type: 'sleep', payload: { ms: i % 3 } })),
    true,
  );
  const ids = [...(await first), ...second];
  assert.equal(new Set(ids).size, 3000);
  await waitAllTerminal(ids, 200_000);
  const events = await sys.readAllEvents();
  const report = checkJobHistory(ids, events);
  t.diagnostic(
    `terminal events published twice after a lost acknowledgement: ${report.republished}; submissions repeated by the client's retries: ${report.repeatedRequests}`,
  );
  assert.equal(describeProblems(report), '', firstProblemHistory(report, events));
  for (const id of ids) assert.equal(report.terminal.get(id), 'completed');
  t.diagnostic(`worker process starts: ${sys.workers.map((w) => w.starts).join(', ')}`);
  await sys.cluster.broker(victim).start();
  await sys.cluster.broker(victim).waitServing(60_000);
});
