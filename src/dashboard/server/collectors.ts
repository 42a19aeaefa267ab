// The thin I/O shell that fills one refresh Round (view.ts builds the view from it). Kafka's state
// comes from ZooKeeper and the Admin API through the monitor's collectors (src/genie/monitor/
// collect.ts), ZooKeeper members through mntr plus srvr (for the zxid), jobs from the Job Service's
// /api/stats, alerts from `monitoring.alerts` read without a group, workers from their registrations
// and scaling events from the shared reader (workers.ts). Each section fails on its own.
// Every ZooKeeper and Admin request goes through a counting wrapper: the count per round is what
// the "costs nothing per open tab" check reads.

import type { Admin, Consumer } from '@platformatic/kafka';
import { collectGroups, collectKafka, collectOffsets } from '../../genie/monitor/collect.js';
import type { AlertRecord } from '../../genie/monitor/events.js';
import { MONITOR_TOPICS } from '../../genie/monitor/events.js';
import { fetchMntr, fetchSrvr, parseSrvr } from '../../genie/monitor/mntr.js';
import { decodeBrokerInfo, Paths } from '../../kafka/zk/layout.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import type { HostPort } from '../../zookeeper/client/connectString.js';
import type { AlertsView, AlertView } from '../api.js';
import { topicReader } from './messages.js';
import type { GroupRead, KafkaRead, OffsetRead, Round, Section, WorkersRead, ZkMemberRead } from './view.js';
import { readWorkers, type ScalingFeed } from './workers.js';

/** Alert history entries kept (newest first). */
export const alertHistoryMax = 500;
/** Distinct alert fingerprints tracked for "firing"; the oldest are forgotten beyond it. */
export const alertFingerprintsMax = 10_000;

/** Requests sent through the counting wrappers. */
export class RequestCounter {
  zk = 0;
  admin = 0;
}

/** `target` whose methods count a request per call (a Proxy: no per-method list to keep in sync). */
export function counting<T extends object>(target: T, bump: () => void): T {
  return new Proxy(target, {
    get(t, prop) {
      // The target as receiver: its getters read private fields a Proxy does not have.
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function' || prop === 'on' || prop === 'off' || prop === 'once' || prop === 'emit') return v;
      return (...args: unknown[]) => {
        bump();
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function section<T>(p: () => Promise<T>, ms: number, what: string): Promise<Section<T>> {
  try {
    return { ok: true, value: await withTimeout(p(), ms, what) };
  } catch (e) {
    return { ok: false, error: `${what}: ${(e as Error).message}` };
  }
}

/** The zxid from a `srvr` reply ("Zxid: 0x..."), or undefined (pure). */
export function parseSrvrZxid(text: string): string | undefined {
  return parseSrvr(text).zxid;
}

export async function readMembers(members: readonly HostPort[], timeoutMs: number): Promise<ZkMemberRead[]> {
  return Promise.all(
    members.map(async (m): Promise<ZkMemberRead> => {
      const member = `${m.host}:${m.port}`;
      const [r, srvr] = await Promise.all([fetchMntr(m.host, m.port, timeoutMs), fetchSrvr(m.host, m.port, timeoutMs)]);
      if (!r.ok) return { member, up: false, error: r.error };
      const f = r.figures;
      const num = (k: string) => {
        const v = Number(f.raw.get(k));
        return Number.isFinite(v) && f.raw.has(k) ? v : undefined;
      };
      const out: ZkMemberRead = { member, up: true, mode: f.serverState };
      const zxid = srvr.zxid;
      if (zxid !== undefined) out.zxid = zxid;
      const set = (k: keyof ZkMemberRead, v: number | undefined) => {
        if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
      };
      set('avgLatencyMs', f.avgLatencyMs);
      set('maxLatencyMs', f.maxLatencyMs);
      set('connections', num('num_alive_connections'));
      set('outstandingRequests', f.outstandingRequests);
      set('znodeCount', f.znodeCount);
      set('syncedFollowers', f.syncedFollowers);
      return out;
    }),
  );
}

/** Kafka's state from its znodes (collect.ts) plus each live broker's advertised address. */
export async function readKafka(zk: ZooKeeperClient): Promise<KafkaRead> {
  // Requests would wait for a session; fail the section now and try again next round.
  if (!zk.isConnected) throw new Error(`not connected to ZooKeeper (state ${zk.state})`);
  const snap = await collectKafka(zk);
  const brokers = await Promise.all(
    snap.brokers.map(async (id) => {
      try {
        const info = decodeBrokerInfo(id, (await zk.getData(`${Paths.brokerIds}/${id}`)).data);
        const ep = info.endpoints[0];
        return { id, host: ep?.host ?? '', port: ep?.port ?? -1 };
      } catch {
        return { id, host: '', port: -1 }; // gone meanwhile, or a registration we cannot read
      }
    }),
  );
  return { brokers, controller: snap.controller, partitions: snap.partitions };
}

export interface CollectorOptions {
  members: HostPort[];
  zk: ZooKeeperClient;
  admin: Admin;
  jobsUrl?: string;
  alerts: AlertFeed;
  /** The shared `worker.scaled` reader (absent: no scaling section). */
  scaling?: ScalingFeed;
  sectionTimeoutMs: number;
}

/** One refresh round: every section read in parallel, each bounded by sectionTimeoutMs. */
export async function collectRound(o: CollectorOptions, now: () => number = Date.now): Promise<Round> {
  const started = now();
  const t = o.sectionTimeoutMs;
  const [zk, kafka, workers] = await Promise.all([
    readMembers(o.members, Math.min(t, 3000)),
    section(() => readKafka(o.zk), t, 'reading Kafka state from ZooKeeper'),
    section<WorkersRead>(() => readWorkers(o.zk), t, 'reading worker registrations from ZooKeeper'),
  ]);
  const parts = kafka.ok ? kafka.value.partitions.map((p) => ({ topic: p.topic, partition: p.partition })) : [];
  const offsets: Section<OffsetRead[]> = kafka.ok
    ? await section(async () => (await collectOffsets(o.admin, parts)).offsets.partitions, t, 'listing offsets')
    : { ok: false, error: 'Kafka state unknown' };
  const [groups, jobs] = await Promise.all([
    section<GroupRead[]>(() => collectGroups(o.admin, offsets.ok ? { partitions: offsets.value } : undefined), t, 'describing groups'),
    o.jobsUrl === undefined ? Promise.resolve(undefined) : section(() => fetchStats(o.jobsUrl!, t), t, `GET ${o.jobsUrl}/api/stats`),
  ]);
  const round: Round = { atMs: started, tookMs: now() - started, zk, kafka, offsets, groups, alerts: o.alerts.view(), workers };
  if (o.scaling) {
    round.scaling = o.scaling.view();
    if (o.scaling.error !== undefined) round.scalingError = o.scaling.error;
  }
  if (jobs !== undefined) round.jobs = jobs;
  return round;
}

async function fetchStats(base: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/api/stats`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as unknown;
  if (typeof body !== 'object' || body === null) throw new Error('not a JSON object');
  return body as Record<string, unknown>;
}

/** Firing alerts and history from alert records, in the order read (pure core of AlertFeed). */
export class AlertBook {
  private readonly latest = new Map<string, AlertView>();
  private history: AlertView[] = [];

  add(rec: Partial<AlertRecord>): void {
    if (typeof rec.fingerprint !== 'string' || (rec.status !== 'firing' && rec.status !== 'resolved')) return;
    const a: AlertView = {
      fingerprint: rec.fingerprint,
      status: rec.status,
      labels: typeof rec.labels === 'object' && rec.labels !== null ? rec.labels : {},
      summary: typeof rec.annotations?.summary === 'string' ? rec.annotations.summary : '',
      startsAt: String(rec.startsAt ?? ''),
    };
    if (rec.status === 'resolved' && typeof rec.endsAt === 'string') a.endsAt = rec.endsAt;
    this.latest.delete(a.fingerprint);
    this.latest.set(a.fingerprint, a);
    if (this.latest.size > alertFingerprintsMax) this.latest.delete(this.latest.keys().next().value as string);
    this.history.unshift(a);
    if (this.history.length > alertHistoryMax * 2) this.history = this.history.slice(0, alertHistoryMax);
  }

  view(): AlertsView {
    const firing = [...this.latest.values()].filter((a) => a.status === 'firing').reverse();
    return { firing, history: this.history.slice(0, alertHistoryMax) };
  }
}

/** Reads `monitoring.alerts` from the beginning, without a group, into an AlertBook. */
export class AlertFeed {
  readonly book = new AlertBook();
  private stopped = false;
  error: string | undefined;

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly admin: Admin,
    private readonly topic = MONITOR_TOPICS.alerts,
  ) {}

  view(): AlertsView {
    const v = this.book.view();
    return this.error !== undefined ? { ...v, error: this.error } : v;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    const f = topicReader(this.consumer, this.topic);
    let positions: Map<number, bigint> | undefined;
    while (!this.stopped) {
      try {
        if (!positions) {
          const n = await f.refresh();
          const res = await this.admin.listOffsets({
            topics: [{ name: this.topic, partitions: [...Array(n).keys()].map((partitionIndex) => ({ partitionIndex, timestamp: -2n })) }],
          });
          positions = new Map();
          for (const t of res) for (const p of t.partitions) positions.set(p.partitionIndex, p.offset);
        }
        const r = await f.read(positions, 1000);
        if (r.outOfRange.length > 0) positions = undefined;
        else for (const [p, n] of r.next) positions.set(p, n);
        for (const rec of r.records.sort((a, b) => Number(a.timestamp - b.timestamp))) {
          try {
            this.book.add(JSON.parse(rec.value?.toString('utf8') ?? 'null') as Partial<AlertRecord>);
          } catch {
            // not a JSON record: skipped (the monitor writes only JSON)
          }
        }
        this.error = undefined;
        if (r.next.size === 0) await new Promise((res) => setTimeout(res, 1000).unref());
      } catch (e) {
        // No monitor yet: the topic appears when one starts.
        this.error = /does not exist|unknown topic/i.test((e as Error).message)
          ? undefined
          : `reading ${this.topic}: ${(e as Error).message}`;
        positions = undefined;
        await new Promise((res) => setTimeout(res, 3000).unref());
      }
    }
  }
}
