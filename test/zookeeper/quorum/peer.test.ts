// The consensus core (quorum/peer.ts) driven by hand: what it does when a link comes up.
// Messages sent while a link is down are dropped by the shell, so a `connected` input must bring
// the peer what it missed (the vote of a looking peer, a learner's hello to its leader); at a
// cold start that is what lets the election finish without waiting for the periodic resend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuorumPeer } from '../../../src/zookeeper/quorum/peer.js';
import { DEFAULT_CORE_CONFIG, type CoreConfig, type Msg, type Output } from '../../../src/zookeeper/quorum/types.js';

const cfg: CoreConfig = {
  members: [1, 2, 3].map((id) => ({ id, observer: false })),
  tickMs: 2000,
  initLimit: 10,
  syncLimit: 5,
  ...DEFAULT_CORE_CONFIG,
};

const fresh = (id: number): QuorumPeer => new QuorumPeer(id, cfg, { acceptedEpoch: 0, currentEpoch: 0, log: [], snapshotZxid: 0 }, 0);

function sends(outs: Output[]): { to: number; msg: Msg }[] {
  return outs.flatMap((o) => (o.kind === 'send' ? [{ to: o.to, msg: o.msg }] : []));
}

test('peer core: a looking peer sends its vote again to a peer whose link comes up', () => {
  const p = fresh(1);
  // Before start there is no vote to tell: start() sends it to everyone.
  assert.deepEqual(p.handle({ kind: 'connected', peer: 2, now: 0 }), []);
  const first = sends(p.start(1));
  assert.deepEqual(first.map((s) => s.to).sort(), [2, 3]);
  // Those went out while no link was up (dropped). Peer 2's link comes up well before the resend.
  const again = sends(p.handle({ kind: 'connected', peer: 2, now: 5 }));
  assert.deepEqual(again, [{ to: 2, msg: { t: 'vote', state: 'looking', vote: { leader: 1, zxid: 0, epoch: 0 }, round: 1 } }]);
});

test('peer core: a cold start elects at once when links come up after the first votes', () => {
  const peers = [fresh(1), fresh(2), fresh(3)];
  // Links up between every pair (both ends told); every message is delivered at once, in order,
  // and every disk write is durable at once.
  const up = new Set<string>();
  const queue: ({ from: number; to: number; msg: Msg } | { to: number; persisted: number })[] = [];
  const carry = (from: number, outs: Output[]): void => {
    for (const o of outs) {
      if (o.kind === 'persist') queue.push({ to: from, persisted: o.p.seq });
      else if (o.kind === 'send' && up.has(`${Math.min(from, o.to)}-${Math.max(from, o.to)}`)) queue.push({ from, to: o.to, msg: o.msg });
    }
  };
  let now = 0;
  for (const p of peers) carry(p.id, p.start(now)); // every first vote is lost: no link is up yet
  now = 10;
  for (const [a, b] of [
    [1, 2],
    [1, 3],
    [2, 3],
  ] as const) {
    up.add(`${a}-${b}`);
    carry(a, peers[a - 1]!.handle({ kind: 'connected', peer: b, now }));
    carry(b, peers[b - 1]!.handle({ kind: 'connected', peer: a, now }));
  }
  while (queue.length > 0) {
    const m = queue.shift()!;
    const p = peers[m.to - 1]!;
    carry(
      m.to,
      'persisted' in m
        ? p.handle({ kind: 'persisted', seq: m.persisted, now })
        : p.handle({ kind: 'message', from: m.from, msg: m.msg, now }),
    );
  }
  // No tick ran, so neither the vote resend nor the finalize wait played a part.
  assert.equal(peers[2]!.state, 'leading');
  assert.deepEqual(
    peers.map((p) => p.leader),
    [3, 3, 3],
  );
  assert.ok(
    peers.every((p) => p.serving),
    'discovery and sync completed too',
  );
});

test('peer core: a learner says hello again when its link to the leader comes up', () => {
  const p = fresh(1);
  p.start(0);
  // Peer 3 (the best vote) and peer 2 already agree: peer 1 follows 3.
  p.handle({ kind: 'message', from: 3, msg: { t: 'vote', state: 'looking', vote: { leader: 3, zxid: 0, epoch: 0 }, round: 1 }, now: 1 });
  const outs = p.handle({
    kind: 'message',
    from: 2,
    msg: { t: 'vote', state: 'looking', vote: { leader: 3, zxid: 0, epoch: 0 }, round: 1 },
    now: 2,
  });
  assert.equal(p.state, 'following');
  assert.ok(
    sends(outs).some((s) => s.to === 3 && s.msg.t === 'learnerinfo'),
    'first hello (lost if the quorum link was down)',
  );
  const again = sends(p.handle({ kind: 'connected', peer: 3, now: 3 }));
  assert.deepEqual(again, [{ to: 3, msg: { t: 'learnerinfo', acceptedEpoch: 0, observer: false } }]);
  assert.deepEqual(sends(p.handle({ kind: 'connected', peer: 2, now: 4 })), [], 'another peer: nothing to say');
});

test('peer core: a looking peer adopts a newer configuration from a notification and votes again with it', () => {
  // Configurations travel as bytes the host decodes (reconfigOf): here the voters' ids.
  const decode = (t: { data: Uint8Array }) => [...t.data].map((id) => ({ id, observer: false }));
  const withConfig: CoreConfig = { ...cfg, reconfigOf: decode, config: { version: 0, data: Uint8Array.from([1, 2, 3]) } };
  const p = new QuorumPeer(3, withConfig, { acceptedEpoch: 0, currentEpoch: 0, log: [], snapshotZxid: 0 }, 0);
  const first = sends(p.start(1));
  assert.deepEqual(first[0]!.msg, {
    t: 'vote',
    state: 'looking',
    vote: { leader: 3, zxid: 0, epoch: 0 },
    round: 1,
    config: withConfig.config,
  });
  // Peer 1 leads a configuration (version 0x100000005) in which 3 no longer votes.
  const newer = { version: 0x100000005, data: Uint8Array.from([1, 2]) };
  const leading = {
    t: 'vote' as const,
    state: 'leading' as const,
    vote: { leader: 1, zxid: 0x100000007, epoch: 1 },
    round: 4,
    config: newer,
  };
  const outs = p.handle({ kind: 'message', from: 1, msg: leading, now: 2 });
  assert.deepEqual(
    outs.filter((o) => o.kind === 'configAdopted'),
    [{ kind: 'configAdopted', config: newer }],
  );
  assert.deepEqual([...p.voters].sort(), [1, 2]);
  // A new round as a non-voter: no candidate of its own, the new configuration in every notification.
  const again = sends(outs);
  assert.deepEqual(again.map((s) => s.to).sort(), [1, 2]);
  for (const s of again)
    assert.deepEqual(s.msg, { t: 'vote', state: 'looking', vote: { leader: -1, zxid: -1, epoch: -1 }, round: 2, config: newer });
  // The same (or an older) configuration again changes nothing; the leader's answer now lets it join.
  const joined = p.handle({ kind: 'message', from: 1, msg: leading, now: 3 });
  assert.deepEqual(
    joined.filter((o) => o.kind === 'configAdopted'),
    [],
  );
  assert.equal(p.state, 'following');
  assert.equal(p.leader, 1);
});
