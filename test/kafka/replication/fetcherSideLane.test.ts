// The replica fetcher's side lane: a partition added while the leader's fetch is parked is fetched
// at once on a second connection (not after replica.fetch.wait.max.ms), no partition is ever in
// two fetches in flight at once, and the main loop takes the side lane's partitions over. A
// leader that does not lead the partition yet is asked again soon, not after the whole backoff.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostedPartition } from '../../../src/kafka/broker/replicaManager.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import {
  type FetchClient,
  type FetcherHost,
  ReplicaFetcherManager,
  sideFetchWaitMsMax,
} from '../../../src/kafka/replication/replicaFetcher.js';
import { waitFor } from '../../helpers/wait.js';

const API_FETCH = 1;
const FETCH_WAIT_MAX_MS = 400;
/** Long enough that a retry after it would be seen as the old behaviour. */
const BACKOFF_MS = 5_000;

/** A partition as the fetcher reads it: an empty log without epochs (no truncation request). */
function hosted(topic: string, partition: number): HostedPartition {
  const log = { epochs: { latestEpoch: -1 }, logEndOffset: 0, highWatermark: 0, logStartOffset: 0 };
  return { topic, partition, isLeader: false, log } as unknown as HostedPartition;
}

interface FakeLeader {
  clients: FakeClient[];
  /** Partition names of every fetch sent, per connection, in order. */
  fetches: { conn: number; partitions: string[] }[];
  overlaps: string[];
  /** Answers NOT_LEADER_OR_FOLLOWER for these partitions while set. */
  notLeader: Set<string>;
  /** While true, the first connection's fetch stays parked until released. */
  holdMain: boolean;
  releaseMain: () => void;
}

class FakeClient implements FetchClient {
  closed = false;
  constructor(
    private readonly leader: FakeLeader,
    private readonly conn: number,
  ) {}
  async request(apiKey: number, _version: number, body: Msg): Promise<Msg> {
    assert.equal(apiKey, API_FETCH, 'only fetches: the logs have no epochs to truncate by');
    const names = (body.topics as Msg[]).flatMap((t) => (t.partitions as Msg[]).map((p) => `${t.topic}-${p.partition}`));
    const l = this.leader;
    l.fetches.push({ conn: this.conn, partitions: names });
    const inFlight = (l as FakeLeader & { inFlight: Set<string> }).inFlight;
    for (const n of names) {
      if (inFlight.has(n)) l.overlaps.push(n);
      inFlight.add(n);
    }
    try {
      const anyNotLeader = names.some((n) => l.notLeader.has(n));
      if (!anyNotLeader) {
        if (this.conn === 0 && l.holdMain) await new Promise<void>((r) => (l.releaseMain = r));
        else await new Promise((r) => setTimeout(r, body.maxWaitMs as number));
      }
      const byTopic = new Map<string, Msg[]>();
      for (const t of body.topics as Msg[]) {
        byTopic.set(
          t.topic as string,
          (t.partitions as Msg[]).map((p) => ({
            partitionIndex: p.partition,
            errorCode: l.notLeader.has(`${t.topic}-${p.partition}`) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.NONE,
            highWatermark: 0,
            logStartOffset: 0,
            records: null,
          })),
        );
      }
      return { errorCode: 0, responses: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
    } finally {
      for (const n of names) inFlight.delete(n);
    }
  }
  close(): void {
    this.closed = true;
  }
}

function rig(): { m: ReplicaFetcherManager; leader: FakeLeader; host: Map<string, HostedPartition> } {
  const leader = {
    clients: [],
    fetches: [],
    overlaps: [],
    notLeader: new Set<string>(),
    holdMain: true,
    releaseMain: () => undefined,
    inFlight: new Set<string>(),
  } as FakeLeader & { inFlight: Set<string> };
  const parts = new Map<string, HostedPartition>();
  const host: FetcherHost = {
    hosted: (t, p) => parts.get(`${t}-${p}`),
    appendAsFollower: () => undefined,
    truncateFollower: () => undefined,
    restartFollowerAt: () => undefined,
    followerFetched: () => undefined,
  };
  const m = new ReplicaFetcherManager(
    {
      brokerId: 2,
      fetchWaitMaxMs: FETCH_WAIT_MAX_MS,
      fetchMinBytes: 1,
      fetchMaxBytes: 1 << 20,
      fetchResponseMaxBytes: 10 << 20,
      fetchBackoffMs: BACKOFF_MS,
      socketTimeoutMs: 30_000,
    },
    host,
    async () => {
      const c = new FakeClient(leader, leader.clients.length);
      leader.clients.push(c);
      return c;
    },
    undefined,
  );
  return { m, leader, host: parts };
}

test('a partition added while the leader fetch is parked is fetched on a side connection, then taken over', async () => {
  const { m, leader, host } = rig();
  try {
    host.set('t-0', hosted('t', 0));
    host.set('t-1', hosted('t', 1));
    m.addPartition(1, 't', 0, 5);
    await waitFor(() => leader.fetches.length === 1, { timeoutMs: 10_000, what: 'the main fetch parked' });
    m.addPartition(1, 't', 1, 5);
    // The side lane fetches the new partition alone, on a second connection, with a short wait.
    await waitFor(() => leader.fetches.some((f) => f.conn === 1), { timeoutMs: 10_000, what: 'a side-lane fetch' });
    assert.deepEqual(leader.fetches.find((f) => f.conn === 1)?.partitions, ['t-1']);
    assert.ok(sideFetchWaitMsMax < FETCH_WAIT_MAX_MS);
    // The main fetch answers: the main loop takes t-1 over and fetches both on its own connection.
    leader.holdMain = false;
    leader.releaseMain();
    await waitFor(() => leader.fetches.some((f) => f.conn === 0 && f.partitions.includes('t-1')), {
      timeoutMs: 10_000,
      what: 'the main loop fetching the side partition',
    });
    const firstMainWithBoth = leader.fetches.findIndex((f) => f.conn === 0 && f.partitions.includes('t-1'));
    assert.deepEqual(leader.fetches[firstMainWithBoth]?.partitions.sort(), ['t-0', 't-1']);
    assert.ok(
      leader.fetches.slice(firstMainWithBoth).every((f) => f.conn === 0),
      'no side-lane fetch after the takeover',
    );
    assert.deepEqual(leader.overlaps, [], 'no partition in two fetches at once');
  } finally {
    m.close();
  }
});

test('a leader that does not lead the partition yet is asked again soon, not after replica.fetch.backoff.ms', async () => {
  const { m, leader, host } = rig();
  leader.holdMain = false;
  try {
    host.set('t-0', hosted('t', 0));
    leader.notLeader.add('t-0');
    m.addPartition(1, 't', 0, 5);
    await waitFor(() => leader.fetches.length >= 2, { timeoutMs: 10_000, what: 'two not-leader answers' });
    leader.notLeader.delete('t-0');
    const before = leader.fetches.length;
    // A retry after the whole 5 s backoff would not come before this deadline bounds the failure.
    await waitFor(() => leader.fetches.length > before, { timeoutMs: BACKOFF_MS - 1_000, what: 'a retry before the backoff' });
    assert.equal(m.phaseOf('t', 0), 'fetching');
  } finally {
    m.close();
  }
});
