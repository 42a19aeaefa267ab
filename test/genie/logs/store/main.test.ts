// `clustergenie log-store` as a process: flags, a push and a query, SIGTERM ends it cleanly;
// bad flags are exit code 2 with the usage.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodePush } from '../../../../src/genie/logs/lokiPush.js';
import { killOnExit, waitExit } from '../../../helpers/children.js';
import { Inbox } from '../../../helpers/wait.js';

const mainModule = fileURLToPath(new URL('../../../../src/genie/logs/store/main.js', import.meta.url));

function start(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import(${JSON.stringify(mainModule)}).then((m) => m.runLogStore(${JSON.stringify(args)}))`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  killOnExit(child);
  const out = new Inbox<string>();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += String(d);
    out.push(stdout);
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += String(d);
  });
  return { child, out, stderr: () => stderr, stdout: () => stdout };
}

test('log-store serves on the flags it is given and stops on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'logstore-cli-'));
  try {
    const p = start(['--port', '0', '--data-dir', dir, '--retention-hours', '1', '--retention-bytes', '1000000']);
    let url = '';
    while (!url) {
      const text = await p.out.next(20_000, 'the listening line');
      url = /listening on (http:\/\/\S+)/.exec(text)?.[1] ?? '';
    }
    const t = BigInt(Date.now()) * 1_000_000n;
    const { body, contentType } = encodePush([{ labels: { app: 'cli' }, entries: [{ tsNs: t, line: 'from the cli test' }] }]);
    const res = await fetch(`${url}/loki/api/v1/push`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': contentType },
    });
    assert.equal(res.status, 204);
    const q = await fetch(`${url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="cli"}' })}`);
    const data = (await q.json()) as { data: { result: { values: [string, string][] }[] } };
    assert.deepEqual(
      data.data.result.flatMap((s) => s.values.map((v) => v[1])),
      ['from the cli test'],
    );
    assert.ok(existsSync(join(dir, 'logs.db')), 'the database is in --data-dir');
    p.child.kill('SIGTERM');
    assert.ok(await waitExit(p.child, 20_000), 'exits after SIGTERM');
    assert.equal(p.child.exitCode, 0, p.stderr());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('log-store refuses bad flags with exit code 2', async () => {
  for (const args of [['--port', 'abc'], ['--retention-hours', '-1'], ['--nope']]) {
    const p = start(args);
    assert.ok(await waitExit(p.child, 20_000), `${args.join(' ')} exits`);
    assert.equal(p.child.exitCode, 2, args.join(' '));
    assert.match(p.stderr(), /--|usage|Unknown option/);
  }
});
