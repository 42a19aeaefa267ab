// When an ensemble member turns read-only (quorum/readOnly.ts ReadOnlyClock) and how
// readonlymode.enabled is read. The behaviour on the wire, against Apache ZooKeeper 3.8, is in
// readOnly.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZooCfg } from '../../../src/zookeeper/config.js';
import { READ_ONLY_GRACE_MIN_MS, ReadOnlyClock, readOnlyGraceMs } from '../../../src/zookeeper/quorum/readOnly.js';

test('the grace period is max(2 s, tickTime), as QuorumPeer sleeps before starting its read-only server', () => {
  assert.equal(readOnlyGraceMs(200), READ_ONLY_GRACE_MIN_MS);
  assert.equal(readOnlyGraceMs(2000), 2000);
  assert.equal(readOnlyGraceMs(3000), 3000);
});

test('read-only after a whole grace period of LOOKING; any role change ends it; a new LOOKING starts a new period', () => {
  const c = new ReadOnlyClock(2000);
  assert.equal(c.tick(0), undefined, 'never LOOKING yet');
  assert.equal(c.onRole('looking', 1000), undefined);
  assert.equal(c.tick(2999), undefined);
  assert.equal(c.tick(3000), 'enter');
  assert.equal(c.tick(3500), undefined, 'entered once');
  assert.equal(c.active, true);
  // The election ends (a leader is found): the read-only period ends at once, before syncing.
  assert.equal(c.onRole('following', 4000), 'leave');
  assert.equal(c.active, false);
  assert.equal(c.tick(10_000), undefined, 'not while following');
  // A LOOKING that ends within its grace period never serves read-only.
  c.onRole('looking', 11_000);
  assert.equal(c.onRole('leading', 12_000), undefined);
  assert.equal(c.tick(20_000), undefined);
  c.onRole('looking', 21_000);
  assert.equal(c.tick(22_999), undefined);
  assert.equal(c.tick(23_000), 'enter');
});

test('readonlymode.enabled: the -D property (Boolean.getBoolean) and the zoo.cfg key turn it on; zookeeper.readonlymode.enabled does not', () => {
  const base = 'dataDir=/tmp/x\nclientPort=2181\n';
  assert.equal(parseZooCfg(base, '/').options.readOnlyModeEnabled, false);
  assert.equal(parseZooCfg(base, '/', { 'readonlymode.enabled': 'TRUE' }).options.readOnlyModeEnabled, true);
  assert.equal(parseZooCfg(base, '/', { 'readonlymode.enabled': 'yes' }).options.readOnlyModeEnabled, false);
  assert.equal(parseZooCfg(`${base}readonlymode.enabled=true\n`, '/').options.readOnlyModeEnabled, true);
  const prefixed = parseZooCfg(base, '/', { 'zookeeper.readonlymode.enabled': 'true' });
  assert.equal(prefixed.options.readOnlyModeEnabled, false);
  assert.match(prefixed.warnings.join('\n'), /zookeeper\.readonlymode\.enabled has no effect/);
});
