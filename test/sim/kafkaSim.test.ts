// Seeded simulation of the Kafka controller and replication cores under faults (src/sim/kafkaSim.ts):
// thousands of seeds per CI run. Every step checks: at most one leader per (partition, leader epoch),
// the ISR of a state znode holds its leader, replicas agree on every offset below their HW; after
// healing, every acknowledged (acks=all, min.insync.replicas=2) record is on the leader below its HW.
// A failure names its seed: SIM_SEED=<n> replays it alone. SIM_SEEDS raises the count (long mode),
// SIM_MS the simulated time per seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaSim, type KafkaSimOptions, SimViolation } from '../../src/sim/kafkaSim.js';
import { ControllerCore } from '../../src/kafka/controller/decisions.js';
import { HW_FROZEN, LeaderCore } from '../../src/kafka/replication/leaderCore.js';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 2000);
const SIM_MS = Number(process.env['SIM_MS'] ?? 3000);
const ONLY = process.env['SIM_SEED'];

function shape(seed: number): Pick<KafkaSimOptions, 'brokers' | 'partitions'> {
  return { brokers: 3 + (seed % 3), partitions: 1 + ((seed >> 2) % 3) };
}

function runSeed(seed: number, extra: Partial<KafkaSimOptions> = {}): KafkaSim {
  const sim = new KafkaSim({ seed, ...shape(seed), ...extra });
  sim.runUntil(SIM_MS);
  sim.settle();
  sim.checkConverged();
  return sim;
}

/** Runs seeds with a broken core until one is caught; returns the violation. */
function firstViolation(extra: Partial<KafkaSimOptions>, seedsMax: number): SimViolation | undefined {
  for (let seed = 1; seed <= seedsMax; seed++) {
    try {
      runSeed(seed, extra);
    } catch (e) {
      if (e instanceof SimViolation) return e;
      throw e;
    }
  }
  return undefined;
}

test('a fault-free cluster elects leaders, replicates and acknowledges everything it is sent', () => {
  const sim = new KafkaSim({ seed: 7, brokers: 3, partitions: 3, faultRate: 0, dropRate: 0 });
  sim.runUntil(3000, false);
  sim.settle();
  sim.checkConverged();
  assert.equal(sim.stats.failovers, 1);
  assert.ok(sim.acknowledged.length > sim.stats.produced * 0.8, `${sim.acknowledged.length} of ${sim.stats.produced} acknowledged`);
  for (let p = 0; p < 3; p++) {
    const s = sim.zk.readState(p)!.state;
    assert.deepEqual([...s.isr].sort(), [1, 2, 3]);
    const logs = [1, 2, 3].map((id) => sim.brokers[id]!.replicas[p]!.log.map((e) => e.id).join(','));
    assert.equal(new Set(logs).size, 1, `replicas of p${p} differ`);
  }
});

test(`${ONLY ? `seed ${ONLY}` : `${SEEDS} seeds`} of crashes, lost disks, session expiries, partitions and slow followers keep Kafka's guarantees`, () => {
  const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => i + 1);
  const total = { acked: 0, crashes: 0, lossy: 0, expiries: 0, failovers: 0, fenced: 0, shutdowns: 0, partitions: 0 };
  for (const seed of seeds) {
    const sim = runSeed(seed);
    total.acked += sim.acknowledged.length;
    total.crashes += sim.stats.crashes;
    total.lossy += sim.stats.lossyCrashes;
    total.expiries += sim.stats.expiries;
    total.failovers += sim.stats.failovers;
    total.fenced += sim.stats.fencedWrites;
    total.shutdowns += sim.stats.shutdowns;
    total.partitions += sim.stats.partitions;
  }
  if (ONLY) return;
  // The runs must have done real work under real faults, or they prove nothing.
  const n = seeds.length;
  assert.ok(total.acked > n * 50, `only ${total.acked} acknowledged records over ${n} seeds`);
  assert.ok(total.crashes > n / 2, `only ${total.crashes} crashes`);
  assert.ok(total.lossy > n / 20, `only ${total.lossy} crashes losing unflushed data`);
  assert.ok(total.expiries > n / 4, `only ${total.expiries} session expiries`);
  assert.ok(total.failovers > n * 1.2, `only ${total.failovers} controller elections`);
  assert.ok(total.fenced > 0, 'no zombie controller was ever fenced');
  assert.ok(total.shutdowns > n / 10, `only ${total.shutdowns} controlled shutdowns`);
  assert.ok(total.partitions > n / 4, `only ${total.partitions} network partitions`);
});

test('the simulation catches a high watermark rule that ignores one ISR member', () => {
  // As the real rule, but the highest-numbered follower never holds the HW back.
  class Sloppy extends LeaderCore {
    override highWatermarkCandidate(leaderEndOffset: number, _nowMs: number, minInsyncReplicas: number): number {
      if (this.isUnderMinIsr(minInsyncReplicas)) return HW_FROZEN;
      const ignored = Math.max(...this.remotes.keys());
      let hw = leaderEndOffset;
      for (const r of this.remotes.values()) {
        if (r.brokerId !== ignored && this.maximalIsr.includes(r.brokerId) && r.logEndOffset < hw) hw = r.logEndOffset;
      }
      return hw;
    }
  }
  const v = firstViolation({ makeLeaderCore: (id, lag) => new Sloppy(id, lag) }, 200);
  assert.ok(v, 'no seed exposed a HW rule that ignores an ISR member');
  assert.match(v.message, /^seed \d+ at t=\d+ ms: /);
  assert.match(v.message, /lost|below its HW/, 'caught by a safety check, not by a stall');
});

test('the simulation catches an election that picks a replica outside the ISR', () => {
  // unclean.leader.election.enable on a topic the checks treat as clean.
  const v = firstViolation(
    { makeControllerCore: (epoch) => new ControllerCore({ controllerEpoch: epoch, uncleanLeaderElection: () => true }) },
    400,
  );
  assert.ok(v, 'no seed exposed unclean elections');
  assert.match(v.message, /lost|below its HW/, 'caught by a safety check, not by a stall');
});

// Two controller-core bugs the simulator found, pinned down on the core alone. A bounced broker
// (its registration gone and back within one /brokers/ids change) is handled as a failure then a
// startup, as Kafka does.
function bounced(isr: number[]): ReturnType<ControllerCore['brokersChanged']> {
  const core = new ControllerCore({ controllerEpoch: 1 });
  const state = { leader: 1, leaderEpoch: 0, isr, controllerEpoch: 1, leaderRecoveryState: 0 };
  const snap = { topicId: 'id', partitions: new Map([[0, [1, 2, 3]]]), states: new Map([[0, { state, zkVersion: 0 }]]) };
  core.initialize(
    new Map([
      [1, 10],
      [2, 11],
      [3, 12],
    ]),
    new Map([['t', snap]]),
  );
  return core.brokersChanged(
    new Map([
      [1, 20],
      [2, 11],
      [3, 12],
    ]),
  );
}

test('a bounced leader is not told it still leads its old epoch (it led again with what its disk had lost)', () => {
  const d = bounced([1, 2, 3]);
  const w = d.writes.find((x) => x.kind === 'updateState');
  assert.ok(w && w.kind === 'updateState');
  assert.equal(w.state.leader, 2);
  assert.equal(w.state.leaderEpoch, 1);
  const stale = d.notifications.filter((n) => n.kind === 'leaderAndIsr' && n.state.leader === 1);
  assert.deepEqual(stale, []);
});

test('a bounced broker that was the last ISR member leads again (the partition stayed offline)', () => {
  const d = bounced([1]);
  const w = d.writes.find((x) => x.kind === 'updateState');
  assert.ok(w && w.kind === 'updateState');
  assert.equal(w.state.leader, 1);
  assert.deepEqual(w.state.isr, [1]);
  assert.equal(w.state.leaderEpoch, 1);
});
