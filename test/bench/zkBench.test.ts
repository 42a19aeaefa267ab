// Smoke test of the benchmark harness (bench/zk-bench.ts): a BENCH_QUICK run as a child process
// against ClusterGenie and Apache ZooKeeper 3.8 (standalone, two short workloads, one cold start,
// a small memory test), into a temp BENCH_OUT_DIR. Checks that both implementations were measured
// (ops/s, server CPU per op, peak RSS per workload and per repetition, znodes after each run),
// that the small-data workload ran before create (BENCH_WORKLOADS lists create first), and that
// the Markdown report has its tables. Apache is part of the point: without its jar this test
// fails rather than skips.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPT = join(repoRoot, 'dist', 'bench', 'zk-bench.js');
const APACHE_JAR = '/usr/share/java/zookeeper.jar';
const DEADLINE_MS = 100_000;

interface Stats {
  median: number;
}
interface Workload {
  opsPerSec: Stats;
  serverCpuUsPerOp: Stats;
  errors: number;
  peakRssMb: Stats;
  peakRssPerMemberMb: number[];
  znodesAtEnd: Stats;
  samples: { peakRssMb: number[]; peakRssReset: boolean; znodesAtEnd: number }[];
}
interface Impl {
  workloads: Record<string, Workload>;
  peakRssMb: Stats;
  smallDataPeakRssMb: number;
  smallDataPeakWorkload?: string;
}

test('zk-bench BENCH_QUICK run measures ClusterGenie and Apache ZooKeeper and writes both reports', {
  timeout: DEADLINE_MS + 20_000,
}, async () => {
  assert.ok(
    existsSync(APACHE_JAR),
    `${APACHE_JAR} is missing: this benchmark compares with Apache ZooKeeper 3.8 and needs Debian's zookeeper package (.ci/run installs it)`,
  );
  const out = mkdtempSync(join(tmpdir(), 'cg-zkbench-test-'));
  try {
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BENCH_')));
    Object.assign(env, {
      BENCH_QUICK: '1',
      BENCH_OUT_DIR: out,
      BENCH_TOPOLOGIES: 'standalone',
      BENCH_WORKLOADS: 'create,getData',
      BENCH_DURATION_MS: '800',
      BENCH_WARMUP_MS: '200',
      BENCH_COLDSTART_REPEAT: '1',
      BENCH_FAILOVER_REPEAT: '0',
      BENCH_MEMORY_ZNODES: '2000',
    });
    const child = spawn(process.execPath, [SCRIPT], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    const code = await new Promise<number | string | null>((resolve) => child.once('exit', (c, s) => resolve(c ?? s)));
    clearTimeout(timer);
    assert.equal(code, 0, `zk-bench exited with ${code}:\n${log.slice(-6000)}`);

    const res = JSON.parse(readFileSync(join(out, 'zk-bench.json'), 'utf8')) as {
      apache: { included: boolean };
      runOrder: string[];
      peakRssReset: { works: boolean; note?: string };
      topologies: { topology: string; impls: Record<string, Impl>; ratios: Record<string, { opsPerSec: number; cpuPerOp: number }> }[];
      coldStart: { results: Record<string, { ms: Stats }> };
      memory: { results: Record<string, { servers: { rssMb: number; heapUsedMb?: number }[] }> };
      failures: unknown[];
    };
    assert.equal(res.apache.included, true);
    assert.deepEqual(res.failures, []);
    assert.deepEqual(res.runOrder, ['getData', 'create'], 'small-data workloads run before create');
    assert.equal(typeof res.peakRssReset.works, 'boolean');
    if (!res.peakRssReset.works) assert.ok(res.peakRssReset.note, 'a failed peak reset is explained');
    const t = res.topologies.find((x) => x.topology === 'standalone');
    assert.ok(t, 'standalone results');
    for (const impl of ['clustergenie', 'apache']) {
      const r: Impl | undefined = t.impls[impl];
      assert.ok(r, `${impl} measured`);
      for (const w of ['create', 'getData']) {
        const s: Workload | undefined = r.workloads[w];
        assert.ok(s, `${impl} ${w}`);
        assert.ok(s.opsPerSec.median > 0, `${impl} ${w} ops/s ${s.opsPerSec.median}`);
        assert.ok(s.serverCpuUsPerOp.median > 0, `${impl} ${w} CPU/op ${s.serverCpuUsPerOp.median}`);
        assert.equal(s.errors, 0, `${impl} ${w} loadgen errors`);
        assert.ok(s.peakRssMb.median > 0, `${impl} ${w} peak RSS ${s.peakRssMb.median}`);
        assert.equal(s.peakRssPerMemberMb.length, 1, `${impl} ${w} one member`);
        assert.ok(s.peakRssPerMemberMb[0]! > 0, `${impl} ${w} member peak RSS`);
        assert.ok(s.znodesAtEnd.median > 0, `${impl} ${w} znodes ${s.znodesAtEnd.median}`);
        assert.equal(s.samples.length, 1);
        assert.ok(s.samples[0]!.peakRssMb[0]! > 0 && s.samples[0]!.znodesAtEnd > 0, `${impl} ${w} sample`);
        assert.equal(s.samples[0]!.peakRssReset, res.peakRssReset.works);
        // The peak of the whole repetition includes every workload's.
        assert.ok(r.peakRssMb.median >= s.peakRssMb.median, `${impl} repetition peak ${r.peakRssMb.median} < ${w}'s ${s.peakRssMb.median}`);
      }
      // getData ran first: the tree create left was not there yet.
      assert.ok(r.workloads['create']!.znodesAtEnd.median > r.workloads['getData']!.znodesAtEnd.median, `${impl} create ran after getData`);
      assert.equal(r.smallDataPeakWorkload, 'getData');
      assert.equal(r.smallDataPeakRssMb, r.workloads['getData']!.peakRssMb.median);
      assert.ok(r.peakRssMb.median > 0, `${impl} RSS ${r.peakRssMb.median}`);
      assert.ok(res.coldStart.results[impl]!.ms.median > 0, `${impl} cold start`);
      assert.ok(res.memory.results[impl]!.servers[0]!.rssMb > 0, `${impl} memory RSS`);
    }
    assert.ok(res.memory.results['apache']!.servers[0]!.heapUsedMb! > 0, 'Apache heap used after GC');
    assert.ok(t.ratios['create']!.opsPerSec > 0 && t.ratios['create']!.cpuPerOp > 0, 'ratios');

    const md = readFileSync(join(out, 'zk-bench.md'), 'utf8');
    assert.match(md, /^# ZooKeeper benchmark/m);
    assert.match(md, /\| workload \| ours ops\/s \(min–max\) \| Apache ops\/s \(min–max\) \| ratio \|/);
    assert.match(md, /## Peak RSS per server by workload \(MB\)/);
    assert.match(md, /\| standalone \| getData \(small data\) \| \d/);
    assert.match(md, /\| standalone \| \*\*RSS at small data\*\*/);
    assert.match(md, /## Peak RSS per server over the whole repetition, with the create\/delete trees/);
    assert.match(md, /## Cold start/);
    assert.match(md, /## Memory with/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
