// Runs kazoo's own test suite (Debian python3-kazoo 2.8.0) against clustergenie through kazoo's
// harness and asserts that every test that passes against Apache ZooKeeper 3.8 standalone
// (test/interop/kazoo/baseline-apache-3.8.txt) also passes here, apart from the documented
// exceptions in test/interop/kazoo/exceptions.txt. See docs/KAZOO.md.
//
// KAZOO_TARGET=apache runs the same check against the real server (to validate this wrapper).
// KAZOO_RESULTS_DIR=<dir> keeps results.txt, junit.xml, run.log and server.log there
// (default: a fresh temp dir, printed as a diagnostic).
// Missing python3/pytest/pytest-timeout/kazoo is a failure, not a skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lines, parseResults, repoRoot, tail } from './helpers/kazooResults.js';

const PYTHON = process.env.KAZOO_PYTHON ?? '/usr/bin/python3';
const OVERALL_TIMEOUT_S = 3600;


test('kazoo 2.8.0 test suite: everything that passes against Apache ZooKeeper 3.8 passes', { timeout: (OVERALL_TIMEOUT_S + 300) * 1000 }, async (t) => {
  const target = process.env.KAZOO_TARGET ?? 'clustergenie';
  assert.ok(target === 'clustergenie' || target === 'apache', `KAZOO_TARGET must be clustergenie or apache, got ${target}`);
  const root = repoRoot();
  const dir = join(root, 'test', 'interop', 'kazoo');

  // Prerequisites: fail (not skip) when they are missing.
  const probe = spawnSync(PYTHON, ['-c', 'import pytest, pytest_timeout, kazoo.testing, kazoo.version as v; print(v.__version__)'], {
    encoding: 'utf8',
  });
  assert.equal(
    probe.status,
    0,
    `${PYTHON} cannot import pytest, pytest_timeout and kazoo (install python3-pytest python3-pytest-timeout python3-kazoo): ` +
      `${probe.error?.message ?? probe.stderr}`,
  );
  t.diagnostic(`kazoo ${probe.stdout.trim()} via ${PYTHON}, target ${target}`);

  const baseline = lines(join(dir, 'baseline-apache-3.8.txt'));
  assert.ok(baseline.length > 100, `baseline-apache-3.8.txt has only ${baseline.length} test ids`);
  const exceptions = new Map<string, string>();
  for (const line of lines(join(dir, 'exceptions.txt'))) {
    const tab = line.indexOf('\t');
    const id = (tab < 0 ? line : line.slice(0, tab)).trim();
    const reason = tab < 0 ? '' : line.slice(tab + 1).trim();
    assert.ok(reason !== '', `exceptions.txt: "${id}" needs a reason (<test id><TAB><reason>)`);
    assert.ok(baseline.includes(id), `exceptions.txt: "${id}" is not in the baseline`);
    exceptions.set(id, reason);
  }

  let out: string;
  if (process.env.KAZOO_RESULTS_DIR) {
    out = resolve(process.env.KAZOO_RESULTS_DIR);
    mkdirSync(out, { recursive: true });
  } else {
    out = mkdtempSync(join(tmpdir(), 'kazoo-interop-'));
  }
  const resultsFile = join(out, `results-${target}.txt`);
  const runLog = join(out, `run-${target}.log`);
  const serverLog = join(out, `server-${target}.log`);
  t.diagnostic(`results: ${resultsFile}; pytest output: ${runLog}; server output: ${serverLog}`);

  const run = async (extra: string[], suffix: string): Promise<number | null> => {
    const fd = openSync(join(out, `run-${target}${suffix}.log`), 'w');
    try {
      return await new Promise<number | null>((resolveRun, reject) => {
        const child = spawn(
          join(dir, 'run-kazoo.sh'),
          [
            '--target', target,
            '--output', join(out, `results-${target}${suffix}.txt`),
            '--junit', join(out, `junit-${target}${suffix}.xml`),
            '--server-log', join(out, `server-${target}${suffix}.log`),
            '--overall-timeout', String(OVERALL_TIMEOUT_S),
            ...(extra.length ? ['--', ...extra] : []),
          ],
          // t.signal aborts on the node:test timeout: run-kazoo.py turns SIGTERM into a clean-up.
          { cwd: root, stdio: ['ignore', fd, fd], env: { ...process.env, KAZOO_PYTHON: PYTHON }, signal: t.signal, killSignal: 'SIGTERM' },
        );
        child.on('error', reject);
        child.on('exit', (code, signal) => resolveRun(code ?? (signal ? 128 : null)));
      });
    } finally {
      closeSync(fd);
    }
  };
  const status = await run([], '');

  assert.notEqual(status, 3, `run-kazoo.sh: prerequisites missing\n${tail(runLog, 20)}`);
  assert.notEqual(status, 5, `run-kazoo.sh: the ${target} server failed its preflight (start, ruok, SIGTERM)\n` +
    `${tail(runLog, 10)}\n--- server output (${serverLog}) ---\n${tail(serverLog, 30)}`);
  assert.notEqual(status, 2, `run-kazoo.sh: usage error or ports busy\n${tail(runLog, 20)}`);

  const { results, finished, stopped } = parseResults(resultsFile);
  let missing = baseline.filter((id) => results.get(id)?.outcome !== 'passed' && !exceptions.has(id));

  // Some kazoo tests are timing-sensitive (e.g. test_request_queuing_* give a restarted server
  // 5 s; Apache itself misses that now and then late in a run). Re-run a handful of failures
  // once, in a fresh harness, and report them as flaky instead of failed. KAZOO_RERUN=0 disables.
  const rerunLimit = process.env.KAZOO_RERUN === '0' ? 0 : 15;
  if (missing.length > 0 && missing.length <= rerunLimit && finished && !stopped) {
    const rerunStatus = await run(missing, '-rerun');
    const rerun = parseResults(join(out, `results-${target}-rerun.txt`)).results;
    const flaky = missing.filter((id) => rerun.get(id)?.outcome === 'passed');
    for (const id of flaky) {
      const first = results.get(id);
      t.diagnostic(`FLAKY (failed, passed on re-run): ${id} -- first run: ${first?.outcome ?? 'not run'} ${first?.reason ?? ''}`);
    }
    t.diagnostic(`re-ran ${missing.length} failed baseline tests (exit ${rerunStatus}): ${flaky.length} passed`);
    missing = missing.filter((id) => !flaky.includes(id));
  }
  const problems = missing.map((id) => {
    const r = results.get(id);
    return `${r?.outcome ?? 'not run'}  ${id}${r?.reason ? '  -- ' + r.reason : ''}`;
  });
  const counts = new Map<string, number>();
  for (const r of results.values()) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const summary = [...counts].map(([k, v]) => `${k}=${v}`).join(' ');
  t.diagnostic(`run-kazoo.sh exit ${status}; ${summary}; baseline ${baseline.length}, exceptions ${exceptions.size}, missing ${problems.length}`);
  for (const id of exceptions.keys()) {
    if (results.get(id)?.outcome === 'passed') t.diagnostic(`exception no longer needed (passes now): ${id}`);
  }

  const notes = [
    stopped ? `run stopped early: ${stopped}` : '',
    finished ? '' : `pytest session did not finish (exit ${status}); see ${runLog}`,
  ].filter((s) => s !== '');
  assert.deepEqual(
    problems,
    [],
    `${problems.length} of ${baseline.length} baseline kazoo tests did not pass against ${target}` +
      (notes.length ? ` (${notes.join('; ')})` : '') +
      `:\n${problems.slice(0, 60).join('\n')}${problems.length > 60 ? `\n... and ${problems.length - 60} more (see ${resultsFile})` : ''}`,
  );
  assert.ok(finished, `pytest session did not finish (exit ${status}); see ${runLog}`);
});
