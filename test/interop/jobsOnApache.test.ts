// The jobs services pointed at Apache Kafka 3.9 (ZooKeeper mode, Maven Central) on Apache ZooKeeper
// 3.8 (Debian) instead of ours: the user's path once they outgrow the embedded cluster. The same
// core scenarios as on our cluster (test/helpers/jobScenarios.ts), with the services as processes
// of this build's CLI, knowing Kafka and ZooKeeper only by address.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { type KafkaHandle, kafkaHome, kafkaJarsPresent, startApacheKafka } from '../helpers/apacheKafka.js';
import { type ServerHandle, startApacheZooKeeper } from '../helpers/apacheZk.js';
import { coreJobScenarios } from '../helpers/jobScenarios.js';
import { JobsSystem } from '../helpers/jobsSystem.js';

let zk: ServerHandle | undefined;
let kafka: KafkaHandle | undefined;
let sys: JobsSystem;

before(
  async () => {
    assert.ok(kafkaJarsPresent('3.9'), `no Kafka 3.9 jars in ${kafkaHome('3.9')}/lib: run scripts/fetch-kafka.sh`);
    zk = await startApacheZooKeeper();
    kafka = await startApacheKafka({
      zkConnect: `${zk.connectString}/kafka`,
      brokerId: 0,
      extraProps: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.replication.factor': '1' },
    });
    // The services' own znodes (/clustergenie/...) sit beside Kafka's chroot on the same ensemble.
    sys = await JobsSystem.start({
      workers: 3,
      workerArgs: ['--concurrency', '32', '--concurrency-max', '64'],
      external: { bootstrap: kafka.bootstrap, zkConnect: zk.connectString, replicationFactor: 1 },
    });
  },
  { timeout: 240_000 },
);

after(async () => {
  await sys?.close();
  await kafka?.stop();
  await zk?.stop();
});

coreJobScenarios(() => sys, { mixedJobs: 3000 });
