// A long-lived idempotent publisher after a failed send (src/genie/resilientProducer.ts). The fake
// broker applies Kafka's idempotence rules (the next sequence or OUT_OF_ORDER_SEQUENCE_NUMBER; a
// batch with the first and last sequence of the last one is a duplicate: acknowledged, not
// written), and the fake producer advances its sequence only on success, as @platformatic/kafka
// does. A lost acknowledgement then spoils the producer: the next batch reuses the sequence.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError, type ProduceResult, type SendOptions } from '@platformatic/kafka';
import type { EncodedEvent } from '../../src/genie/jobs/events.js';
import { Publisher } from '../../src/genie/kafka.js';
import { ResilientProducer, type SendingProducer } from '../../src/genie/resilientProducer.js';

type Send = SendOptions<string, string, Buffer, Buffer>;

class FakeBroker {
  /** The partition's records, in offset order. */
  readonly log: string[] = [];
  private readonly producers = new Map<number, { next: number; lastFirst: number; lastCount: number }>();
  /** The next append is written but its acknowledgement is lost (the leader died). */
  loseNextAck = false;

  produce(producerId: number, firstSeq: number, values: string[]): number {
    const st = this.producers.get(producerId) ?? { next: 0, lastFirst: -1, lastCount: 0 };
    if (st.lastFirst === firstSeq && st.lastCount === values.length) return -1; // a duplicate: acknowledged, not written
    if (firstSeq !== st.next) throw new ProtocolError('OUT_OF_ORDER_SEQUENCE_NUMBER');
    const offset = this.log.length;
    this.log.push(...values);
    this.producers.set(producerId, { next: firstSeq + values.length, lastFirst: firstSeq, lastCount: values.length });
    if (this.loseNextAck) {
      this.loseNextAck = false;
      throw new Error('connection closed (the leader died)');
    }
    return offset;
  }
}

class FakeProducer implements SendingProducer<string, string, Buffer, Buffer> {
  private seq = 0;
  closed = false;

  constructor(
    private readonly broker: FakeBroker,
    readonly producerId: number,
  ) {}

  async send(o: Send): Promise<ProduceResult> {
    await new Promise((r) => setImmediate(r));
    if (this.closed) throw new Error('closed');
    const values = o.messages.map((m) => m.value as string);
    const offset = this.broker.produce(this.producerId, this.seq, values);
    this.seq += values.length; // only on success, as the client does
    return { offsets: [{ topic: 't', partition: 0, offset: BigInt(offset) }] };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup() {
  const broker = new FakeBroker();
  const producers: FakeProducer[] = [];
  const make = () => {
    const p = new FakeProducer(broker, producers.length + 1);
    producers.push(p);
    return p;
  };
  return { broker, producers, make };
}

const event = (value: string): EncodedEvent => ({ key: 'k', value, headers: new Map() });

/** Publishes one call, retrying until acknowledged, as every caller of the services does. */
async function publishUntilAcked(publisher: Publisher, values: string[]): Promise<number> {
  for (let tries = 1; tries <= 20; tries++) {
    try {
      await publisher.publish('t', values.map(event));
      return tries;
    } catch {
      // retried below
    }
  }
  throw new Error(`${values.join(',')} never acknowledged`);
}

test('a lost acknowledgement: later records of the same count are written, not taken for duplicates', async () => {
  const { broker, producers, make } = setup();
  const publisher = new Publisher({ bootstrapBrokers: [], clientId: 't' }, { lingerMs: 0 }, { makeProducer: make });
  const acked: string[] = [];
  await publishUntilAcked(publisher, ['a1', 'a2']);
  acked.push('a1', 'a2');
  broker.loseNextAck = true;
  // The first try lands but its acknowledgement is lost; the retry goes through a new producer.
  assert.equal(await publishUntilAcked(publisher, ['b1', 'b2']), 2);
  acked.push('b1', 'b2');
  // The same count as the failed batch: a spoiled producer's sequence would make it a "duplicate".
  await publishUntilAcked(publisher, ['c1', 'c2']);
  acked.push('c1', 'c2');
  for (const v of acked) assert.ok(broker.log.includes(v), `acknowledged ${v} is in the log ${broker.log.join(',')}`);
  assert.equal(publisher.producerRenewals, 1);
  assert.equal(producers[0]!.closed, true, 'the spoiled producer is closed');
  await publisher.close();
  assert.equal(producers[1]!.closed, true);
});

test('OUT_OF_ORDER_SEQUENCE_NUMBER: publishing continues on a fresh producer, nothing acknowledged is lost', async () => {
  const { broker, make } = setup();
  const publisher = new Publisher({ bootstrapBrokers: [], clientId: 't' }, { lingerMs: 0 }, { makeProducer: make });
  const acked: string[] = [];
  const calls: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    if (i === 30) broker.loseNextAck = true;
    // Calls of several sizes, some in flight together: a spoiled sequence meets a batch of another count.
    const values = Array.from({ length: 1 + (i % 3) }, (_, j) => `e${i}.${j}`);
    calls.push(publishUntilAcked(publisher, values).then(() => void acked.push(...values)));
    if (i % 4 === 3) await Promise.all(calls.splice(0));
  }
  await Promise.all(calls);
  assert.equal(acked.length, 199);
  const written = new Set(broker.log);
  for (const v of acked) assert.ok(written.has(v), `acknowledged ${v} was written`);
  assert.ok(publisher.producerRenewals >= 1);
  await publisher.close();
});

test('a retired producer is closed only once the sends still in flight on it have settled', async () => {
  const settle: ((e?: Error) => void)[] = [];
  const made: { closed: boolean }[] = [];
  const make = (): SendingProducer<string, string, string, string> => {
    const p = {
      closed: false,
      send: () => new Promise<ProduceResult>((resolve, reject) => settle.push((e) => (e ? reject(e) : resolve({ offsets: [] })))),
      close: async () => {
        p.closed = true;
      },
    };
    made.push(p);
    return p;
  };
  const renewedBy: unknown[] = [];
  const producer = new ResilientProducer(make, (e) => renewedBy.push(e));
  const first = producer.send({ messages: [] });
  const second = producer.send({ messages: [] });
  await new Promise((r) => setImmediate(r));
  const spoiled = new ProtocolError('OUT_OF_ORDER_SEQUENCE_NUMBER');
  settle[0]!(spoiled);
  await assert.rejects(first, ProtocolError);
  assert.equal(made.length, 2, 'a fresh producer after the failure');
  assert.deepEqual(renewedBy, [spoiled]);
  assert.equal(made[0]!.closed, false, 'still has a send in flight');
  settle[1]!(new Error('also failed'));
  await assert.rejects(second);
  assert.equal(made.length, 2, 'a second failure on the retired producer starts no third one');
  await new Promise((r) => setImmediate(r));
  assert.equal(made[0]!.closed, true);
  const third = producer.send({ messages: [] });
  settle[2]!();
  await third;
  await producer.close();
  assert.equal(made[1]!.closed, true);
});
