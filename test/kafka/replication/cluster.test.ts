// Replication between three in-process brokers. Leadership is driven by calling each broker's
// applyLeaderAndIsr directly (as the controller's LeaderAndIsr would), and ISR changes go to a fake
// controller through the injected AlterPartition sender; fetches, OffsetForLeaderEpoch and produces
// travel over the brokers' real listeners.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import type { Broker } from '../../../src/kafka/broker/broker.js';
import type { HostedPartition, LeaderState } from '../../../src/kafka/broker/replicaManager.js';
import { BrokerClient } from '../../../src/kafka/net/brokerClient.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { crc32c } from '../../../src/kafka/protocol/records.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { randomKafkaUuid } from '../../../src/kafka/zk/layout.js';
import { buildBatch } from '../storage/batches.js';
import { waitFor } from '../../helpers/wait.js';

const LAG_MS = 400;

let cluster: KafkaTestingCluster;
const clients: BrokerClient[] = [];

before(async () => {
  cluster = await KafkaTestingCluster.start({
    brokers: 3,
    brokerProps: {
      'replica.lag.time.max.ms': String(LAG_MS),
      'replica.fetch.wait.max.ms': '100',
      'replica.fetch.backoff.ms': '50',
    },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await cluster?.close();
});

function broker(id: number): Broker {
  const b = cluster.get(id).broker;
  assert.ok(b, `broker ${id} runs`);
  return b;
}

function hosted(id: number, topic: string): HostedPartition {
  const p = broker(id).replicas.get(topic, 0);
  assert.ok(p, `broker ${id} hosts ${topic}-0`);
  return p;
}

/**
 * The controller's side of AlterPartition for one partition: validates epochs, bumps the partition
 * epoch. Other partitions in the same request (left over from earlier tests) are unknown to it.
 */
class FakeController {
  readonly seen: Msg[] = [];
  constructor(
    readonly topicId: string,
    public state: { leaderEpoch: number; isr: number[]; partitionEpoch: number },
  ) {}

  readonly send = async (body: Msg): Promise<Msg> => {
    const topics = (body.topics as Msg[]).map((t) => {
      const partitions = (t.partitions as Msg[]).map((rp) => {
        if (t.topicId !== this.topicId) {
          return {
            partitionIndex: rp.partitionIndex,
            errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
            leaderId: -1,
            leaderEpoch: -1,
            isr: [],
            partitionEpoch: -1,
          };
        }
        this.seen.push({ topicId: t.topicId, ...rp });
        const ok = rp.leaderEpoch === this.state.leaderEpoch && rp.partitionEpoch === this.state.partitionEpoch;
        if (ok) {
          this.state = {
            leaderEpoch: this.state.leaderEpoch,
            isr: (rp.newIsrWithEpochs as Msg[]).map((m) => m.brokerId as number),
            partitionEpoch: this.state.partitionEpoch + 1,
          };
        }
        return {
          partitionIndex: rp.partitionIndex,
          errorCode: ok ? 0 : ErrorCode.INVALID_UPDATE_VERSION,
          leaderId: body.brokerId,
          leaderEpoch: this.state.leaderEpoch,
          isr: this.state.isr,
          leaderRecoveryState: 0,
          partitionEpoch: this.state.partitionEpoch,
        };
      });
      return { topicId: t.topicId, partitions };
    });
    return { throttleTimeMs: 0, errorCode: 0, topics };
  };
}

/** Applies one partition state on the given brokers, as their LeaderAndIsr handlers would. */
function applyState(topic: string, topicId: string, ids: number[], state: LeaderState): void {
  for (const id of ids) {
    const b = broker(id);
    b.replicas.applyLeaderAndIsr(topic, topicId, 0, state, b.logConfigFor(topic));
  }
}

async function clientFor(id: number): Promise<BrokerClient> {
  const c = await BrokerClient.connect({ host: '127.0.0.1', port: broker(id).port, clientId: 'repl-test', requestTimeoutMs: 20_000 });
  clients.push(c);
  return c;
}

async function produce(c: BrokerClient, topic: string, acks: number, count: number, timeoutMs = 15_000): Promise<Msg> {
  const resp = await c.request(0, 9, {
    transactionalId: null,
    acks,
    timeoutMs,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ count, valueBytes: 20 }) }] }],
  });
  const t = (resp.responses as Msg[])[0] as Msg;
  return (t.partitionResponses as Msg[])[0] as Msg;
}

async function deleteRecords(c: BrokerClient, topic: string, offset: number, timeoutMs: number): Promise<Msg[]> {
  const resp = await c.request(21, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs });
  return ((resp.topics as Msg[])[0] as Msg).partitions as Msg[];
}

/** Every byte of a replica's log, start to end. */
function logBytes(p: HostedPartition): Buffer {
  return Buffer.concat(p.log.read(p.log.logStartOffset, 64 * 1024 * 1024, p.log.logEndOffset, true).records);
}

test('acks=all records reach both followers byte for byte, and the HW waits for the followers', async () => {
  const topic = 'rep-bytes';
  const topicId = randomKafkaUuid();
  const state: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2, 3], replicas: [1, 2, 3], zkVersion: 0, controllerEpoch: 1 };
  const ctl = new FakeController(topicId, { leaderEpoch: 1, isr: [1, 2, 3], partitionEpoch: 0 });
  for (const id of [1, 2, 3]) broker(id).replicas.setAlterPartitionSender(ctl.send);
  // Only the leader knows the partition yet: no follower fetches.
  applyState(topic, topicId, [1], state);
  const c = await clientFor(1);
  const first = await produce(c, topic, 1, 5);
  assert.equal(first.errorCode, ErrorCode.NONE);
  const leader = hosted(1, topic);
  assert.equal(leader.log.logEndOffset, 5);
  assert.equal(leader.log.highWatermark, 0, 'the ISR followers have not fetched: the HW stays');

  // An acks=all produce parks until both followers hold its records.
  const parked = produce(c, topic, -1, 3);
  applyState(topic, topicId, [2, 3], state);
  const acked = await parked;
  assert.equal(acked.errorCode, ErrorCode.NONE);
  assert.equal(acked.baseOffset, 5);
  for (const id of [2, 3]) {
    assert.ok(hosted(id, topic).log.logEndOffset >= 8, `follower ${id} had offset 7 before the ack`);
  }
  assert.equal(leader.log.highWatermark, 8);
  await waitFor(() => [2, 3].every((id) => hosted(id, topic).log.logEndOffset === 8), { what: 'followers at the log end' });
  for (const id of [2, 3]) assert.ok(logBytes(hosted(id, topic)).equals(logBytes(leader)), `follower ${id} log equals the leader's`);
  // Followers take the leader's HW (capped by their own log end) and its epochs.
  await waitFor(() => [2, 3].every((id) => hosted(id, topic).log.highWatermark === 8), { what: 'follower HW' });
  assert.deepEqual(hosted(2, topic).log.epochs.all, leader.log.epochs.all);
  assert.equal(ctl.seen.length, 0, 'no ISR change was needed');
});

test('a follower cut off falls out of the ISR through AlterPartition, and rejoins once caught up', async () => {
  const topic = 'rep-isr';
  const topicId = randomKafkaUuid();
  const state: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2, 3], replicas: [1, 2, 3], zkVersion: 4, controllerEpoch: 1 };
  const ctl = new FakeController(topicId, { leaderEpoch: 1, isr: [1, 2, 3], partitionEpoch: 4 });
  for (const id of [1, 2, 3]) broker(id).replicas.setAlterPartitionSender(ctl.send);
  applyState(topic, topicId, [1, 2, 3], state);
  const c = await clientFor(1);
  assert.equal((await produce(c, topic, -1, 2)).errorCode, ErrorCode.NONE);

  // Cut broker 3 off: it stops fetching, the leader keeps taking writes.
  broker(3).replicas.fetchers?.removePartition(topic, 0);
  assert.equal((await produce(c, topic, 1, 2)).errorCode, ErrorCode.NONE);
  const leader = hosted(1, topic);
  await waitFor(() => ctl.state.isr.length === 2, { timeoutMs: 20_000, what: 'the shrink to reach the controller' });
  assert.deepEqual(ctl.state.isr, [1, 2]);
  const sent = ctl.seen[0] as Msg;
  assert.equal(sent.partitionEpoch, 4, 'proposed against the partition epoch it knew');
  assert.equal(sent.leaderEpoch, 1);
  await waitFor(() => leader.leaderCore?.isr.length === 2, { what: 'the leader to adopt the shrunk ISR' });
  assert.equal(leader.state.zkVersion, 5);
  // With broker 3 out, acks=all needs only brokers 1 and 2.
  const r = await produce(c, topic, -1, 1);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(leader.log.highWatermark, leader.log.logEndOffset);

  // Broker 3 fetches again (a new LeaderAndIsr naming it); it catches up and is proposed back.
  applyState(topic, topicId, [3], { ...state, isr: [1, 2], zkVersion: 5 });
  await waitFor(() => ctl.state.isr.length === 3, { timeoutMs: 20_000, what: 'the expansion to reach the controller' });
  assert.deepEqual(ctl.state.isr, [1, 2, 3]);
  await waitFor(() => leader.leaderCore?.isr.length === 3, { what: 'the leader to adopt the expanded ISR' });
  assert.ok(logBytes(hosted(3, topic)).equals(logBytes(leader)));
});

test('acks=all is refused before the append when the ISR is below min.insync.replicas', async () => {
  const topic = 'rep-minisr';
  const topicId = randomKafkaUuid();
  const b1 = broker(1);
  b1.topicConfigs.set(topic, { 'min.insync.replicas': '2' });
  const ctl = new FakeController(topicId, { leaderEpoch: 1, isr: [1], partitionEpoch: 0 });
  b1.replicas.setAlterPartitionSender(ctl.send);
  applyState(topic, topicId, [1], { leader: 1, leaderEpoch: 1, isr: [1], replicas: [1, 2, 3], zkVersion: 0, controllerEpoch: 1 });
  const c = await clientFor(1);
  const r = await produce(c, topic, -1, 1);
  assert.equal(r.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(hosted(1, topic).log.logEndOffset, 0, 'nothing was written');
  // acks=1 is written, but the HW does not move while the ISR is under min.insync.replicas.
  assert.equal((await produce(c, topic, 1, 1)).errorCode, ErrorCode.NONE);
  assert.equal(hosted(1, topic).log.highWatermark, 0);
});

test('a parked acks=all produce fails with NOT_LEADER_OR_FOLLOWER when leadership moves away', async () => {
  const topic = 'rep-moved';
  const topicId = randomKafkaUuid();
  const state: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2], replicas: [1, 2], zkVersion: 0, controllerEpoch: 1 };
  applyState(topic, topicId, [1], state);
  const c = await clientFor(1);
  const parked = produce(c, topic, -1, 1);
  await waitFor(() => broker(1).replicas.producePurgatory.size > 0, { what: 'the produce to park' });
  applyState(topic, topicId, [1], { ...state, leader: 2, leaderEpoch: 2 });
  assert.equal((await parked).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('a follower with divergent records from an older epoch truncates them by leader epoch', async () => {
  const topic = 'rep-diverge';
  const topicId = randomKafkaUuid();
  const epoch1: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2, 3], replicas: [1, 2, 3], zkVersion: 0, controllerEpoch: 1 };
  const ctl = new FakeController(topicId, { leaderEpoch: 1, isr: [1, 2, 3], partitionEpoch: 0 });
  for (const id of [1, 2, 3]) broker(id).replicas.setAlterPartitionSender(ctl.send);
  applyState(topic, topicId, [1, 2, 3], epoch1);
  const c1 = await clientFor(1);
  assert.equal((await produce(c1, topic, -1, 3)).errorCode, ErrorCode.NONE);
  await waitFor(() => hosted(3, topic).log.logEndOffset === 3, { what: 'broker 3 to replicate' });

  // Broker 3 stops following and, as a deposed leader might, holds records of epoch 1 nobody else has.
  broker(3).replicas.fetchers?.removePartition(topic, 0);
  const p3 = hosted(3, topic);
  p3.log.append(buildBatch({ count: 4, valueBytes: 7 }), 1);
  assert.equal(p3.log.logEndOffset, 7);

  // Epoch 2: broker 2 leads and takes new writes at offset 3.
  const epoch2: LeaderState = { leader: 2, leaderEpoch: 2, isr: [2, 1], replicas: [1, 2, 3], zkVersion: 1, controllerEpoch: 1 };
  ctl.state = { leaderEpoch: 2, isr: [2, 1], partitionEpoch: 1 };
  applyState(topic, topicId, [2, 1], epoch2);
  const c2 = await clientFor(2);
  const r = await produce(c2, topic, 1, 2);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.baseOffset, 3);
  const leader = hosted(2, topic);

  applyState(topic, topicId, [3], epoch2);
  await waitFor(() => logBytes(p3).equals(logBytes(leader)), { timeoutMs: 20_000, what: "broker 3's log to match the new leader's" });
  assert.equal(p3.log.logEndOffset, 5);
  assert.deepEqual(p3.log.epochs.all, [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 3 },
  ]);
  // A LeaderAndIsr for the epoch already followed changes nothing.
  applyState(topic, topicId, [3], epoch2);
  assert.equal(broker(3).replicas.fetchers?.fetchingFrom(topic, 0), 2);
});

/** An idempotent batch: producer id, epoch 0 and the given base sequence (CRC recomputed). */
function idempotentBatch(producerId: number, baseSequence: number, count: number): Buffer {
  // A current timestamp: producer state expires producer.id.expiration.ms after the last batch's.
  const b = buildBatch({ count, valueBytes: 9, timestamp: Date.now() });
  b.writeBigInt64BE(BigInt(producerId), 43);
  b.writeInt16BE(0, 51);
  b.writeInt32BE(baseSequence, 53);
  b.writeUInt32BE(crc32c(b, 21), 17);
  return b;
}

test('a follower keeps producer state, so after failover a retried batch is still a duplicate', async () => {
  const topic = 'rep-idempotent';
  const topicId = randomKafkaUuid();
  const pid = 4242;
  const epoch1: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2], replicas: [1, 2], zkVersion: 0, controllerEpoch: 1 };
  applyState(topic, topicId, [1, 2], epoch1);
  const c1 = await clientFor(1);
  const send = async (c: BrokerClient, records: Buffer): Promise<Msg> => {
    const resp = await c.request(0, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 15_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    const t = (resp.responses as Msg[])[0] as Msg;
    return (t.partitionResponses as Msg[])[0] as Msg;
  };
  const first = await send(c1, idempotentBatch(pid, 0, 3));
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(first.baseOffset, 0);
  assert.equal(hosted(2, topic).producers.lastEntry(pid)?.batches.length, 1, 'the follower recorded the producer batch');

  // Failover to broker 2; the producer retries the batch it never saw acknowledged.
  applyState(topic, topicId, [2, 1], { ...epoch1, leader: 2, leaderEpoch: 2, zkVersion: 1 });
  const c2 = await clientFor(2);
  const retried = await send(c2, idempotentBatch(pid, 0, 3));
  assert.equal(retried.errorCode, ErrorCode.NONE);
  assert.equal(retried.baseOffset, 0, 'answered with the original offsets');
  assert.equal(hosted(2, topic).log.logEndOffset, 3, 'not written twice');
});

test('a follower behind the leader log start restarts there (OFFSET_OUT_OF_RANGE, ListOffsets as a replica)', async () => {
  const topic = 'rep-behind';
  const topicId = randomKafkaUuid();
  const state: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1, 2], replicas: [1, 2], zkVersion: 0, controllerEpoch: 1 };
  const ctl = new FakeController(topicId, { leaderEpoch: 1, isr: [1, 2], partitionEpoch: 0 });
  broker(1).replicas.setAlterPartitionSender(ctl.send);
  applyState(topic, topicId, [1, 2], state);
  const c = await clientFor(1);
  assert.equal((await produce(c, topic, -1, 5)).errorCode, ErrorCode.NONE);
  const follower = hosted(2, topic);
  assert.equal(follower.log.logEndOffset, 5);

  // The follower is cut off and leaves the ISR; the leader moves on and deletes records up to 8,
  // inside the batch 5..9 the follower never saw.
  broker(2).replicas.fetchers?.removePartition(topic, 0);
  assert.equal((await produce(c, topic, 1, 5)).errorCode, ErrorCode.NONE);
  const leader = hosted(1, topic);
  await waitFor(() => leader.log.highWatermark === 10, { timeoutMs: 20_000, what: 'the HW to pass the cut-off follower' });

  // DeleteRecords waits for every live replica's log start: the cut-off follower makes it time out.
  const dp = (await deleteRecords(c, topic, 8, 300))[0];
  assert.equal(dp?.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(leader.log.logStartOffset, 8, 'the leader deleted all the same');

  // Once it fetches again it restarts at the leader's log start, and DeleteRecords completes.
  applyState(topic, topicId, [2], { ...state, isr: [1], zkVersion: 1 });
  const done = (await deleteRecords(c, topic, 8, 20_000))[0];
  assert.equal(done?.errorCode, ErrorCode.NONE);
  assert.equal(done?.lowWatermark, 8);
  await waitFor(() => follower.log.logEndOffset === 10 && follower.log.logStartOffset === 8, {
    timeoutMs: 20_000,
    what: () => `follower at [${follower.log.logStartOffset}, ${follower.log.logEndOffset})`,
  });
  const read = (p: HostedPartition): Buffer => Buffer.concat(p.log.read(8, 1 << 20, p.log.logEndOffset, true).records);
  assert.ok(read(follower).equals(read(leader)), 'the follower holds the leader batch holding offset 8');
});

test('a leader answers a follower fetch from a diverged epoch with DivergingEpoch instead of records', async () => {
  const topic = 'rep-diverging-fetch';
  const topicId = randomKafkaUuid();
  const state: LeaderState = { leader: 1, leaderEpoch: 1, isr: [1], replicas: [1, 2], zkVersion: 0, controllerEpoch: 1 };
  applyState(topic, topicId, [1], state);
  const c = await clientFor(1);
  assert.equal((await produce(c, topic, 1, 3)).errorCode, ErrorCode.NONE);
  applyState(topic, topicId, [1], { ...state, leaderEpoch: 3, zkVersion: 1 });
  assert.equal((await produce(c, topic, 1, 2)).errorCode, ErrorCode.NONE);
  // Broker 2 claims records of epoch 2 up to offset 6: the leader never had epoch 2; its epoch 1 ended at 3.
  const resp = await c.request(1, 12, {
    replicaId: 2,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          { partition: 0, currentLeaderEpoch: 3, fetchOffset: 6, lastFetchedEpoch: 2, logStartOffset: 0, partitionMaxBytes: 1 << 20 },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const rp = ((resp.responses as Msg[])[0]?.partitions as Msg[] | undefined)?.[0];
  assert.equal(rp?.errorCode, ErrorCode.NONE);
  assert.deepEqual(rp?.divergingEpoch, { epoch: 1, endOffset: 3 });
  assert.equal((rp?.records as Buffer | null)?.length ?? 0, 0);
  // The diverged follower's position was not taken as its log end.
  assert.equal(hosted(1, topic).leaderCore?.remotes.get(2)?.logEndOffset, -1);
});
