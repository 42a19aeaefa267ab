// Collectors: the thin shell that fills a Snapshot. Each section is read on its own; a section
// whose read fails is left undefined (the rules keep its alerts as they were) and the error is
// returned for the log. Kafka's state comes from ZooKeeper with Kafka's own znode layout
// (read-only), so it works the same against Apache Kafka in ZooKeeper mode; offsets and groups
// come from the Kafka Admin API through @platformatic/kafka.

import { readdir, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Admin } from '@platformatic/kafka';
import {
  decodeController,
  decodeEntityConfig,
  decodePartitionState,
  decodeTopicAssignment,
  configEntityPath,
  Paths,
  partitionStatePath,
  topicPath,
} from '../../kafka/zk/layout.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { type HostPort, parseConnectString } from '../../zookeeper/client/connectString.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { Err } from '../../zookeeper/protocol/constants.js';
import { fetchMntr } from './mntr.js';
import type {
  DiskSnapshot,
  GroupSnapshot,
  JobsSnapshot,
  KafkaSnapshot,
  OffsetsSnapshot,
  PartitionSnapshot,
  ZkSnapshot,
  ZkTxnLogSnapshot,
} from './snapshot.js';

/** Topics read per round; a cluster with more is reported as an error, not half-read. */
export const topicsMax = 2000;
/** Partitions read per round over all topics. */
export const partitionsMax = 50_000;
/** Consumer groups described per round. */
export const groupsMax = 1000;
/** Transaction log files looked at per watched ZooKeeper dir; more is reported as an error. */
export const txnLogFilesMax = 100_000;
/** A jobs /metrics body larger than this is refused. */
export const jobsMetricsBytesMax = 4 * 1024 * 1024;

export type { HostPort };

/** `host:port,...[/chroot]` → members (the chroot is ignored: mntr is per server), as the ZooKeeper client reads them. */
export function parseMembers(list: string): HostPort[] {
  return list
    .split('/')[0]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return parseConnectString(s).hosts[0]!;
      } catch {
        throw new Error(`bad ZooKeeper member address ${JSON.stringify(s)}`);
      }
    });
}

export async function collectZk(members: readonly HostPort[], timeoutMs: number): Promise<ZkSnapshot> {
  const results = await Promise.all(members.map((m) => fetchMntr(m.host, m.port, timeoutMs)));
  return {
    members: results.map((r, i) => {
      const member = `${members[i]!.host}:${members[i]!.port}`;
      if (!r.ok) return r.serving ? { member, up: false, unknown: true, error: r.error } : { member, up: false, error: r.error };
      const { raw: _raw, ...f } = r.figures;
      return { member, up: true, ...f };
    }),
  };
}

async function childrenOrEmpty(zk: ZooKeeperClient, path: string): Promise<string[]> {
  try {
    return await zk.getChildren(path);
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return [];
    throw e;
  }
}

async function dataOrNull(zk: ZooKeeperClient, path: string): Promise<Buffer | null | undefined> {
  try {
    return (await zk.getData(path)).data;
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return undefined;
    throw e;
  }
}

/** Brokers, controller and every partition's assignment/leader/ISR from Kafka's znodes. */
export async function collectKafka(zk: ZooKeeperClient): Promise<KafkaSnapshot> {
  const [ids, controllerData, topics] = await Promise.all([
    childrenOrEmpty(zk, Paths.brokerIds),
    dataOrNull(zk, Paths.controller),
    childrenOrEmpty(zk, Paths.topics),
  ]);
  if (topics.length > topicsMax) throw new Error(`${topics.length} topics; the monitor reads at most ${topicsMax}`);
  const brokers = ids
    .map(Number)
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
  const controller = controllerData === undefined ? undefined : decodeController(controllerData).brokerId;
  let partitionCount = 0;
  const perTopic = await Promise.all(
    topics.map(async (topic): Promise<PartitionSnapshot[]> => {
      const [assignData, configData] = await Promise.all([
        dataOrNull(zk, topicPath(topic)),
        dataOrNull(zk, configEntityPath('topics', topic)),
      ]);
      if (assignData === undefined) return []; // deleted meanwhile
      const assignment = decodeTopicAssignment(topic, assignData);
      const cfg = configData === undefined ? {} : decodeEntityConfig(configEntityPath('topics', topic), configData);
      const minIsrText = cfg['min.insync.replicas'];
      const minIsr = minIsrText === undefined ? undefined : Number(minIsrText);
      partitionCount += assignment.partitions.size;
      if (partitionCount > partitionsMax) throw new Error(`more than ${partitionsMax} partitions; the monitor reads at most that many`);
      return Promise.all(
        [...assignment.partitions].map(async ([partition, replicas]): Promise<PartitionSnapshot> => {
          const stateData = await dataOrNull(zk, partitionStatePath(topic, partition));
          const state = stateData === undefined ? undefined : decodePartitionState(topic, partition, stateData);
          return {
            topic,
            partition,
            replicas,
            isr: state?.isr ?? [],
            leader: state?.leader ?? -1,
            ...(minIsr !== undefined && Number.isInteger(minIsr) ? { minIsr } : {}),
          };
        }),
      );
    }),
  );
  const partitions = perTopic.flat().sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { brokers, controller, partitions };
}

/**
 * Earliest and latest offsets of the given partitions (ListOffsets with timestamps -2 / -1), and
 * the brokers' addresses from the same metadata. Only partitions the brokers' metadata already
 * shows with a leader are asked for: ZooKeeper can name a topic before every broker knows it, and
 * @platformatic/kafka 1.35's listOffsets throws from a callback (uncatchable) on a topic missing
 * from its metadata.
 */
export async function collectOffsets(
  admin: Admin,
  partitions: readonly { topic: string; partition: number }[],
): Promise<{ offsets: OffsetsSnapshot; brokerAddresses: Map<number, string> }> {
  const wanted = new Set(partitions.map((p) => p.topic));
  const known = (await admin.listTopics({ includeInternals: true })).filter((t) => wanted.has(t));
  const brokerAddresses = new Map<number, string>();
  if (known.length === 0) return { offsets: { partitions: [] }, brokerAddresses };
  const md = await admin.metadata({ topics: known, forceUpdate: true });
  for (const [id, b] of md.brokers) brokerAddresses.set(id, `${b.host}:${b.port}`);
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) {
    const leader = md.topics.get(p.topic)?.partitions[p.partition]?.leader;
    if (leader === undefined || leader < 0) continue;
    let list = byTopic.get(p.topic);
    if (!list) {
      list = [];
      byTopic.set(p.topic, list);
    }
    list.push(p.partition);
  }
  if (byTopic.size === 0) return { offsets: { partitions: [] }, brokerAddresses };
  const request = (timestamp: bigint) => ({
    topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })) })),
  });
  const [latest, earliest] = await Promise.all([admin.listOffsets(request(-1n)), admin.listOffsets(request(-2n))]);
  const oldest = new Map<string, number>();
  for (const t of earliest) for (const p of t.partitions) oldest.set(`${t.name}|${p.partitionIndex}`, Number(p.offset));
  const out: OffsetsSnapshot['partitions'] = [];
  for (const t of latest) {
    for (const p of t.partitions) {
      out.push({
        topic: t.name,
        partition: p.partitionIndex,
        current: Number(p.offset),
        oldest: oldest.get(`${t.name}|${p.partitionIndex}`) ?? 0,
      });
    }
  }
  return { offsets: { partitions: out }, brokerAddresses };
}

/** Every consumer group with its members and committed offsets; lag from the given end offsets. */
export async function collectGroups(admin: Admin, offsets: OffsetsSnapshot | undefined): Promise<GroupSnapshot[]> {
  const listed = await admin.listGroups();
  const ids = [...listed.keys()].sort().slice(0, groupsMax);
  if (ids.length === 0) return [];
  const [described, committed] = await Promise.all([
    admin.describeGroups({ groups: ids }),
    admin.listConsumerGroupOffsets({ groups: ids }),
  ]);
  const end = new Map<string, number>();
  for (const p of offsets?.partitions ?? []) end.set(`${p.topic}|${p.partition}`, p.current);
  const committedBy = new Map(committed.map((g) => [g.groupId, g]));
  return ids.map((group) => {
    const d = described.get(group);
    const offs: GroupSnapshot['offsets'] = [];
    for (const t of committedBy.get(group)?.topics ?? []) {
      for (const p of t.partitions) {
        const c = Number(p.committedOffset);
        if (c < 0) continue; // no commit for this partition
        const e = end.get(`${t.name}|${p.partitionIndex}`);
        offs.push({ topic: t.name, partition: p.partitionIndex, committed: c, lag: e === undefined ? undefined : Math.max(0, e - c) });
      }
    }
    return { group, state: String(d?.state ?? listed.get(group)?.state ?? 'UNKNOWN'), members: d?.members.size ?? 0, offsets: offs };
  });
}

/** Free and total bytes of each watched directory's file system. */
export async function collectDisks(dirs: readonly string[]): Promise<{ disks: DiskSnapshot[]; errors: string[] }> {
  const disks: DiskSnapshot[] = [];
  const errors: string[] = [];
  for (const path of dirs) {
    try {
      const s = await statfs(path);
      disks.push({ path, freeBytes: s.bavail * s.bsize, sizeBytes: s.blocks * s.bsize });
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  return { disks, errors };
}

const TXN_LOG_NAME = /^log\.([0-9a-fA-F]{1,16})$/;

/**
 * ZooKeeper's transaction logs in one dataLogDir (or dataDir): `version-2/log.<first zxid hex>`.
 * The dir may be given with or without its `version-2` part.
 */
export async function collectZkTxnLog(dir: string): Promise<ZkTxnLogSnapshot> {
  const logDir = basename(dir) === 'version-2' ? dir : join(dir, 'version-2');
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${dir}: no version-2 directory; give ZooKeeper's dataLogDir (or its dataDir)`);
    throw new Error(`${logDir}: ${(e as Error).message}`);
  }
  const logs = names.filter((n) => TXN_LOG_NAME.test(n));
  if (logs.length > txnLogFilesMax) throw new Error(`${logDir}: ${logs.length} log files; the monitor reads at most ${txnLogFilesMax}`);
  let bytes = 0;
  let files = 0;
  let oldest: bigint | undefined;
  for (const name of logs) {
    let size: number;
    try {
      size = (await stat(join(logDir, name))).size;
    } catch {
      continue; // purged between readdir and stat
    }
    bytes += size;
    files++;
    const zxid = BigInt(`0x${TXN_LOG_NAME.exec(name)![1]}`);
    if (oldest === undefined || zxid < oldest) oldest = zxid;
  }
  // A zxid is epoch << 32 | counter: exact as a double while the epoch stays below 2^21.
  return { path: dir, bytes, files, oldestZxid: oldest === undefined ? undefined : Number(oldest) };
}

/** collectZkTxnLog for each dir; a dir that cannot be read is an error, the others are reported. */
export async function collectZkTxnLogs(dirs: readonly string[]): Promise<{ logs: ZkTxnLogSnapshot[]; errors: string[] }> {
  const logs: ZkTxnLogSnapshot[] = [];
  const errors: string[] = [];
  for (const dir of dirs) {
    try {
      logs.push(await collectZkTxnLog(dir));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { logs, errors };
}

/** Sums of the job counters in a Prometheus text exposition (pure). */
export function parseJobsMetrics(text: string): JobsSnapshot {
  const sums: Record<string, number> = {
    clustergenie_jobs_submitted_total: 0,
    clustergenie_jobs_failed_total: 0,
    clustergenie_jobs_dead_total: 0,
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !(m[1]! in sums)) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sums[m[1]!]! += v;
  }
  return {
    submittedTotal: sums['clustergenie_jobs_submitted_total']!,
    failedTotal: sums['clustergenie_jobs_failed_total']!,
    deadTotal: sums['clustergenie_jobs_dead_total']!,
  };
}

export async function collectJobs(metricsUrl: string, timeoutMs: number): Promise<JobsSnapshot> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  const body = await res.text();
  if (body.length > jobsMetricsBytesMax) throw new Error(`${metricsUrl}: body larger than ${jobsMetricsBytesMax} bytes`);
  return parseJobsMetrics(body);
}
