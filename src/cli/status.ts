// `clustergenie status`: the whole system at a glance — ZooKeeper members (mntr), quorum, brokers,
// controller and partition health (Kafka's znodes, read as the monitor reads them: collect.ts),
// registered workers, the Job Service and the log store. Exit 0 when healthy, 3 when anything is
// unhealthy, 6 when ZooKeeper cannot be reached at all. The --json document is documented in
// docs/CLI.md; its fields only ever get added to.

import { decodeBrokerInfo, brokerIdPath } from '../kafka/zk/layout.js';
import { ZooKeeperClient } from '../zookeeper/client/client.js';
import { isZooKeeperError } from '../zookeeper/client/errors.js';
import { Err } from '../zookeeper/protocol/constants.js';
import { collectKafka, parseMembers } from '../genie/monitor/collect.js';
import { fetchMntr, fetchSrvr, type MntrResult, type SrvrFigures } from '../genie/monitor/mntr.js';
import type { KafkaSnapshot, PartitionSnapshot } from '../genie/monitor/snapshot.js';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson, printTable, safeText } from './output.js';
import { clientProgram, intOption, runProgram } from './program.js';

export const statusDefaults = {
  zookeeper: '127.0.0.1:2181',
  bootstrapServer: '127.0.0.1:9092',
  jobsUrl: 'http://127.0.0.1:8081',
  logsUrl: 'http://127.0.0.1:3100',
  timeoutMs: 3000,
} as const;
/** Partitions listed by name per problem kind (the counts are always whole). */
export const statusPartitionsListedMax = 50;
/** fetchMntr's error for a member that answers "This ZooKeeper instance is not currently serving requests". */
const NOT_SERVING_ERROR = 'not currently serving requests';
/** Largest HTTP body read from a service. */
const serviceBodyBytesMax = 1024 * 1024;
const WORKERS_PATH = '/clustergenie/workers';
export interface MemberStatus {
  member: string;
  up: boolean;
  /** Answered, but not with mntr figures (mntr not whitelisted): neither up nor down. */
  unknown?: boolean;
  /** Running, but not serving clients (it has no quorum): answered, so not "down". */
  notServing?: boolean;
  mode?: string;
  zxid?: string;
  avgLatencyMs?: number;
  maxLatencyMs?: number;
  connections?: number;
  outstandingRequests?: number;
  znodeCount?: number;
  syncedFollowers?: number;
  error?: string;
}

export interface PartitionProblem {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface KafkaStatus {
  brokers: { id: number; host?: string; port?: number; leaderOf: number }[];
  controller: number | null;
  /** Broker ids the partition assignments name: each should be registered. */
  expectedBrokers: number[];
  missingBrokers: number[];
  topics: number;
  partitions: number;
  underReplicatedCount: number;
  offlineCount: number;
  underReplicated: PartitionProblem[];
  offline: PartitionProblem[];
  /** --bootstrap-server addresses (when given) with no broker registered there. */
  unregisteredAddresses: string[];
}

export type ServiceState = 'up' | 'unhealthy' | 'down' | 'absent';

export interface ServiceStatus {
  url: string;
  /** absent: the default address refused the connection and the service was not asked for by flag. */
  state: ServiceState;
  error?: string;
  health?: unknown;
  stats?: unknown;
}

export interface StatusReport {
  healthy: boolean;
  problems: string[];
  zookeeper: { connect: string; reachable: boolean; quorum: boolean; leader: string | null; members: MemberStatus[] };
  kafka: (KafkaStatus & { error?: undefined }) | { error: string } | null;
  workers: number | null;
  services: { jobs: ServiceStatus; logs: ServiceStatus };
}

/** One member's mntr answer as the report shows it (pure). */
export function memberStatus(member: string, r: MntrResult, srvr: SrvrFigures = {}): MemberStatus {
  if (!r.ok) {
    // mntr not whitelisted (Apache's default): srvr's mode still says it serves.
    if (r.serving && srvr.mode !== undefined) return { member, up: true, mode: srvr.mode, ...(srvr.zxid ? { zxid: srvr.zxid } : {}) };
    if (r.serving) return { member, up: false, unknown: true, error: r.error };
    if (r.error === NOT_SERVING_ERROR) return { member, up: false, notServing: true, error: 'running, not serving (no quorum)' };
    return { member, up: false, error: r.error };
  }
  const f = r.figures;
  const raw = (k: string): number | undefined => {
    const v = f.raw.get(k);
    return v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  const s: MemberStatus = { member, up: true, mode: f.serverState };
  if (srvr.zxid !== undefined) s.zxid = srvr.zxid;
  if (f.avgLatencyMs !== undefined) s.avgLatencyMs = f.avgLatencyMs;
  if (f.maxLatencyMs !== undefined) s.maxLatencyMs = f.maxLatencyMs;
  const connections = raw('num_alive_connections');
  if (connections !== undefined) s.connections = connections;
  if (f.outstandingRequests !== undefined) s.outstandingRequests = f.outstandingRequests;
  if (f.znodeCount !== undefined) s.znodeCount = f.znodeCount;
  if (f.syncedFollowers !== undefined) s.syncedFollowers = f.syncedFollowers;
  return s;
}

/** Brokers, controller and partition health from a collectKafka snapshot (pure). */
export function kafkaStatus(
  snap: KafkaSnapshot,
  endpoints: Map<number, { host: string; port: number }>,
  bootstrap: string[] | undefined,
): KafkaStatus {
  const live = new Set(snap.brokers);
  const leaderOf = new Map<number, number>();
  const expected = new Set<number>();
  const urp: PartitionSnapshot[] = [];
  const offline: PartitionSnapshot[] = [];
  for (const p of snap.partitions) {
    for (const r of p.replicas) expected.add(r);
    if (p.leader >= 0 && live.has(p.leader)) leaderOf.set(p.leader, (leaderOf.get(p.leader) ?? 0) + 1);
    else offline.push(p);
    if (p.isr.length < p.replicas.length) urp.push(p);
  }
  const problem = (p: PartitionSnapshot): PartitionProblem => ({
    topic: p.topic,
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas,
    isr: p.isr,
  });
  const registered = new Set([...endpoints.values()].map((e) => `${e.host}:${e.port}`));
  return {
    brokers: snap.brokers.map((id) => ({ id, ...endpoints.get(id), leaderOf: leaderOf.get(id) ?? 0 })),
    controller: snap.controller ?? null,
    expectedBrokers: [...expected].sort((a, b) => a - b),
    missingBrokers: [...expected].filter((id) => !live.has(id)).sort((a, b) => a - b),
    topics: new Set(snap.partitions.map((p) => p.topic)).size,
    partitions: snap.partitions.length,
    underReplicatedCount: urp.length,
    offlineCount: offline.length,
    underReplicated: urp.slice(0, statusPartitionsListedMax).map(problem),
    offline: offline.slice(0, statusPartitionsListedMax).map(problem),
    unregisteredAddresses: (bootstrap ?? []).filter((a) => !registered.has(a)),
  };
}

/** Everything that makes the system unhealthy, one sentence each (pure). */
export function statusProblems(r: Omit<StatusReport, 'healthy' | 'problems'>): string[] {
  const out: string[] = [];
  const zk = r.zookeeper;
  for (const m of zk.members) {
    if (m.notServing) out.push(`ZooKeeper member ${m.member} is running but not serving (no quorum)`);
    else if (!m.up && !m.unknown) out.push(`ZooKeeper member ${m.member} is down (${m.error ?? 'no answer'})`);
  }
  if (!zk.reachable) out.push(`no ZooKeeper session at ${zk.connect}`);
  else if (!zk.quorum) out.push('the ZooKeeper ensemble has no quorum (fewer than a majority of members serve)');
  if (r.kafka && 'error' in r.kafka && r.kafka.error !== undefined) out.push(`cannot read Kafka's state from ZooKeeper: ${r.kafka.error}`);
  else if (r.kafka) {
    const k = r.kafka as KafkaStatus;
    for (const id of k.missingBrokers) out.push(`broker ${id} is not registered (its partitions name it)`);
    for (const a of k.unregisteredAddresses) out.push(`no broker registered at ${a} (--bootstrap-server)`);
    if (k.brokers.length > 0 && k.controller === null) out.push('no Kafka controller');
    if (k.offlineCount > 0) out.push(`${k.offlineCount} partition(s) offline (no live leader)`);
    if (k.underReplicatedCount > 0) out.push(`${k.underReplicatedCount} partition(s) under-replicated`);
  }
  for (const [name, s] of [
    ['Job Service', r.services.jobs],
    ['log store', r.services.logs],
  ] as const) {
    if (s.state === 'down') out.push(`${name} at ${s.url} is down (${s.error ?? 'no answer'})`);
    if (s.state === 'unhealthy') out.push(`${name} at ${s.url} is not ready (${s.error ?? 'not ready'})`);
  }
  return out;
}

/** Quorum: a majority of the members serve (a standalone member is its own quorum). */
export function hasQuorum(members: readonly MemberStatus[]): boolean {
  const serving = members.filter((m) => m.up).length;
  return serving > members.length / 2;
}

async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const len = Number(res.headers.get('content-length') ?? 0);
  if (len > serviceBodyBytesMax) throw new Error(`reply of ${len} bytes is larger than ${serviceBodyBytesMax}`);
  const text = await res.text();
  let body: unknown = text.slice(0, 200);
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (the log store's /ready answers plain "ready")
  }
  return { status: res.status, body };
}

const errText = (e: unknown): string => {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'no answer in time';
  return err.cause?.code ?? err.cause?.message ?? err.message;
};

async function checkService(
  base: string,
  paths: { ready: string; stats?: string },
  explicit: boolean,
  timeoutMs: number,
): Promise<ServiceStatus> {
  const url = base.replace(/\/+$/, '');
  try {
    const ready = await httpGet(`${url}${paths.ready}`, timeoutMs);
    const s: ServiceStatus = { url, state: ready.status === 200 ? 'up' : 'unhealthy', health: ready.body };
    if (ready.status !== 200) s.error = `${paths.ready} answered ${ready.status}`;
    if (paths.stats && s.state === 'up') s.stats = await httpGet(`${url}${paths.stats}`, timeoutMs).then((r) => r.body, errText);
    return s;
  } catch (e) {
    const error = errText(e);
    // Not running at the default address and not asked for: a system without that service.
    if (!explicit && error === 'ECONNREFUSED') return { url, state: 'absent', error };
    return { url, state: 'down', error };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

async function readKafka(zk: ZooKeeperClient, bootstrap: string[] | undefined): Promise<KafkaStatus> {
  const snap = await collectKafka(zk);
  const endpoints = new Map<number, { host: string; port: number }>();
  await Promise.all(
    snap.brokers.map(async (id) => {
      try {
        const info = decodeBrokerInfo(id, (await zk.getData(brokerIdPath(id))).data);
        const e = info.endpoints[0];
        if (e) endpoints.set(id, { host: e.host, port: e.port });
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE)) throw e; // gone meanwhile: shown without an address
      }
    }),
  );
  return kafkaStatus(snap, endpoints, bootstrap);
}

async function countWorkers(zk: ZooKeeperClient): Promise<number | null> {
  try {
    return (await zk.getChildren(WORKERS_PATH)).length;
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return null;
    throw e;
  }
}

export interface StatusOptions {
  zookeeper: string;
  bootstrapServer: string;
  jobsUrl: string;
  logsUrl: string;
  timeoutMs: number;
  /** Flags given on the command line (a service asked for by flag must answer). */
  given: Set<string>;
}

/** Collects the report (the shell); throws exit 6 when no member answers and no session opens. */
export async function collectStatus(o: StatusOptions): Promise<StatusReport> {
  let members: ReturnType<typeof parseMembers>;
  try {
    members = parseMembers(o.zookeeper);
  } catch (e) {
    throw new CliError(`--zookeeper: ${(e as Error).message}`, ExitCode.usage);
  }
  if (members.length === 0) throw new CliError('--zookeeper names no member', ExitCode.usage);
  const zk = new ZooKeeperClient({ connectString: o.zookeeper, sessionTimeoutMs: Math.max(6000, 2 * o.timeoutMs), closeTimeoutMs: 500 });
  try {
    const session = zk.connect({ timeoutMs: o.timeoutMs }).then(
      () => true,
      () => false,
    );
    const [mntr, zxids, reachable, jobs, logs] = await Promise.all([
      Promise.all(members.map((m) => fetchMntr(m.host, m.port, o.timeoutMs))),
      Promise.all(members.map((m) => fetchSrvr(m.host, m.port, o.timeoutMs))),
      session,
      checkService(o.jobsUrl, { ready: '/healthz', stats: '/api/stats' }, o.given.has('jobsUrl'), o.timeoutMs),
      checkService(o.logsUrl, { ready: '/ready' }, o.given.has('logsUrl'), o.timeoutMs),
    ]);
    const memberStatuses = mntr.map((r, i) => memberStatus(`${members[i]!.host}:${members[i]!.port}`, r, zxids[i]));
    if (!reachable && memberStatuses.every((m) => !m.up && !m.unknown && !m.notServing))
      throw new CliError(
        `cannot reach ZooKeeper at ${o.zookeeper}: no member answered within ${o.timeoutMs} ms (${memberStatuses[0]?.error ?? ''}); check --zookeeper`,
        ExitCode.unavailable,
      );
    const leader = memberStatuses.find((m) => m.mode === 'leader' || m.mode === 'standalone')?.member ?? null;
    let kafka: StatusReport['kafka'] = null;
    let workers: number | null = null;
    if (reachable) {
      const bootstrap = o.given.has('bootstrapServer')
        ? o.bootstrapServer
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : undefined;
      try {
        [kafka, workers] = await withTimeout(
          Promise.all([readKafka(zk, bootstrap), countWorkers(zk)]),
          o.timeoutMs * 2,
          'reading ZooKeeper',
        );
      } catch (e) {
        kafka = { error: (e as Error).message };
      }
    }
    const partial = {
      zookeeper: { connect: o.zookeeper, reachable, quorum: hasQuorum(memberStatuses), leader, members: memberStatuses },
      kafka,
      workers,
      services: { jobs, logs },
    };
    const problems = statusProblems(partial);
    return { healthy: problems.length === 0, problems, ...partial };
  } finally {
    await zk.close();
  }
}

const fmt = (v: unknown): string => (v === undefined || v === null ? '-' : String(v));

function printStatus(r: StatusReport): void {
  const z = r.zookeeper;
  const out = (s: string): boolean => process.stdout.write(s);
  out(`${r.healthy ? 'HEALTHY' : 'UNHEALTHY'}\n\n`);
  out(`ZooKeeper ${safeText(z.connect)}: ${z.quorum ? 'quorum' : 'NO QUORUM'}${z.leader ? `, leader ${z.leader}` : ''}\n`);
  printTable(
    ['MEMBER', 'STATE', 'MODE', 'ZXID', 'LATENCY avg/max ms', 'CONNECTIONS', 'OUTSTANDING', 'ZNODES'],
    z.members.map((m) => [
      m.member,
      m.up ? 'up' : m.unknown ? 'unknown' : m.notServing ? 'NOT SERVING' : 'DOWN',
      m.mode ?? m.error ?? '',
      fmt(m.zxid),
      m.up ? `${fmt(m.avgLatencyMs)}/${fmt(m.maxLatencyMs)}` : '-',
      fmt(m.connections),
      fmt(m.outstandingRequests),
      fmt(m.znodeCount),
    ]),
  );
  out('\n');
  if (r.kafka === null) out('Kafka: not read (no ZooKeeper session)\n');
  else if ('error' in r.kafka && r.kafka.error !== undefined) out(`Kafka: ${safeText(r.kafka.error)}\n`);
  else {
    const k = r.kafka as KafkaStatus;
    out(
      `Kafka: ${k.brokers.length} broker(s) registered, controller ${fmt(k.controller)}; ${k.topics} topic(s), ${k.partitions} partition(s), ` +
        `${k.underReplicatedCount} under-replicated, ${k.offlineCount} offline\n`,
    );
    const rows: unknown[][] = k.brokers.map((b) => [
      b.id,
      b.host === undefined ? '-' : `${b.host}:${b.port}`,
      'up',
      b.id === k.controller ? 'yes' : '',
      b.leaderOf,
    ]);
    for (const id of k.missingBrokers) rows.push([id, '-', 'MISSING', '', 0]);
    if (rows.length > 0) printTable(['BROKER', 'ADDRESS', 'STATE', 'CONTROLLER', 'LEADS'], rows);
    const listed = [...k.offline.map((p) => ['offline', p] as const), ...k.underReplicated.map((p) => ['under-replicated', p] as const)];
    if (listed.length > 0)
      printTable(
        ['PARTITION', 'PROBLEM', 'LEADER', 'REPLICAS', 'ISR'],
        listed.map(([what, p]) => [`${p.topic}-${p.partition}`, what, p.leader, p.replicas.join(','), p.isr.join(',')]),
      );
  }
  if (r.workers !== null) out(`Workers: ${r.workers} registered\n`);
  out('\n');
  const svc = (name: string, s: ServiceStatus, extra: string): void => {
    out(
      `${name} ${safeText(s.url)}: ${s.state === 'absent' ? 'not running (not asked for)' : s.state}${s.error && s.state !== 'absent' ? ` (${safeText(s.error)})` : ''}${extra}\n`,
    );
  };
  const stats = r.services.jobs.stats as { total?: number; byState?: Record<string, number> } | undefined;
  const jobsExtra =
    stats && typeof stats.total === 'number'
      ? `; ${stats.total} job(s)${
          stats.byState
            ? ` (${Object.entries(stats.byState)
                .map(([s, n]) => `${s} ${n}`)
                .join(', ')})`
            : ''
        }`
      : '';
  svc('Job Service', r.services.jobs, jobsExtra);
  svc('Log store', r.services.logs, '');
  if (r.problems.length > 0) out(`\nProblems:\n${r.problems.map((p) => `  - ${safeText(p)}\n`).join('')}`);
}

export async function runStatus(args: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = clientProgram('status', 'the whole system at a glance; exit 0 healthy, 3 unhealthy, 6 ZooKeeper unreachable')
    .option('--zookeeper <host:port,...>', 'ZooKeeper members (each is asked for mntr)', statusDefaults.zookeeper)
    .option(
      '--bootstrap-server <host:port,...>',
      'Kafka brokers that must be registered (checked only when given)',
      statusDefaults.bootstrapServer,
    )
    .option('--jobs-url <url>', 'the Job Service (must answer when given)', statusDefaults.jobsUrl)
    .option('--logs-url <url>', 'the log store (must answer when given)', statusDefaults.logsUrl)
    .option('--timeout-ms <ms>', 'how long each member and service may take', intOption('--timeout-ms'), statusDefaults.timeoutMs)
    .option('--json', 'one JSON document (docs/CLI.md "status --json")')
    .action(async (o: Omit<StatusOptions, 'given'> & { json?: boolean }, cmd) => {
      const given = new Set(Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
      const report = await collectStatus({ ...o, given });
      if (o.json) printJson(report);
      else printStatus(report);
      code = report.healthy ? ExitCode.ok : ExitCode.unhealthy;
    });
  const parsed = await runProgram(program, args);
  return parsed === ExitCode.ok ? code : parsed;
}
