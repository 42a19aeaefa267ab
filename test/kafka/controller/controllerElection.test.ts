// The controller's /controller watch against a scripted KafkaZk (no ZooKeeper): the order of
// watch deliveries and election answers is fixed by the test, so the interleavings that are
// rare on a real ensemble happen every run.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Controller } from '../../../src/kafka/controller/controller.js';
import { Err, ZooKeeperError } from '../../../src/zookeeper/client/index.js';
import type { ControllerLease, KafkaZk, WatchHandle } from '../../../src/kafka/zk/kafkaZk.js';
import { Paths, encodeController } from '../../../src/kafka/zk/layout.js';
import { Inbox } from '../../helpers/wait.js';

/**
 * The /controller watch and the election, answered by the test; a failover gets as far as its
 * first ZooKeeper read, which fails with a lost connection, and so does giving up the seat.
 */
class ScriptedZk extends EventEmitter {
  controllerWatch: ((data: Buffer | null) => void) | undefined;
  /** Each election the controller runs, answered by the test. */
  readonly elections = new Inbox<(lease: ControllerLease | null) => void>();
  readonly seatDeletions = new Inbox<number>();

  watchData(path: string, cb: (data: Buffer | null) => void): WatchHandle {
    if (path === Paths.controller) this.controllerWatch = cb;
    return { close: () => undefined };
  }

  watchChildren(): WatchHandle {
    return { close: () => undefined };
  }

  tryElectController(): Promise<ControllerLease | null> {
    return new Promise((resolve) => this.elections.push(resolve));
  }

  async getBrokers(): Promise<never> {
    throw new ZooKeeperError(Err.CONNECTIONLOSS, '/brokers/ids');
  }

  async deleteController(epochZkVersion: number): Promise<void> {
    this.seatDeletions.push(epochZkVersion);
    throw new ZooKeeperError(Err.CONNECTIONLOSS, Paths.controller);
  }
}

test('a vacancy seen while an earlier /controller event waits in the queue still runs an election', async () => {
  const zk = new ScriptedZk();
  const c = new Controller(zk as unknown as KafkaZk, { brokerId: 1 });
  c.start();
  try {
    const watch = zk.controllerWatch!;
    watch(null); // vacant: broker 1 runs for the seat
    const first = await zk.elections.next(5000, 'the first election');
    watch(encodeController(2, 0)); // broker 2 wins it; this event queues behind the election
    watch(null); // and broker 2 is gone again before that event runs
    first(null);
    // The queued event must act on the vacancy, not on "held by 2", or nobody may ever run again.
    const second = await zk.elections.next(5000, 'an election for the vacancy seen while the event was queued');
    second(null);
    assert.equal(c.isActive, false);
  } finally {
    await c.stop();
  }
});

test('a seat this broker holds but could not give up after a failed failover is taken again, not held idle', async () => {
  const zk = new ScriptedZk();
  const c = new Controller(zk as unknown as KafkaZk, { brokerId: 1 });
  c.start();
  try {
    const watch = zk.controllerWatch!;
    watch(null);
    const first = await zk.elections.next(5000, 'the first election');
    watch(encodeController(1, 0)); // the seat it is taking, as its own watch reports it
    first({ epoch: 1, epochZkVersion: 1 }); // won; the failover then loses its connection
    assert.equal(await zk.seatDeletions.next(5000, 'the seat given up'), 1);
    // The deletion was lost too, so /controller still names broker 1 and no watch will fire:
    // the queued event must run for the seat (this session's, so it would win it back).
    const second = await zk.elections.next(5000, 'an election for the seat it still holds');
    second(null);
    assert.equal(c.isActive, false);
  } finally {
    await c.stop();
  }
});
