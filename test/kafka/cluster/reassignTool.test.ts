// Apache Kafka 3.9's kafka-reassign-partitions tool (ReassignPartitionsCommand, which works through
// the Admin API: Metadata, DescribeCluster, ListPartitionReassignments, AlterPartitionReassignments,
// IncrementalAlterConfigs to clear throttles) against three in-process brokers: --generate,
// --execute and --verify move a partition with data from [1,2] to [2,3]; with broker 1 stopped the
// records are read back from the new leader.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { decodeBatches } from '../../../src/kafka/protocol/records.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { kafkaJarsPresent, runKafkaTool } from '../../helpers/apacheKafka.js';
import { waitFor } from '../../helpers/wait.js';
import { buildBatch } from '../storage/batches.js';

const TOPIC = 'tool-move';
const RECORDS = 25;
const TOOL = 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand';

let cluster: KafkaTestingCluster;
let dir: string;
const clients: BrokerClient[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-reassign-tool-'));
  cluster = await KafkaTestingCluster.start({ brokers: 3, brokerProps: { 'replica.fetch.wait.max.ms': '100' } });
});

after(async () => {
  for (const c of clients) c.close();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

function broker(id: number): Broker {
  const b = cluster.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

async function client(id: number): Promise<BrokerClient> {
  const c = await BrokerClient.connect({
    host: '127.0.0.1',
    port: broker(id).port,
    clientId: 'reassign-tool-test',
    requestTimeoutMs: 20_000,
  });
  clients.push(c);
  return c;
}

async function tool(args: string[]): Promise<string> {
  const r = await runKafkaTool(TOOL, ['--bootstrap-server', cluster.bootstrap, ...args]);
  assert.equal(r.code, 0, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('kafka-reassign-partitions (3.9) moves a partition with data from [1,2] to [2,3]; it reads back without broker 1', async () => {
  assert.ok(kafkaJarsPresent('3.9'), 'Apache Kafka 3.9 jars are cached (scripts/fetch-kafka.sh)');
  const ctl = await waitFor(() => [1, 2, 3].find((id) => cluster.get(id).broker?.controller?.isActive), { what: 'a controller' });
  const admin = await client(ctl);
  const created = await admin.request(19, 5, {
    topics: [
      { name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [] },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(((created.topics as Msg[])[0] as Msg).errorCode, ErrorCode.NONE);
  await waitFor(() => broker(1).replicas.get(TOPIC, 0)?.isLeader, { what: 'broker 1 to lead' });
  const produced = await (await client(1)).request(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch({ count: RECORDS, valueBytes: 32 }) }] }],
  });
  assert.equal(((produced.responses as Msg[])[0]!.partitionResponses as Msg[])[0]!.errorCode, ErrorCode.NONE);

  // --generate proposes a plan over brokers 2 and 3 and prints the current one.
  const topicsFile = join(dir, 'topics.json');
  await writeFile(topicsFile, JSON.stringify({ version: 1, topics: [{ topic: TOPIC }] }));
  const generated = await tool(['--generate', '--topics-to-move-json-file', topicsFile, '--broker-list', '2,3']);
  const [current, proposed] = generated
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { partitions: { topic: string; partition: number; replicas: number[] }[] });
  assert.ok(current && proposed, generated);
  assert.deepEqual(current.partitions[0]!.replicas, [1, 2]);
  assert.deepEqual([...proposed.partitions[0]!.replicas].sort(), [2, 3]);

  const planFile = join(dir, 'plan.json');
  await writeFile(
    planFile,
    JSON.stringify({ version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas: [2, 3], log_dirs: ['any', 'any'] }] }),
  );
  const executed = await tool(['--execute', '--reassignment-json-file', planFile]);
  assert.match(executed, /Successfully started partition reassignment/);
  // --verify until the tool itself says the move is done.
  await waitFor(
    async () => /Reassignment of partition tool-move-0 is completed/.test(await tool(['--verify', '--reassignment-json-file', planFile])),
    { timeoutMs: 60_000, intervalMs: 200, what: 'the tool to report the reassignment completed' },
  );
  const state = await cluster.partitionState(TOPIC, 0);
  assert.deepEqual([...state.isr].sort(), [2, 3]);

  // The old replica's broker goes away; the new replicas serve every record.
  await cluster.stopBroker(1);
  const leader = await waitFor(
    async () => {
      const s = await cluster.partitionState(TOPIC, 0);
      return [2, 3].includes(s.leader) && broker(s.leader).replicas.get(TOPIC, 0)?.isLeader ? s.leader : undefined;
    },
    { what: 'a leader among the new replicas' },
  );
  const res = await (await client(leader)).request(1, 12, {
    clusterId: null,
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: [
          { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const part = ((res.responses as Msg[])[0]!.partitions as Msg[])[0]!;
  assert.equal(part.errorCode, ErrorCode.NONE);
  assert.equal(part.highWatermark, RECORDS);
  const count = decodeBatches(part.records as Buffer).reduce((n, b) => n + b.records.length, 0);
  assert.equal(count, RECORDS);
});
