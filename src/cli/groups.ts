// `clustergenie groups list|describe|reset-offsets`: kafka-consumer-groups.sh over the Admin API
// (ListGroups, DescribeGroups, OffsetFetch, ListOffsets, OffsetCommit). reset-offsets is a dry
// run unless --execute, and refuses a group with members (its consumers would overwrite the reset).

import type { Admin } from '@platformatic/kafka';
import { CliError, ExitCode } from './exitCodes.js';
import {
  EARLIEST,
  exitSoon,
  groupStateName,
  type KafkaCliOptions,
  kafkaOptions,
  LATEST,
  partitionOffsets,
  requireTopic,
  signedInt,
  topicNames,
  topicPartitions,
  withAdmin,
} from './kafkaCli.js';
import { printJson, printTable, safeText } from './output.js';
import { clientProgram, intOption, runProgram, subcommand } from './program.js';

export async function runGroups(args: string[]): Promise<number> {
  const program = clientProgram('groups', 'list, describe and reset the offsets of consumer groups');

  kafkaOptions(subcommand(program, 'list', 'consumer groups with their state')).action(async (o: KafkaCliOptions) => listGroups(o));

  kafkaOptions(subcommand(program, 'describe <group>', 'state, members and per-partition committed offset, end offset and lag')).action(
    async (group: string, o: KafkaCliOptions) => describeGroup(group, o),
  );

  kafkaOptions(subcommand(program, 'reset-offsets <group>', 'move committed offsets (dry run unless --execute; the group must be Empty)'))
    .requiredOption('--topic <topic>', 'the topic whose offsets to reset')
    .option('--partitions <list>', 'only these partitions (comma-separated; default all)', partitionList)
    .option('--to-earliest', 'to each partition’s log start')
    .option('--to-latest', 'to each partition’s log end')
    .option('--to-offset <n>', 'to this offset (clamped into the log)', intOption('--to-offset'))
    .option('--to-datetime <iso>', 'to the first offset at or after this time (ISO 8601 or ms since the epoch)')
    .option('--shift-by <n>', 'by n from the committed offset (negative moves back)', signedInt('--shift-by'))
    .option('--execute', 'apply the reset (otherwise only show it)')
    .action(async (group: string, o: ResetOptions) => resetOffsets(group, o));

  const code = await runProgram(program, args);
  exitSoon(code);
  return code;
}

function partitionList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((s) => !/^\d+$/.test(s)))
    throw new CliError(`--partitions takes comma-separated partition numbers, got ${JSON.stringify(value)}`, ExitCode.usage);
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

async function listGroups(o: KafkaCliOptions): Promise<void> {
  const groups = await withAdmin(o, 'listing groups', async (admin) => {
    const listed = await admin.listGroups();
    return [...listed.values()]
      .map((g) => ({ group: g.id, state: groupStateName(g.state), protocolType: g.protocolType }))
      .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  });
  if (o.json) return printJson(groups);
  printTable(
    ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
    groups.map((g) => [g.group, g.state, g.protocolType]),
  );
}

interface OffsetRow {
  topic: string;
  partition: number;
  committed: number | null;
  end: number | null;
  lag: number | null;
  memberId: string | null;
}

/** End offsets of the given topics' partitions (topics that no longer exist are left out). */
async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Map<string, bigint>> {
  const known = await topicNames(admin);
  const existing = topics.filter((t) => known.has(t));
  const meta = await topicPartitions(admin, existing);
  const out = new Map<string, bigint>();
  await Promise.all(
    existing.map(async (t) => {
      const latest = await partitionOffsets(admin, t, meta.get(t)?.partitions ?? [], LATEST);
      for (const [p, offset] of latest) out.set(`${t}|${p}`, offset);
    }),
  );
  return out;
}

async function describeGroup(group: string, o: KafkaCliOptions): Promise<void> {
  const d = await withAdmin(o, `describing group ${group}`, async (admin) => {
    const [described, committedList] = await Promise.all([
      admin.describeGroups({ groups: [group] }),
      admin.listConsumerGroupOffsets({ groups: [group] }),
    ]);
    const g = described.get(group);
    const committed = committedList.find((c) => c.groupId === group)?.topics ?? [];
    const hasCommits = committed.some((t) => t.partitions.some((p) => p.committedOffset >= 0n));
    if (!g || ((g.state === 'DEAD' || g.state === 'EMPTY') && g.members.size === 0 && !hasCommits))
      throw new CliError(`consumer group ${JSON.stringify(group)} does not exist (see \`clustergenie groups list\`)`, ExitCode.notFound);
    const owner = new Map<string, string>();
    const members = [...g.members.values()].map((m) => {
      const assignments = [...(m.assignments?.values() ?? [])].map((a) => ({
        topic: a.topic,
        partitions: [...a.partitions].sort((x, y) => x - y),
      }));
      for (const a of assignments) for (const p of a.partitions) owner.set(`${a.topic}|${p}`, m.id);
      return { memberId: m.id, groupInstanceId: m.groupInstanceId ?? null, clientId: m.clientId, host: m.clientHost, assignments };
    });
    const keys = new Map<string, { topic: string; partition: number; committed: bigint | undefined }>();
    for (const t of committed)
      for (const p of t.partitions)
        if (p.committedOffset >= 0n)
          keys.set(`${t.name}|${p.partitionIndex}`, { topic: t.name, partition: p.partitionIndex, committed: p.committedOffset });
    for (const k of owner.keys()) {
      if (keys.has(k)) continue;
      const at = k.lastIndexOf('|');
      keys.set(k, { topic: k.slice(0, at), partition: Number(k.slice(at + 1)), committed: undefined });
    }
    const ends = await endOffsets(admin, [...new Set([...keys.values()].map((k) => k.topic))]);
    const offsets: OffsetRow[] = [...keys]
      .map(([k, v]) => {
        const end = ends.get(k);
        return {
          topic: v.topic,
          partition: v.partition,
          committed: v.committed === undefined ? null : Number(v.committed),
          end: end === undefined ? null : Number(end),
          lag: v.committed === undefined || end === undefined ? null : Math.max(0, Number(end - v.committed)),
          memberId: owner.get(k) ?? null,
        };
      })
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return { group, state: groupStateName(g.state), protocolType: g.protocolType, protocol: g.protocol, members, offsets };
  });
  if (o.json) return printJson(d);
  const totalLag = d.offsets.reduce((s, r) => s + (r.lag ?? 0), 0);
  process.stdout.write(
    `Group: ${safeText(group)}  State: ${d.state}  Members: ${d.members.length}  Protocol: ${safeText(d.protocol ?? '')}  Total lag: ${totalLag}\n\n`,
  );
  const memberOf = new Map(d.members.map((m) => [m.memberId, m]));
  printTable(
    ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
    d.offsets.map((r) => {
      const m = r.memberId === null ? undefined : memberOf.get(r.memberId);
      return [r.topic, r.partition, r.committed ?? '-', r.end ?? '-', r.lag ?? '-', m?.memberId ?? '-', m?.host ?? '-', m?.clientId ?? '-'];
    }),
  );
}

interface ResetOptions extends KafkaCliOptions {
  topic: string;
  partitions?: number[];
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  toDatetime?: string;
  shiftBy?: number;
  execute?: boolean;
}

export type Target =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'datetime'; ms: bigint }
  | { kind: 'shift'; by: bigint };

function targetOf(o: ResetOptions): Target {
  const chosen: Target[] = [];
  if (o.toEarliest) chosen.push({ kind: 'earliest' });
  if (o.toLatest) chosen.push({ kind: 'latest' });
  if (o.toOffset !== undefined) chosen.push({ kind: 'offset', offset: BigInt(o.toOffset) });
  if (o.toDatetime !== undefined) {
    const ms = /^\d+$/.test(o.toDatetime) ? Number(o.toDatetime) : Date.parse(o.toDatetime);
    if (!Number.isFinite(ms) || ms < 0)
      throw new CliError(`--to-datetime ${JSON.stringify(o.toDatetime)} is not an ISO 8601 date`, ExitCode.usage);
    chosen.push({ kind: 'datetime', ms: BigInt(ms) });
  }
  if (o.shiftBy !== undefined) chosen.push({ kind: 'shift', by: BigInt(o.shiftBy) });
  if (chosen.length !== 1)
    throw new CliError('give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by', ExitCode.usage);
  return chosen[0]!;
}

/** The new offset of one partition (pure): targets are clamped into [earliest, latest] as kafka-consumer-groups does. */
export function resetTarget(
  t: Target,
  earliest: bigint,
  latest: bigint,
  committed: bigint | undefined,
  atTime: bigint | undefined,
): bigint {
  const clamp = (n: bigint): bigint => (n < earliest ? earliest : n > latest ? latest : n);
  switch (t.kind) {
    case 'earliest':
      return earliest;
    case 'latest':
      return latest;
    case 'offset':
      return clamp(t.offset);
    case 'datetime':
      return atTime === undefined || atTime < 0n ? latest : clamp(atTime);
    case 'shift':
      // No commit yet: shift from the log start, the position a new consumer would take.
      return clamp((committed ?? earliest) + t.by);
  }
}

async function resetOffsets(group: string, o: ResetOptions): Promise<void> {
  const target = targetOf(o);
  const plan = await withAdmin(o, `resetting offsets of group ${group}`, async (admin) => {
    await requireTopic(admin, o.topic);
    const g = (await admin.describeGroups({ groups: [group] })).get(group);
    if (g && g.state !== 'EMPTY' && g.state !== 'DEAD')
      throw new CliError(
        `group ${group} is ${groupStateName(g.state)} with ${g.members.size} member(s); stop its consumers first: offsets can only be reset in an Empty group`,
        ExitCode.conflict,
      );
    const all = (await topicPartitions(admin, [o.topic])).get(o.topic)?.partitions ?? [];
    const wanted = o.partitions ?? all.map((p) => p.partition);
    const missing = wanted.filter((p) => p >= all.length);
    if (missing.length > 0)
      throw new CliError(`--partitions ${missing.join(',')}: topic ${o.topic} has partitions 0..${all.length - 1}`, ExitCode.usage);
    const infos = all.filter((p) => wanted.includes(p.partition));
    const [earliest, latest, atTime, committedList] = await Promise.all([
      partitionOffsets(admin, o.topic, infos, EARLIEST),
      partitionOffsets(admin, o.topic, infos, LATEST),
      target.kind === 'datetime' ? partitionOffsets(admin, o.topic, infos, target.ms) : Promise.resolve(undefined),
      admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: o.topic, partitionIndexes: wanted }] }] }),
    ]);
    const committed = new Map<number, bigint>();
    for (const t of committedList[0]?.topics ?? [])
      for (const p of t.partitions) if (t.name === o.topic && p.committedOffset >= 0n) committed.set(p.partitionIndex, p.committedOffset);
    const rows = wanted.map((partition) => {
      const current = committed.get(partition);
      const next = resetTarget(target, earliest.get(partition) ?? 0n, latest.get(partition) ?? 0n, current, atTime?.get(partition));
      return { topic: o.topic, partition, current, next };
    });
    if (o.execute)
      await admin.alterConsumerGroupOffsets({
        groupId: group,
        topics: [{ name: o.topic, partitionOffsets: rows.map((r) => ({ partition: r.partition, offset: r.next })) }],
      });
    return rows;
  });
  const rows = plan.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    currentOffset: r.current === undefined ? null : Number(r.current),
    newOffset: Number(r.next),
  }));
  if (o.json) return printJson({ group, executed: o.execute === true, offsets: rows });
  printTable(
    ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
    rows.map((r) => [group, r.topic, r.partition, r.currentOffset ?? '-', r.newOffset]),
  );
  process.stdout.write(o.execute ? 'Offsets reset.\n' : 'Dry run: nothing changed (add --execute to apply).\n');
}
