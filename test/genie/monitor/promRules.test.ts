// The shipped Prometheus rules: promtool accepts them, their unit tests pass, and they carry the
// same alert names as the monitor's own rules. Fails (never skips) when promtool is missing:
// it comes from Debian's `prometheus` package.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ALERT_NAMES } from '../../../src/genie/monitor/rules.js';

const run = promisify(execFile);
// Compiled tests run from .build-*/test/genie/monitor or dist/test/genie/monitor; the rules live in the source tree.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = join(root, 'deploy', 'prometheus');

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: dir, timeout: 60_000 });
    return stdout + stderr;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error('promtool not found: install Debian package `prometheus` (apt-get install prometheus)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

test('promtool check rules accepts clustergenie-rules.yml', async () => {
  const out = await promtool('check', 'rules', 'clustergenie-rules.yml');
  assert.match(out, new RegExp(`SUCCESS: ${ALERT_NAMES.length} rules found`));
});

test('promtool test rules passes clustergenie-rules.test.yml', async () => {
  const out = await promtool('test', 'rules', 'clustergenie-rules.test.yml');
  assert.match(out, /SUCCESS/);
});

test('the rules file and its tests cover exactly the monitor rules', async () => {
  const rules = await readFile(join(dir, 'clustergenie-rules.yml'), 'utf8');
  const tests = await readFile(join(dir, 'clustergenie-rules.test.yml'), 'utf8');
  const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(alerts, [...ALERT_NAMES].sort());
  for (const name of ALERT_NAMES) {
    const cases = [...tests.matchAll(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:(.*)`, 'g'))].map((m) => m[1]!.trim());
    assert.ok(cases.includes('[]'), `${name} has a not-firing case`);
    assert.ok(
      cases.some((c) => c === ''),
      `${name} has a firing case`,
    );
  }
});
