import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMntr } from '../../../src/genie/monitor/mntr.js';
import {
  ALERT_NAMES,
  type AlertEvent,
  type AlertName,
  emptyState,
  evaluate,
  fingerprintOf,
  type MonitorState,
  type RuleConfig,
  seriesSamplesMax,
} from '../../../src/genie/monitor/rules.js';
import type { KafkaSnapshot, Snapshot, ZkMemberSnapshot } from '../../../src/genie/monitor/snapshot.js';

const noFor: Partial<RuleConfig> = { forMs: Object.fromEntries(ALERT_NAMES.map((n) => [n, 0])) };

const member = (i: number, state: string, extra: Partial<ZkMemberSnapshot> = {}): ZkMemberSnapshot => ({
  member: `127.0.0.1:${2180 + i}`,
  up: true,
  serverState: state,
  avgLatencyMs: 1,
  ...extra,
});
const down = (i: number): ZkMemberSnapshot => ({ member: `127.0.0.1:${2180 + i}`, up: false, error: 'ECONNREFUSED' });
const healthyZk = (): ZkMemberSnapshot[] => [
  member(1, 'leader', { syncedFollowers: 2, quorumSize: 3 }),
  member(2, 'follower'),
  member(3, 'follower'),
];

const healthyKafka = (): KafkaSnapshot => ({
  brokers: [1, 2, 3],
  controller: 1,
  partitions: [
    { topic: 'orders', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, minIsr: 2 },
    { topic: 'orders', partition: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, minIsr: 2 },
  ],
});

/** Runs rounds; returns the final state and every event, in order. */
function run(rounds: { at: number; s: Omit<Snapshot, 'atMs'> }[], cfg: Partial<RuleConfig> = noFor, start: MonitorState = emptyState) {
  let state = start;
  const events: AlertEvent[] = [];
  for (const r of rounds) {
    const out = evaluate({ atMs: r.at, ...r.s }, state, r.at, cfg);
    state = out.state;
    events.push(...out.events);
  }
  return { state, events };
}

const names = (events: AlertEvent[], type: AlertEvent['type']): AlertName[] =>
  events.filter((e) => e.type === type).map((e) => e.alert.name);
const firingNames = (state: MonitorState): AlertName[] =>
  [...state.alerts.values()]
    .filter((a) => a.state === 'firing')
    .map((a) => a.name)
    .sort();

test('a healthy cluster raises nothing', () => {
  const { state, events } = run([
    { at: 1000, s: { zk: { members: healthyZk() }, kafka: healthyKafka(), disks: [{ path: '/d', freeBytes: 50e9, sizeBytes: 100e9 }] } },
  ]);
  assert.deepEqual(events, []);
  assert.equal(state.alerts.size, 0);
});

test('split brain from contrived mntr replies: two members report leader', () => {
  const leaderText = 'zk_version\t3.8.4\nzk_server_state\tleader\nzk_avg_latency\t0.5\nzk_synced_followers\t1\nzk_quorum_size\t3\n';
  const a = parseMntr(leaderText);
  const b = parseMntr(leaderText);
  assert.ok(a.ok && b.ok);
  const zk = {
    members: [{ member: 'a:2181', up: true, ...a.figures }, { member: 'b:2181', up: true, ...b.figures }, member(3, 'follower')],
  };
  const { state, events } = run([{ at: 0, s: { zk } }], {});
  // ZkSplitBrain has no `for` by default: it fires on the first round.
  assert.ok(names(events, 'alert.firing').includes('ZkSplitBrain'));
  const alert = [...state.alerts.values()].find((x) => x.name === 'ZkSplitBrain')!;
  assert.equal(alert.severity, 'critical');
  assert.match(alert.summary, /a:2181, b:2181/);
  assert.equal(alert.labels['alertname'], 'ZkSplitBrain');
  const healed = run([{ at: 5000, s: { zk: { members: healthyZk() } } }], {}, state);
  assert.deepEqual(names(healed.events, 'alert.resolved'), ['ZkSplitBrain']);
  assert.equal(healed.events[0]!.endsAtMs, 5000);
});

test('two brokers claiming the controller is a controller split brain', () => {
  const kafka: KafkaSnapshot = {
    ...healthyKafka(),
    controllerViews: [
      { broker: 1, controller: 1 },
      { broker: 2, controller: 2 },
      { broker: 3, controller: 1 },
    ],
  };
  // A moment of it (a handover) is not an alert; 10 s of it is.
  const brief = run([{ at: 0, s: { kafka } }], {});
  assert.deepEqual(names(brief.events, 'alert.firing'), []);
  const { events } = run(
    [
      { at: 0, s: { kafka } },
      { at: 10_000, s: { kafka } },
    ],
    {},
  );
  assert.deepEqual(names(events, 'alert.firing'), ['KafkaControllerSplitBrain']);
  // A broker naming another broker than /controller has stale metadata: no alert, however long.
  const stale = {
    ...healthyKafka(),
    controllerViews: [
      { broker: 2, controller: 3 },
      { broker: 1, controller: 1 },
    ],
  };
  const staleRun = run(
    [
      { at: 0, s: { kafka: stale } },
      { at: 60_000, s: { kafka: stale } },
    ],
    {},
  );
  assert.deepEqual(names(staleRun.events, 'alert.firing'), []);
  // One claimant that is not /controller's broker: a deposed controller still acting.
  const zombie = {
    ...healthyKafka(),
    controllerViews: [
      { broker: 2, controller: 2 },
      { broker: 3, controller: 1 },
    ],
  };
  const zombieRun = run(
    [
      { at: 0, s: { kafka: zombie } },
      { at: 10_000, s: { kafka: zombie } },
    ],
    {},
  );
  assert.deepEqual(names(zombieRun.events, 'alert.firing'), ['KafkaControllerSplitBrain']);
});

test('quorum at risk with one of three down, lost with two down; resolves when members return', () => {
  const atRisk = { members: [member(1, 'leader', { syncedFollowers: 1, quorumSize: 3 }), member(2, 'follower'), down(3)] };
  const lost = { members: [down(1), { ...member(2, 'follower'), up: false, error: 'not currently serving requests' }, down(3)] };
  const r1 = run([{ at: 0, s: { zk: atRisk } }]);
  assert.deepEqual(names(r1.events, 'alert.firing').sort(), ['ZkMemberDown', 'ZkMemberNotSynced', 'ZkQuorumAtRisk']);
  const r2 = run([{ at: 1000, s: { zk: lost } }], noFor, r1.state);
  assert.ok(names(r2.events, 'alert.firing').includes('ZkQuorumLost'));
  assert.ok(names(r2.events, 'alert.resolved').includes('ZkQuorumAtRisk'), 'at-risk gives way to lost');
  assert.equal(r2.state.alerts.size, 4, 'quorum lost + three members down');
  const r3 = run([{ at: 2000, s: { zk: { members: healthyZk() } } }], noFor, r2.state);
  assert.deepEqual(names(r3.events, 'alert.resolved').sort(), ['ZkMemberDown', 'ZkMemberDown', 'ZkMemberDown', 'ZkQuorumLost']);
  assert.equal(r3.state.alerts.size, 0);
});

test('a five-member ensemble with one down keeps a spare: member down, not at risk', () => {
  const zk = {
    members: [
      member(1, 'leader', { syncedFollowers: 3, quorumSize: 5 }),
      member(2, 'follower'),
      member(3, 'follower'),
      member(4, 'follower'),
      down(5),
    ],
  };
  const { state } = run([{ at: 0, s: { zk } }]);
  assert.deepEqual(firingNames(state), ['ZkMemberDown', 'ZkMemberNotSynced']);
});

test('no leader among serving members is quorum lost; a standalone server is fine', () => {
  const looking = { members: [member(1, 'follower'), member(2, 'follower'), member(3, 'follower')] };
  assert.deepEqual(firingNames(run([{ at: 0, s: { zk: looking } }]).state), ['ZkQuorumLost']);
  assert.deepEqual(firingNames(run([{ at: 0, s: { zk: { members: [member(1, 'standalone')] } } }]).state), []);
  assert.deepEqual(firingNames(run([{ at: 0, s: { zk: { members: [down(1)] } } }]).state), ['ZkMemberDown', 'ZkQuorumLost']);
});

test('ZkLatencyHigh above the threshold, per member', () => {
  const zk = {
    members: [member(1, 'leader', { syncedFollowers: 2, quorumSize: 3, avgLatencyMs: 250 }), member(2, 'follower'), member(3, 'follower')],
  };
  const { state } = run([{ at: 0, s: { zk } }], { ...noFor, zkAvgLatencyMsMax: 200 });
  const a = [...state.alerts.values()];
  assert.equal(a.length, 1);
  assert.equal(a[0]!.name, 'ZkLatencyHigh');
  assert.equal(a[0]!.labels['member'], '127.0.0.1:2181');
  assert.deepEqual(firingNames(run([{ at: 0, s: { zk } }], { ...noFor, zkAvgLatencyMsMax: 300 }).state), []);
});

test('`for`: pending first, firing after forMs, pending alerts vanish silently', () => {
  const kafka = { ...healthyKafka(), brokers: [1, 2] };
  const cfg: Partial<RuleConfig> = { forMs: { KafkaBrokerDown: 10_000 } };
  const r1 = run(
    [
      { at: 0, s: { kafka: healthyKafka() } },
      { at: 1000, s: { kafka } },
    ],
    cfg,
  );
  const a = [...r1.state.alerts.values()].find((x) => x.name === 'KafkaBrokerDown')!;
  assert.equal(a.state, 'pending');
  assert.equal(names(r1.events, 'alert.firing').length, 0);
  const r2 = run([{ at: 10_999, s: { kafka } }], cfg, r1.state);
  assert.equal(r2.events.filter((e) => e.alert.name === 'KafkaBrokerDown').length, 0, 'not yet: 9999 ms active');
  const r3 = run([{ at: 11_000, s: { kafka } }], cfg, r2.state);
  const fired = r3.events.find((e) => e.alert.name === 'KafkaBrokerDown')!;
  assert.equal(fired.type, 'alert.firing');
  assert.equal(fired.startsAtMs, 11_000);
  assert.equal(fired.alert.activeSinceMs, 1000);
  // A condition that clears while pending produces no event.
  const r4 = run(
    [
      { at: 0, s: { kafka: healthyKafka() } },
      { at: 1000, s: { kafka } },
      { at: 2000, s: { kafka: healthyKafka() } },
    ],
    cfg,
  );
  assert.equal(r4.events.length, 0);
  assert.equal(r4.state.alerts.size, 0);
});

test('KafkaBrokerDown for a broker seen before or still assigned replicas; resolved when it registers again', () => {
  const gone = { ...healthyKafka(), brokers: [1, 2] };
  const r1 = run([{ at: 0, s: { kafka: gone } }]);
  const down3 = [...r1.state.alerts.values()].filter((a) => a.name === 'KafkaBrokerDown');
  assert.deepEqual(
    down3.map((a) => a.labels['broker']),
    ['3'],
    'broker 3 holds replicas, so it is expected even if never seen',
  );
  // Broker 4 registered once and left, holding no replicas: still down.
  const r2 = run([
    { at: 0, s: { kafka: { ...healthyKafka(), brokers: [1, 2, 3, 4] } } },
    { at: 1, s: { kafka: healthyKafka() } },
  ]);
  assert.deepEqual(
    [...r2.state.alerts.values()].map((a) => `${a.name}:${a.labels['broker']}`),
    ['KafkaBrokerDown:4'],
  );
  const r3 = run([{ at: 2, s: { kafka: healthyKafka() } }], noFor, r1.state);
  assert.deepEqual(names(r3.events, 'alert.resolved'), ['KafkaBrokerDown']);
});

test('under-replicated, offline and under-min-ISR partitions, per topic', () => {
  const kafka: KafkaSnapshot = {
    brokers: [1, 2],
    controller: 1,
    partitions: [
      { topic: 'a', partition: 0, replicas: [1, 2, 3], isr: [1, 2], leader: 1, minIsr: 2 },
      { topic: 'a', partition: 1, replicas: [3, 1, 2], isr: [1], leader: 1, minIsr: 2 },
      { topic: 'b', partition: 0, replicas: [3], isr: [3], leader: 3 },
      { topic: 'c', partition: 0, replicas: [1], isr: [], leader: -1 },
    ],
  };
  const { state } = run([{ at: 0, s: { kafka } }]);
  const by = (n: AlertName) =>
    [...state.alerts.values()]
      .filter((a) => a.name === n)
      .map((a) => `${a.labels['topic']}=${a.value}`)
      .sort();
  assert.deepEqual(by('KafkaUnderReplicatedPartitions'), ['a=2', 'c=1']);
  assert.deepEqual(by('KafkaOfflinePartitions'), ['b=1', 'c=1']);
  assert.deepEqual(by('KafkaUnderMinIsr'), ['a=1']);
});

test('consumer lag growing: above the minimum and rising over the window; steady lag does not fire', () => {
  const groups = (lag0: number, lag1: number) => [
    {
      group: 'g',
      state: 'Stable',
      members: 1,
      offsets: [
        { topic: 't', partition: 0, committed: 10, lag: lag0 },
        { topic: 't', partition: 1, committed: 10, lag: lag1 },
      ],
    },
  ];
  const cfg = { ...noFor, consumerLagMin: 100, lagWindowMs: 60_000 };
  const growing = run(
    [
      { at: 0, s: { groups: groups(40, 40) } },
      { at: 5000, s: { groups: groups(60, 60) } },
    ],
    cfg,
  );
  const a = [...growing.state.alerts.values()];
  assert.equal(a.length, 1);
  assert.equal(a[0]!.name, 'KafkaConsumerLagGrowing');
  assert.deepEqual([a[0]!.labels['group'], a[0]!.labels['topic'], a[0]!.value], ['g', 't', 120]);
  const steady = run(
    [
      { at: 0, s: { groups: groups(200, 200) } },
      { at: 5000, s: { groups: groups(200, 200) } },
    ],
    cfg,
  );
  assert.equal(steady.state.alerts.size, 0);
  const small = run(
    [
      { at: 0, s: { groups: groups(1, 1) } },
      { at: 5000, s: { groups: groups(20, 20) } },
    ],
    cfg,
  );
  assert.equal(small.state.alerts.size, 0, 'below consumerLagMin');
  // Catching up resolves it.
  const caught = run([{ at: 10_000, s: { groups: groups(0, 0) } }], cfg, growing.state);
  assert.deepEqual(names(caught.events, 'alert.resolved'), ['KafkaConsumerLagGrowing']);
  // Samples older than the window are forgotten: the same lag an hour later is not growth.
  const later = run([{ at: 3_600_000, s: { groups: groups(60, 60) } }], cfg, growing.state);
  assert.equal(later.state.alerts.size, 0);
});

test("dead-letter growth from the Job Service's fenced dead count, not the DLQ end offsets", () => {
  const jobs = (deadTotal: number) => ({ submittedTotal: 100, failedTotal: 0, deadTotal });
  // A fenced owner's letter raises the topic's end offsets, not the view's count of deaths.
  const offsets = (n: number) => ({ partitions: [{ topic: 'cluster-events.dlq', partition: 0, oldest: 0, current: n }] });
  const r = run([
    { at: 0, s: { jobs: jobs(3), offsets: offsets(3) } },
    { at: 5000, s: { jobs: jobs(3), offsets: offsets(4) } },
  ]);
  assert.equal(r.state.alerts.size, 0, 'a letter that does not count');
  const g = run([{ at: 10_000, s: { jobs: jobs(5), offsets: offsets(6) } }], noFor, r.state);
  assert.deepEqual(names(g.events, 'alert.firing'), ['JobsDeadLetterGrowing']);
  assert.equal(g.events[0]!.alert.value, 2);
  assert.equal(g.events[0]!.alert.labels['topic'], 'cluster-events.dlq');
  // The 10 min window (not the failure rate's 5 min) holds the growth.
  const still = run([{ at: 10_000 + 400_000, s: { jobs: jobs(5) } }], noFor, g.state);
  assert.equal(still.events.length, 0);
  const quiet = run([{ at: 10_000 + 600_001, s: { jobs: jobs(5) } }], noFor, g.state);
  assert.deepEqual(names(quiet.events, 'alert.resolved'), ['JobsDeadLetterGrowing']);
  // A restarted Job Service counts from 0 again: no growth, no alert.
  const restarted = run([{ at: 10_000 + 600_001 + 5000, s: { jobs: jobs(0) } }], noFor, quiet.state);
  assert.equal(restarted.state.alerts.size, 0);
});

test('job failure rate over the window, only with enough submitted jobs; a counter reset starts over', () => {
  const cfg = { ...noFor, jobsFailureRatioMax: 0.2, jobsSubmittedMin: 20 };
  const jobs = (submittedTotal: number, failedTotal: number) => ({ submittedTotal, failedTotal, deadTotal: 0 });
  const high = run(
    [
      { at: 0, s: { jobs: jobs(100, 10) } },
      { at: 5000, s: { jobs: jobs(200, 60) } },
    ],
    cfg,
  );
  assert.deepEqual(firingNames(high.state), ['JobsFailureRateHigh']);
  assert.equal([...high.state.alerts.values()][0]!.value, 0.5);
  const fine = run(
    [
      { at: 0, s: { jobs: jobs(100, 10) } },
      { at: 5000, s: { jobs: jobs(200, 20) } },
    ],
    cfg,
  );
  assert.equal(fine.state.alerts.size, 0);
  const few = run(
    [
      { at: 0, s: { jobs: jobs(0, 0) } },
      { at: 5000, s: { jobs: jobs(10, 10) } },
    ],
    cfg,
  );
  assert.equal(few.state.alerts.size, 0);
  const reset = run([{ at: 10_000, s: { jobs: jobs(5, 5) } }], cfg, high.state);
  assert.equal(reset.state.series.get('jobs|failed')!.length, 1);
});

test('disk space low by percent or by bytes', () => {
  const cfg = { ...noFor, diskFreePercentMin: 10, diskFreeBytesMin: 1000 };
  const { state } = run(
    [
      {
        at: 0,
        s: {
          disks: [
            { path: '/pct', freeBytes: 5_000, sizeBytes: 100_000 },
            { path: '/bytes', freeBytes: 900, sizeBytes: 1_000 },
            { path: '/ok', freeBytes: 50_000, sizeBytes: 100_000 },
          ],
        },
      },
    ],
    cfg,
  );
  assert.deepEqual([...state.alerts.values()].map((a) => a.labels['path']).sort(), ['/bytes', '/pct']);
});

test('a section that could not be read neither raises nor resolves its alerts', () => {
  const r1 = run([{ at: 0, s: { kafka: { ...healthyKafka(), brokers: [1, 2] }, zk: { members: healthyZk() } } }]);
  assert.deepEqual(firingNames(r1.state), ['KafkaBrokerDown']);
  const r2 = run([{ at: 1000, s: { zk: { members: healthyZk() } } }], noFor, r1.state);
  assert.deepEqual(r2.events, []);
  assert.deepEqual(firingNames(r2.state), ['KafkaBrokerDown']);
});

test('fingerprints: stable, order-independent, distinct per label set (FNV-1a 64)', () => {
  const a = fingerprintOf({ alertname: 'KafkaBrokerDown', severity: 'critical', broker: '2' });
  const b = fingerprintOf({ broker: '2', severity: 'critical', alertname: 'KafkaBrokerDown' });
  assert.equal(a, b);
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, fingerprintOf({ alertname: 'KafkaBrokerDown', severity: 'critical', broker: '3' }));
  // FNV-1a 64 of the empty input is its offset basis.
  assert.equal(fingerprintOf({}), 'cbf29ce484222325');
});

test('growth series stay bounded', () => {
  const cfg = { ...noFor, lagWindowMs: 1e12 };
  let state = emptyState;
  for (let i = 0; i < seriesSamplesMax + 50; i++) {
    state = evaluate(
      { atMs: i, groups: [{ group: 'g', state: 'Stable', members: 1, offsets: [{ topic: 't', partition: 0, committed: 0, lag: i }] }] },
      state,
      i,
      cfg,
    ).state;
  }
  assert.equal(state.series.get('lag|g|t')!.length, seriesSamplesMax);
});

test('evaluate does not mutate the previous state', () => {
  const r1 = run([{ at: 0, s: { kafka: { ...healthyKafka(), brokers: [1, 2] } } }]);
  const before = r1.state.alerts.size;
  run([{ at: 1, s: { kafka: healthyKafka() } }], noFor, r1.state);
  assert.equal(r1.state.alerts.size, before);
});

test('a member that answers without figures (mntr not whitelisted) is neither down nor serving: no quorum verdict', () => {
  const zk = {
    members: [
      member(1, 'leader', { syncedFollowers: 2, quorumSize: 3 }),
      member(2, 'follower'),
      { member: 'x:2181', up: false, unknown: true },
    ],
  };
  const { state } = run([{ at: 0, s: { zk } }]);
  assert.deepEqual(firingNames(state), []);
});
