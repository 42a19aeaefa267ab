// The neutral C load generator (bench/loadgen/zkload.c via bench/lib/zkload.ts) against our
// server as a child process: short runs of every workload, each checked against the server's
// state afterwards with our client (what the workers report must be consistent with what the
// server holds), plus bad inputs that must fail clearly.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { ensureLoadgen, runLoad, type LoadOptions, type LoadResult } from '../../bench/lib/zkload.js';
import { startOurZooKeeperProcess } from '../helpers/ourZk.js';
import { freePort } from '../helpers/net.js';

type Started = Awaited<ReturnType<typeof startOurZooKeeperProcess>>;

describe('zkload (C load generator) against our server', { timeout: 60_000 }, () => {
  let zk: Started;
  let client: ZooKeeperClient;
  let runs = 0;

  before(async () => {
    await ensureLoadgen(); // compile once, outside the per-test timing
    // No fsync: this checks the load generator, and a disk stall from other tests on the machine
    // must not empty a 500 ms window.
    zk = await startOurZooKeeperProcess({ extraConfig: { forceSync: 'no' } });
    client = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 30_000 });
    await client.connect();
  });

  after(async () => {
    await client?.close();
    await zk?.stop();
  });

  const load = (o: Partial<LoadOptions> & Pick<LoadOptions, 'workload'>): Promise<LoadResult> =>
    runLoad({
      hosts: [zk.connectString],
      sessions: 4,
      depth: 16,
      workers: 2,
      warmupMs: 200,
      durationMs: 500,
      root: `/zkload-test-${o.workload}-${++runs}`,
      timeoutMs: 30_000,
      ...o,
    });

  /** Every `<root>/w<W>/s<i>` session directory. */
  async function sessionDirs(root: string): Promise<string[]> {
    const out: string[] = [];
    for (const w of (await client.getChildren(root)).sort()) {
      for (const s of (await client.getChildren(`${root}/${w}`)).sort()) out.push(`${root}/${w}/${s}`);
    }
    return out;
  }

  async function versions(paths: string[]): Promise<number[]> {
    return Promise.all(paths.map(async (p) => (await client.getData(p)).stat.version));
  }

  function checkCommon(r: LoadResult, windowMs = 500): void {
    assert.ok(r.ops > 0, `ops ${r.ops}`);
    assert.equal(r.errors, 0, `errors: ${JSON.stringify(r.errorCodes)}`);
    assert.deepEqual(r.errorCodes, {});
    const l = r.latencyUs;
    assert.ok(l.p50 > 0, `p50 ${l.p50}`);
    assert.ok(l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `latency not ordered: ${JSON.stringify(l)}`);
    assert.ok(l.mean > 0 && l.mean <= l.max, `mean ${l.mean}`);
    assert.ok(r.loadgenCpuSec > 0, `loadgenCpuSec ${r.loadgenCpuSec}`);
    if (windowMs > 0) {
      // A window is at least durationMs; it may overrun when the machine is busy (a worker is
      // descheduled), so the upper bound is loose.
      assert.ok(r.seconds >= windowMs / 1000 && r.seconds < windowMs / 1000 + 10, `seconds ${r.seconds}`);
      // ops/s sums each worker's ops over its own window: every window lies in
      // [durationMs, seconds], so the sum lies in [ops / seconds, ops / durationMs].
      assert.ok(
        r.opsPerSec >= r.ops / r.seconds - 1e-6 && r.opsPerSec <= r.ops / (windowMs / 1000) + 1e-6,
        `opsPerSec ${r.opsPerSec}, ops ${r.ops}, seconds ${r.seconds}`,
      );
    }
  }

  it('create: every session created c0..c(n-1) with no gaps, at least as many as the ops counted', async () => {
    let starts = 0;
    let ends = 0;
    const r = await load({ workload: 'create', onMeasureStart: () => starts++, onMeasureEnd: () => ends++ });
    checkCommon(r);
    assert.equal(starts, 1);
    assert.equal(ends, 1);
    assert.equal(r.writes, undefined);
    const dirs = await sessionDirs(`/zkload-test-create-${runs}`);
    assert.equal(dirs.length, 4); // 2 workers x 2 sessions
    let total = 0;
    for (const d of dirs) {
      const names = await client.getChildren(d);
      const ks = names.map((n) => {
        assert.match(n, /^c\d+$/);
        return Number(n.slice(1));
      });
      ks.sort((a, b) => a - b);
      assert.deepEqual(
        ks,
        ks.map((_, i) => i),
        `${d}: creates not contiguous`,
      );
      total += names.length;
    }
    // warmup and in-flight creates at the window's end also exist, so >= (not ==)
    assert.ok(total >= r.ops, `created ${total} < ops ${r.ops}`);
  });

  it('delete: exactly sessions x deleteOpsPerSession deletes, and every d* node is gone', async () => {
    const r = await load({ workload: 'delete', deleteOpsPerSession: 300 });
    checkCommon(r, 0);
    assert.equal(r.ops, 4 * 300);
    assert.ok(r.seconds > 0);
    const dirs = await sessionDirs(`/zkload-test-delete-${runs}`);
    assert.equal(dirs.length, 4);
    for (const d of dirs) assert.deepEqual(await client.getChildren(d), [], d);
  });

  it('setData: the node versions add up to at least the ops counted', async () => {
    const r = await load({ workload: 'setData' });
    checkCommon(r);
    const dirs = await sessionDirs(`/zkload-test-setData-${runs}`);
    const v = await versions(dirs.flatMap((d) => [0, 1, 2, 3, 4].map((j) => `${d}/n${j}`)));
    const sum = v.reduce((a, b) => a + b, 0);
    assert.ok(sum >= r.ops, `versions ${sum} < ops ${r.ops}`);
  });

  it('getData: reads only (versions stay 0) with the value size asked for', async () => {
    const r = await load({ workload: 'getData', valueBytes: 64 });
    checkCommon(r);
    const dirs = await sessionDirs(`/zkload-test-getData-${runs}`);
    for (const d of dirs) {
      for (let j = 0; j < 5; j++) {
        const { data, stat } = await client.getData(`${d}/n${j}`);
        assert.equal(stat.version, 0);
        assert.equal(data?.length, 64);
      }
    }
  });

  it('mixed: every 10th request is a setData', async () => {
    const r = await load({ workload: 'mixed' });
    checkCommon(r);
    const dirs = await sessionDirs(`/zkload-test-mixed-${runs}`);
    const v = await versions(dirs.flatMap((d) => [0, 1, 2, 3, 4].map((j) => `${d}/n${j}`)));
    const sets = v.reduce((a, b) => a + b, 0);
    // any run of L consecutive replies of a session holds >= floor(L/10) sets
    assert.ok(sets >= (r.ops - 9 * 4) / 10, `sets ${sets} for ${r.ops} ops`);
    assert.ok(sets > 0);
  });

  it('multi: each multi advanced all five nodes of its session together', async () => {
    const r = await load({ workload: 'multi' });
    checkCommon(r);
    const dirs = await sessionDirs(`/zkload-test-multi-${runs}`);
    let multis = 0;
    for (const d of dirs) {
      const v = await versions([0, 1, 2, 3, 4].map((j) => `${d}/n${j}`));
      assert.ok(
        v.every((x) => x === v[0]),
        `${d}: versions ${v.join(',')}`,
      );
      multis += v[0]!;
    }
    assert.ok(multis >= r.ops, `multis ${multis} < ops ${r.ops}`);
  });

  it("watch: watchers see notifications for the writer's setData", async () => {
    const r = await load({ workload: 'watch', sessions: 6 });
    checkCommon(r);
    assert.ok(r.writes !== undefined && r.writes > 0, `writes ${r.writes}`);
    const root = `/zkload-test-watch-${runs}`;
    const workers = (await client.getChildren(root)).sort();
    assert.deepEqual(workers, ['w0', 'w1']);
    let written = 0;
    let bound = 0;
    for (const w of workers) {
      const sessions = await client.getChildren(`${root}/${w}`);
      assert.equal(sessions.length, 3); // 1 writer + 2 watchers per worker
      const v = await versions([0, 1, 2, 3, 4].map((j) => `${root}/${w}/s0/n${j}`));
      const sum = v.reduce((a, b) => a + b, 0);
      written += sum;
      bound += sum * (sessions.length - 1); // one notification per write per watcher at most
      for (const s of sessions.filter((x) => x !== 's0')) assert.deepEqual(await client.getChildren(`${root}/${w}/${s}`), []);
    }
    assert.ok(written >= r.writes!, `versions ${written} < writes ${r.writes}`);
    assert.ok(r.ops <= bound, `notifications ${r.ops} > ${bound}`);
  });

  it('errors are counted per code: creates of existing nodes fail with NODEEXISTS', async () => {
    const root = `/zkload-test-exists-${++runs}`;
    await client.create(root, null);
    await client.create(`${root}/w0`, null);
    await client.create(`${root}/w0/s0`, null);
    for (let k = 0; k < 10; k++) await client.create(`${root}/w0/s0/c${k}`, null);
    const r = await load({ workload: 'create', sessions: 1, workers: 1, depth: 4, root });
    // c0..c9 are the first creates (in warmup): exactly those fail, the rest succeed
    assert.equal(r.errors, 10);
    assert.deepEqual(r.errorCodes, { '-110': 10 });
    assert.ok(r.ops > 0);
    const names = await client.getChildren(`${root}/w0/s0`);
    assert.ok(names.length >= 10 + r.ops);
  });

  it('multi: a failing sub-op is counted with its own code (not RUNTIMEINCONSISTENCY)', async () => {
    const root = `/zkload-test-multierr-${++runs}`;
    let deleted: Promise<void> | undefined;
    const r = await load({
      workload: 'multi',
      sessions: 1,
      workers: 1,
      depth: 4,
      root,
      warmupMs: 100,
      durationMs: 700,
      onMeasureStart: () => {
        deleted = client.delete(`${root}/w0/s0/n3`);
      },
    });
    await deleted;
    assert.ok(r.errors > 0, 'no errors after n3 was deleted');
    assert.deepEqual(Object.keys(r.errorCodes), ['-101']);
    const v = await versions([0, 1, 2, 4].map((j) => `${root}/w0/s0/n${j}`));
    assert.ok(
      v.every((x) => x === v[0] && x > 0),
      `versions ${v.join(',')}`,
    );
  });

  it('an unreachable host rejects with a message naming it', async () => {
    const port = await freePort();
    await assert.rejects(
      runLoad({
        hosts: [`127.0.0.1:${port}`],
        workload: 'getData',
        sessions: 2,
        depth: 4,
        warmupMs: 0,
        durationMs: 100,
        timeoutMs: 15_000,
      }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(e.message, /connect failed: Connection refused/);
        return true;
      },
    );
  });

  it('bad options are refused before anything runs', async () => {
    await assert.rejects(runLoad({ hosts: [zk.connectString], workload: 'watch', sessions: 1, depth: 4 }), /watch needs sessions >= 2/);
    await assert.rejects(runLoad({ hosts: [], workload: 'create', sessions: 1, depth: 4 }), /hosts is empty/);
    await assert.rejects(
      runLoad({ hosts: [zk.connectString], workload: 'create', sessions: 0, depth: 4 }),
      /sessions must be an integer >= 1/,
    );
  });

  it('the binary refuses watch with one session (exit 1) and a lost stdin before go (exit 2)', async () => {
    const bin = await ensureLoadgen();
    const runBin = (args: string[], stdin: string | null): Promise<{ code: number | null; stderr: string; stdout: string }> =>
      new Promise((resolve) => {
        const c = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        let stdout = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stdin.on('error', () => {});
        if (stdin === null) c.stdin.end();
        c.once('close', (code) => resolve({ code, stderr, stdout }));
      });
    const one = await runBin(['--hosts', zk.connectString, '--workload', 'watch', '--sessions', '1', '--root', '/zkload-x'], null);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /watch needs --sessions >= 2/);
    const noGo = await runBin(
      ['--hosts', zk.connectString, '--workload', 'getData', '--sessions', '1', '--root', `/zkload-test-nogo-${++runs}`],
      null,
    );
    assert.equal(noGo.code, 2);
    assert.equal(noGo.stdout, '{"event":"ready"}\n');
    assert.match(noGo.stderr, /stdin closed before the go line/);
  });
});
