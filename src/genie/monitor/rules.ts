// The monitor's alert rules: a pure core. evaluate(snapshot, previous state, now) returns the new
// state and the events to publish, with Prometheus' semantics: a condition that starts holding is
// `pending`, becomes `firing` once it held for the rule's `for` duration (alert.firing), and is
// `resolved` when it stops holding (alert.resolved; a pending alert just disappears). Growth rules
// ("lag growing") compare samples kept in the state over a window, like delta(x[window]) > 0.
// No clocks, sockets or randomness here: the shell passes the time in.

import type { GroupSnapshot, Snapshot } from './snapshot.js';

export type Severity = 'critical' | 'warning';
type Section = 'zk' | 'kafka' | 'groups' | 'disks' | 'zkLogs' | 'jobs';

export const ALERT_RULES = {
  ZkSplitBrain: { severity: 'critical', section: 'zk', forMs: 0 },
  ZkQuorumLost: { severity: 'critical', section: 'zk', forMs: 15_000 },
  ZkQuorumAtRisk: { severity: 'warning', section: 'zk', forMs: 30_000 },
  ZkMemberDown: { severity: 'warning', section: 'zk', forMs: 30_000 },
  ZkMemberNotSynced: { severity: 'warning', section: 'zk', forMs: 60_000 },
  ZkLatencyHigh: { severity: 'warning', section: 'zk', forMs: 120_000 },
  // 10 s: a handover has both brokers naming themselves for the moment the new controller's
  // UpdateMetadata takes to reach the old one; a deposed controller still acting lasts longer.
  KafkaControllerSplitBrain: { severity: 'critical', section: 'kafka', forMs: 10_000 },
  KafkaBrokerDown: { severity: 'critical', section: 'kafka', forMs: 30_000 },
  KafkaUnderReplicatedPartitions: { severity: 'warning', section: 'kafka', forMs: 60_000 },
  KafkaOfflinePartitions: { severity: 'critical', section: 'kafka', forMs: 15_000 },
  KafkaUnderMinIsr: { severity: 'critical', section: 'kafka', forMs: 30_000 },
  KafkaConsumerLagGrowing: { severity: 'warning', section: 'groups', forMs: 60_000 },
  JobsDeadLetterGrowing: { severity: 'warning', section: 'jobs', forMs: 0 },
  JobsFailureRateHigh: { severity: 'warning', section: 'jobs', forMs: 120_000 },
  DiskSpaceLow: { severity: 'critical', section: 'disks', forMs: 60_000 },
  ZkTxnLogGrowing: { severity: 'warning', section: 'zkLogs', forMs: 300_000 },
} as const satisfies Record<string, { severity: Severity; section: Section; forMs: number }>;

export type AlertName = keyof typeof ALERT_RULES;
export const ALERT_NAMES = Object.keys(ALERT_RULES) as AlertName[];

export interface RuleConfig {
  /** `for` durations overriding ALERT_RULES' defaults. */
  forMs: Partial<Record<AlertName, number>>;
  /** ZkLatencyHigh: a member's zk_avg_latency above this. */
  zkAvgLatencyMsMax: number;
  /** DiskSpaceLow: free space below this share of the file system... */
  diskFreePercentMin: number;
  /** ...or below this many bytes. */
  diskFreeBytesMin: number;
  /** KafkaConsumerLagGrowing: a group's lag on a topic above this and growing over lagWindowMs. */
  consumerLagMin: number;
  lagWindowMs: number;
  /**
   * JobsDeadLetterGrowing: the Job Service's clustergenie_jobs_dead_total grew within this window.
   * That counter is the fenced view's (one per death that counts, whose letter fence.ts
   * deadLetterCounts admits); the topic's end offsets would also count a fenced owner's letter.
   * The topic is the alert's label.
   */
  deadLetterTopic: string;
  deadLetterWindowMs: number;
  /** JobsFailureRateHigh: failed / submitted over the window above this, with enough jobs to judge. */
  jobsFailureRatioMax: number;
  jobsFailureWindowMs: number;
  jobsSubmittedMin: number;
  /**
   * ZkTxnLogGrowing: a watched ZooKeeper data dir's transaction logs total more than this, grew
   * within zkTxnLogWindowMs, and no old log file was deleted within it (no purge ran).
   */
  zkTxnLogBytesMin: number;
  zkTxnLogWindowMs: number;
}

export const ruleConfigDefaults: RuleConfig = {
  forMs: {},
  zkAvgLatencyMsMax: 100,
  diskFreePercentMin: 10,
  diskFreeBytesMin: 512 * 1024 * 1024,
  consumerLagMin: 1000,
  lagWindowMs: 300_000,
  deadLetterTopic: 'cluster-events.dlq',
  deadLetterWindowMs: 600_000,
  jobsFailureRatioMax: 0.2,
  jobsFailureWindowMs: 300_000,
  jobsSubmittedMin: 20,
  zkTxnLogBytesMin: 1024 * 1024 * 1024,
  zkTxnLogWindowMs: 3_600_000,
};

/** Samples kept per growth series (one per round; 5 s rounds over a 10 min window need 120). */
export const seriesSamplesMax = 720;
/** Growth series kept at all (group × topic lag sums and the job counters); more are not tracked. */
export const seriesCountMax = 10_000;
/** Broker ids remembered as "seen before" (KafkaBrokerDown). */
export const brokersSeenMax = 10_000;

export interface Alert {
  /** Alertmanager-style: FNV-1a 64 of the sorted labels (alertname included), hex. */
  fingerprint: string;
  name: AlertName;
  severity: Severity;
  /** alertname, severity and the rule's own labels (member, broker, topic, partition, group, path). */
  labels: Record<string, string>;
  summary: string;
  value: number | undefined;
  state: 'pending' | 'firing';
  /** When the condition started holding (Prometheus' activeAt). */
  activeSinceMs: number;
  /** When it became firing (the event's startsAt). */
  firingSinceMs: number | undefined;
}

export interface Sample {
  atMs: number;
  value: number;
}

export interface MonitorState {
  alerts: ReadonlyMap<string, Alert>;
  series: ReadonlyMap<string, readonly Sample[]>;
  brokersSeen: ReadonlySet<number>;
}

export const emptyState: MonitorState = { alerts: new Map(), series: new Map(), brokersSeen: new Set() };

export interface AlertEvent {
  type: 'alert.firing' | 'alert.resolved';
  alert: Alert;
  startsAtMs: number;
  /** Set on alert.resolved. */
  endsAtMs: number | undefined;
}

interface Candidate {
  name: AlertName;
  labels: Record<string, string>;
  summary: string;
  value?: number;
}

// ---- fingerprints

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 over name, 0xff, value, 0xff of the labels sorted by name (Alertmanager's LabelSet.Fingerprint). */
export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  const mix = (bytes: Uint8Array): void => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  };
  const sep = new Uint8Array([0xff]);
  for (const name of Object.keys(labels).sort()) {
    mix(Buffer.from(name));
    mix(sep);
    mix(Buffer.from(labels[name]!));
    mix(sep);
  }
  return h.toString(16).padStart(16, '0');
}

// ---- growth series

function growth(samples: readonly Sample[] | undefined): number | undefined {
  if (!samples || samples.length < 2) return undefined;
  return samples[samples.length - 1]!.value - samples[0]!.value;
}

function lagSums(groups: readonly GroupSnapshot[]): Map<string, { group: string; topic: string; lag: number }> {
  const out = new Map<string, { group: string; topic: string; lag: number }>();
  for (const g of groups) {
    for (const o of g.offsets) {
      if (o.lag === undefined) continue;
      const key = `lag|${g.group}|${o.topic}`;
      const cur = out.get(key);
      if (cur) cur.lag += o.lag;
      else out.set(key, { group: g.group, topic: o.topic, lag: o.lag });
    }
  }
  return out;
}

/** The section's series values this round (key → value), or undefined when the section is unknown. */
function seriesValues(s: Snapshot): Map<Section, Map<string, number>> {
  const out = new Map<Section, Map<string, number>>();
  if (s.groups) out.set('groups', new Map([...lagSums(s.groups)].map(([k, v]) => [k, v.lag])));
  if (s.zkLogs) {
    const logs = new Map<string, number>();
    for (const l of s.zkLogs) {
      logs.set(`txlog|bytes|${l.path}`, l.bytes);
      if (l.oldestZxid !== undefined) logs.set(`txlog|oldest|${l.path}`, l.oldestZxid);
    }
    out.set('zkLogs', logs);
  }
  if (s.jobs) {
    out.set(
      'jobs',
      new Map([
        ['jobs|submitted', s.jobs.submittedTotal],
        ['jobs|failed', s.jobs.failedTotal],
        ['jobs|dead', s.jobs.deadTotal],
      ]),
    );
  }
  return out;
}

const sectionOfSeries = (key: string): Section => (key.startsWith('lag|') ? 'groups' : key.startsWith('txlog|') ? 'zkLogs' : 'jobs');

function windowOf(key: string, cfg: RuleConfig): number {
  const section = sectionOfSeries(key);
  if (section === 'groups') return cfg.lagWindowMs;
  if (section === 'zkLogs') return cfg.zkTxnLogWindowMs;
  return key === 'jobs|dead' ? cfg.deadLetterWindowMs : cfg.jobsFailureWindowMs;
}

function updateSeries(prev: MonitorState['series'], s: Snapshot, nowMs: number, cfg: RuleConfig): Map<string, readonly Sample[]> {
  const values = seriesValues(s);
  const next = new Map<string, readonly Sample[]>();
  // Series of sections not read this round stay as they were.
  for (const [key, samples] of prev) if (!values.has(sectionOfSeries(key))) next.set(key, samples);
  for (const byKey of values.values()) {
    for (const [key, value] of byKey) {
      const from = nowMs - windowOf(key, cfg);
      const old = prev.get(key);
      if (old === undefined && next.size >= seriesCountMax) continue;
      const kept = (old ?? []).filter((x) => x.atMs >= from && x.atMs < nowMs);
      if (kept.length >= seriesSamplesMax) kept.splice(0, kept.length - seriesSamplesMax + 1);
      // A counter that went down was reset (its process restarted): start the window over.
      const samples = kept.length > 0 && value < kept[kept.length - 1]!.value && key.startsWith('jobs|') ? [] : kept;
      next.set(key, [...samples, { atMs: nowMs, value }]);
    }
  }
  return next;
}

// ---- rules

const VOTING_STATES = new Set(['leader', 'follower', 'standalone']);

function zkCandidates(s: Snapshot, cfg: RuleConfig): Candidate[] {
  const zk = s.zk;
  if (!zk) return [];
  const out: Candidate[] = [];
  const leaders = zk.members.filter((m) => m.up && m.serverState === 'leader');
  if (leaders.length > 1) {
    out.push({
      name: 'ZkSplitBrain',
      labels: {},
      summary: `${leaders.length} ZooKeeper members report leading at once: ${leaders.map((m) => m.member).join(', ')}`,
      value: leaders.length,
    });
  }
  const observers = zk.members.filter((m) => m.up && m.serverState === 'observer').length;
  // The leader knows the voting membership; without it, every configured member that is not an observer votes.
  const voters = leaders[0]?.quorumSize ?? zk.members.length - observers;
  const serving = zk.members.filter((m) => m.up && VOTING_STATES.has(m.serverState ?? '')).length;
  const majority = Math.floor(voters / 2) + 1;
  const standalone = zk.members.length === 1 && zk.members[0]!.serverState === 'standalone';
  const down = Math.max(0, voters - serving);
  const noLeader = voters > 1 && leaders.length === 0;
  // A member whose state cannot be read (mntr not allowed) makes the quorum arithmetic a guess: skip it.
  const judgeable = !zk.members.some((m) => m.unknown);
  if (judgeable && voters > 0 && (serving < majority || noLeader)) {
    out.push({
      name: 'ZkQuorumLost',
      labels: {},
      summary: `ZooKeeper quorum lost: ${serving} of ${voters} voting members serving, ${majority} needed${noLeader ? ', no leader' : ''}`,
      value: serving,
    });
  } else if (judgeable && !standalone && down > 0 && serving === majority) {
    out.push({
      name: 'ZkQuorumAtRisk',
      labels: {},
      summary: `ZooKeeper quorum holds with no spare: ${serving} of ${voters} voting members serving; one more loss stops writes`,
      value: serving,
    });
  }
  for (const m of zk.members) {
    if (m.unknown) continue;
    if (!m.up) {
      out.push({
        name: 'ZkMemberDown',
        labels: { member: m.member },
        summary: `ZooKeeper member ${m.member} is not serving: ${m.error ?? 'no reply'}`,
      });
      continue;
    }
    if (m.avgLatencyMs !== undefined && m.avgLatencyMs > cfg.zkAvgLatencyMsMax) {
      out.push({
        name: 'ZkLatencyHigh',
        labels: { member: m.member },
        summary: `ZooKeeper member ${m.member} average request latency ${m.avgLatencyMs} ms is above ${cfg.zkAvgLatencyMsMax} ms`,
        value: m.avgLatencyMs,
      });
    }
  }
  for (const l of leaders) {
    if (l.syncedFollowers !== undefined && l.syncedFollowers < voters - 1) {
      out.push({
        name: 'ZkMemberNotSynced',
        labels: { member: l.member },
        summary: `ZooKeeper leader ${l.member} has ${l.syncedFollowers} synced followers of ${voters - 1}`,
        value: l.syncedFollowers,
      });
    }
  }
  return out;
}

function kafkaCandidates(s: Snapshot, brokersSeen: ReadonlySet<number>): Candidate[] {
  const k = s.kafka;
  if (!k) return [];
  const out: Candidate[] = [];
  const live = new Set(k.brokers);
  const expected = new Set(brokersSeen);
  for (const p of k.partitions) for (const r of p.replicas) expected.add(r);
  for (const id of [...expected].sort((a, b) => a - b)) {
    if (!live.has(id)) {
      out.push({
        name: 'KafkaBrokerDown',
        labels: { broker: String(id) },
        summary: `Kafka broker ${id} is not registered in /brokers/ids`,
      });
    }
  }
  if (k.controllerViews && k.controllerViews.length > 0) {
    // Only brokers naming themselves count (Kafka's ActiveControllerCount): a broker naming another
    // has stale metadata, normal for a moment after a failover. Two claimants, or one that is not
    // /controller's broker, is a deposed controller still acting.
    const claimants = new Set(k.controllerViews.filter((v) => v.broker === v.controller).map((v) => v.broker));
    const zombie = k.controller !== undefined && [...claimants].some((b) => b !== k.controller);
    if (claimants.size > 1 || zombie) {
      out.push({
        name: 'KafkaControllerSplitBrain',
        labels: {},
        summary: `Brokers disagree on the controller: /controller=${k.controller ?? 'none'}, views ${k.controllerViews.map((v) => `${v.broker}→${v.controller}`).join(', ')}`,
        value: claimants.size,
      });
    }
  }
  const perTopic = new Map<string, { urp: number; offline: number; underMinIsr: number }>();
  for (const p of k.partitions) {
    let t = perTopic.get(p.topic);
    if (!t) {
      t = { urp: 0, offline: 0, underMinIsr: 0 };
      perTopic.set(p.topic, t);
    }
    if (p.isr.length < p.replicas.length) t.urp++;
    if (p.leader < 0 || !live.has(p.leader)) t.offline++;
    if (p.minIsr !== undefined && p.isr.length < p.minIsr) t.underMinIsr++;
  }
  for (const [topic, t] of [...perTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (t.urp > 0) {
      out.push({
        name: 'KafkaUnderReplicatedPartitions',
        labels: { topic },
        summary: `${t.urp} partition(s) of ${topic} have fewer in-sync replicas than replicas`,
        value: t.urp,
      });
    }
    if (t.offline > 0) {
      out.push({
        name: 'KafkaOfflinePartitions',
        labels: { topic },
        summary: `${t.offline} partition(s) of ${topic} have no live leader`,
        value: t.offline,
      });
    }
    if (t.underMinIsr > 0) {
      out.push({
        name: 'KafkaUnderMinIsr',
        labels: { topic },
        summary: `${t.underMinIsr} partition(s) of ${topic} have fewer in-sync replicas than min.insync.replicas (acks=all writes fail)`,
        value: t.underMinIsr,
      });
    }
  }
  return out;
}

function growthCandidates(s: Snapshot, series: ReadonlyMap<string, readonly Sample[]>, cfg: RuleConfig): Candidate[] {
  const out: Candidate[] = [];
  if (s.groups) {
    for (const [key, v] of lagSums(s.groups)) {
      const d = growth(series.get(key));
      if (v.lag > cfg.consumerLagMin && d !== undefined && d > 0) {
        out.push({
          name: 'KafkaConsumerLagGrowing',
          labels: { group: v.group, topic: v.topic },
          summary: `Consumer group ${v.group} lags ${v.lag} messages on ${v.topic}, up ${d} within ${cfg.lagWindowMs / 1000} s`,
          value: v.lag,
        });
      }
    }
  }
  if (s.jobs) {
    const d = growth(series.get('jobs|dead'));
    if (d !== undefined && d > 0) {
      out.push({
        name: 'JobsDeadLetterGrowing',
        labels: { topic: cfg.deadLetterTopic },
        summary: `${d} job(s) reached the dead-letter topic ${cfg.deadLetterTopic} within ${cfg.deadLetterWindowMs / 1000} s`,
        value: d,
      });
    }
    const submitted = growth(series.get('jobs|submitted'));
    const failed = growth(series.get('jobs|failed'));
    if (
      submitted !== undefined &&
      failed !== undefined &&
      submitted >= cfg.jobsSubmittedMin &&
      failed / submitted > cfg.jobsFailureRatioMax
    ) {
      const ratio = failed / submitted;
      out.push({
        name: 'JobsFailureRateHigh',
        labels: {},
        summary: `${failed} failed attempts for ${submitted} submitted jobs within ${cfg.jobsFailureWindowMs / 1000} s (${(ratio * 100).toFixed(1)}%)`,
        value: ratio,
      });
    }
  }
  return out;
}

function diskCandidates(s: Snapshot, cfg: RuleConfig): Candidate[] {
  const out: Candidate[] = [];
  for (const d of s.disks ?? []) {
    const pct = d.sizeBytes > 0 ? (d.freeBytes / d.sizeBytes) * 100 : 100;
    if (d.freeBytes < cfg.diskFreeBytesMin || pct < cfg.diskFreePercentMin) {
      out.push({
        name: 'DiskSpaceLow',
        labels: { path: d.path },
        summary: `${d.path}: ${d.freeBytes} bytes free (${pct.toFixed(1)}%), below ${cfg.diskFreeBytesMin} bytes or ${cfg.diskFreePercentMin}%`,
        value: d.freeBytes,
      });
    }
  }
  return out;
}

/**
 * ZkTxnLogGrowing: "the transaction log growing without purge". Over the window, the logs grew
 * (a new file, or a preallocation step) while the oldest log file stayed the same (nothing deleted
 * old logs: autopurge is off, or its purgeInterval is longer than the window), and they are big
 * enough to matter. A purge moves the oldest file up and clears the alert at once.
 */
function zkTxnLogCandidates(s: Snapshot, series: ReadonlyMap<string, readonly Sample[]>, cfg: RuleConfig): Candidate[] {
  const out: Candidate[] = [];
  for (const l of s.zkLogs ?? []) {
    if (l.bytes <= cfg.zkTxnLogBytesMin) continue;
    const grew = growth(series.get(`txlog|bytes|${l.path}`));
    const oldest = series.get(`txlog|oldest|${l.path}`);
    if (grew === undefined || grew <= 0 || !oldest || oldest.length < 2) continue;
    if (oldest.some((x) => x.value !== oldest[0]!.value)) continue; // purged within the window
    out.push({
      name: 'ZkTxnLogGrowing',
      labels: { path: l.path },
      summary: `${l.path}: ZooKeeper transaction logs hold ${l.bytes} bytes in ${l.files} file(s), up ${grew} within ${cfg.zkTxnLogWindowMs / 1000} s, and no old log was purged (autopurge.purgeInterval off or longer than that)`,
      value: l.bytes,
    });
  }
  return out;
}

// ---- evaluation

function sectionKnown(s: Snapshot, section: Section): boolean {
  return s[section] !== undefined;
}

/** One round: the new state and the alert.firing / alert.resolved events it caused, in rule order. */
export function evaluate(
  snapshot: Snapshot,
  prev: MonitorState,
  nowMs: number,
  config: Partial<RuleConfig> = {},
): { state: MonitorState; events: AlertEvent[] } {
  const cfg: RuleConfig = { ...ruleConfigDefaults, ...config, forMs: { ...ruleConfigDefaults.forMs, ...config.forMs } };
  const series = updateSeries(prev.series, snapshot, nowMs, cfg);
  const brokersSeen = new Set(prev.brokersSeen);
  if (snapshot.kafka) for (const id of snapshot.kafka.brokers) if (brokersSeen.size < brokersSeenMax) brokersSeen.add(id);

  const candidates = [
    ...zkCandidates(snapshot, cfg),
    ...kafkaCandidates(snapshot, prev.brokersSeen),
    ...growthCandidates(snapshot, series, cfg),
    ...diskCandidates(snapshot, cfg),
    ...zkTxnLogCandidates(snapshot, series, cfg),
  ];

  const alerts = new Map<string, Alert>();
  const events: AlertEvent[] = [];
  for (const c of candidates) {
    const rule = ALERT_RULES[c.name];
    const labels: Record<string, string> = { alertname: c.name, severity: rule.severity, ...c.labels };
    const fingerprint = fingerprintOf(labels);
    if (alerts.has(fingerprint)) continue;
    const before = prev.alerts.get(fingerprint);
    const forMs = cfg.forMs[c.name] ?? rule.forMs;
    const activeSinceMs = before?.activeSinceMs ?? nowMs;
    const base = { fingerprint, name: c.name, severity: rule.severity, labels, summary: c.summary, value: c.value, activeSinceMs };
    if (before?.state === 'firing') {
      alerts.set(fingerprint, { ...base, state: 'firing', firingSinceMs: before.firingSinceMs });
    } else if (nowMs - activeSinceMs >= forMs) {
      const alert: Alert = { ...base, state: 'firing', firingSinceMs: nowMs };
      alerts.set(fingerprint, alert);
      events.push({ type: 'alert.firing', alert, startsAtMs: nowMs, endsAtMs: undefined });
    } else {
      alerts.set(fingerprint, { ...base, state: 'pending', firingSinceMs: undefined });
    }
  }
  for (const [fingerprint, before] of prev.alerts) {
    if (alerts.has(fingerprint)) continue;
    // Data this round could not read: the alert stays as it was (neither raised nor resolved).
    if (!sectionKnown(snapshot, ALERT_RULES[before.name].section)) {
      alerts.set(fingerprint, before);
      continue;
    }
    if (before.state === 'firing') {
      events.push({ type: 'alert.resolved', alert: before, startsAtMs: before.firingSinceMs ?? before.activeSinceMs, endsAtMs: nowMs });
    }
  }
  return { state: { alerts, series, brokersSeen }, events };
}

/** Firing alerts, for the metrics and the dashboard. */
export function firingAlerts(state: MonitorState): Alert[] {
  return [...state.alerts.values()].filter((a) => a.state === 'firing');
}
