// The monitor's /metrics: kafka_exporter's names and labels (danielqsj/kafka_exporter, what
// Grafana dashboard 7589 reads), the watched disks, ZooKeeper member reachability and the alerts.
// Every round replaces all series at once (reset + set in one synchronous block, so a scrape never
// sees half a round), so a topic or group that went away leaves no stale series behind.

import { Gauge, Registry } from 'prom-client';
import type { Alert } from './rules.js';
import type { Snapshot } from './snapshot.js';

/** Label names an alert may carry (the ALERTS-like gauge declares them all). */
const ALERT_LABELS = ['alertname', 'alertstate', 'severity', 'member', 'broker', 'topic', 'partition', 'group', 'path'] as const;

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly g;

  constructor() {
    const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
      new Gauge({ name, help, labelNames: [...labelNames], registers: [this.registry] });
    const tp = ['topic', 'partition'];
    const gtp = ['consumergroup', 'topic', 'partition'];
    this.g = {
      brokers: gauge('kafka_brokers', 'Number of Brokers in the Kafka Cluster.'),
      brokerInfo: gauge('kafka_broker_info', 'Information about the Kafka Broker.', ['address', 'id']),
      topicPartitions: gauge('kafka_topic_partitions', 'Number of partitions for this Topic', ['topic']),
      current: gauge('kafka_topic_partition_current_offset', 'Current Offset of a Broker at Topic/Partition', tp),
      oldest: gauge('kafka_topic_partition_oldest_offset', 'Oldest Offset of a Broker at Topic/Partition', tp),
      isr: gauge('kafka_topic_partition_in_sync_replica', 'Number of In-Sync Replicas for this Topic/Partition', tp),
      leader: gauge('kafka_topic_partition_leader', 'Leader Broker ID of this Topic/Partition', tp),
      preferred: gauge('kafka_topic_partition_leader_is_preferred', '1 if Topic/Partition is using the Preferred Broker', tp),
      replicas: gauge('kafka_topic_partition_replicas', 'Number of Replicas for this Topic/Partition', tp),
      urp: gauge('kafka_topic_partition_under_replicated_partition', '1 if Topic/Partition is under Replicated', tp),
      groupCurrent: gauge('kafka_consumergroup_current_offset', 'Current Offset of a ConsumerGroup at Topic/Partition', gtp),
      groupCurrentSum: gauge('kafka_consumergroup_current_offset_sum', 'Current Offset of a ConsumerGroup at Topic for all partitions', [
        'consumergroup',
        'topic',
      ]),
      lag: gauge('kafka_consumergroup_lag', 'Current Approximate Lag of a ConsumerGroup at Topic/Partition', gtp),
      lagSum: gauge('kafka_consumergroup_lag_sum', 'Current Approximate Lag of a ConsumerGroup at Topic for all partitions', [
        'consumergroup',
        'topic',
      ]),
      groupMembers: gauge('kafka_consumergroup_members', 'Amount of members in a consumer group', ['consumergroup']),
      diskFree: gauge('clustergenie_disk_free_bytes', 'Free bytes (available to unprivileged users) of a watched directory', ['path']),
      diskSize: gauge('clustergenie_disk_size_bytes', 'Size in bytes of the file system holding a watched directory', ['path']),
      txnLogBytes: gauge(
        'clustergenie_zookeeper_txnlog_bytes',
        'Bytes of ZooKeeper transaction log files (version-2/log.*) in a watched dir',
        ['path'],
      ),
      txnLogFiles: gauge('clustergenie_zookeeper_txnlog_files', 'ZooKeeper transaction log files in a watched dir', ['path']),
      txnLogOldest: gauge(
        'clustergenie_zookeeper_txnlog_oldest_zxid',
        'First zxid of the oldest transaction log file in a watched dir (rises when old logs are purged)',
        ['path'],
      ),
      zkUp: gauge('clustergenie_zookeeper_member_up', '1 if the ZooKeeper member answered mntr with a server state', ['member']),
      zkLeader: gauge('clustergenie_zookeeper_member_leader', '1 if the ZooKeeper member reports zk_server_state leader', ['member']),
      firing: gauge('clustergenie_alerts_firing', 'Alerts firing, by name and severity', ['alertname', 'severity']),
      alerts: gauge('clustergenie_alerts', 'Pending and firing alerts, like Prometheus ALERTS', ALERT_LABELS),
      leaderGauge: gauge('clustergenie_monitor_leader', '1 while this monitor instance is the elected one'),
      lastRound: gauge('clustergenie_monitor_last_round_timestamp_seconds', 'When the last collection round finished'),
      errors: gauge('clustergenie_monitor_collect_errors', 'Sections that failed to collect in the last round', ['section']),
    };
  }

  setLeader(leading: boolean): void {
    this.g.leaderGauge.set(leading ? 1 : 0);
  }

  /** Replaces every series with what this round saw. */
  update(s: Snapshot, alerts: readonly Alert[], errors: ReadonlyMap<string, string>, brokerAddresses?: ReadonlyMap<number, string>): void {
    for (const g of Object.values(this.g)) if (g !== this.g.leaderGauge) g.reset();
    const g = this.g;
    if (s.kafka) {
      g.brokers.set(s.kafka.brokers.length);
      for (const id of s.kafka.brokers) g.brokerInfo.set({ id: String(id), address: brokerAddresses?.get(id) ?? '' }, 1);
      const perTopic = new Map<string, number>();
      for (const p of s.kafka.partitions) {
        perTopic.set(p.topic, (perTopic.get(p.topic) ?? 0) + 1);
        const l = { topic: p.topic, partition: String(p.partition) };
        g.isr.set(l, p.isr.length);
        g.leader.set(l, p.leader);
        g.preferred.set(l, p.leader >= 0 && p.leader === p.replicas[0] ? 1 : 0);
        g.replicas.set(l, p.replicas.length);
        g.urp.set(l, p.isr.length < p.replicas.length ? 1 : 0);
      }
      for (const [topic, n] of perTopic) g.topicPartitions.set({ topic }, n);
    }
    for (const o of s.offsets?.partitions ?? []) {
      const l = { topic: o.topic, partition: String(o.partition) };
      g.current.set(l, o.current);
      g.oldest.set(l, o.oldest);
    }
    for (const grp of s.groups ?? []) {
      g.groupMembers.set({ consumergroup: grp.group }, grp.members);
      const sums = new Map<string, { current: number; lag: number }>();
      for (const o of grp.offsets) {
        const l = { consumergroup: grp.group, topic: o.topic, partition: String(o.partition) };
        g.groupCurrent.set(l, o.committed);
        let sum = sums.get(o.topic);
        if (!sum) {
          sum = { current: 0, lag: 0 };
          sums.set(o.topic, sum);
        }
        sum.current += o.committed;
        if (o.lag !== undefined) {
          g.lag.set(l, o.lag);
          sum.lag += o.lag;
        }
      }
      for (const [topic, sum] of sums) {
        g.groupCurrentSum.set({ consumergroup: grp.group, topic }, sum.current);
        g.lagSum.set({ consumergroup: grp.group, topic }, sum.lag);
      }
    }
    for (const d of s.disks ?? []) {
      g.diskFree.set({ path: d.path }, d.freeBytes);
      g.diskSize.set({ path: d.path }, d.sizeBytes);
    }
    for (const l of s.zkLogs ?? []) {
      g.txnLogBytes.set({ path: l.path }, l.bytes);
      g.txnLogFiles.set({ path: l.path }, l.files);
      if (l.oldestZxid !== undefined) g.txnLogOldest.set({ path: l.path }, l.oldestZxid);
    }
    for (const m of s.zk?.members ?? []) {
      g.zkUp.set({ member: m.member }, m.up ? 1 : 0);
      g.zkLeader.set({ member: m.member }, m.up && m.serverState === 'leader' ? 1 : 0);
    }
    const firing = new Map<string, { alertname: string; severity: string; n: number }>();
    for (const a of alerts) {
      const labels: Record<string, string> = { alertstate: a.state };
      for (const [k, v] of Object.entries(a.labels)) if ((ALERT_LABELS as readonly string[]).includes(k)) labels[k] = v;
      g.alerts.set(labels, 1);
      if (a.state !== 'firing') continue;
      const key = `${a.name}|${a.severity}`;
      const f = firing.get(key);
      if (f) f.n++;
      else firing.set(key, { alertname: a.name, severity: a.severity, n: 1 });
    }
    for (const f of firing.values()) g.firing.set({ alertname: f.alertname, severity: f.severity }, f.n);
    for (const [section] of errors) g.errors.set({ section }, 1);
    g.lastRound.set(s.atMs / 1000);
  }

  /** A standby instance exports nothing but its role (no double counting across instances). */
  clear(): void {
    for (const g of Object.values(this.g)) if (g !== this.g.leaderGauge) g.reset();
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
