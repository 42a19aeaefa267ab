// The shipper's Kafka producer, on the project's own protocol declarations (protocol/messages)
// and BrokerClient rather than a client library: the records arrive already encoded and
// partitioned (LogRecord), so all that is left per line is copying its bytes into a record batch
// (recordBatch.ts). A client library's per-record work (a message object, a writer and a buffer
// per record, BigInt timestamps, maps per message) was most of the shipper's Kafka cost.
//
// Guarantees, as Kafka's idempotent producer gives them: InitProducerId once, acks=all, Produce
// v7 (record batches) with a producer id, epoch and per-partition sequence, ONE batch in flight
// per partition (the sequence of the next batch is only known once the previous one is
// acknowledged; a retry resends the same bytes, so a batch that did arrive is recognised as a
// duplicate and not written twice). Batches of different partitions, and of different leaders,
// go out concurrently; one Produce per leader carries a batch for each of its partitions.
//   - Retriable errors (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, timeouts, a lost connection,
//     ...) refresh the metadata and resend after retryDelayMs, up to retriesMax times; then the
//     calls fail (the shipper retries them itself, with backoff, forever) and, since the batch may
//     or may not have been written, the producer id is dropped: a fresh one starts its sequences at
//     0, so what the shipper sends again is accepted (a duplicate at worst, never a gap).
//   - OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH (the broker lost or
//     expired our producer state): a new producer id, the batch rebuilt under it and resent.
//   - Other errors (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD, ...) fail the calls
//     of that batch with a LogProduceError carrying Kafka's name (isTooLarge reads it). The broker
//     wrote nothing and did not take the sequence, so the partition's next batch reuses it.
// publish() resolves once every record of the call was acknowledged; it rejects once any of its
// records failed. Memory is bounded by the caller (the shipper hands over at most
// produceBytesMax bytes); a batch takes at most batchBytesMax bytes of a partition's queue.

import type { KafkaEndpoint } from '../../kafka.js';
import { BrokerClient } from '../../../kafka/net/brokerClient.js';
import { CODEC_NAMES, type CompressionCodec } from '../../../kafka/protocol/compression.js';
import { ErrorCode, errorName, isRetriable } from '../../../kafka/protocol/errors.js';
import type { Msg } from '../../../kafka/protocol/schema.js';
import type { LogPublisher, LogRecord } from './producer.js';
import { encodeRecordBatch } from './recordBatch.js';

export interface LogProducerOptions {
  compression: (typeof CODEC_NAMES)[number];
  /** Uncompressed record bytes in one partition's batch at most (one record alone may exceed it). */
  batchBytesMax: number;
  /** Resends of one batch on retriable errors before its calls fail. */
  retriesMax: number;
  retryDelayMs: number;
  /** How long the broker may wait for the in-sync replicas (Produce timeoutMs). */
  produceTimeoutMs: number;
  /** Client-side deadline of one request (beyond produceTimeoutMs: the broker answers first). */
  requestTimeoutMs: number;
}

export const logProducerDefaults: LogProducerOptions = {
  compression: 'lz4',
  batchBytesMax: 1_000_000,
  retriesMax: 30,
  retryDelayMs: 200,
  produceTimeoutMs: 30_000,
  requestTimeoutMs: 40_000,
};

const PRODUCE_VERSION = 7; // record batches, idempotence; non-flexible; Kafka 2.1+ and every later release
const METADATA_VERSION = 8;
const INIT_PRODUCER_ID_VERSION = 1;

/** A Kafka error answered for a batch (apiId as @platformatic/kafka names them, so isTooLarge reads either). */
export class LogProduceError extends Error {
  override name = 'LogProduceError';
  readonly apiId: string;
  constructor(
    readonly code: number,
    where: string,
  ) {
    super(`producing to ${where} failed: ${errorName(code)}`);
    this.apiId = errorName(code);
  }
}

interface Call {
  unacked: number;
  failed: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Batch {
  records: LogRecord[];
  calls: Call[];
  /** Encoded under producerId/producerEpoch/baseSequence; reused by a retry while those hold. */
  bytes: Buffer | undefined;
  /** A Produce carrying it is out. */
  sending: boolean;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  attempts: number;
}

interface PartitionState {
  topic: string;
  index: number;
  /** Records waiting for the next batch, and the call each belongs to (parallel arrays). */
  queue: LogRecord[];
  queueCalls: Call[];
  inFlight: Batch | undefined;
  /** The producer id the sequence below counts for. */
  sequencePid: number;
  nextSequence: number;
  retryAtMs: number;
}

interface TopicMeta {
  /** Leader node id by partition index (-1: none known). */
  leaders: number[];
}

export class LogProducer implements LogPublisher {
  private readonly opts: LogProducerOptions;
  private readonly codec: CompressionCodec;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly topics = new Map<string, TopicMeta>();
  private readonly brokers = new Map<number, { host: string; port: number }>();
  private readonly clients = new Map<number, Promise<BrokerClient>>();
  private producerId = -1;
  private producerEpoch = -1;
  private metadataRefresh: Promise<void> | undefined;
  private producerIdInit: Promise<void> | undefined;
  private metadataStale = true;
  private preparing = false;
  /** Failed attempts in a row at metadata / a producer id. */
  private prepareFailures = 0;
  private kickQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly inFlightRequests = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly kafka: KafkaEndpoint,
    opts: Partial<LogProducerOptions> = {},
  ) {
    this.opts = { ...logProducerDefaults, ...opts };
    const codec = CODEC_NAMES.indexOf(this.opts.compression);
    if (codec < 0) throw new Error(`unknown compression ${this.opts.compression}`);
    this.codec = codec as CompressionCodec;
  }

  publish(records: readonly LogRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the log producer is closed'));
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const call: Call = { unacked: records.length, failed: false, resolve, reject };
      for (const r of records) {
        const p = this.partitionState(r.topic, r.partition);
        p.queue.push(r);
        p.queueCalls.push(call);
      }
      this.kickSoon();
    });
  }

  /** Waits for the requests in flight (no further retries), fails what is left, closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    while (this.inFlightRequests.size > 0) await Promise.allSettled([...this.inFlightRequests]);
    const closedError = new Error('the log producer is closed');
    for (const p of this.partitions.values()) {
      if (p.inFlight) this.fail(p.inFlight.calls, closedError);
      p.inFlight = undefined;
      this.fail(p.queueCalls, closedError);
      p.queue = [];
      p.queueCalls = [];
    }
    for (const c of this.clients.values()) c.then((client) => client.close()).catch(() => {});
    this.clients.clear();
  }

  /**
   * The state of the partition a record goes to. Until the topic's partition count is known the
   * record waits under its raw hash; kick() moves it (the client library took the hash modulo the
   * count as well, so records land where they did before).
   */
  private partitionState(topic: string, hash: number): PartitionState {
    const meta = this.topics.get(topic);
    const index = meta ? hash % meta.leaders.length : -1 - (hash % 1024);
    const id = `${topic}\u0000${index}`;
    let p = this.partitions.get(id);
    if (p === undefined) {
      p = {
        topic,
        index,
        queue: [],
        queueCalls: [],
        inFlight: undefined,
        sequencePid: -1,
        nextSequence: 0,
        retryAtMs: 0,
      };
      this.partitions.set(id, p);
    }
    return p;
  }

  private kickSoon(): void {
    if (this.kickQueued || this.closed) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      this.kick();
    });
  }

  /** Sends a batch for every partition that has records and none in flight, one Produce per leader. */
  private kick(): void {
    if (this.closed) return;
    if (this.metadataStale || this.producerId < 0 || this.hasUnplaced()) {
      void this.prepare();
      return;
    }
    const now = Date.now();
    let nextRetryAtMs = Number.POSITIVE_INFINITY;
    const byLeader = new Map<number, PartitionState[]>();
    for (const p of this.partitions.values()) {
      if (p.inFlight === undefined && p.queue.length === 0) continue;
      if (p.inFlight?.sending) continue; // one batch in flight per partition
      if (p.retryAtMs > now) {
        nextRetryAtMs = Math.min(nextRetryAtMs, p.retryAtMs);
        continue;
      }
      const leader = this.topics.get(p.topic)?.leaders[p.index] ?? -1;
      if (leader < 0 || !this.brokers.has(leader)) {
        // No leader right now (an election): wait for the metadata to name one, as a retry.
        const batch = p.inFlight ?? this.takeBatch(p);
        if (++batch.attempts > this.opts.retriesMax) {
          p.inFlight = undefined;
          this.fail(batch.calls, new LogProduceError(ErrorCode.LEADER_NOT_AVAILABLE, `${p.topic}-${p.index}`));
          continue;
        }
        p.inFlight = batch;
        this.metadataStale = true;
        p.retryAtMs = now + this.opts.retryDelayMs;
        nextRetryAtMs = Math.min(nextRetryAtMs, p.retryAtMs);
        continue;
      }
      this.buildBatch(p);
      const list = byLeader.get(leader);
      if (list === undefined) byLeader.set(leader, [p]);
      else list.push(p);
    }
    for (const [leader, list] of byLeader) this.track(this.produce(leader, list));
    if (nextRetryAtMs !== Number.POSITIVE_INFINITY && this.retryTimer === undefined) {
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = undefined;
          this.kick();
        },
        Math.max(1, nextRetryAtMs - now),
      );
    }
  }

  private hasUnplaced(): boolean {
    for (const p of this.partitions.values()) if (p.index < 0 && p.queue.length > 0) return true;
    return false;
  }

  /** Moves records queued before their topic's partition count was known to their partitions. */
  private placeQueued(): void {
    for (const [id, p] of this.partitions) {
      if (p.index >= 0 || !this.topics.has(p.topic)) continue;
      this.partitions.delete(id);
      for (let i = 0; i < p.queue.length; i++) {
        const q = this.partitionState(p.topic, p.queue[i]!.partition);
        q.queue.push(p.queue[i]!);
        q.queueCalls.push(p.queueCalls[i]!);
      }
    }
  }

  /** Metadata and a producer id, then kick again. */
  private async prepare(): Promise<void> {
    if (this.preparing) return;
    this.preparing = true;
    try {
      if (this.metadataStale) await this.refreshMetadata();
      if (this.producerId < 0) await this.initProducerId();
      this.placeQueued();
      if (this.hasUnplaced()) throw new Error(`no metadata for ${[...this.unplacedTopics()].join(', ')}`);
      this.prepareFailures = 0;
    } catch (e) {
      this.metadataStale = true;
      this.failedPrepare(e as Error);
      return;
    } finally {
      this.preparing = false;
    }
    this.kickSoon();
  }

  private unplacedTopics(): Set<string> {
    const out = new Set<string>();
    for (const p of this.partitions.values()) if (p.index < 0 && p.queue.length > 0) out.add(p.topic);
    return out;
  }

  /**
   * Metadata or a producer id could not be had (Kafka away): after retriesMax attempts in a row
   * every waiting call fails (the shipper retries them itself); else try again after retryDelayMs.
   */
  private failedPrepare(e: Error): void {
    if (++this.prepareFailures > this.opts.retriesMax) {
      this.prepareFailures = 0;
      for (const p of this.partitions.values()) {
        if (p.inFlight !== undefined && !p.inFlight.sending) {
          this.fail(p.inFlight.calls, e);
          p.inFlight = undefined;
        }
        this.fail(p.queueCalls, e);
        p.queue = [];
        p.queueCalls = [];
      }
    }
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.opts.retryDelayMs);
  }

  private refreshMetadata(): Promise<void> {
    this.metadataRefresh ??= this.fetchMetadata().finally(() => {
      this.metadataRefresh = undefined;
    });
    return this.metadataRefresh;
  }

  private async fetchMetadata(): Promise<void> {
    const topics = new Set<string>();
    for (const p of this.partitions.values()) topics.add(p.topic);
    const body = {
      topics: [...topics].map((name) => ({ name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    };
    const res = await this.anyBroker((c) => c.request(3, METADATA_VERSION, body));
    this.brokers.clear();
    for (const b of res.brokers as Msg[]) this.brokers.set(b.nodeId as number, { host: b.host as string, port: b.port as number });
    for (const t of res.topics as Msg[]) {
      if (t.errorCode !== ErrorCode.NONE) continue;
      const parts = t.partitions as Msg[];
      if (parts.length === 0) continue; // nothing to hash onto; retried as unknown
      const leaders = new Array<number>(parts.length).fill(-1);
      for (const p of parts) {
        const i = p.partitionIndex as number;
        if (i >= 0 && i < leaders.length) leaders[i] = p.leaderId as number;
      }
      this.topics.set(t.name as string, { leaders });
    }
    this.metadataStale = false;
  }

  private async initProducerId(): Promise<void> {
    this.producerIdInit ??= (async () => {
      const res = await this.anyBroker((c) =>
        c.request(22, INIT_PRODUCER_ID_VERSION, { transactionalId: null, transactionTimeoutMs: 60_000 }),
      );
      if (res.errorCode !== ErrorCode.NONE) throw new LogProduceError(res.errorCode as number, 'InitProducerId');
      this.producerId = res.producerId as number;
      this.producerEpoch = res.producerEpoch as number;
    })().finally(() => {
      this.producerIdInit = undefined;
    });
    return this.producerIdInit;
  }

  /** The request on a known broker, else on each bootstrap broker in turn. */
  private async anyBroker(send: (c: BrokerClient) => Promise<Msg>): Promise<Msg> {
    let last: Error = new Error('no bootstrap broker');
    const known = [...this.brokers.keys()];
    for (const id of known) {
      try {
        return await send(await this.client(id));
      } catch (e) {
        last = e as Error;
      }
    }
    for (const hostPort of this.kafka.bootstrapBrokers) {
      const at = hostPort.lastIndexOf(':');
      let client: BrokerClient | undefined;
      try {
        client = await BrokerClient.connect({
          host: hostPort.slice(0, at),
          port: Number(hostPort.slice(at + 1)),
          clientId: this.kafka.clientId,
          requestTimeoutMs: this.opts.requestTimeoutMs,
        });
        return await send(client);
      } catch (e) {
        last = e as Error;
      } finally {
        client?.close();
      }
    }
    throw last;
  }

  private client(nodeId: number): Promise<BrokerClient> {
    let c = this.clients.get(nodeId);
    if (c === undefined) {
      const b = this.brokers.get(nodeId);
      if (b === undefined) return Promise.reject(new Error(`broker ${nodeId} is not in the metadata`));
      c = BrokerClient.connect({ ...b, clientId: this.kafka.clientId, requestTimeoutMs: this.opts.requestTimeoutMs });
      this.clients.set(nodeId, c);
      c.then(
        (client) => client.once('close', () => this.clients.get(nodeId) === c && this.clients.delete(nodeId)),
        () => this.clients.get(nodeId) === c && this.clients.delete(nodeId),
      );
    }
    return c;
  }

  /** Takes the head of a partition's queue (up to batchBytesMax) as a batch not yet stamped. */
  private takeBatch(p: PartitionState): Batch {
    let n = 0;
    let bytes = 0;
    while (n < p.queue.length) {
      const r = p.queue[n]!;
      const size = r.key.length + r.valueBytes + 24; // as the shipper counts a record
      if (n > 0 && bytes + size > this.opts.batchBytesMax) break;
      bytes += size;
      n++;
    }
    const records = n === p.queue.length ? p.queue : p.queue.slice(0, n);
    const calls = n === p.queue.length ? p.queueCalls : p.queueCalls.slice(0, n);
    if (n === p.queue.length) {
      p.queue = [];
      p.queueCalls = [];
    } else {
      p.queue = p.queue.slice(n);
      p.queueCalls = p.queueCalls.slice(n);
    }
    return { records, calls, bytes: undefined, sending: false, producerId: -1, producerEpoch: -1, baseSequence: 0, attempts: 0 };
  }

  /** Sets p.inFlight to its batch (the one being retried, or a new one) encoded under the current producer id. */
  private buildBatch(p: PartitionState): void {
    const batch = p.inFlight ?? this.takeBatch(p);
    if (p.sequencePid !== this.producerId) {
      p.sequencePid = this.producerId;
      p.nextSequence = 0;
    }
    if (batch.producerId !== this.producerId || batch.producerEpoch !== this.producerEpoch || batch.baseSequence !== p.nextSequence) {
      batch.producerId = this.producerId;
      batch.producerEpoch = this.producerEpoch;
      batch.baseSequence = p.nextSequence;
      batch.bytes = undefined;
    }
    batch.bytes ??= encodeRecordBatch(batch.records, 0, batch.records.length, this.codec, Date.now(), batch);
    batch.sending = true;
    p.inFlight = batch;
  }

  private track(request: Promise<void>): void {
    this.inFlightRequests.add(request);
    void request.finally(() => this.inFlightRequests.delete(request));
  }

  private async produce(leader: number, list: PartitionState[]): Promise<void> {
    const byTopic = new Map<string, Msg[]>();
    for (const p of list) {
      const part = { index: p.index, records: p.inFlight!.bytes };
      const parts = byTopic.get(p.topic);
      if (parts === undefined) byTopic.set(p.topic, [part]);
      else parts.push(part);
    }
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: this.opts.produceTimeoutMs,
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    };
    let res: Msg;
    try {
      res = await (await this.client(leader)).request(0, PRODUCE_VERSION, body);
    } catch (e) {
      // Written or not is unknown when the request may have been sent: the same bytes go again.
      for (const p of list) this.retryBatch(p, e as Error, ErrorCode.NETWORK_EXCEPTION);
      this.afterAnswer();
      return;
    }
    const answered = new Map<string, number>();
    for (const t of res.responses as Msg[]) {
      for (const r of t.partitionResponses as Msg[]) answered.set(`${t.name}\u0000${r.index}`, r.errorCode as number);
    }
    for (const p of list) {
      const code = answered.get(`${p.topic}\u0000${p.index}`);
      if (code === undefined) this.retryBatch(p, new Error('no answer for the partition'), ErrorCode.UNKNOWN_SERVER_ERROR);
      else this.answer(p, code);
    }
    this.afterAnswer();
  }

  private answer(p: PartitionState, code: number): void {
    const batch = p.inFlight!;
    batch.sending = false;
    const where = `${p.topic}-${p.index}`;
    if (code === ErrorCode.NONE || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      // Sequences wrap to 0 after 2^31 - 1, as Kafka's do.
      if (p.sequencePid === batch.producerId) p.nextSequence = (batch.baseSequence + batch.records.length) % 2 ** 31;
      p.inFlight = undefined;
      p.retryAtMs = 0;
      for (const c of batch.calls) if (--c.unacked === 0 && !c.failed) c.resolve();
      return;
    }
    if (
      code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      code === ErrorCode.UNKNOWN_PRODUCER_ID ||
      code === ErrorCode.INVALID_PRODUCER_EPOCH
    ) {
      // The broker does not know our sequences (any more): start over under a new producer id.
      if (this.producerId === batch.producerId) this.producerId = -1;
      this.retryBatch(p, new LogProduceError(code, where), code);
      return;
    }
    if (isRetriable(code)) {
      this.retryBatch(p, new LogProduceError(code, where), code);
      return;
    }
    p.inFlight = undefined;
    this.fail(batch.calls, new LogProduceError(code, where));
  }

  /** Sends the batch again after retryDelayMs (the same bytes while the producer id holds), or fails its calls after retriesMax. */
  private retryBatch(p: PartitionState, e: Error, code: number): void {
    const batch = p.inFlight!;
    batch.sending = false;
    if (this.closed || ++batch.attempts > this.opts.retriesMax) {
      p.inFlight = undefined;
      // It may have been written under this sequence: what is sent after it must not depend on that.
      if (this.producerId === batch.producerId) this.producerId = -1;
      this.fail(batch.calls, e);
      return;
    }
    p.retryAtMs = Date.now() + this.opts.retryDelayMs;
    if (code !== ErrorCode.NOT_ENOUGH_REPLICAS && code !== ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND) this.metadataStale = true;
  }

  private afterAnswer(): void {
    this.kickSoon();
  }

  private fail(calls: readonly Call[], e: Error): void {
    for (const c of calls) {
      c.unacked--;
      if (!c.failed) {
        c.failed = true;
        c.reject(e);
      }
    }
  }
}
