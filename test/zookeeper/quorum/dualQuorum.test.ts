// The consensus core across a voter change (quorum/dualQuorum.ts, Apache's tryToCommit with the
// old and the new QuorumVerifier): no sockets, a hand-driven network where the test holds back
// chosen peers' ACKs. A reconfig proposal and everything proposed after it commit only with an ACK
// quorum of the old voters and one of the new voters; at its commit every member switches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuorumPeer } from '../../../src/zookeeper/quorum/peer.js';
import { majorityOf } from '../../../src/zookeeper/quorum/dualQuorum.js';
import {
  DEFAULT_CORE_CONFIG,
  makeZxid,
  type CoreConfig,
  type Msg,
  type Output,
  type PeerId,
  type QTxn,
  type QuorumMemberSpec,
} from '../../../src/zookeeper/quorum/types.js';

/** Test txns: a reconfig is 0xcf then the new voters' ids; anything else is a plain write. */
const RECONFIG = 0xcf;
const reconfigOf = (t: QTxn): QuorumMemberSpec[] | undefined =>
  t.data[0] === RECONFIG ? [...t.data.subarray(1)].map((id) => ({ id, observer: false })) : undefined;

class Net {
  readonly peers = new Map<PeerId, QuorumPeer>();
  private readonly queue: ({ from: PeerId; to: PeerId; msg: Msg } | { to: PeerId; persisted: number })[] = [];
  /** ACKs from these peers are parked instead of delivered (see release). */
  readonly holdAcksFrom = new Set<PeerId>();
  private readonly parked: { from: PeerId; to: PeerId; msg: Msg }[] = [];
  readonly commits = new Map<PeerId, number[]>();
  now = 0;

  constructor(ids: number[]) {
    const cfg: CoreConfig = {
      members: ids.map((id) => ({ id, observer: false })),
      tickMs: 100,
      initLimit: 10,
      syncLimit: 5,
      ...DEFAULT_CORE_CONFIG,
      reconfigOf,
    };
    for (const id of ids) {
      this.peers.set(id, new QuorumPeer(id, cfg, { acceptedEpoch: 0, currentEpoch: 0, log: [], snapshotZxid: 0 }, 0));
      this.commits.set(id, []);
    }
    for (const [id, p] of this.peers) this.carry(id, p.start(0));
    for (const [id, p] of this.peers)
      for (const other of ids) if (other !== id) this.carry(id, p.handle({ kind: 'connected', peer: other, now: 0 }));
    this.run();
  }

  peer(id: PeerId): QuorumPeer {
    return this.peers.get(id)!;
  }

  carry(from: PeerId, outs: Output[]): void {
    for (const o of outs) {
      if (o.kind === 'persist') this.queue.push({ to: from, persisted: o.p.seq });
      else if (o.kind === 'send') this.queue.push({ from, to: o.to, msg: o.msg });
      else if (o.kind === 'commit') this.commits.get(from)!.push(o.txn.zxid);
    }
  }

  run(): void {
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      const p = this.peers.get(m.to)!;
      if ('persisted' in m) {
        this.carry(m.to, p.handle({ kind: 'persisted', seq: m.persisted, now: this.now }));
      } else if (m.msg.t === 'ack' && this.holdAcksFrom.has(m.from)) {
        this.parked.push(m);
      } else {
        this.carry(m.to, p.handle({ kind: 'message', from: m.from, msg: m.msg, now: this.now }));
      }
    }
  }

  /** Delivers the parked ACKs of `id` and stops holding its new ones. */
  release(id: PeerId): void {
    this.holdAcksFrom.delete(id);
    for (const m of this.parked.filter((x) => x.from === id)) this.queue.push(m);
    this.parked.splice(0, this.parked.length, ...this.parked.filter((x) => x.from !== id));
    this.run();
  }

  /** Ticks every peer (timers of elections) until `done` or the simulated deadline. */
  tickUntil(done: () => boolean, ms = 5000): void {
    const end = this.now + ms;
    while (!done() && this.now < end) {
      this.now += 10;
      for (const [id, p] of this.peers) this.carry(id, p.handle({ kind: 'tick', now: this.now }));
      this.run();
    }
    assert.ok(done(), 'condition not reached before the simulated deadline');
  }

  leader(): QuorumPeer {
    const ls = [...this.peers.values()].filter((p) => p.state === 'leading' && p.serving);
    assert.equal(ls.length, 1, 'one serving leader');
    return ls[0]!;
  }

  propose(data: number[]): number {
    const l = this.leader();
    const zxid = l.nextZxid;
    this.carry(l.id, l.propose({ zxid, data: Uint8Array.from(data) }, this.now));
    this.run();
    return zxid;
  }
}

const committedAt = (net: Net, id: PeerId, zxid: number): boolean => net.commits.get(id)!.includes(zxid);

test('dual quorum: majorityOf counts only the given voters', () => {
  assert.equal(majorityOf(new Set([1, 2, 3]), [1, 2, 9]), true);
  assert.equal(majorityOf(new Set([1, 2, 3]), [1, 9, 8]), false);
  assert.equal(majorityOf(new Set([1, 2, 3, 4]), [1, 2]), false);
});

test('dual quorum: the new voters ack but the old ones do not -> no commit until an old quorum acks', () => {
  const net = new Net([1, 2, 3, 4, 5]);
  const l = net.leader();
  assert.equal(l.id, 5);
  // 5 voters -> 3 (remove 1 and 2). Only 4 and 5 ack at first: a quorum of {3,4,5}, not of {1..5}.
  for (const id of [1, 2, 3]) net.holdAcksFrom.add(id);
  const r = net.propose([RECONFIG, 3, 4, 5]);
  const w = net.propose([1]); // proposed while the reconfig is pending: needs both quorums too
  assert.equal(committedAt(net, 5, r), false, 'new quorum alone must not commit');
  assert.deepEqual([...l.voters].sort(), [1, 2, 3, 4, 5]);
  net.release(3); // {3,4,5}: 3 of 5 old voters and 3 of 3 new ones
  assert.equal(committedAt(net, 5, r), true);
  assert.equal(committedAt(net, 5, w), true);
  for (const id of [3, 4, 5]) assert.deepEqual([...net.peer(id).voters].sort(), [3, 4, 5], `voters switched on ${id}`);
  // After the commit only the new voters count: 4 and 5 are a quorum of {3,4,5}.
  net.holdAcksFrom.add(3);
  const after = net.propose([2]);
  assert.equal(committedAt(net, 5, after), true);
});

test('dual quorum: the old voters ack but the new ones do not -> no commit until a new quorum acks', () => {
  const net = new Net([1, 2, 3, 4, 5]);
  for (const id of [3, 4]) net.holdAcksFrom.add(id);
  // {5,1,2} is a quorum of the old five but holds one of the new {3,4,5}.
  const r = net.propose([RECONFIG, 3, 4, 5]);
  assert.equal(committedAt(net, 5, r), false, 'old quorum alone must not commit');
  net.release(4);
  assert.equal(committedAt(net, 5, r), true);
  assert.equal(net.leader().id, 5);
});

test('dual quorum: a member removed by a reconfig follows without a vote (and still serves, as in Apache 3.8)', () => {
  const net = new Net([1, 2, 3, 4, 5]);
  const r = net.propose([RECONFIG, 1, 2, 3, 4, 5].filter((x) => x !== 2)); // remove 2 (5 -> 4 voters)
  for (const id of [1, 2, 3, 4, 5]) assert.ok(committedAt(net, id, r), `${id} applied the reconfig`);
  const removed = net.peer(2);
  assert.equal(removed.state, 'following');
  assert.equal(removed.serving, true, 'a non-voting follower');
  assert.deepEqual([...removed.voters].sort(), [1, 3, 4, 5]);
  for (const id of [1, 3, 4]) assert.equal(net.peer(id).serving, true);
  // Its acks no longer count: 5 and 1 of {1,3,4,5} are no quorum even with 2's ack.
  net.holdAcksFrom.add(3);
  net.holdAcksFrom.add(4);
  const w = net.propose([7]);
  assert.equal(committedAt(net, 5, w), false);
  net.release(3);
  assert.equal(committedAt(net, 5, w), true);
  // Added back: it votes and serves again.
  const back = net.propose([RECONFIG, 1, 2, 3, 4, 5]);
  assert.ok(committedAt(net, 2, back));
  assert.deepEqual([...removed.voters].sort(), [1, 2, 3, 4, 5]);
});

test('dual quorum: a leader that removes itself commits, then the others elect a leader without it', () => {
  const net = new Net([1, 2, 3]);
  assert.equal(net.leader().id, 3);
  const r = net.propose([RECONFIG, 1, 2]);
  assert.equal(r, makeZxid(1, 1));
  for (const id of [1, 2, 3]) assert.ok(committedAt(net, id, r), `${id} applied the reconfig`);
  net.tickUntil(
    () =>
      net.peer(2).state === 'leading' &&
      net.peer(2).serving &&
      net.peer(1).serving &&
      net.peer(3).state === 'following' &&
      net.peer(3).serving,
  );
  assert.equal(net.peer(3).leader, 2, 'the old leader follows without a vote');
  assert.equal(net.peer(3).voters.has(3), false);
  const w = net.propose([9]);
  for (const id of [1, 2]) assert.ok(committedAt(net, id, w));
});
