// The logger loads pino only for the first line it writes, and writes what pino would: levels,
// bindings and child levels behave as pino's. Each case runs in a fresh process (the module
// cache is per process) and reads its stderr.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const moduleUrl = new URL('../../src/util/log.js', import.meta.url).href;

interface Run {
  lines: Record<string, unknown>[];
  stdout: string;
}

function run(body: string): Run {
  const script = `
    import { createRequire } from 'node:module';
    import { createLogger, silentLogger } from ${JSON.stringify(moduleUrl)};
    const pinoLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => /[\\/]pino[\\/]pino\\.js$/.test(f));
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CLUSTERGENIE_LOG_LEVEL: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, stdout: r.stdout };
}

test('log: nothing enabled is written and pino is not loaded until a line is', () => {
  const r = run(`
    const log = createLogger('zookeeper', 'warn');
    log.info({ a: 1 }, 'dropped');
    log.child({ myId: 1 }).debug('dropped too');
    silentLogger.fatal('never');
    console.log('before', pinoLoaded());
    log.warn({ a: 2 }, 'written');
    console.log('after', pinoLoaded());
  `);
  assert.equal(r.stdout, 'before false\nafter true\n');
  assert.equal(r.lines.length, 1);
  const l = r.lines[0]!;
  assert.equal(l['level'], 40);
  assert.equal(l['name'], 'zookeeper');
  assert.equal(l['a'], 2);
  assert.equal(l['msg'], 'written');
  assert.equal(typeof l['pid'], 'number');
  assert.equal(typeof l['time'], 'number');
});

test('log: children carry bindings and their own level, as pino children do', () => {
  const r = run(`
    const log = createLogger('zookeeper', 'info');
    const quiet = log.child({ myId: 3 });
    const loud = log.child({ myId: 4 });
    loud.level = 'debug';
    loud.debug({ k: 1 }, 'child debug');
    quiet.debug('dropped');
    log.debug('dropped');
    quiet.warn('plain %s', 'formatted');
    log.error({ err: new Error('boom') }, 'with error');
  `);
  assert.deepEqual(
    r.lines.map((l) => [l['level'], l['myId'], l['msg']]),
    [
      [20, 4, 'child debug'],
      [40, 3, 'plain formatted'],
      [50, undefined, 'with error'],
    ],
  );
  assert.equal((r.lines[2]!['err'] as { message: string }).message, 'boom');
});

test("log: an unknown level is refused at once, with pino's message", () => {
  const r = run(`
    try { createLogger('zookeeper', 'loud'); console.log('accepted'); } catch (e) { console.log(e.message); }
  `);
  assert.equal(r.stdout, 'unknown level loud\n');
});
