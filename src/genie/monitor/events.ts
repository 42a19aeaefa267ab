// The monitor's records on Kafka (schema documented in docs/MONITORING.md): alert events on
// `monitoring.alerts`, keyed by the alert's fingerprint so one alert's firing and resolved land
// on one partition in order, and metric snapshots on `monitoring.metrics`, keyed by the monitor.
// Field names follow Alertmanager's webhook payload (status, labels, annotations, startsAt,
// endsAt, fingerprint) so existing alert tooling reads them without a mapping.

import type { EncodedEvent } from '../jobs/events.js';
import type { TopicToEnsure } from '../kafka.js';
import type { AlertEvent } from './rules.js';
import type { Snapshot } from './snapshot.js';

export const MONITOR_TOPICS = {
  alerts: 'monitoring.alerts',
  metrics: 'monitoring.metrics',
} as const;

export const MONITOR_SCHEMA_VERSION = 1;

/** Alertmanager's "not ended yet" endsAt. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Topics the monitor creates if missing (existing ones are left as they are). */
export function monitorTopics(o: { partitions: number; replicationFactor: number }): TopicToEnsure[] {
  const minIsr = String(Math.min(2, o.replicationFactor));
  return [
    {
      name: MONITOR_TOPICS.alerts,
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      configs: { 'min.insync.replicas': minIsr },
    },
    {
      name: MONITOR_TOPICS.metrics,
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      // Snapshots are for live views and short history, not an archive.
      configs: { 'min.insync.replicas': minIsr, 'retention.ms': String(24 * 3600_000) },
    },
  ];
}

export interface AlertRecord {
  schemaVersion: 1;
  type: 'alert.firing' | 'alert.resolved';
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  annotations: { summary: string };
  startsAt: string;
  endsAt: string;
  value: number | null;
  /** The monitor instance that published it. */
  monitor: string;
  /** When the record was made (RFC 3339). */
  emittedAt: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function alertRecord(e: AlertEvent, monitor: string, nowMs: number): AlertRecord {
  return {
    schemaVersion: MONITOR_SCHEMA_VERSION,
    type: e.type,
    status: e.type === 'alert.firing' ? 'firing' : 'resolved',
    fingerprint: e.alert.fingerprint,
    labels: e.alert.labels,
    annotations: { summary: e.alert.summary },
    startsAt: iso(e.startsAtMs),
    endsAt: e.endsAtMs === undefined ? ZERO_TIME : iso(e.endsAtMs),
    value: e.alert.value ?? null,
    monitor,
    emittedAt: iso(nowMs),
  };
}

export function encodeAlertEvent(e: AlertEvent, monitor: string, nowMs: number): EncodedEvent {
  const rec = alertRecord(e, monitor, nowMs);
  return {
    key: rec.fingerprint,
    value: JSON.stringify(rec),
    headers: new Map([
      ['event-type', rec.type],
      ['schema-version', String(MONITOR_SCHEMA_VERSION)],
      ['producer', monitor],
    ]),
  };
}

/** Topics summarised in a snapshot record; more are counted, not listed (records stay small). */
export const snapshotTopicsMax = 200;
/** Consumer groups listed in a snapshot record. */
export const snapshotGroupsMax = 200;

/** A compact, bounded summary of one round for `monitoring.metrics`. */
export function snapshotRecord(s: Snapshot, monitor: string, firing: number) {
  const topics = new Map<string, { partitions: number; underReplicated: number; offline: number; endOffsetSum: number }>();
  if (s.kafka) {
    const live = new Set(s.kafka.brokers);
    for (const p of s.kafka.partitions) {
      let t = topics.get(p.topic);
      if (!t) {
        t = { partitions: 0, underReplicated: 0, offline: 0, endOffsetSum: 0 };
        topics.set(p.topic, t);
      }
      t.partitions++;
      if (p.isr.length < p.replicas.length) t.underReplicated++;
      if (p.leader < 0 || !live.has(p.leader)) t.offline++;
    }
  }
  for (const o of s.offsets?.partitions ?? []) {
    const t = topics.get(o.topic);
    if (t) t.endOffsetSum += o.current;
  }
  const topicList = [...topics].slice(0, snapshotTopicsMax).map(([topic, t]) => ({ topic, ...t }));
  return {
    schemaVersion: MONITOR_SCHEMA_VERSION,
    type: 'metrics.snapshot' as const,
    at: iso(s.atMs),
    monitor,
    alertsFiring: firing,
    zookeeper: s.zk
      ? s.zk.members.map((m) => ({
          member: m.member,
          up: m.up,
          state: m.serverState ?? null,
          avgLatencyMs: m.avgLatencyMs ?? null,
          outstandingRequests: m.outstandingRequests ?? null,
          znodeCount: m.znodeCount ?? null,
        }))
      : null,
    kafka: s.kafka
      ? { brokers: s.kafka.brokers, controller: s.kafka.controller ?? null, topics: topicList, topicsTotal: topics.size }
      : null,
    consumerGroups: s.groups
      ? s.groups.slice(0, snapshotGroupsMax).map((g) => ({
          group: g.group,
          state: g.state,
          members: g.members,
          lag: g.offsets.reduce((n, o) => n + (o.lag ?? 0), 0),
        }))
      : null,
    disks: s.disks ?? null,
    zkTxnLogs: s.zkLogs ?? null,
    jobs: s.jobs ?? null,
  };
}

export function encodeSnapshot(s: Snapshot, monitor: string, firing: number): EncodedEvent {
  return {
    key: monitor,
    value: JSON.stringify(snapshotRecord(s, monitor, firing)),
    headers: new Map([
      ['event-type', 'metrics.snapshot'],
      ['schema-version', String(MONITOR_SCHEMA_VERSION)],
      ['producer', monitor],
    ]),
  };
}
