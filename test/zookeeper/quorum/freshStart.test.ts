// A member with a fresh data directory writes its snapshot.0 while it starts listening and votes
// (a cold start waits for the slowest member), but nothing else reaches its disk before that
// snapshot is durable, and nobody serves before it. Serving at zxid 0, it does not write the same
// snapshot again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import { Storage } from '../../../src/zookeeper/persistence/store.js';
import { waitFor } from '../../helpers/net.js';

test('a fresh member votes while snapshot.0 is written; its epochs are written only after it', async () => {
  const origSnapshot = Storage.prototype.snapshot;
  const origWriteEpoch = Storage.prototype.writeEpoch;
  // Per Storage (one per member): what reached its disk, in order.
  const events = new Map<Storage, string[]>();
  const log = (s: Storage, what: string): void => {
    const l = events.get(s) ?? [];
    l.push(what);
    events.set(s, l);
  };
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // Each member's first snapshot (its snapshot.0) is held back until the gate opens.
  Storage.prototype.snapshot = function (this: Storage, ...args: Parameters<Storage['snapshot']>) {
    if (events.has(this)) {
      log(this, `snapshot at zxid ${args[0].lastProcessedZxid}`);
      return origSnapshot.apply(this, args);
    }
    log(this, 'snapshot.0 started');
    return gate
      .then(() => origSnapshot.apply(this, args))
      .then((r) => {
        log(this, 'snapshot.0 durable');
        return r;
      });
  };
  Storage.prototype.writeEpoch = async function (this: Storage, ...args: Parameters<Storage['writeEpoch']>) {
    log(this, `${args[0]} writing`);
    return origWriteEpoch.apply(this, args);
  };
  let cluster: ZooKeeperTestingCluster | undefined;
  // Kept so that a start still under way when the race below gives up is closed all the same.
  const starting = ZooKeeperTestingCluster.start({ size: 3 });
  try {
    let giveUp: NodeJS.Timeout | undefined;
    cluster = await Promise.race([
      starting,
      new Promise<never>((_, reject) => {
        giveUp = setTimeout(() => reject(new Error('members did not start while their snapshot.0 was pending')), 20_000);
      }),
    ]).finally(() => clearTimeout(giveUp));
    const c = cluster;
    // Listening and electing need no disk: the election finishes while every snapshot.0 is held.
    await waitFor(
      () => c.members.every((m) => m.member!.state !== 'looking'),
      20_000,
      () => 'election while snapshot.0 is pending',
    );
    assert.deepEqual(c.serving(), [], 'nobody serves before its snapshot.0 is durable');
    for (const l of events.values()) assert.deepEqual(l, ['snapshot.0 started'], 'nothing else was written meanwhile');
    release();
    await waitFor(
      () => c.serving().length === 3,
      20_000,
      () => `serving after the snapshots: ${c.serving()}`,
    );
    assert.equal(events.size, 3);
    for (const l of events.values()) {
      const durable = l.indexOf('snapshot.0 durable');
      assert.ok(durable > 0, `snapshot.0 written: ${l}`);
      const firstEpoch = l.findIndex((e) => e.endsWith('writing'));
      assert.ok(firstEpoch > durable, `epochs written after snapshot.0: ${l}`);
      // Serving at zxid 0, the state snapshot.0 holds: no second copy of it (ensemble.ts onRole).
      assert.deepEqual(
        l.filter((e) => e.startsWith('snapshot at')),
        [],
        `no snapshot on serving: ${l}`,
      );
    }
  } finally {
    release();
    Storage.prototype.snapshot = origSnapshot;
    Storage.prototype.writeEpoch = origWriteEpoch;
    await (cluster ?? (await starting.catch(() => undefined)))?.close();
  }
});
