// A broker's Prometheus metrics under the names Prometheus' JMX exporter gives Apache Kafka's
// MBeans with its Kafka example configs (lowercaseOutputName), so stock Grafana Kafka dashboards
// and alert rules read ClusterGenie brokers unchanged:
//   kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=T  ->  kafka_server_brokertopicmetrics_messagesin_total{topic="T"}
//   kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions     ->  kafka_server_replicamanager_underreplicatedpartitions
//   kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce  ->  kafka_network_requestmetrics_totaltimems{request,quantile="0.99"}
//                                                                          + kafka_network_requestmetrics_totaltimems_count{request}
// Everything is read at scrape time from plain counters (metricsStats.ts) and broker state, so
// the request paths only bump numbers. Only what this broker measures is exported: an MBean we
// have no honest value for (OfflineReplicaCount: no log-dir failure handling) is left out, not
// shown as a zero.

import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ControllerCore } from '../controller/decisions.js';
import type { Broker } from './broker.js';
import type { LatencyReservoir, TopicCounters } from './metricsStats.js';

/** The JMX exporter's quantile labels for a Yammer histogram's 50th..999th percentiles, and their values. */
const QUANTILE_LABELS = ['0.50', '0.75', '0.95', '0.98', '0.99', '0.999'] as const;
const QUANTILES = [0.5, 0.75, 0.95, 0.98, 0.99, 0.999] as const;

/** Window of the request-handler idle ratio: between one and two of these (see idleRatio). */
export const handlerIdleWindowMs = 60_000;

/** KafkaController's gauges (zero on a broker that is not the active controller, as in Kafka). */
export interface ControllerGauges {
  activeControllerCount: number;
  offlinePartitionsCount: number;
  preferredReplicaImbalanceCount: number;
  globalTopicCount: number;
  globalPartitionCount: number;
}

/** Partitions of topics being deleted are left out of the offline and imbalance counts, as Kafka does. */
export function controllerGauges(core: ControllerCore | undefined): ControllerGauges {
  const out = {
    activeControllerCount: 0,
    offlinePartitionsCount: 0,
    preferredReplicaImbalanceCount: 0,
    globalTopicCount: 0,
    globalPartitionCount: 0,
  };
  if (core === undefined) return out;
  out.activeControllerCount = 1;
  out.globalTopicCount = core.topicNames().length;
  for (const { topic, partition } of core.allPartitions()) {
    out.globalPartitionCount++;
    if (core.isTopicDeleting(topic)) continue;
    const s = core.partitionState(topic, partition);
    if (s === undefined) continue;
    if (s.leader < 0 || !core.liveBrokers.has(s.leader)) out.offlinePartitionsCount++;
    if (s.replicas.length > 0 && s.leader !== s.replicas[0]) out.preferredReplicaImbalanceCount++;
  }
  return out;
}

/** The ReplicaManager and per-partition gauges of what this broker hosts. */
interface ReplicaGauges {
  partitionCount: number;
  leaderCount: number;
  underReplicated: number;
  underMinIsr: number;
  atMinIsr: number;
}

let processRegistry: Registry | undefined;

/** The process/nodejs default metrics, registered once per process however many brokers it runs. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

type Labels = Record<string, string | number>;

export class BrokerMetrics {
  readonly registry = new Registry();
  private eluPrev = performance.eventLoopUtilization();
  private eluCur = this.eluPrev;
  private eluCurAtMs = performance.now();
  /** Computed once per scrape: several gauges read each (see text()). */
  private replicaCache: ReplicaGauges | undefined;
  private controllerCache: ControllerGauges | undefined;

  constructor(private readonly b: Broker) {
    this.brokerTopicMetrics();
    this.replicaManagerMetrics();
    this.controllerMetrics();
    this.requestMetrics();
    this.logMetrics();
    this.gauge(
      'kafka_server_kafkaserver_brokerstate',
      'Broker state (0 not running, 1 starting, 3 running, 6 pending controlled shutdown, 7 shutting down).',
      [],
      (set) => set({}, this.b.state),
    );
    // Node serves every request on one event loop: its idle share is what Kafka's handler-pool idle ratio measures.
    this.gauge(
      'kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent',
      'Share of the last one to two minutes the event loop that runs the request handlers was idle (0..1).',
      [],
      (set) => set({}, this.idleRatio()),
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: this broker's series, then the process's. */
  async text(): Promise<string> {
    this.replicaCache = undefined;
    this.controllerCache = undefined;
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  private controllerGauges(): ControllerGauges {
    this.controllerCache ??= controllerGauges(this.b.controller?.activeCore);
    return this.controllerCache;
  }

  private idleRatio(): number {
    const nowMs = performance.now();
    const cur = performance.eventLoopUtilization();
    if (nowMs - this.eluCurAtMs >= handlerIdleWindowMs) {
      this.eluPrev = this.eluCur;
      this.eluCur = cur;
      this.eluCurAtMs = nowMs;
    }
    const d = performance.eventLoopUtilization(cur, this.eluPrev);
    return d.idle + d.active > 0 ? 1 - d.utilization : 1;
  }

  // ---------------------------------------------------------------- helpers

  private gauge(name: string, help: string, labelNames: string[], fill: (set: (labels: Labels, v: number) => void) => void): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, v) => this.set(labels, v));
      },
    });
  }

  private counter(name: string, help: string, labelNames: string[], fill: (add: (labels: Labels, v: number) => void) => void): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, v) => this.inc(labels, v));
      },
    });
  }

  /** A Yammer histogram as the JMX exporter shows it: a gauge per quantile and a `_count` counter (no `_sum`). */
  private histogram(name: string, help: string, labelNames: string[], series: () => { labels: Labels; r: LatencyReservoir }[]): void {
    this.gauge(name, help, [...labelNames, 'quantile'], (set) => {
      for (const { labels, r } of series()) {
        const qs = r.quantiles(QUANTILES);
        for (let i = 0; i < qs.length; i++) set({ ...labels, quantile: QUANTILE_LABELS[i]! }, qs[i]!);
      }
    });
    this.counter(`${name}_count`, `${help} (count)`, labelNames, (add) => {
      for (const { labels, r } of series()) add(labels, r.count);
    });
  }

  // ---------------------------------------------------------------- kafka.server:type=BrokerTopicMetrics

  private brokerTopicMetrics(): void {
    const perTopic: [string, keyof TopicCounters, string][] = [
      ['messagesin', 'messagesIn', 'Records appended by produce requests.'],
      ['bytesin', 'bytesIn', 'Record-set bytes appended by produce requests.'],
      ['bytesout', 'bytesOut', 'Record bytes sent to consumers (followers not included).'],
      ['totalproducerequests', 'totalProduceRequests', 'Partition appends requested by produce requests.'],
      ['totalfetchrequests', 'totalFetchRequests', 'Partition reads made for fetch requests.'],
      [
        'failedproducerequests',
        'failedProduceRequests',
        'Partition appends that failed for a reason other than routing, size or corruption.',
      ],
      ['failedfetchrequests', 'failedFetchRequests', 'Partition reads that failed unexpectedly.'],
    ];
    for (const [suffix, field, help] of perTopic) {
      // The series without a topic label is Kafka's all-topics MBean.
      this.counter(`kafka_server_brokertopicmetrics_${suffix}_total`, help, ['topic'], (add) => {
        const stats = this.b.replicas?.stats;
        if (stats === undefined) return;
        add({}, stats.all[field]);
        for (const [topic, c] of stats.byTopic) add({ topic }, c[field]);
      });
    }
    this.counter('kafka_server_brokertopicmetrics_replicationbytesin_total', 'Bytes appended as a follower.', [], (add) =>
      add({}, this.b.replicas?.stats.replicationBytesIn ?? 0),
    );
    this.counter('kafka_server_brokertopicmetrics_replicationbytesout_total', 'Record bytes sent to followers.', [], (add) =>
      add({}, this.b.replicas?.stats.replicationBytesOut ?? 0),
    );
  }

  // ---------------------------------------------------------------- kafka.server:type=ReplicaManager, kafka.cluster:type=Partition

  private replicaGauges(): ReplicaGauges {
    if (this.replicaCache !== undefined) return this.replicaCache;
    const g = { partitionCount: 0, leaderCount: 0, underReplicated: 0, underMinIsr: 0, atMinIsr: 0 };
    for (const p of this.b.replicas?.partitions.values() ?? []) {
      g.partitionCount++;
      const core = p.leaderCore;
      if (core === undefined) continue;
      g.leaderCount++;
      const minIsr = core.effectiveMinIsr(p.log.config.minInsyncReplicas);
      if (core.isr.length < p.state.replicas.length) g.underReplicated++;
      if (core.isr.length < minIsr) g.underMinIsr++;
      if (core.isr.length === minIsr) g.atMinIsr++;
    }
    this.replicaCache = g;
    return g;
  }

  private replicaManagerMetrics(): void {
    const gauges: [string, keyof ReplicaGauges, string][] = [
      ['partitioncount', 'partitionCount', 'Partitions this broker hosts (leader or follower).'],
      ['leadercount', 'leaderCount', 'Partitions this broker leads.'],
      ['underreplicatedpartitions', 'underReplicated', 'Partitions led here whose ISR is smaller than their replica set.'],
      ['underminisrpartitioncount', 'underMinIsr', 'Partitions led here whose ISR is below min.insync.replicas.'],
      ['atminisrpartitioncount', 'atMinIsr', 'Partitions led here whose ISR is exactly min.insync.replicas.'],
    ];
    for (const [suffix, field, help] of gauges) {
      this.gauge(`kafka_server_replicamanager_${suffix}`, help, [], (set) => set({}, this.replicaGauges()[field]));
    }
    this.counter('kafka_server_replicamanager_isrshrinks_total', 'ISR shrinks proposed by this leader and accepted.', [], (add) =>
      add({}, this.b.replicas?.isrShrinks ?? 0),
    );
    this.counter('kafka_server_replicamanager_isrexpands_total', 'ISR expansions proposed by this leader and accepted.', [], (add) =>
      add({}, this.b.replicas?.isrExpands ?? 0),
    );
    // Per partition, as Kafka's Partition MBeans: non-zero only where the partition is led.
    const perPartition: [string, string, (isr: number, replicas: number, minIsr: number) => number][] = [
      ['underreplicated', 'Led here and its ISR is smaller than its replica set (0/1).', (i, r) => (i < r ? 1 : 0)],
      ['underminisr', 'Led here and its ISR is below min.insync.replicas (0/1).', (i, _r, m) => (i < m ? 1 : 0)],
      ['atminisr', 'Led here and its ISR is exactly min.insync.replicas (0/1).', (i, _r, m) => (i === m ? 1 : 0)],
      ['insyncreplicascount', 'ISR size, where led here.', (i) => i],
      ['replicascount', 'Replica count, where led here.', (_i, r) => r],
    ];
    for (const [suffix, help, value] of perPartition) {
      this.gauge(`kafka_cluster_partition_${suffix}`, help, ['topic', 'partition'], (set) => {
        for (const p of this.b.replicas?.partitions.values() ?? []) {
          const core = p.leaderCore;
          const v = core ? value(core.isr.length, p.state.replicas.length, core.effectiveMinIsr(p.log.config.minInsyncReplicas)) : 0;
          set({ topic: p.topic, partition: p.partition }, v);
        }
      });
    }
  }

  // ---------------------------------------------------------------- kafka.controller

  private controllerMetrics(): void {
    const gauges: [string, keyof ControllerGauges, string][] = [
      ['activecontrollercount', 'activeControllerCount', '1 on the active controller, 0 elsewhere.'],
      ['offlinepartitionscount', 'offlinePartitionsCount', 'Partitions without a live leader (active controller only).'],
      [
        'preferredreplicaimbalancecount',
        'preferredReplicaImbalanceCount',
        'Partitions not led by their preferred replica (active controller only).',
      ],
      ['globaltopiccount', 'globalTopicCount', 'Topics in the cluster (active controller only).'],
      ['globalpartitioncount', 'globalPartitionCount', 'Partitions in the cluster (active controller only).'],
    ];
    for (const [suffix, field, help] of gauges) {
      this.gauge(`kafka_controller_kafkacontroller_${suffix}`, help, [], (set) => set({}, this.controllerGauges()[field]));
    }
    this.histogram(
      'kafka_controller_controllerstats_leaderelectionrateandtimems',
      'Broker-change events handled as controller, milliseconds.',
      [],
      () => [{ labels: {}, r: this.b.controllerStats.leaderElectionMs }],
    );
    this.counter('kafka_controller_controllerstats_uncleanleaderelections_total', 'Leaders elected from outside the ISR.', [], (add) =>
      add({}, this.b.controllerStats.uncleanLeaderElections),
    );
  }

  // ---------------------------------------------------------------- kafka.network:type=RequestMetrics

  private requestMetrics(): void {
    this.counter(
      'kafka_network_requestmetrics_requests_total',
      'Requests handled, by type and API version.',
      ['request', 'version'],
      (add) => {
        for (const t of this.b.router.stats?.types() ?? []) {
          t.byVersion.forEach((n, version) => {
            if (n > 0) add({ request: t.name, version }, n);
          });
        }
      },
    );
    this.histogram('kafka_network_requestmetrics_totaltimems', 'Request time from handling to response, milliseconds.', ['request'], () =>
      (this.b.router.stats?.types() ?? []).map((t) => ({ labels: { request: t.name }, r: t.totalTimeMs })),
    );
  }

  // ---------------------------------------------------------------- kafka.log:type=Log

  private logMetrics(): void {
    const perLog: [
      string,
      string,
      (p: { log: { size: number; logEndOffset: number; logStartOffset: number; segmentList: readonly unknown[] } }) => number,
    ][] = [
      ['size', 'Bytes of the partition log on disk.', (p) => p.log.size],
      ['logendoffset', 'Offset the next record appended will get.', (p) => p.log.logEndOffset],
      ['logstartoffset', 'First offset still in the log.', (p) => p.log.logStartOffset],
      ['numlogsegments', 'Segment files of the partition log.', (p) => p.log.segmentList.length],
    ];
    for (const [suffix, help, value] of perLog) {
      this.gauge(`kafka_log_log_${suffix}`, help, ['topic', 'partition'], (set) => {
        for (const p of this.b.replicas?.partitions.values() ?? []) set({ topic: p.topic, partition: p.partition }, value(p));
      });
    }
  }
}
