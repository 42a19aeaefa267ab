// The benchmark's per-workload peak RSS pieces without servers: PeakRss (bench/lib/procstat.ts)
// on this process and on a pid that is gone (the clear_refs fallback), the small-data set and the
// run order (bench/lib/results.ts), and the report's RSS sections, including the note it prints
// when the peak could not be reset (bench/lib/report.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { PeakRss } from '../../bench/lib/procstat.js';
import { renderMarkdown } from '../../bench/lib/report.js';
import {
  evaluateTargets,
  isSmallData,
  runOrder,
  smallDataPeak,
  SMALL_DATA_WORKLOADS,
  type BenchResult,
  type WorkloadStats,
} from '../../bench/lib/results.js';
import { summarize } from '../../bench/lib/stats.js';

test('PeakRss reads this process and keeps the lifetime peak across resets', () => {
  const p = new PeakRss([process.pid]);
  const before = p.read()[0]!;
  assert.ok(before > 0, `VmHWM ${before}`);
  p.reset();
  if (!p.resetWorks) assert.match(p.resetError ?? '', /clear_refs/);
  const after = p.read()[0]!;
  assert.ok(after > 0, `VmHWM after reset ${after}`);
  // A reset never lowers the lifetime peak below what was read before it.
  assert.ok(p.lifetimePeak()[0]! >= Math.max(before, after));
});

test('PeakRss falls back when clear_refs cannot be written (a pid that is gone)', () => {
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  const p = new PeakRss([gone]);
  p.reset();
  assert.equal(p.resetWorks, false);
  assert.match(p.resetError ?? '', new RegExp(`/proc/${gone}/clear_refs`));
  assert.ok(Number.isNaN(p.read()[0]!));
});

test('small-data workloads run before the ones that build a large tree', () => {
  assert.deepEqual([...SMALL_DATA_WORKLOADS].sort(), ['getData', 'mixed', 'multi', 'setData', 'watch']);
  assert.equal(isSmallData('create'), false);
  assert.equal(isSmallData('delete'), false);
  assert.deepEqual(runOrder(['create', 'setData', 'getData', 'delete', 'mixed', 'multi', 'watch']), [
    ['setData', 'getData', 'mixed', 'multi', 'watch'],
    ['create', 'delete'],
  ]);
  assert.deepEqual(runOrder(['create']), [['create']]);
});

function stats(peak: number, znodes: number): WorkloadStats {
  const s = summarize([1]);
  return {
    opsPerSec: s,
    p50Ms: s,
    p99Ms: s,
    p999Ms: s,
    serverCpuUsPerOp: s,
    loadgenCpuUsPerOp: s,
    peakRssMb: summarize([peak]),
    peakRssPerMemberMb: [peak - 1, peak, peak - 2],
    znodesAtEnd: summarize([znodes]),
    errors: 0,
    errorCodes: {},
    flagged: false,
    samples: [],
  };
}

test('the RSS target is the largest small-data peak; create and delete do not count', () => {
  const workloads = { getData: stats(80, 300), multi: stats(95, 400), create: stats(400, 100_000), delete: stats(450, 100_000) };
  assert.deepEqual(smallDataPeak(workloads), { mb: 95, workload: 'multi' });
  assert.ok(Number.isNaN(smallDataPeak({ create: stats(400, 1) }).mb));

  const res: BenchResult = {
    date: '2026-01-01T00:00:00.000Z',
    durationSec: 1,
    machine: {
      cores: 2,
      cpuModel: 'x',
      kernel: 'k',
      node: 'v20',
      java: 'j',
      clockTicks: 100,
      memGb: 1,
      loadAvgStart: [0, 0, 0],
      loadAvgEnd: [0, 0, 0],
    },
    config: { zooCfg: {}, apacheJvm: 'stock', apacheJvmArgs: [], note: '' },
    load: {
      sessions: 8,
      depth: 32,
      workers: 2,
      valueBytes: 100,
      watchSessions: 64,
      watchDepth: 4,
      durationMs: 1,
      warmupMs: 1,
      prewarmMs: 1,
      deleteOpsPerSession: '',
    },
    repeat: 1,
    quick: true,
    apache: { included: false, note: 'skipped' },
    workloads: ['create', 'getData', 'delete', 'multi'],
    runOrder: ['getData', 'multi', 'create', 'delete'],
    peakRssReset: { works: false, note: 'cannot reset peak RSS (EACCES)' },
    topologies: [
      {
        topology: '3-node',
        members: 3,
        impls: {
          clustergenie: {
            workloads,
            peakRssMb: summarize([450]),
            rssPerRep: [{ rep: 1, hwmMb: [440, 450, 430], rssMb: [1, 1, 1], znodes: 100_000 }],
            smallDataPeakRssMb: 95,
            smallDataPeakWorkload: 'multi',
          },
        },
        ratios: {},
      },
    ],
    failures: [],
    targets: [],
  };
  const rss = evaluateTargets(res).find((t) => t.what.includes('RSS'));
  assert.ok(rss);
  assert.equal(rss.pass, true);
  assert.match(rss.value, /^95 MB, in multi \(400 znodes\)/);
  res.targets = evaluateTargets(res);
  const md = renderMarkdown(res);
  assert.match(md, /## Peak RSS per server by workload \(MB\)/);
  assert.match(md, /\*\*Peak RSS could not be reset per workload:\*\* cannot reset peak RSS \(EACCES\)/);
  assert.match(md, /\| 3-node \| multi \(small data\) \| 95 \| 94 \/ 95 \/ 93 \| 400 \|/);
  assert.match(md, /\| 3-node \| create \(builds a large tree\) \| 400 \|/);
  assert.match(
    md,
    /\| 3-node \| \*\*RSS at small data\*\* \(largest of the small-data rows\) \| \*\*95\*\* \(multi\) \|.*ours ≤100 MB: PASS \|/,
  );
  assert.match(md, /## Peak RSS per server over the whole repetition, with the create\/delete trees \(MB\)\n/);
  assert.match(md, /\| 3-node \| 450 \| 440 \/ 450 \/ 430 \| 100,000 \|/);
});
