// A quick probe of ship-logs alone (a development aid for the logs benchmark): one ZooKeeper
// member and one broker, the shipper as a process of this build's CLI following a file, N lines
// appended at once after a warm-up; prints lines/s (first append → the topic's end offsets cover
// them) and the shipper's CPU per 1,000 lines, R times on fresh topics. With
// LOGS_PROBE_CPU_PROF=<dir> the shipper writes a V8 CPU profile there when it stops.
//
//   node .build/bench/lib/logsShipProbe.js        LOGS_PROBE_LINES=200000 LOGS_PROBE_REPEAT=2

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMainJs } from '../../src/cluster/processCluster.js';
import { appendChunks, appendLines, buildChunks } from './logsLoad.js';
import { LogsBenchCluster, startService, stopService } from './logsSystem.js';
import { cpuSeconds, memory } from './procstat.js';

const LINES = Number(process.env.LOGS_PROBE_LINES ?? 200_000);
const REPEAT = Number(process.env.LOGS_PROBE_REPEAT ?? 2);
const WARMUP = 2000;
const PROF_DIR = process.env.LOGS_PROBE_CPU_PROF;
const EXTRA = (process.env.LOGS_PROBE_ARGS ?? '').split(' ').filter(Boolean);
const pollMs = 20;
const runTimeoutMs = 120_000;

async function waitOffsets(c: LogsBenchCluster, topic: string, n: number): Promise<void> {
  const deadline = Date.now() + runTimeoutMs;
  while ((await c.endOffsetSum(topic, 3)) < n) {
    if (Date.now() > deadline) throw new Error(`${topic}: fewer than ${n} records after ${runTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function main(): Promise<void> {
  const c = await LogsBenchCluster.start();
  try {
    for (let rep = 0; rep < REPEAT; rep++) {
      const topic = `probe-${rep}`;
      const file = join(c.dir, `probe-${rep}.log`);
      writeFileSync(file, '');
      await c.createTopic(topic, 3);
      // Node takes --cpu-prof on its command line only (not in NODE_OPTIONS). ServiceProcess runs
      // `node <mainJs> <args>`: with a profile, mainJs is a harmless node flag and the profiling
      // flags and the real main.js lead the arguments.
      const node = PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, defaultMainJs()] : [];
      const p = await startService(
        `probe ${rep}`,
        [
          ...node,
          'ship-logs',
          '--bootstrap-server',
          c.bootstrap,
          '--topic',
          topic,
          '--checkpoint',
          join(c.dir, `${topic}.cp.json`),
          '--from-beginning',
          ...EXTRA,
          file,
        ],
        join(c.dir, `${topic}.log`),
        /ship-logs ready/,
        undefined,
        PROF_DIR ? '--expose-gc' : undefined,
      );
      try {
        appendLines(file, 0, WARMUP, Date.now());
        await waitOffsets(c, topic, WARMUP);
        await new Promise((r) => setTimeout(r, 500));
        const chunks = buildChunks(WARMUP, LINES, Date.now());
        const cpu0 = cpuSeconds(p.pid!)!;
        const t0 = performance.now();
        appendChunks(file, chunks);
        await waitOffsets(c, topic, WARMUP + LINES);
        const ms = performance.now() - t0;
        const cpu = cpuSeconds(p.pid!)! - cpu0;
        const rss = memory(p.pid!)?.rssMb ?? 0;
        console.log(
          `run ${rep}: ${Math.round((LINES / ms) * 1000)} lines/s, ${((cpu * 1e6) / LINES).toFixed(2)} ms CPU / 1,000 lines, RSS ${Math.round(rss)} MB`,
        );
      } finally {
        await stopService(p);
      }
    }
  } finally {
    await c.close();
  }
}

await main();
