// Building the ONE fanned-out DashboardView from what a refresh round collected (pure: no I/O,
// no clock). The collectors (collectors.ts) fill a Round; buildView turns it, with what earlier
// rounds left in ViewMemory (brokers seen before, counters for rates, the chart history), into the
// next view and memory. A section whose read failed carries its error and keeps nothing stale.

import type {
  AlertsView,
  BrokerView,
  DashboardView,
  GroupSummary,
  JobsView,
  KafkaView,
  ScalingEventView,
  SeriesPoint,
  TopicSummary,
  WorkersView,
  WorkerView,
  ZkMemberView,
  ZooKeeperView,
} from '../api.js';
import { workersMax } from '../api.js';

/** Chart points kept (one per round: 10 minutes at the default 1 s refresh). */
export const seriesPointsMax = 600;
/** Brokers remembered after they vanish from /brokers/ids (shown as down). */
export const knownBrokersMax = 1000;

export type Section<T> = { ok: true; value: T } | { ok: false; error: string };

/** What one member's mntr read gives: the same fields the page shows. */
export type ZkMemberRead = ZkMemberView;

export interface PartitionRead {
  topic: string;
  partition: number;
  replicas: number[];
  isr: number[];
  leader: number;
}

export interface KafkaRead {
  /** Registered broker ids with their advertised address (when its registration could be read). */
  brokers: { id: number; host: string; port: number }[];
  controller: number | undefined;
  partitions: PartitionRead[];
}

export interface OffsetRead {
  topic: string;
  partition: number;
  oldest: number;
  current: number;
}

export interface GroupRead {
  group: string;
  state: string;
  members: number;
  offsets: { topic: string; partition: number; committed: number; lag: number | undefined }[];
}

export interface Round {
  atMs: number;
  /** How long the round took. */
  tookMs: number;
  zk: ZkMemberRead[];
  kafka: Section<KafkaRead>;
  offsets: Section<OffsetRead[]>;
  groups: Section<GroupRead[]>;
  /** Absent when no Job Service URL is configured. */
  jobs?: Section<Record<string, unknown>>;
  alerts: AlertsView;
  /** Worker registrations (absent: not read this round). */
  workers?: Section<WorkersRead>;
  /** Scaling events so far, newest first, and why they could not be read. */
  scaling?: ScalingEventView[];
  scalingError?: string;
}

export interface ViewMemory {
  /** Brokers seen registered at some point (id → address), so a dead one shows as down. */
  knownBrokers: Map<number, { host: string; port: number }>;
  prevAtMs?: number;
  /** Sum of log end offsets over all partitions at prevAtMs. */
  prevEndOffsetSum?: number;
  prevCompleted?: number;
  series: SeriesPoint[];
}

export const emptyMemory = (): ViewMemory => ({ knownBrokers: new Map(), series: [] });

/** Internal topics by Kafka's and our naming (double underscore). */
const isInternal = (t: string): boolean => t.startsWith('__');

export function buildZooKeeper(members: readonly ZkMemberRead[]): ZooKeeperView {
  const up = members.filter((m) => m.up).length;
  const view: ZooKeeperView = { members: members.map((m): ZkMemberView => ({ ...m })), healthy: up > members.length / 2 };
  if (up === 0 && members.length > 0) view.error = members[0]!.error ?? 'no member answers';
  return view;
}

export function buildKafka(
  read: Section<KafkaRead>,
  offsets: Section<OffsetRead[]>,
  known: ReadonlyMap<number, { host: string; port: number }>,
): KafkaView {
  if (!read.ok) {
    return {
      brokers: [],
      controller: null,
      topics: [],
      underReplicatedPartitions: 0,
      offlinePartitions: 0,
      healthy: false,
      error: read.error,
    };
  }
  const k = read.value;
  const live = new Set(k.brokers.map((b) => b.id));
  const ids = new Set<number>([...known.keys(), ...live]);
  for (const p of k.partitions) for (const r of p.replicas) ids.add(r);
  const brokers = new Map<number, BrokerView>();
  for (const id of [...ids].sort((a, b) => a - b)) {
    const addr = k.brokers.find((b) => b.id === id) ?? known.get(id);
    brokers.set(id, {
      id,
      host: addr?.host ?? '',
      port: addr?.port ?? -1,
      up: live.has(id),
      controller: k.controller === id,
      leaders: 0,
      replicas: 0,
      underReplicated: 0,
    });
  }
  const ends = new Map<string, OffsetRead>();
  if (offsets.ok) for (const o of offsets.value) ends.set(`${o.topic}|${o.partition}`, o);
  const topics = new Map<string, TopicSummary>();
  let under = 0;
  let offline = 0;
  for (const p of k.partitions) {
    let t = topics.get(p.topic);
    if (!t) {
      t = {
        name: p.topic,
        partitions: 0,
        replicationFactor: p.replicas.length,
        underReplicated: 0,
        offline: 0,
        internal: isInternal(p.topic),
      };
      topics.set(p.topic, t);
    }
    t.partitions++;
    const isUnder = p.isr.length < p.replicas.length;
    const isOffline = p.leader < 0 || !live.has(p.leader);
    if (isUnder) {
      t.underReplicated++;
      under++;
    }
    if (isOffline) {
      t.offline++;
      offline++;
    }
    for (const r of p.replicas) {
      const b = brokers.get(r);
      if (b) b.replicas++;
    }
    const leader = brokers.get(p.leader);
    if (leader) {
      leader.leaders++;
      if (isUnder) leader.underReplicated++;
    }
    const o = ends.get(`${p.topic}|${p.partition}`);
    if (o) t.messages = (t.messages ?? 0) + Math.max(0, o.current - o.oldest);
  }
  const controller = k.controller !== undefined && live.has(k.controller) ? k.controller : null;
  const view: KafkaView = {
    brokers: [...brokers.values()],
    controller,
    topics: [...topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    underReplicatedPartitions: under,
    offlinePartitions: offline,
    healthy: live.size > 0 && controller !== null && offline === 0 && under === 0,
  };
  if (!offsets.ok) view.error = `offsets: ${offsets.error}`;
  return view;
}

export function buildGroups(groups: Section<GroupRead[]>): GroupSummary[] {
  if (!groups.ok) return [];
  return groups.value.map((g) => ({
    id: g.group,
    state: g.state,
    members: g.members,
    lag: g.offsets.reduce((n, o) => n + (o.lag ?? 0), 0),
    topics: [...new Set(g.offsets.map((o) => o.topic))].sort(),
  }));
}

/** byState from /api/stats (`{byState: {state: n}}`), numbers only. */
export function statesOf(stats: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const by = stats['byState'];
  if (typeof by === 'object' && by !== null) {
    for (const [k, v] of Object.entries(by)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

/** A registration longer than this is not a WorkerInfo (skipped unparsed). */
const workerDataBytesMax = 64 * 1024;

/** What the round read: the registered ids' count and the data of the first `workersMax` of them. */
export interface WorkersRead {
  total: number;
  nodes: { id: string; data: string | null }[];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A registration's data as a WorkerView, or undefined when it is not one (pure). */
export function parseWorker(id: string, data: string | null): WorkerView | undefined {
  if (data === null || data.length > workerDataBytesMax) return undefined;
  let j: unknown;
  try {
    j = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  const w = j as Record<string, unknown>;
  if (w['id'] !== id || !isCount(w['capacity']) || !isCount(w['running']) || !isCount(w['queued'])) return undefined;
  return {
    id,
    host: typeof w['host'] === 'string' ? w['host'] : '',
    pid: isCount(w['pid']) ? w['pid'] : -1,
    capacity: w['capacity'],
    running: w['running'],
    queued: w['queued'],
    startedAt: typeof w['startedAt'] === 'string' ? w['startedAt'] : '',
    updatedAt: typeof w['updatedAt'] === 'string' ? w['updatedAt'] : '',
  };
}

/** The view's workers section (pure). */
export function buildWorkers(read: Section<WorkersRead> | undefined): WorkersView {
  if (read === undefined) return { list: [] };
  if (!read.ok) return { list: [], error: read.error };
  const list: WorkerView[] = [];
  for (const n of read.value.nodes) {
    const w = parseWorker(n.id, n.data);
    if (w) list.push(w);
  }
  const view: WorkersView = { list };
  if (read.value.total > workersMax) view.omitted = read.value.total - workersMax;
  return view;
}

/** The next view and memory from one round (pure). */
export function buildView(r: Round, mem: ViewMemory): { view: DashboardView; memory: ViewMemory } {
  const knownBrokers = new Map(mem.knownBrokers);
  if (r.kafka.ok) {
    for (const b of r.kafka.value.brokers) {
      knownBrokers.delete(b.id); // re-insert: most recently seen last, oldest evicted first
      knownBrokers.set(b.id, { host: b.host, port: b.port });
    }
    while (knownBrokers.size > knownBrokersMax) knownBrokers.delete(knownBrokers.keys().next().value as number);
  }
  const zookeeper = buildZooKeeper(r.zk);
  const kafka = buildKafka(r.kafka, r.offsets, knownBrokers);
  const groups = buildGroups(r.groups);
  const dtS = mem.prevAtMs !== undefined ? (r.atMs - mem.prevAtMs) / 1000 : undefined;

  let endSum: number | undefined;
  if (r.offsets.ok) endSum = r.offsets.value.reduce((n, o) => n + o.current, 0);
  const messagesInPerSec =
    endSum !== undefined && mem.prevEndOffsetSum !== undefined && dtS !== undefined && dtS > 0
      ? Math.max(0, (endSum - mem.prevEndOffsetSum) / dtS)
      : undefined;

  let jobs: JobsView;
  let completed: number | undefined;
  if (r.jobs === undefined) jobs = { up: false, error: 'no Job Service URL configured' };
  else if (!r.jobs.ok) jobs = { up: false, error: r.jobs.error };
  else {
    const byState = statesOf(r.jobs.value);
    completed = byState['completed'];
    jobs = { up: true, stats: r.jobs.value, byState };
    if (completed !== undefined && mem.prevCompleted !== undefined && dtS !== undefined && dtS > 0) {
      jobs.completedPerSec = Math.max(0, (completed - mem.prevCompleted) / dtS);
    }
  }

  const lagTotal = r.groups.ok ? groups.reduce((n, g) => n + g.lag, 0) : undefined;
  const latencies = r.zk.filter((m) => m.up && m.avgLatencyMs !== undefined).map((m) => m.avgLatencyMs!);
  const point: SeriesPoint = { atMs: r.atMs };
  if (messagesInPerSec !== undefined) point.messagesInPerSec = messagesInPerSec;
  if (lagTotal !== undefined) point.lagTotal = lagTotal;
  if (latencies.length > 0) point.zkAvgLatencyMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  if (jobs.completedPerSec !== undefined) point.jobsCompletedPerSec = jobs.completedPerSec;
  const series = [...mem.series.slice(Math.max(0, mem.series.length - seriesPointsMax + 1)), point];

  const view: DashboardView = {
    atMs: r.atMs,
    refreshMs: r.tookMs,
    zookeeper,
    kafka,
    groups,
    jobs,
    alerts: r.alerts,
    workers: buildWorkers(r.workers),
    scaling: r.scaling ?? [],
    series,
  };
  if (r.scalingError !== undefined) view.scalingError = r.scalingError;
  const memory: ViewMemory = {
    knownBrokers,
    prevAtMs: r.atMs,
    ...(endSum !== undefined
      ? { prevEndOffsetSum: endSum }
      : mem.prevEndOffsetSum !== undefined
        ? { prevEndOffsetSum: mem.prevEndOffsetSum }
        : {}),
    ...(completed !== undefined ? { prevCompleted: completed } : {}),
    series,
  };
  return { view, memory };
}

/**
 * Whether two views differ in anything but their timing fields (atMs, refreshMs, the last chart
 * point's time): the stream sends a view only when something a reader sees changed.
 */
export function viewChanged(a: DashboardView | undefined, b: DashboardView): boolean {
  if (!a) return true;
  const strip = (v: DashboardView) => ({ ...v, atMs: 0, refreshMs: 0, series: v.series.map((p) => ({ ...p, atMs: 0 })) });
  // The chart grows every round; compare without it and send when only it grew every few rounds.
  const sa = JSON.stringify({ ...strip(a), series: undefined });
  const sb = JSON.stringify({ ...strip(b), series: undefined });
  return sa !== sb;
}
