// `clustergenie monitor` end to end against a 3-member ZooKeeper ensemble of ours (with one
// broker on it, where the alerts go): stop one member → ZkQuorumAtRisk and ZkMemberDown; stop a
// second → ZkQuorumLost; bring both back → all resolved, each read back from `monitoring.alerts`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import type { KafkaEndpoint } from '../../../src/genie/kafka.js';
import { waitFor } from '../../helpers/wait.js';
import { AlertReader, MonitorProcess } from './harness.js';

let zkc: ZooKeeperTestingCluster;
let kc: KafkaTestingCluster;
let kafka: KafkaEndpoint;
let reader: AlertReader;
let monitor: MonitorProcess;

before(async () => {
  zkc = await ZooKeeperTestingCluster.start({ size: 3 });
  kc = await KafkaTestingCluster.start({ brokers: 1, zkConnect: zkc.connectString });
  kafka = { bootstrapBrokers: [kc.bootstrap], clientId: 'monitor-zk-e2e' };
  reader = new AlertReader(kafka);
  monitor = new MonitorProcess('zk-watch', [
    '--zookeeper',
    zkc.connectString,
    '--bootstrap-server',
    kc.bootstrap,
    '--interval-ms',
    '300',
    '--for-ms',
    '0',
    '--disk-free-percent-min',
    '0',
    '--disk-free-bytes-min',
    '0',
  ]);
  await monitor.start();
  await waitFor(() => monitor.isLeader(), { timeoutMs: 20_000, what: 'the monitor elected' });
});

after(async () => {
  await monitor?.stop();
  await kc?.close();
  await zkc?.close();
});

describe('clustergenie monitor against a three-member ensemble', { timeout: 110_000 }, () => {
  test('members stop: one → ZkQuorumAtRisk, two → ZkQuorumLost; they return: all resolve', async (t) => {
    t.after(() => {
      if (monitor.unplannedExits.length > 0) t.diagnostic(`monitor restarted after exits ${monitor.unplannedExits.join(', ')}`);
    });
    const text = await waitFor(
      async () => {
        const m = await monitor.metrics();
        return [...m.matchAll(/^clustergenie_zookeeper_member_up\{member="[^"]+"\} 1$/gm)].length === 3 ? m : null;
      },
      { timeoutMs: 20_000, what: 'three members up in /metrics' },
    );
    assert.equal([...text.matchAll(/^clustergenie_zookeeper_member_leader\{member="[^"]+"\} 1$/gm)].length, 1, 'one leader');
    assert.deepEqual(await monitor.firing(), []);

    const leader = zkc.leader();
    const [first, second] = zkc.members.filter((m) => m.id !== leader);
    const memberOf = (m: typeof first): string => `127.0.0.1:${m!.clientPort}`;
    await zkc.stopMember(first!.id);
    await reader.until(
      () => reader.got('alert.firing', 'ZkQuorumAtRisk') && reader.got('alert.firing', 'ZkMemberDown', ['member', memberOf(first)]),
      30_000,
      () => `ZkQuorumAtRisk firing: ${reader.summary()}`,
    );
    assert.equal(reader.got('alert.firing', 'ZkQuorumLost'), undefined, 'two of three still serve');
    const atRisk = reader.got('alert.firing', 'ZkQuorumAtRisk')!;
    assert.equal(atRisk.labels['severity'], 'warning');
    assert.match(atRisk.annotations.summary, /2 of 3 voting members serving/);

    await zkc.stopMember(second!.id);
    await reader.until(
      () => reader.got('alert.firing', 'ZkQuorumLost') && reader.got('alert.resolved', 'ZkQuorumAtRisk'),
      30_000,
      () => `ZkQuorumLost firing and ZkQuorumAtRisk giving way: ${reader.summary()}`,
    );
    const lost = reader.got('alert.firing', 'ZkQuorumLost')!;
    assert.equal(lost.labels['severity'], 'critical');
    assert.match(lost.annotations.summary, /of 3 voting members serving/);

    await zkc.startMember(first!.id);
    await zkc.startMember(second!.id);
    await reader.until(
      () =>
        reader.got('alert.resolved', 'ZkQuorumLost') &&
        reader.got('alert.resolved', 'ZkMemberDown', ['member', memberOf(first)]) &&
        reader.got('alert.resolved', 'ZkMemberDown', ['member', memberOf(second)]),
      50_000,
      () => `ZooKeeper alerts resolved: ${reader.summary()}`,
    );
  });
});
