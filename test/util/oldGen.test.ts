// limitOldGenerationGrowth keeps V8's old generation near its live size when medium-lived
// garbage is promoted into it (without it, the same churn lets the heap grow to several times
// the live size before a full collection).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { heapGrowthFromEnv, HEAP_GROWTH_PERCENT_DEFAULT } from '../../src/util/oldGen.js';

const moduleUrl = new URL('../../src/util/oldGen.js', import.meta.url).href;

/** Peak heap size (MiB) under a churn of promoted garbage over a ~60 MB live set, in a fresh process. */
function peakHeapUnderChurn(percent: number | null): number {
  const script = `
    import { limitOldGenerationGrowth } from ${JSON.stringify(moduleUrl)};
    import { getHeapStatistics } from 'node:v8';
    ${percent === null ? '' : `limitOldGenerationGrowth(${percent});`}
    const live = [];
    for (let i = 0; i < 400000; i++) live.push({ a: i, b: 'x' + i, c: [i] });
    const ring = new Array(64).fill(null);
    let peak = 0;
    let round = 0;
    const step = () => {
      // Batches that live for 64 rounds: they survive the young generation, then die in the old one.
      const batch = [];
      for (let i = 0; i < 20000; i++) batch.push({ v: i, s: 'y' + i });
      ring[round % 64] = batch;
      peak = Math.max(peak, getHeapStatistics().total_heap_size);
      if (++round < 600) setImmediate(step);
      else console.log(peak / 1048576, live.length);
    };
    step();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim().split(' ')[0]);
}

test('a limited growth keeps the heap well below what V8 lets it grow to', () => {
  const unlimited = peakHeapUnderChurn(null);
  const limited = peakHeapUnderChurn(20);
  assert.ok(
    limited < unlimited * 0.75,
    `growth limited to 20%: peak heap ${limited.toFixed(0)} MiB, V8's own: ${unlimited.toFixed(0)} MiB`,
  );
});

test('CLUSTERGENIE_HEAP_GROWTH_PERCENT is read and checked', () => {
  assert.equal(heapGrowthFromEnv({}), HEAP_GROWTH_PERCENT_DEFAULT);
  assert.equal(heapGrowthFromEnv({ CLUSTERGENIE_HEAP_GROWTH_PERCENT: '0' }), 0);
  assert.equal(heapGrowthFromEnv({ CLUSTERGENIE_HEAP_GROWTH_PERCENT: '50' }), 50);
  for (const bad of ['lots', '-1', '1.5', '5000']) {
    assert.throws(() => heapGrowthFromEnv({ CLUSTERGENIE_HEAP_GROWTH_PERCENT: bad }), /CLUSTERGENIE_HEAP_GROWTH_PERCENT/);
  }
});
