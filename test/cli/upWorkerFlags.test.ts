// up's worker flags: --workers alone is a fixed count (the CLI contract), --workers-min/--workers-max
// turn process scaling on; bad combinations are usage errors (exit 2) naming the flag.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerFlags, workerSlots } from '../../src/cli/upWorkerScaler.js';
import { runCli } from '../helpers/cli.js';

test('--workers alone keeps meaning a fixed count (default 2)', () => {
  assert.deepEqual(parseWorkerFlags({}), { initial: 2 });
  assert.deepEqual(parseWorkerFlags({ workers: '0' }), { initial: 0 });
  assert.deepEqual(parseWorkerFlags({ workers: '5' }), { initial: 5 });
  assert.equal(workerSlots(parseWorkerFlags({ workers: '5' })), 5);
});

test('--workers-max turns scaling on: start at min (or --workers), slots up to max, tuning flags', () => {
  assert.deepEqual(parseWorkerFlags({ 'workers-max': '4' }), { initial: 1, scale: { min: 1, max: 4, policy: {} } });
  const w = parseWorkerFlags({
    workers: '3',
    'workers-min': '2',
    'workers-max': '6',
    'workers-backlog': '50',
    'workers-idle-ms': '1000',
    'workers-cooldown-ms': '0',
  });
  assert.deepEqual(w, { initial: 3, scale: { min: 2, max: 6, policy: { backlogPerProcessHigh: 50, idleShrinkMs: 1000, cooldownMs: 0 } } });
  assert.equal(workerSlots(w), 6);
});

test('bad combinations name the flag', () => {
  assert.throws(() => parseWorkerFlags({ 'workers-min': '2' }), /--workers-min needs --workers-max/);
  assert.throws(() => parseWorkerFlags({ 'workers-idle-ms': '10' }), /--workers-idle-ms needs --workers-max/);
  assert.throws(() => parseWorkerFlags({ 'workers-min': '3', 'workers-max': '2' }), /--workers-max 2 is below --workers-min 3/);
  assert.throws(() => parseWorkerFlags({ workers: '5', 'workers-max': '3' }), /--workers 5 .* within --workers-min 1 and --workers-max 3/);
  assert.throws(() => parseWorkerFlags({ 'workers-max': '0' }), /--workers-max must be an integer from 1 to 64, got "0"/);
  assert.throws(() => parseWorkerFlags({ 'workers-max': '2', 'workers-backlog': 'x' }), /--workers-backlog must be an integer/);
});

test('clustergenie up with bad worker flags exits 2 before starting anything', async () => {
  const r = await runCli(['up', '--workers-min', '2', '--data-dir', '/nonexistent/never-created']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--workers-min needs --workers-max/);
  const help = await runCli(['up', '--help']);
  assert.match(help.stdout, /--workers-min <n>, --workers-max <n>/);
});
