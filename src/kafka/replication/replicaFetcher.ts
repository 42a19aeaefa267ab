// The follower side of replication (Kafka's ReplicaFetcherManager + ReplicaFetcherThread): for each
// leader broker one connection and one loop. A partition starts by truncating by leader epoch
// (OffsetForLeaderEpoch v4 for our latest epoch; the rules are in truncation.ts), then fetches from
// its log end with Fetch v12 (replicaId = this broker), appends the batches as the leader wrote them
// and takes the leader's high watermark (capped by its own log end). Errors follow Kafka: a fenced
// epoch stops the partition until the next LeaderAndIsr, a leader that does not know our epoch yet
// is retried after replica.fetch.backoff.ms, an out-of-range fetch resets against the leader's log
// start/end, and a broken connection backs off and reconnects.
// Bounded: one request in flight per leader, replica.fetch.max.bytes per partition and
// replica.fetch.response.max.bytes per response; the partitions are those this broker follows.
// One exception, for failover speed: a partition added while the leader's fetch is parked (up to
// replica.fetch.wait.max.ms when its other partitions are idle) starts on a side lane, a second
// connection with short waits, until the main loop comes back and takes it over; the two lanes
// never fetch the same partition, so the leader sees one fetch position per partition at a time.
// A leader that has not applied its LeaderAndIsr yet (the controller sends to every replica at
// once) is asked again after sideRetryFirstMs, doubling up to replica.fetch.backoff.ms, not after
// the whole backoff: that wait would hold the first acks=all write on a new leader.

import type { Logger } from '../../util/log.js';
import type { HostedPartition } from '../broker/replicaManager.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Msg } from '../protocol/schema.js';
import { outOfRangeDecision, truncationDecision } from './truncation.js';

const API_FETCH = 1;
const API_LIST_OFFSETS = 2;
const API_OFFSET_FOR_LEADER_EPOCH = 23;
/**
 * Fetch v12 (topics by name, currentLeaderEpoch, lastFetchedEpoch) and OffsetForLeaderEpoch v4, as
 * the project fixed for followers. Apache Kafka 3.9 at IBP 3.9 itself sends Fetch v17 and ListOffsets
 * v9; ListOffsets v7 is the highest our brokers serve and has everything a follower needs.
 */
const FETCH_VERSION = 12;
const LIST_OFFSETS_VERSION = 7;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;
/** The side lane's fetch wait: the main loop waits for its round to end before taking it over. */
export const sideFetchWaitMsMax = 50;
/** First retry after a leader answered that it does not lead (yet) at our epoch. */
export const notLeaderRetryFirstMs = 10;

/** What the fetcher needs from a connection to a leader (a BrokerClient is one). */
export interface FetchClient {
  request(apiKey: number, version: number, body: Msg, opts?: { timeoutMs?: number }): Promise<Msg>;
  close(): void;
  readonly closed: boolean;
}

/** The replica manager, as the fetcher sees it. */
export interface FetcherHost {
  /** The partition hosted here, if it still exists. */
  hosted(topic: string, partition: number): HostedPartition | undefined;
  /** Appends batches fetched from the leader (offsets and epochs as the leader wrote them). */
  appendAsFollower(p: HostedPartition, records: Buffer): void;
  /** Cuts the log (and producer state) back to end at `offset`. */
  truncateFollower(p: HostedPartition, offset: number): void;
  /** Drops the whole log and restarts it empty at `offset`. */
  restartFollowerAt(p: HostedPartition, offset: number): void;
  /** After a fetch: the leader's high watermark and log start offset. */
  followerFetched(p: HostedPartition, leaderHighWatermark: number, leaderLogStartOffset: number): void;
}

export interface ReplicaFetcherConfig {
  brokerId: number;
  /** replica.fetch.wait.max.ms */
  fetchWaitMaxMs: number;
  /** replica.fetch.min.bytes */
  fetchMinBytes: number;
  /** replica.fetch.max.bytes (per partition) */
  fetchMaxBytes: number;
  /** replica.fetch.response.max.bytes */
  fetchResponseMaxBytes: number;
  /** replica.fetch.backoff.ms */
  fetchBackoffMs: number;
  /** replica.socket.timeout.ms */
  socketTimeoutMs: number;
}

type Phase = 'truncating' | 'fetching' | 'paused';
/** Which loop fetches a partition: the main one, or the side lane while the main fetch is parked. */
type Lane = 'main' | 'side';

interface FollowState {
  readonly topic: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  phase: Phase;
  /** Not before this time (ms, Date.now) after a retriable error. */
  delayedUntil: number;
  lane: Lane;
  /** The next wait after a not-leader-yet answer (doubles up to replica.fetch.backoff.ms). */
  retryMs: number;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private readonly leaderOf = new Map<string, number>();
  private closed = false;

  constructor(
    readonly config: ReplicaFetcherConfig,
    readonly host: FetcherHost,
    /** Opens a connection to a broker; undefined while its endpoint is unknown. */
    readonly connect: (brokerId: number) => Promise<FetchClient | undefined>,
    readonly logger: Logger | undefined,
  ) {}

  /** Starts following `leaderId` for this partition at `leaderEpoch`, truncating first. */
  addPartition(leaderId: number, topic: string, partition: number, leaderEpoch: number): void {
    if (this.closed) return;
    this.removePartition(topic, partition);
    let f = this.fetchers.get(leaderId);
    if (!f) {
      f = new LeaderFetcher(this, leaderId);
      this.fetchers.set(leaderId, f);
    }
    this.leaderOf.set(key(topic, partition), leaderId);
    const retryMs = Math.min(notLeaderRetryFirstMs, this.config.fetchBackoffMs);
    f.add({ topic, partition, leaderEpoch, phase: 'truncating', delayedUntil: 0, lane: 'main', retryMs });
  }

  removePartition(topic: string, partition: number): void {
    const k = key(topic, partition);
    const leaderId = this.leaderOf.get(k);
    if (leaderId === undefined) return;
    this.leaderOf.delete(k);
    this.fetchers.get(leaderId)?.remove(k);
  }

  /** The leader this partition is fetched from, if any (for tests and tools). */
  fetchingFrom(topic: string, partition: number): number | undefined {
    return this.leaderOf.get(key(topic, partition));
  }

  /** The phase of a followed partition (for tests and tools). */
  phaseOf(topic: string, partition: number): Phase | undefined {
    const leaderId = this.leaderOf.get(key(topic, partition));
    return leaderId === undefined ? undefined : this.fetchers.get(leaderId)?.phaseOf(key(topic, partition));
  }

  /** Called by a fetcher whose partitions are all gone. */
  retire(leaderId: number, f: LeaderFetcher): void {
    if (this.fetchers.get(leaderId) === f) this.fetchers.delete(leaderId);
  }

  close(): void {
    this.closed = true;
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    this.leaderOf.clear();
  }
}

/** One leader's fetch loop. */
class LeaderFetcher {
  private readonly partitions = new Map<string, FollowState>();
  private client: FetchClient | undefined;
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Set after a failed round; the first failure of a run of them is logged as a warning. */
  private failing = false;
  /** True while the main loop is in a round (its fetch may be parked at the leader). */
  private mainBusy = false;
  private sideClient: FetchClient | undefined;
  private sideRun: Promise<void> | undefined;
  private sideStop = false;
  private sideWake: (() => void) | undefined;

  constructor(
    private readonly m: ReplicaFetcherManager,
    private readonly leaderId: number,
  ) {}

  add(s: FollowState): void {
    s.lane = this.mainBusy ? 'side' : 'main';
    this.partitions.set(key(s.topic, s.partition), s);
    if (s.lane === 'side') this.startSide();
    this.wake?.();
    if (!this.running && !this.stopped) {
      this.running = true;
      void this.run().finally(() => {
        this.running = false;
      });
    }
  }

  remove(k: string): void {
    this.partitions.delete(k);
    if (this.partitions.size === 0) {
      this.wake?.();
      this.sideWake?.();
    }
  }

  phaseOf(k: string): Phase | undefined {
    return this.partitions.get(k)?.phase;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.sideClient?.close();
    this.wake?.();
    this.sideWake?.();
  }

  private get log(): Logger | undefined {
    return this.m.logger;
  }

  private async run(): Promise<void> {
    const cfg = this.m.config;
    while (!this.stopped && this.partitions.size > 0) {
      try {
        await this.takeOverSide();
        const client = await this.ensureClient();
        if (!client) {
          await this.sleep(cfg.fetchBackoffMs, 'main');
          continue;
        }
        this.mainBusy = true;
        let fetched: boolean;
        try {
          fetched = await this.round(client, 'main', cfg.fetchWaitMaxMs);
        } finally {
          this.mainBusy = false;
        }
        if (!fetched) {
          // Nothing of its own to fetch while the side lane has partitions: take them over now.
          if (this.sideRun === undefined) await this.sleep(this.idleWaitMs('main'), 'main');
          continue;
        }
        this.failing = false;
      } catch (err) {
        if (this.stopped) break;
        const fields = { err: String(err), leader: this.leaderId, backoffMs: cfg.fetchBackoffMs };
        const msg = 'replica fetch from the leader failed; reconnecting after backoff (is the leader up and reachable?)';
        if (this.failing) this.log?.debug(fields, msg);
        else this.log?.warn(fields, msg);
        this.failing = true;
        this.client?.close();
        this.client = undefined;
        await this.sleep(cfg.fetchBackoffMs, 'main');
      }
    }
    this.sideStop = true;
    this.sideWake?.();
    await this.sideRun;
    this.client?.close();
    this.client = undefined;
    this.sideClient?.close();
    this.sideClient = undefined;
    this.m.retire(this.leaderId, this);
  }

  /**
   * One round of a lane: truncate the partitions that must, then fetch the rest. False when the
   * lane had nothing ready to fetch.
   */
  private async round(client: FetchClient, lane: Lane, maxWaitMs: number): Promise<boolean> {
    const now = Date.now();
    const ready = [...this.partitions.values()].filter((s) => s.lane === lane && s.phase !== 'paused' && s.delayedUntil <= now);
    const truncating = ready.filter((s) => s.phase === 'truncating');
    if (truncating.length > 0) await this.truncate(client, truncating);
    const fetching = ready.filter((s) => s.phase === 'fetching' && this.partitions.get(key(s.topic, s.partition)) === s);
    if (fetching.length === 0) return false;
    await this.fetch(client, fetching, maxWaitMs);
    return true;
  }

  /**
   * Until the lane's earliest delayed partition is due (at least notLeaderRetryFirstMs, so a
   * truncation that is not settled yet does not spin); the full backoff when none is waiting.
   */
  private idleWaitMs(lane: Lane): number {
    const backoffMs = this.m.config.fetchBackoffMs;
    let due = Number.POSITIVE_INFINITY;
    for (const s of this.partitions.values()) if (s.lane === lane && s.phase !== 'paused') due = Math.min(due, s.delayedUntil);
    if (due === Number.POSITIVE_INFINITY) return backoffMs;
    return Math.min(backoffMs, Math.max(notLeaderRetryFirstMs, due - Date.now()));
  }

  private startSide(): void {
    if (this.sideRun || this.stopped) return;
    this.sideStop = false;
    this.sideRun = this.runSide().finally(() => {
      this.sideRun = undefined;
    });
  }

  /** The side lane's loop: short-wait rounds for its partitions until the main loop takes them over. */
  private async runSide(): Promise<void> {
    const cfg = this.m.config;
    const waitMs = Math.min(cfg.fetchWaitMaxMs, sideFetchWaitMsMax);
    while (!this.stopped && !this.sideStop) {
      if (![...this.partitions.values()].some((s) => s.lane === 'side')) break;
      try {
        if (!this.sideClient || this.sideClient.closed) this.sideClient = await this.m.connect(this.leaderId);
        const client = this.sideClient;
        if (this.stopped) client?.close();
        if (!client) {
          await this.sleep(cfg.fetchBackoffMs, 'side');
          continue;
        }
        if (!(await this.round(client, 'side', waitMs))) await this.sleep(Math.min(this.idleWaitMs('side'), waitMs), 'side');
      } catch (err) {
        if (this.stopped || this.sideStop) break;
        this.log?.debug(
          { err: String(err), leader: this.leaderId },
          'side-lane replica fetch failed; the main loop takes its partitions over',
        );
        this.sideClient?.close();
        this.sideClient = undefined;
        await this.sleep(cfg.fetchBackoffMs, 'side');
      }
    }
  }

  /** Between its rounds, the main loop takes the side lane's partitions over once the side round ends. */
  private async takeOverSide(): Promise<void> {
    if (!this.sideRun) return;
    this.sideStop = true;
    this.sideWake?.();
    await this.sideRun;
    for (const s of this.partitions.values()) s.lane = 'main';
  }

  private async ensureClient(): Promise<FetchClient | undefined> {
    if (this.client && !this.client.closed) return this.client;
    this.client = await this.m.connect(this.leaderId);
    if (this.stopped) this.client?.close();
    return this.client;
  }

  /** Waits `ms` or until a partition is added or removed (or, for the side lane, until it must stop). */
  private sleep(ms: number, lane: Lane): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (lane === 'main' && self.wake === done) self.wake = undefined;
        if (lane === 'side' && self.sideWake === done) self.sideWake = undefined;
        resolve();
      }
      if (lane === 'main') this.wake = done;
      else this.sideWake = done;
    });
  }

  /** The state if it is still the one current for its partition (not replaced or removed meanwhile). */
  private current(s: FollowState): HostedPartition | undefined {
    if (this.partitions.get(key(s.topic, s.partition)) !== s) return undefined;
    const p = this.m.host.hosted(s.topic, s.partition);
    if (!p || p.isLeader) return undefined;
    return p;
  }

  private delay(s: FollowState): void {
    s.delayedUntil = Date.now() + this.m.config.fetchBackoffMs;
  }

  /** Where each partition's log must end under the new leader (KIP-101), asked until settled. */
  private async truncate(client: FetchClient, states: FollowState[]): Promise<void> {
    const asking: { s: FollowState; p: HostedPartition; epoch: number }[] = [];
    for (const s of states) {
      const p = this.current(s);
      if (!p) continue;
      const epoch = p.log.epochs.latestEpoch;
      if (epoch < 0) {
        // No epochs (an empty or pre-epoch log): only what the HW covers is known to be committed.
        this.m.host.truncateFollower(p, p.log.highWatermark);
        s.phase = 'fetching';
        continue;
      }
      asking.push({ s, p, epoch });
    }
    if (asking.length === 0) return;
    const byTopic = new Map<string, Msg[]>();
    for (const a of asking) {
      let list = byTopic.get(a.s.topic);
      if (!list) {
        list = [];
        byTopic.set(a.s.topic, list);
      }
      list.push({ partition: a.s.partition, currentLeaderEpoch: a.s.leaderEpoch, leaderEpoch: a.epoch });
    }
    const resp = await client.request(
      API_OFFSET_FOR_LEADER_EPOCH,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      { replicaId: this.m.config.brokerId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) },
      { timeoutMs: this.m.config.socketTimeoutMs },
    );
    for (const t of resp.topics as Msg[]) {
      for (const r of t.partitions as Msg[]) {
        const a = asking.find((x) => x.s.topic === t.topic && x.s.partition === r.partition);
        if (!a || !this.current(a.s)) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          this.onPartitionError(a.s, r.errorCode as number, 'OffsetForLeaderEpoch');
          continue;
        }
        this.applyTruncation(a.s, a.p, { leaderEpoch: r.leaderEpoch as number, endOffset: r.endOffset as number });
      }
    }
  }

  private applyTruncation(s: FollowState, p: HostedPartition, leader: { leaderEpoch: number; endOffset: number }): void {
    const d = truncationDecision(leader, p.log.epochs, p.log.logEndOffset, p.log.highWatermark);
    if (d.offset < p.log.logEndOffset) {
      this.log?.info(
        { topic: s.topic, partition: s.partition, from: p.log.logEndOffset, to: d.offset, leaderEpoch: s.leaderEpoch },
        'truncating follower log by leader epoch',
      );
    }
    // Also at our log end: an epoch we started as leader without appending must go (Kafka trims it too).
    this.m.host.truncateFollower(p, d.offset);
    // Not settled: the next round asks again for the epoch we are left with.
    s.phase = d.done ? 'fetching' : 'truncating';
  }

  private async fetch(client: FetchClient, states: FollowState[], maxWaitMs: number): Promise<void> {
    const cfg = this.m.config;
    const byTopic = new Map<string, Msg[]>();
    const sent = new Map<string, { s: FollowState; p: HostedPartition; fetchOffset: number }>();
    for (const s of states) {
      const p = this.current(s);
      if (!p) continue;
      const fetchOffset = p.log.logEndOffset;
      let list = byTopic.get(s.topic);
      if (!list) {
        list = [];
        byTopic.set(s.topic, list);
      }
      list.push({
        partition: s.partition,
        currentLeaderEpoch: s.leaderEpoch,
        fetchOffset,
        lastFetchedEpoch: p.log.epochs.latestEpoch,
        logStartOffset: p.log.logStartOffset,
        partitionMaxBytes: cfg.fetchMaxBytes,
      });
      sent.set(key(s.topic, s.partition), { s, p, fetchOffset });
    }
    if (sent.size === 0) return;
    const resp = await client.request(
      API_FETCH,
      FETCH_VERSION,
      {
        replicaId: cfg.brokerId,
        maxWaitMs,
        minBytes: cfg.fetchMinBytes,
        maxBytes: cfg.fetchResponseMaxBytes,
        isolationLevel: 0,
        // No fetch session (KIP-227): every fetch is a full one.
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs: cfg.socketTimeoutMs + maxWaitMs },
    );
    if ((resp.errorCode as number) !== ErrorCode.NONE)
      throw new Error(`fetch from broker ${this.leaderId} failed with error ${resp.errorCode}`);
    const outOfRange: { s: FollowState; p: HostedPartition }[] = [];
    for (const t of resp.responses as Msg[]) {
      for (const r of t.partitions as Msg[]) {
        const e = sent.get(key(t.topic as string, r.partitionIndex as number));
        if (!e) continue;
        // Leadership may have moved while the fetch was out; then its answer no longer counts.
        const p = this.current(e.s);
        if (!p || p.log.logEndOffset !== e.fetchOffset) continue;
        const code = r.errorCode as number;
        if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          outOfRange.push({ s: e.s, p });
          continue;
        }
        if (code !== ErrorCode.NONE) {
          this.onPartitionError(e.s, code, 'Fetch');
          continue;
        }
        e.s.retryMs = Math.min(notLeaderRetryFirstMs, cfg.fetchBackoffMs);
        const diverging = r.divergingEpoch as Msg | undefined;
        if (diverging && (diverging.epoch as number) >= 0) {
          this.applyTruncation(e.s, p, { leaderEpoch: diverging.epoch as number, endOffset: diverging.endOffset as number });
          continue;
        }
        const records = r.records as Buffer | null;
        if (records && records.length > 0) {
          try {
            this.m.host.appendAsFollower(p, records);
          } catch (err) {
            // Batches that do not line up with our log: settle the log end with the leader again.
            this.log?.warn(
              { err: String(err), topic: e.s.topic, partition: e.s.partition, leader: this.leaderId },
              'could not append fetched batches; truncating by leader epoch again',
            );
            e.s.phase = 'truncating';
            this.delay(e.s);
            continue;
          }
        }
        this.m.host.followerFetched(p, r.highWatermark as number, r.logStartOffset as number);
      }
    }
    for (const o of outOfRange) await this.resetOutOfRange(client, o.s, o.p);
  }

  /** Kafka's handling of OFFSET_OUT_OF_RANGE: compare with the leader's log end, then its log start. */
  private async resetOutOfRange(client: FetchClient, s: FollowState, p: HostedPartition): Promise<void> {
    const end = await this.listOffset(client, s, LATEST_TIMESTAMP);
    if (end === undefined || !this.current(s)) return;
    const start = end < p.log.logEndOffset ? end : await this.listOffset(client, s, EARLIEST_TIMESTAMP);
    if (start === undefined || !this.current(s)) return;
    const d = outOfRangeDecision(p.log.logEndOffset, start, end);
    this.log?.info(
      { topic: s.topic, partition: s.partition, logEndOffset: p.log.logEndOffset, leaderStart: start, leaderEnd: end, action: d.kind },
      'follower fetch offset out of range',
    );
    if (d.kind === 'truncate') this.m.host.truncateFollower(p, d.offset);
    else if (d.kind === 'start-at') this.m.host.restartFollowerAt(p, d.offset);
  }

  private async listOffset(client: FetchClient, s: FollowState, timestamp: number): Promise<number | undefined> {
    const resp = await client.request(
      API_LIST_OFFSETS,
      LIST_OFFSETS_VERSION,
      {
        replicaId: this.m.config.brokerId,
        isolationLevel: 0,
        topics: [{ name: s.topic, partitions: [{ partitionIndex: s.partition, currentLeaderEpoch: s.leaderEpoch, timestamp }] }],
      },
      { timeoutMs: this.m.config.socketTimeoutMs },
    );
    const r = ((resp.topics as Msg[])[0]?.partitions as Msg[] | undefined)?.[0];
    if (!r || r.errorCode !== ErrorCode.NONE) {
      this.onPartitionError(s, (r?.errorCode as number | undefined) ?? ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets');
      return undefined;
    }
    return r.offset as number;
  }

  private onPartitionError(s: FollowState, code: number, api: string): void {
    if (code === ErrorCode.FENCED_LEADER_EPOCH) {
      // Our leader epoch is older than the leader's: only the controller's next LeaderAndIsr helps.
      s.phase = 'paused';
      this.log?.info({ topic: s.topic, partition: s.partition, leader: this.leaderId, api }, 'follower fenced; waiting for LeaderAndIsr');
      return;
    }
    // NOT_LEADER_OR_FOLLOWER / UNKNOWN_LEADER_EPOCH: the leader has not applied this LeaderAndIsr
    // yet (the controller sends to all replicas at once); retry soon, then backing off to
    // replica.fetch.backoff.ms (Kafka waits the whole backoff at once).
    this.log?.debug(
      { topic: s.topic, partition: s.partition, leader: this.leaderId, api, errorCode: code, retryMs: s.retryMs },
      'follower fetch error; retrying',
    );
    s.delayedUntil = Date.now() + s.retryMs;
    s.retryMs = Math.min(s.retryMs * 2, this.m.config.fetchBackoffMs);
  }
}
