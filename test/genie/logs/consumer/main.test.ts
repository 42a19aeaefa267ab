// `clustergenie log-consumer`'s argument checking: bad input is a usage error (exit 2), never a crash.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../../../src/genie/logs/consumer/main.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = `import(${JSON.stringify(main)}).then((m) => m.runLogConsumer(process.argv.slice(1)))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bad options are usage errors', () => {
  for (const [args, why] of [
    [['--push-format', 'xml'], /--push-format must be one of protobuf, json, not xml/],
    [['--line-format', 'yaml'], /--line-format must be one of message, json/],
    [['--batch-entries-max', '0'], /--batch-entries-max must be an integer from 1/],
    [['--metrics-port', 'http'], /--metrics-port must be an integer/],
    [['--loki-url', 'ftp://x'], /must start with http:\/\/ or https:\/\//],
    [['--nope'], /Unknown option '--nope'/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
});

test('--help prints the usage', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: clustergenie log-consumer/);
  assert.match(r.stdout, /X-Scope-OrgID/);
});
