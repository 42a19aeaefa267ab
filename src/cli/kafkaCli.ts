// What the Kafka commands (topics, produce, consume, groups) share: the connection flags, an
// Admin bounded by --timeout-ms, and the mapping of client errors to the exit-code table. Every
// request goes through @platformatic/kafka over the public protocol, so the commands work the
// same against a remote ClusterGenie and against Apache Kafka.

import { Admin, type BaseOptions, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Command } from 'commander';
import { bootstrapServers, errorTree, kafkaErrorIds } from '../genie/kafka.js';
import { CliError, ExitCode } from './exitCodes.js';

export interface KafkaCliOptions {
  bootstrapServer: string;
  timeoutMs: number;
  json?: boolean;
}

export const defaultBootstrap = '127.0.0.1:9092';
/** How long one command waits for Kafka by default (--timeout-ms). */
export const defaultTimeoutMs = 15_000;
/** A client's close is bounded: a command that is done must end even if a socket hangs. */
const closeWaitMsMax = 2000;

/** Adds -b/--bootstrap-server, --timeout-ms and (unless told otherwise) --json to a command. */
export function kafkaOptions(cmd: Command, o: { json?: boolean } = {}): Command {
  cmd
    .option('-b, --bootstrap-server <host:port,...>', 'Kafka brokers to bootstrap from', defaultBootstrap)
    .option('--timeout-ms <ms>', 'how long to wait for Kafka before giving up (exit 6)', positiveInt('--timeout-ms'), defaultTimeoutMs);
  if (o.json !== false) cmd.option('--json', 'print JSON for scripts');
  return cmd;
}

/** Parses an integer >= 1, or explains which flag is wrong (exit 2). */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1)
      throw new CliError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`, ExitCode.usage);
    return n;
  };
}

/** Parses an integer (negative allowed), or explains which flag is wrong (exit 2). */
export function signedInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*[-+]?\d+\s*$/.test(value) || !Number.isSafeInteger(n))
      throw new CliError(`${flag} must be an integer, got ${JSON.stringify(value)}`, ExitCode.usage);
    return n;
  };
}

/** Collects a repeatable `k=v` flag into pairs (order kept, duplicates kept). */
export function keyValueOption(flag: string): (value: string, previous: [string, string][] | undefined) => [string, string][] {
  return (value, previous) => {
    const at = value.indexOf('=');
    if (at <= 0) throw new CliError(`${flag} takes key=value, got ${JSON.stringify(value)}`, ExitCode.usage);
    return [...(previous ?? []), [value.slice(0, at), value.slice(at + 1)]];
  };
}

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Client options for one CLI client: few quick retries, every request bounded by --timeout-ms. */
export function clientOptions(o: KafkaCliOptions, clientId = 'clustergenie-cli'): BaseOptions {
  const brokers = bootstrapServers(o.bootstrapServer, defaultBootstrap);
  if (brokers.length === 0) throw new CliError('--bootstrap-server names no broker', ExitCode.usage);
  for (const b of brokers)
    if (!/^[^:\s]+:\d+$/.test(b) && !/^\[[^\]]+\]:\d+$/.test(b))
      throw new CliError(`--bootstrap-server entry ${JSON.stringify(b)} is not host:port`, ExitCode.usage);
  const perRequestMs = Math.max(1000, Math.min(o.timeoutMs, 15_000));
  return {
    clientId,
    bootstrapBrokers: brokers,
    retries: 3,
    retryDelay: 250,
    timeout: perRequestMs,
    connectTimeout: perRequestMs,
    requestTimeout: perRequestMs,
  };
}

const notFoundIds = ['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'GROUP_ID_NOT_FOUND'];
const conflictIds = ['TOPIC_ALREADY_EXISTS', 'NON_EMPTY_GROUP', 'GROUP_SUBSCRIBED_TO_TOPIC'];
const usageIds = [
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT',
  'INVALID_CONFIG',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'INVALID_REQUEST',
  'RECORD_TOO_LARGE',
  'MESSAGE_TOO_LARGE',
];

/** The Kafka error messages in a client error, for a one-line explanation. */
function serverMessages(e: unknown): string[] {
  const out: string[] = [];
  for (const r of errorTree(e)) {
    const m = r['serverErrorMessage'] ?? r['errorMessage'];
    if (typeof m === 'string' && m !== '' && !out.includes(m)) out.push(m);
    else if (typeof r['apiId'] === 'string' && typeof r['message'] === 'string' && !out.includes(r['message'])) out.push(r['message']);
  }
  return out;
}

/** What says Kafka could not be reached (refused, reset, timed out), or undefined. */
function unreachableDetail(e: unknown): string | undefined {
  const system: string[] = [];
  const client: string[] = [];
  for (const r of errorTree(e)) {
    const code = r['code'];
    const message = typeof r['message'] === 'string' ? r['message'] : String(code);
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)$/.test(code)) {
      if (!system.includes(message)) system.push(message);
    } else if ((code === 'PLT_KFK_NETWORK' || code === 'PLT_KFK_TIMEOUT') && !client.includes(message)) client.push(message);
  }
  if (system.length > 0) return system.join('; ');
  if (client.length > 0) return client.join('; ');
  return undefined;
}

/** Turns a client error into a CliError with the exit code of the table (exitCodes.ts). */
export function kafkaCliError(e: unknown, o: KafkaCliOptions, what: string): CliError {
  if (e instanceof CliError) return e;
  const ids = kafkaErrorIds(e);
  const detail = serverMessages(e).join('; ') || (e instanceof Error ? e.message : String(e));
  const has = (list: string[]): string | undefined => list.find((id) => ids.has(id));
  const nf = has(notFoundIds);
  if (nf) return new CliError(`${what}: ${nf} (${detail})`, ExitCode.notFound);
  const cf = has(conflictIds);
  if (cf) return new CliError(`${what}: ${cf} (${detail})`, ExitCode.conflict);
  const us = has(usageIds);
  if (us) return new CliError(`${what}: ${us}: ${detail}`, ExitCode.usage);
  const unreachable = unreachableDetail(e);
  if (unreachable !== undefined)
    return new CliError(
      `${what}: cannot reach Kafka at ${o.bootstrapServer} (${unreachable}); check --bootstrap-server and that the brokers run`,
      ExitCode.unavailable,
    );
  return new CliError(`${what}: ${detail}`, ExitCode.failure);
}

/** Rejects with exit 6 when `work` is not done within --timeout-ms. */
export async function withDeadline<T>(work: Promise<T>, o: KafkaCliOptions, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            `${what}: Kafka at ${o.bootstrapServer} did not answer within ${o.timeoutMs} ms; check --bootstrap-server (or raise --timeout-ms)`,
            ExitCode.unavailable,
          ),
        ),
      o.timeoutMs,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client, waiting at most closeWaitMsMax. */
export async function closeQuietly(client: { close(): Promise<void> } | undefined): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeWaitMsMax);
    }),
  ]);
  clearTimeout(timer);
}

/** Errors that pass by themselves: a coordinator or leader being elected (a fresh cluster's first group use creates __consumer_offsets). */
const transientIds = [
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'NOT_CONTROLLER',
];
/** Pause between tries of a transient failure. */
const transientRetryMs = 250;

/** Runs `fn` again while it fails transiently (the caller bounds the whole with withDeadline). */
export async function retryTransient<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const ids = kafkaErrorIds(e);
      if (!transientIds.some((id) => ids.has(id))) throw e;
      await pause(transientRetryMs);
    }
  }
}

/** Runs `fn` with an Admin client, bounded by --timeout-ms, errors mapped to exit codes. */
export async function withAdmin<T>(o: KafkaCliOptions, what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(o));
  let expired = false;
  try {
    // A transient failure is tried again until the deadline; `expired` stops the loop after it.
    return await withDeadline(
      retryTransient(() => {
        if (expired) throw new CliError(`${what}: gave up`, ExitCode.unavailable);
        return fn(admin);
      }),
      o,
      what,
    ).finally(() => {
      expired = true;
    });
  } catch (e) {
    throw kafkaCliError(e, o, what);
  } finally {
    await closeQuietly(admin);
  }
}

/** Topic names the cluster knows (internal ones included). */
export async function topicNames(admin: Admin): Promise<Set<string>> {
  return new Set(await admin.listTopics({ includeInternals: true }));
}

/** Throws exit 4 when `topic` does not exist. */
export async function requireTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await topicNames(admin)).has(topic))
    throw new CliError(`topic ${JSON.stringify(topic)} does not exist (see \`clustergenie topics list\`)`, ExitCode.notFound);
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

/** Partitions of existing topics from fresh metadata. */
export async function topicPartitions(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, { id: string; partitions: PartitionInfo[] }>> {
  const out = new Map<string, { id: string; partitions: PartitionInfo[] }>();
  if (topics.length === 0) return out;
  const md = await admin.metadata({ topics: [...topics], forceUpdate: true });
  for (const t of topics) {
    const m = md.topics.get(t);
    if (!m) continue;
    out.set(t, {
      id: m.id,
      partitions: m.partitions.map((p, partition) => ({
        partition,
        leader: p.leader,
        replicas: [...p.replicas],
        isr: [...p.isr],
        offline: [...(p.offlineReplicas ?? [])],
      })),
    });
  }
  return out;
}

/**
 * Offsets of a topic's partitions at `timestamp` (-2 earliest, -1 latest, or ms since the epoch:
 * the first offset at or after it, -1 when none). Only partitions with a leader are asked: the
 * client throws uncatchably on a partition missing from its metadata (see genie/monitor/collect.ts).
 */
export async function partitionOffsets(
  admin: Admin,
  topic: string,
  partitions: readonly PartitionInfo[],
  timestamp: bigint,
): Promise<Map<number, bigint>> {
  const asked = partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  const out = new Map<number, bigint>();
  if (asked.length === 0) return out;
  const listed = await admin.listOffsets({
    topics: [{ name: topic, partitions: asked.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
  });
  for (const t of listed) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
  return out;
}

export const EARLIEST = ListOffsetTimestamps.EARLIEST;
export const LATEST = ListOffsetTimestamps.LATEST;

/** Kafka's own spelling of a group state (the client upper-cases it). */
export function groupStateName(state: string): string {
  const names: Record<string, string> = {
    EMPTY: 'Empty',
    STABLE: 'Stable',
    PREPARINGREBALANCE: 'PreparingRebalance',
    COMPLETINGREBALANCE: 'CompletingRebalance',
    DEAD: 'Dead',
  };
  return names[state.toUpperCase()] ?? state;
}

/** Sleeps. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Ends the process with `code` if something (a client socket) would keep it alive after the
 * command finished; the timer is unref'd, so a process that ends by itself is not delayed.
 */
export function exitSoon(code: number, graceMs = 3000): void {
  setTimeout(() => process.exit(code), graceMs).unref();
}
