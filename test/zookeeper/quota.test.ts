// Quota pieces on their own: the enforceQuota setting (zoo.cfg key and -D property), the warning
// limiter, and that without enforceQuota hard limits are advisory (as in ZooKeeper, where
// zookeeper.enforceQuota defaults to false). Enforcement itself is compared with Apache ZooKeeper
// 3.8 in quotaEnforce.test.ts and test/interop/zkcliQuota.test.ts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseZooCfg } from '../../src/zookeeper/config.js';
import { QuotaWarnLimiter, quotaExceededMessage, type QuotaExceeded } from '../../src/zookeeper/server/quota.js';
import { ZooKeeperClient } from '../../src/zookeeper/client/client.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';

describe('enforceQuota setting', () => {
  it('is off by default, on with enforceQuota=true or -Dzookeeper.enforceQuota=true', () => {
    assert.equal(parseZooCfg('dataDir=/x\nclientPort=2181\n', '/').options.enforceQuota, false);
    const fromCfg = parseZooCfg('dataDir=/x\nclientPort=2181\nenforceQuota=TRUE\n', '/');
    assert.equal(fromCfg.options.enforceQuota, true);
    assert.deepEqual(fromCfg.warnings, []);
    assert.equal(parseZooCfg('dataDir=/x\nclientPort=2181\n', '/', { 'zookeeper.enforceQuota': 'true' }).options.enforceQuota, true);
    // A later system property wins over zoo.cfg, as in Java.
    assert.equal(
      parseZooCfg('dataDir=/x\nclientPort=2181\nenforceQuota=true\n', '/', { 'zookeeper.enforceQuota': 'false' }).options.enforceQuota,
      false,
    );
  });

  it('reads anything but "true" as false (Boolean.parseBoolean) and says so', () => {
    const r = parseZooCfg('dataDir=/x\nclientPort=2181\nenforceQuota=yes\n', '/');
    assert.equal(r.options.enforceQuota, false);
    assert.deepEqual(r.warnings, ['enforceQuota=yes is read as false: only "true" enables quota enforcement (line 3)']);
  });
});

describe('quota warnings', () => {
  const soft: QuotaExceeded = { prefix: '/q', what: 'count', value: 4, limit: 1, hard: false };
  const hard: QuotaExceeded = { prefix: '/q', what: 'bytes', value: 12, limit: 10, hard: true };

  it("read as ZooKeeper's", () => {
    assert.equal(quotaExceededMessage(soft), 'Quota exceeded: /q [current count=4, softCountLimit=1]');
    assert.equal(quotaExceededMessage(hard), 'Quota exceeded: /q [current bytes=12, hardByteLimit=10]');
  });

  it('are limited to one line per kind per interval, counting the ones held back', () => {
    const l = new QuotaWarnLimiter(1000, 2);
    assert.equal(l.admit(soft, 0), 0);
    assert.equal(l.admit(soft, 500), undefined);
    assert.equal(l.admit(soft, 999), undefined);
    assert.equal(l.admit(hard, 999), 0, 'another kind is not held back');
    assert.equal(l.admit(soft, 1000), 2);
    // Bounded: a third kind pushes out the oldest.
    assert.equal(l.admit({ ...soft, prefix: '/r' }, 1001), 0);
    assert.equal(l.admit(hard, 1002), 0, 'forgotten, so admitted at once');
  });
});

describe('without enforceQuota', () => {
  it('hard limits do not refuse writes (the stats still count)', async () => {
    const zk = await startOurZooKeeper();
    const c = new ZooKeeperClient({ connectString: zk.connectString });
    try {
      await c.connect({ timeoutMs: 20_000 });
      await c.create('/n');
      await c.create('/zookeeper/quota/n');
      await c.create('/zookeeper/quota/n/zookeeper_limits', 'count=-1,bytes=-1=;byteHardLimit=1;countHardLimit=1');
      await c.create('/zookeeper/quota/n/zookeeper_stats', 'count=0,bytes=0');
      await c.create('/n/a', 'abc');
      await c.setData('/n', 'defg');
      assert.equal((await c.getData('/zookeeper/quota/n/zookeeper_stats')).data?.toString(), 'count=2,bytes=7');
    } finally {
      await c.close();
      await zk.stop();
    }
  });
});
