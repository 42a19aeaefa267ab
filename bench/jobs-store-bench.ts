// The Job Service view store's CPU per job, alone (no Kafka, no HTTP): what docs/PERFORMANCE.md
// "Jobs" counts as the store's share. Per job, as in the jobs bench's batch submissions: the
// provisional row of a batch submission, then the fold of the job's five events in the three
// batches they usually arrive in (requested; created + queued; processing + completed), 1,000
// jobs per transaction. Prints microseconds of process CPU per job for each phase.
//
//   node dist/bench/jobs-store-bench.js        JOBS_STORE_BENCH_JOBS=20000 (default)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent, JobSpec } from '../src/genie/jobs/events.js';
import { type ConsumedRecord, JobStore } from '../src/genie/jobs/store.js';

const jobs = Number(process.env['JOBS_STORE_BENCH_JOBS'] ?? 20_000);
const batchJobs = 1000;
const dir = mkdtempSync(join(tmpdir(), 'cg-store-bench-'));
const store = new JobStore({ dataDir: dir });
const at = new Date().toISOString();
const specs: JobSpec[] = Array.from({ length: jobs }, (_, i) => ({
  id: `job-${i}-${process.pid}`,
  type: 'echo',
  payload: { n: i },
  priority: 'normal',
  attemptsMax: 3,
  backoff: { type: 'exponential', delayMs: 1000, delayMsMax: 300_000 },
  timeoutMs: 30_000,
  createdAt: at,
}));
const requested = (spec: JobSpec): JobEvent => ({ v: 1, type: 'job.requested', jobId: spec.id, at, producer: 'svc', spec, attempt: 1 });
const fact = { v: 1, at, producer: 'worker/w', epoch: 0 };
let offset = 0;
const record = (event: JobEvent): ConsumedRecord => ({ pos: { partition: 0, offset: offset++ }, event, json: JSON.stringify(event) });
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const perJobUs = (ms: number): string => ((ms / jobs) * 1000).toFixed(1);

function inBatches(fn: (batch: JobSpec[]) => void): number {
  const t = cpuMs();
  for (let i = 0; i < jobs; i += batchJobs) fn(specs.slice(i, i + batchJobs));
  return cpuMs() - t;
}
const fold = (make: (s: JobSpec) => JobEvent[]) =>
  inBatches((batch) => store.applyBatch(batch.flatMap(make).map(record), new Map([[0, offset]])));

try {
  const provisional = inBatches((batch) => store.applyProvisionalBatch(batch.map(requested)));
  const folds = [
    fold((s) => [requested(s)]),
    fold((s) => [
      { ...fact, jobId: s.id, type: 'job.created', spec: s },
      { ...fact, jobId: s.id, type: 'job.queued', spec: s, attempt: 1, attemptLimit: 3 },
    ]),
    fold((s) => [
      { ...fact, jobId: s.id, type: 'job.processing', attempt: 1, worker: 'w', redelivered: false },
      { ...fact, jobId: s.id, type: 'job.completed', attempt: 1, result: null, durationMs: 0 },
    ]),
  ];
  const total = provisional + folds.reduce((a, b) => a + b, 0);
  console.log(
    `${jobs} jobs: provisional ${perJobUs(provisional)} us/job; fold requested ${perJobUs(folds[0]!)}, ` +
      `created+queued ${perJobUs(folds[1]!)}, processing+completed ${perJobUs(folds[2]!)}; total ${perJobUs(total)} us/job`,
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
