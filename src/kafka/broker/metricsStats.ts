// The numbers behind the broker's Prometheus metrics, as plain fields the hot paths bump (a field
// increment: no label objects, no hashing, no allocation). metrics.ts reads them at scrape time
// and renders them under the names Prometheus' JMX exporter gives Kafka's MBeans. Nothing here
// imports prom-client, so a broker without a metrics listener pays only the increments.

import { ErrorCode } from '../protocol/errors.js';

/** One topic's counters (Kafka's BrokerTopicMetrics; the all-topics instance has no topic label). */
export class TopicCounters {
  /** Records appended by produce requests (MessagesInPerSec). */
  messagesIn = 0;
  /** Record-set bytes appended by produce requests (BytesInPerSec). */
  bytesIn = 0;
  /** Record bytes sent to consumers, not followers (BytesOutPerSec). */
  bytesOut = 0;
  /** Partition appends attempted by produce requests (TotalProduceRequestsPerSec). */
  totalProduceRequests = 0;
  /** Partition reads by fetch requests, followers' included (TotalFetchRequestsPerSec). */
  totalFetchRequests = 0;
  /** Partition appends that failed for a reason other than the expected client-side ones. */
  failedProduceRequests = 0;
  /** Partition reads that failed unexpectedly (a storage error, not a routing or range error). */
  failedFetchRequests = 0;
}

/**
 * Produce errors Kafka does not count in FailedProduceRequestsPerSec: routing and size/corruption
 * errors of the client's making (ReplicaManager.appendToLocalLog). Every other error counts.
 */
const EXPECTED_PRODUCE_ERRORS = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);

/** One partition append of a produce request, done (errorCode 0) or failed, in both counter sets. */
export function countProduceAppend(all: TopicCounters, topic: TopicCounters, errorCode: number, bytes: number, messages: number): void {
  if (errorCode === ErrorCode.NONE) {
    all.bytesIn += bytes;
    topic.bytesIn += bytes;
    all.messagesIn += messages;
    topic.messagesIn += messages;
  } else if (!EXPECTED_PRODUCE_ERRORS.has(errorCode)) {
    all.failedProduceRequests++;
    topic.failedProduceRequests++;
  }
}

/** Topics given their own counters; past it a topic's counts go to the all-topics series only. */
export const topicStatsMax = 10_000;

export class BrokerTopicStats {
  readonly all = new TopicCounters();
  readonly byTopic = new Map<string, TopicCounters>();
  /** Bytes appended as a follower (ReplicationBytesInPerSec). */
  replicationBytesIn = 0;
  /** Record bytes sent to followers (ReplicationBytesOutPerSec). */
  replicationBytesOut = 0;

  /**
   * The counters of a topic hosted here, shared by its partitions (they keep the reference, so the
   * hot path never looks it up). Past topicStatsMax a detached instance, which no series shows.
   */
  topic(name: string): TopicCounters {
    let c = this.byTopic.get(name);
    if (c !== undefined) return c;
    c = new TopicCounters();
    if (this.byTopic.size < topicStatsMax) this.byTopic.set(name, c);
    return c;
  }

  /** Drops a topic's series (Kafka removes a topic's metrics when it stops hosting the topic). */
  removeTopic(name: string): void {
    this.byTopic.delete(name);
  }
}

/** Samples kept per request type for its time quantiles (the size of Yammer's default reservoir). */
export const requestTimeSamplesMax = 1028;

/**
 * The most recent samples of a duration, for quantiles. Kafka's Yammer histograms keep a biased
 * sample of about the last five minutes; a ring of the last requestTimeSamplesMax values is the
 * bounded, allocation-free stand-in (recent behaviour, not the whole history).
 */
export class LatencyReservoir {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  /** Every value ever recorded (the histogram's Count). */
  count = 0;

  constructor(readonly size: number = requestTimeSamplesMax) {
    if (!(size >= 1)) throw new Error(`reservoir size must be >= 1, not ${size}`);
    this.samples = new Float64Array(size);
  }

  record(value: number): void {
    this.samples[this.next] = value;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    if (this.filled < this.size) this.filled++;
    this.count++;
  }

  /** Quantiles (0..1) of the kept samples, as Yammer's snapshot computes them; 0 when empty. */
  quantiles(qs: readonly number[]): number[] {
    if (this.filled === 0) return qs.map(() => 0);
    const sorted = this.samples.slice(0, this.filled).sort();
    return qs.map((q) => snapshotValue(sorted, q));
  }
}

/** Yammer's Snapshot.getValue: linear interpolation at position q * (n + 1). */
export function snapshotValue(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = q * (n + 1);
  const index = Math.floor(pos);
  if (index < 1) return sorted[0]!;
  if (index >= n) return sorted[n - 1]!;
  const lower = sorted[index - 1]!;
  const upper = sorted[index]!;
  return lower + (pos - index) * (upper - lower);
}

/** API versions counted per request type; higher ones (none exist today) share the last slot. */
export const requestVersionsMax = 32;

/** One request type of Kafka's RequestMetrics: requests per version and their total times. */
export class RequestTypeStats {
  /** Completed requests by API version (RequestsPerSec{version}). */
  readonly byVersion = new Float64Array(requestVersionsMax);
  /** Receive-to-response milliseconds (TotalTimeMs). */
  readonly totalTimeMs = new LatencyReservoir();

  constructor(readonly name: string) {}

  completed(version: number, ms: number): void {
    this.byVersion[Math.min(Math.max(version, 0), requestVersionsMax - 1)] += 1;
    this.totalTimeMs.record(ms);
  }
}

const FETCH_KEY = 1;

/** The request metrics of one broker, by the request names Kafka's RequestMetrics uses. */
export class RequestStats {
  /** By API key (created on first use: an API nobody calls has no series). */
  private readonly byKey: (RequestTypeStats | undefined)[] = [];
  /** Fetches are also counted as FetchConsumer or FetchFollower, as Kafka does. */
  readonly fetchConsumer = new RequestTypeStats('FetchConsumer');
  readonly fetchFollower = new RequestTypeStats('FetchFollower');

  constructor(private readonly topics: BrokerTopicStats) {}

  /** Every request type seen so far. */
  types(): RequestTypeStats[] {
    const out = this.byKey.filter((t): t is RequestTypeStats => t !== undefined);
    if (this.fetchConsumer.totalTimeMs.count > 0) out.push(this.fetchConsumer);
    if (this.fetchFollower.totalTimeMs.count > 0) out.push(this.fetchFollower);
    return out;
  }

  /**
   * A request answered (or failed) after `ms`. `req`/`res` are the decoded bodies: a Fetch
   * response's record bytes are what BytesOut counts, as Kafka counts them when the response is sent.
   */
  completed(apiKey: number, apiName: string, version: number, req: Record<string, unknown>, res: unknown, ms: number): void {
    let t = this.byKey[apiKey];
    if (t === undefined) {
      t = new RequestTypeStats(apiName);
      this.byKey[apiKey] = t;
    }
    t.completed(version, ms);
    if (apiKey !== FETCH_KEY) return;
    const follower = fetchReplicaId(req, version) >= 0;
    (follower ? this.fetchFollower : this.fetchConsumer).completed(version, ms);
    if (res !== null && typeof res === 'object') this.countBytesOut(res as Record<string, unknown>, follower);
  }

  private countBytesOut(res: Record<string, unknown>, follower: boolean): void {
    const responses = res['responses'];
    if (!Array.isArray(responses)) return;
    for (const t of responses as Record<string, unknown>[]) {
      let bytes = 0;
      for (const p of (t['partitions'] ?? []) as Record<string, unknown>[]) bytes += recordBytes(p['records']);
      if (bytes === 0) continue;
      if (follower) {
        this.topics.replicationBytesOut += bytes;
        continue;
      }
      this.topics.all.bytesOut += bytes;
      const c = this.topics.byTopic.get(t['topic'] as string);
      if (c !== undefined) c.bytesOut += bytes;
    }
  }
}

/** The replica id of a Fetch request body (v15 moved it into replicaState); -1 for consumers. */
function fetchReplicaId(req: Record<string, unknown>, version: number): number {
  if (version >= 15) {
    const state = req['replicaState'] as Record<string, unknown> | undefined;
    return (state?.['replicaId'] as number | undefined) ?? -1;
  }
  return (req['replicaId'] as number | undefined) ?? -1;
}

function recordBytes(records: unknown): number {
  if (Buffer.isBuffer(records)) return records.length;
  if (!Array.isArray(records)) return 0;
  let n = 0;
  for (const c of records as Buffer[]) n += c.length;
  return n;
}

/** Kafka's BrokerState values (kafka.server:type=KafkaServer,name=BrokerState). */
export const BrokerState = {
  NOT_RUNNING: 0,
  STARTING: 1,
  RECOVERY: 2,
  RUNNING: 3,
  PENDING_CONTROLLED_SHUTDOWN: 6,
  SHUTTING_DOWN: 7,
} as const;

/** The controller's event timings Kafka exports as kafka.controller:type=ControllerStats. */
export class ControllerStats {
  /** Broker-change events handled while active (Kafka times them as LeaderElectionRateAndTimeMs). */
  readonly leaderElectionMs = new LatencyReservoir();
  uncleanLeaderElections = 0;
}
