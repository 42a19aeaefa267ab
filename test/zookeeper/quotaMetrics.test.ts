// The quota metrics of ZooKeeper 3.8 (quota_{count,bytes}_{limit,usage}_per_namespace gauges and
// the quota_exceeded_error_per_namespace counter) on /metrics, compared sample by sample with
// Apache ZooKeeper 3.8 running its own Prometheus provider after the same writes. The provider's
// jars come from scripts/fetch-zk-prometheus.sh; without them the test fails naming the script.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ZooKeeperClient } from '../../src/zookeeper/client/client.js';
import { isZooKeeperError } from '../../src/zookeeper/client/errors.js';
import { freePort } from '../../src/util/net.js';
import { startApacheZooKeeper } from '../helpers/apacheZk.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { waitFor } from '../helpers/wait.js';

const PROM_HOME = process.env['ZK_PROMETHEUS_HOME'] ?? join(homedir(), '.cache', 'clustergenie', 'zk-prometheus');

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  return r.text();
}

/** The quota_* samples as `series value`, labels without simpleclient's trailing comma, values as numbers. */
function quotaSamples(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('quota_')) continue;
    const i = line.lastIndexOf(' ');
    out.push(`${line.slice(0, i).replace(/,\}$/, '}')} ${Number(line.slice(i + 1))}`);
  }
  return out.sort();
}

/** The same writes on either server: two quota'd namespaces, three refused writes. */
async function writes(connectString: string): Promise<void> {
  const c = new ZooKeeperClient({ connectString });
  await c.connect({ timeoutMs: 30_000 });
  try {
    const quota = async (path: string, limits: string): Promise<void> => {
      let p = '/zookeeper/quota';
      for (const part of path.split('/').slice(1)) {
        p += `/${part}`;
        await c.create(p);
      }
      await c.create(`/zookeeper/quota${path}/zookeeper_limits`, limits);
      await c.create(`/zookeeper/quota${path}/zookeeper_stats`, 'count=0,bytes=0');
    };
    await c.create('/qa');
    await c.create('/qa/x', 'abc');
    await quota('/qa', 'count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=2');
    await c.create('/qb');
    await c.create('/qb/deep');
    await quota('/qb/deep', 'count=5,bytes=-1=;byteHardLimit=8;countHardLimit=-1');
    await c.create('/qb/deep/d', '12345');
    for (const [path, data] of [
      ['/qa/y', ''],
      ['/qa/z', ''],
      ['/qb/deep/e', '1234'],
    ] as const) {
      await assert.rejects(c.create(path, data), (e) => isZooKeeperError(e, -125), path);
    }
  } finally {
    await c.close();
  }
}

test('quota gauges and the quota-exceeded counter on /metrics, as Apache ZooKeeper 3.8 exports them', { timeout: 90_000 }, async (t) => {
  const jars = existsSync(PROM_HOME) ? readdirSync(PROM_HOME).filter((f) => f.endsWith('.jar')) : [];
  assert.ok(jars.length > 0, `Apache's Prometheus provider jars are not in ${PROM_HOME}: run scripts/fetch-zk-prometheus.sh`);
  const saved = process.env['APACHE_ZK_CLASSPATH'];
  process.env['APACHE_ZK_CLASSPATH'] = [
    '/usr/share/java/zookeeper.jar',
    '/usr/share/java/slf4j-simple.jar',
    '/usr/share/java/servlet-api.jar',
    ...jars.map((j) => join(PROM_HOME, j)),
  ]
    .filter((p) => existsSync(p))
    .join(':');
  t.after(() => {
    if (saved === undefined) delete process.env['APACHE_ZK_CLASSPATH'];
    else process.env['APACHE_ZK_CLASSPATH'] = saved;
  });
  const provider = {
    enforceQuota: 'true',
    'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    'metricsProvider.httpHost': '127.0.0.1',
    'metricsProvider.exportJvmInfo': 'false',
  };
  const apachePort = await freePort();
  const apache = await startApacheZooKeeper({ extraConfig: { ...provider, 'metricsProvider.httpPort': String(apachePort) } });
  t.after(() => apache.stop());
  const ours = await startOurZooKeeper({ extraConfig: { ...provider, 'metricsProvider.httpPort': '0' } });
  t.after(() => ours.stop());
  const ourPort = ours.shell.metricsPort!;

  await Promise.all([writes(apache.connectString), writes(ours.connectString)]);
  const theirs = quotaSamples(await waitFor(() => scrape(apachePort).catch(() => undefined), { what: "Apache's /metrics" }));
  const ourSamples = quotaSamples(await scrape(ourPort));
  assert.deepEqual(theirs, [
    'quota_bytes_limit_per_namespace{key="qa"} 100',
    'quota_bytes_limit_per_namespace{key="qb"} 8',
    'quota_bytes_usage_per_namespace{key="qa"} 3',
    'quota_bytes_usage_per_namespace{key="qb"} 5',
    'quota_count_limit_per_namespace{key="qa"} 2',
    'quota_count_limit_per_namespace{key="qb"} 5',
    'quota_count_usage_per_namespace{key="qa"} 2',
    'quota_count_usage_per_namespace{key="qb"} 2',
    'quota_exceeded_error_per_namespace{key="qa"} 2',
    'quota_exceeded_error_per_namespace{key="qb"} 1',
  ]);
  assert.deepEqual(ourSamples, theirs);
});
