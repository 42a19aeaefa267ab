// Smoke test of the benchmark harness (bench/zk-bench.ts): a BENCH_QUICK run as a child process
// against ClusterGenie and Apache ZooKeeper 3.8 (standalone, two short workloads, one cold start,
// a small memory test), into a temp BENCH_OUT_DIR. Checks that both implementations were measured
// (ops/s, server CPU per op, peak RSS) and that the Markdown report has its tables. Apache is part
// of the point: without its jar this test fails rather than skips.

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
interface Impl {
  workloads: Record<string, { opsPerSec: Stats; serverCpuUsPerOp: Stats; errors: number }>;
  peakRssMb: Stats;
}

test('zk-bench BENCH_QUICK run measures ClusterGenie and Apache ZooKeeper and writes both reports', { timeout: DEADLINE_MS + 20_000 }, async () => {
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
      topologies: { topology: string; impls: Record<string, Impl>; ratios: Record<string, { opsPerSec: number; cpuPerOp: number }> }[];
      coldStart: { results: Record<string, { ms: Stats }> };
      memory: { results: Record<string, { servers: { rssMb: number; heapUsedMb?: number }[] }> };
      failures: unknown[];
    };
    assert.equal(res.apache.included, true);
    assert.deepEqual(res.failures, []);
    const t = res.topologies.find((x) => x.topology === 'standalone');
    assert.ok(t, 'standalone results');
    for (const impl of ['clustergenie', 'apache']) {
      const r: Impl | undefined = t.impls[impl];
      assert.ok(r, `${impl} measured`);
      for (const w of ['create', 'getData']) {
        const s: Impl['workloads'][string] | undefined = r.workloads[w];
        assert.ok(s, `${impl} ${w}`);
        assert.ok(s.opsPerSec.median > 0, `${impl} ${w} ops/s ${s.opsPerSec.median}`);
        assert.ok(s.serverCpuUsPerOp.median > 0, `${impl} ${w} CPU/op ${s.serverCpuUsPerOp.median}`);
        assert.equal(s.errors, 0, `${impl} ${w} loadgen errors`);
      }
      assert.ok(r.peakRssMb.median > 0, `${impl} RSS ${r.peakRssMb.median}`);
      assert.ok(res.coldStart.results[impl]!.ms.median > 0, `${impl} cold start`);
      assert.ok(res.memory.results[impl]!.servers[0]!.rssMb > 0, `${impl} memory RSS`);
    }
    assert.ok(res.memory.results['apache']!.servers[0]!.heapUsedMb! > 0, 'Apache heap used after GC');
    assert.ok(t.ratios['create']!.opsPerSec > 0 && t.ratios['create']!.cpuPerOp > 0, 'ratios');

    const md = readFileSync(join(out, 'zk-bench.md'), 'utf8');
    assert.match(md, /^# ZooKeeper benchmark/m);
    assert.match(md, /\| workload \| ours ops\/s \(min–max\) \| Apache ops\/s \(min–max\) \| ratio \|/);
    assert.match(md, /## Peak RSS per server/);
    assert.match(md, /## Cold start/);
    assert.match(md, /## Memory with/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
