// capYoungGeneration keeps V8's new space from growing past the cap under a steady allocation
// rate (without it, the same load grows the space well beyond the cap).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { youngGenCapFromEnv, YOUNG_GEN_MB_DEFAULT } from '../../src/util/youngGen.js';

const moduleUrl = new URL('../../src/util/youngGen.js', import.meta.url).href;

/** New space size (MiB) after an allocation-heavy loop, in a fresh process, with `capMb` (or none). */
function newSpaceAfterChurn(capMb: number | null): number {
  const script = `
    import { capYoungGeneration } from ${JSON.stringify(moduleUrl)};
    import { getHeapSpaceStatistics } from 'node:v8';
    ${capMb === null ? '' : `capYoungGeneration(${capMb});`}
    const keep = [];
    let round = 0;
    const step = () => {
      // Short-lived objects with some survivors: what makes V8 grow the young generation.
      for (let i = 0; i < 200000; i++) { const o = { a: i, b: 'x' + i }; if (i % 50 === 0) keep.push(o); }
      if (keep.length > 400000) keep.length = 0;
      if (++round < 40) setTimeout(step, 1); // let the cap's GC observer run between bursts
      else console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);
    };
    step();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('the young generation stays within one doubling of the cap', () => {
  const uncapped = newSpaceAfterChurn(null);
  const capped = newSpaceAfterChurn(4);
  assert.ok(uncapped > 8, `without a cap the churn should grow new space past 8 MiB (got ${uncapped} MiB); the test load is too light`);
  assert.ok(capped <= 8, `capped at 4 MiB, new space is ${capped} MiB`);
});

test('CLUSTERGENIE_YOUNG_GEN_MB is read and checked', () => {
  assert.equal(youngGenCapFromEnv({}), YOUNG_GEN_MB_DEFAULT);
  assert.equal(youngGenCapFromEnv({ CLUSTERGENIE_YOUNG_GEN_MB: '0' }), 0);
  assert.equal(youngGenCapFromEnv({ CLUSTERGENIE_YOUNG_GEN_MB: '32' }), 32);
  assert.throws(() => youngGenCapFromEnv({ CLUSTERGENIE_YOUNG_GEN_MB: 'lots' }), /CLUSTERGENIE_YOUNG_GEN_MB/);
  assert.throws(() => youngGenCapFromEnv({ CLUSTERGENIE_YOUNG_GEN_MB: '-1' }), /CLUSTERGENIE_YOUNG_GEN_MB/);
});
