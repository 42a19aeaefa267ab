// `clustergenie consume <topic>`: kcat -C. Without -g it reads the partitions it is told (all by
// default) from -o; with -g it joins the group, starts each assigned partition at the group's
// committed offset (-o beginning|end when there is none), and commits what it printed. Messages
// are printed as values, with kcat's -f format, or as JSON lines; on a terminal control
// characters are shown escaped. -e exits once every partition is read to its end, -c after n.

import { Consumer } from '@platformatic/kafka';
import { CliError, ExitCode } from './exitCodes.js';
import {
  clientOptions,
  closeQuietly,
  EARLIEST,
  exitSoon,
  type KafkaCliOptions,
  kafkaCliError,
  kafkaOptions,
  LATEST,
  type PartitionInfo,
  partitionOffsets,
  pause,
  positiveInt,
  requireTopic,
  retryTransient,
  topicPartitions,
  withAdmin,
  withDeadline,
} from './kafkaCli.js';
import { formatRecord, type OffsetSpec, parseOffsetSpec, type RecordOut, recordJson, startOffset } from './kafkaCliMessages.js';
import { PartitionReader } from './kafkaCliReader.js';
import { clientProgram, intOption, runProgram } from './program.js';

/** Pause after a failed read before the next try (metadata is refreshed meanwhile). */
const retryPauseMs = 250;

interface ConsumeOptions extends KafkaCliOptions {
  group?: string;
  offset: string;
  partition?: number;
  count?: number;
  exit?: boolean;
  format: string;
  fmt?: string;
}

export async function runConsume(args: string[]): Promise<number> {
  const program = clientProgram('consume', 'print messages of a topic, like kcat -C');
  kafkaOptions(program.argument('<topic>', 'the topic'), { json: false })
    .option('-g, --group <id>', 'consume as a member of this group and commit what was printed')
    .option(
      '-o, --offset <spec>',
      'beginning | end | <offset> | -<n> (last n) | @<ms or ISO date>; with -g: where to start without a commit',
      'beginning',
    )
    .option('-p, --partition <n>', 'only this partition (not with -g)', intOption('--partition'))
    .option('-c, --count <n>', 'exit after n messages', positiveInt('--count'))
    .option('-e, --exit', 'exit once every partition is read to its end')
    .option('--format <format>', 'text | json (one JSON object per line)', 'text')
    .option('--json', 'the same as --format json')
    .option('-f, --fmt <format>', "kcat's format: %t %p %o %T %k %s %K %S %h %% and \\n \\t")
    .action(async (topic: string, o: ConsumeOptions) => consume(topic, o));
  const code = await runProgram(program, args);
  exitSoon(code);
  return code;
}

/** Where each partition starts (no group), from the admin's offset lookups. */
async function startPositions(
  o: ConsumeOptions,
  topic: string,
  partitions: readonly PartitionInfo[],
  spec: OffsetSpec,
): Promise<Map<number, bigint>> {
  return withAdmin(o, `reading offsets of ${topic}`, async (admin) => {
    const [earliest, latest, atTs] = await Promise.all([
      partitionOffsets(admin, topic, partitions, EARLIEST),
      partitionOffsets(admin, topic, partitions, LATEST),
      spec.kind === 'timestamp' ? partitionOffsets(admin, topic, partitions, spec.ms) : Promise.resolve(undefined),
    ]);
    const out = new Map<number, bigint>();
    for (const p of partitions)
      out.set(p.partition, startOffset(spec, earliest.get(p.partition) ?? 0n, latest.get(p.partition) ?? 0n, atTs?.get(p.partition)));
    return out;
  });
}

class Output {
  private broken = false;
  constructor(
    private readonly o: ConsumeOptions,
    private readonly json: boolean,
  ) {
    // `consume | head`: a closed pipe ends the command quietly.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.broken = true;
    });
  }

  get closed(): boolean {
    return this.broken;
  }

  write(r: RecordOut): void {
    if (this.broken) return;
    const tty = process.stdout.isTTY === true;
    if (this.json) process.stdout.write(`${recordJson(r)}\n`);
    else if (this.o.fmt !== undefined) process.stdout.write(formatRecord(this.o.fmt, r, tty));
    else process.stdout.write(`${formatRecord('%s', r, tty)}\n`);
  }
}

async function consume(topic: string, o: ConsumeOptions): Promise<void> {
  const spec = parseOffsetSpec(o.offset);
  if (o.format !== 'text' && o.format !== 'json')
    throw new CliError(`--format must be text or json, got ${JSON.stringify(o.format)}`, ExitCode.usage);
  if (o.group !== undefined && o.partition !== undefined)
    throw new CliError('-p/--partition cannot be used with -g/--group: the group assigns partitions', ExitCode.usage);
  if (o.group !== undefined && spec.kind !== 'beginning' && spec.kind !== 'end')
    throw new CliError(
      `with -g, -o takes beginning or end (where to start without a committed offset); move a group with \`clustergenie groups reset-offsets\``,
      ExitCode.usage,
    );
  const partitions = await withAdmin(o, `consuming ${topic}`, async (admin) => {
    await requireTopic(admin, topic);
    return (await topicPartitions(admin, [topic])).get(topic)?.partitions ?? [];
  });
  if (o.partition !== undefined && o.partition >= partitions.length)
    throw new CliError(`--partition ${o.partition}: topic ${topic} has partitions 0..${partitions.length - 1}`, ExitCode.usage);

  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    ...clientOptions(o),
    groupId: o.group ?? `clustergenie-cli-${process.pid}`,
    autocommit: false,
  });
  const reader = new PartitionReader(consumer, topic);
  const output = new Output(o, o.json === true || o.format === 'json');
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const group = o.group !== undefined ? new GroupTracker(consumer, topic, o, spec) : undefined;
  try {
    const positions =
      group === undefined
        ? await startPositions(
            o,
            topic,
            partitions.filter((p) => o.partition === undefined || p.partition === o.partition),
            spec,
          )
        : await group.join();
    const eof = new Set<number>();
    let printed = 0;
    let failingSince: number | undefined;
    while (!stopped && !output.closed) {
      if (group && (await group.sync(positions))) eof.clear();
      if (o.exit && [...positions.keys()].every((p) => eof.has(p))) break;
      if (positions.size === 0) {
        await pause(retryPauseMs);
        continue;
      }
      let batch: Awaited<ReturnType<PartitionReader['read']>>;
      try {
        batch = await reader.read(positions);
      } catch (e) {
        batch = { records: [], next: new Map(), highWatermarks: new Map(), outOfRange: [], failed: true, errors: [e] };
      }
      if (batch.failed) {
        failingSince ??= Date.now();
        if (Date.now() - failingSince > o.timeoutMs)
          throw kafkaCliError(batch.errors[0] ?? new Error('no partition leader'), o, `consuming ${topic}`);
        await pause(retryPauseMs);
      } else failingSince = undefined;
      let limitReached = false;
      for (const r of batch.records) {
        output.write(r);
        positions.set(r.partition, r.offset + 1n);
        printed++;
        if (o.count !== undefined && printed >= o.count) {
          limitReached = true;
          break;
        }
      }
      if (!limitReached) {
        for (const [p, next] of batch.next) positions.set(p, next);
        for (const [p, hw] of batch.highWatermarks) if ((positions.get(p) ?? 0n) >= hw) eof.add(p);
        if (batch.outOfRange.length > 0) await resetOutOfRange(o, topic, partitions, positions, batch.outOfRange);
      }
      if (group) await group.commit(positions);
      if (limitReached) break;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await group?.leave();
    await closeQuietly(consumer);
  }
}

/** A partition whose offset left the log (retention, deleted records) restarts at its earliest. */
async function resetOutOfRange(
  o: ConsumeOptions,
  topic: string,
  partitions: readonly PartitionInfo[],
  positions: Map<number, bigint>,
  which: readonly number[],
): Promise<void> {
  const earliest = await withAdmin(o, `reading offsets of ${topic}`, (admin) =>
    partitionOffsets(
      admin,
      topic,
      partitions.filter((p) => which.includes(p.partition)),
      EARLIEST,
    ),
  );
  for (const p of which) positions.set(p, earliest.get(p) ?? 0n);
}

/** Group membership around the reader: assignment, starting offsets, commits. */
class GroupTracker {
  private generation = -1;
  private readonly committed = new Map<number, bigint>();

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly topic: string,
    private readonly o: ConsumeOptions,
    private readonly spec: OffsetSpec,
  ) {}

  async join(): Promise<Map<number, bigint>> {
    this.consumer.topics.track(this.topic);
    try {
      await withDeadline(
        retryTransient(() => this.consumer.joinGroup({})),
        this.o,
        `joining group ${this.o.group}`,
      );
    } catch (e) {
      throw kafkaCliError(e, this.o, `joining group ${this.o.group}`);
    }
    const positions = new Map<number, bigint>();
    await this.sync(positions);
    return positions;
  }

  private assigned(): number[] {
    return (this.consumer.assignments ?? []).filter((a) => a.topic === this.topic).flatMap((a) => a.partitions);
  }

  /** After a (re)join: drops partitions no longer assigned, starts new ones. True when the assignment changed. */
  async sync(positions: Map<number, bigint>): Promise<boolean> {
    if (this.consumer.generationId === this.generation) return false;
    this.generation = this.consumer.generationId;
    const assigned = this.assigned();
    for (const p of [...positions.keys()]) if (!assigned.includes(p)) positions.delete(p);
    const fresh = assigned.filter((p) => !positions.has(p));
    if (fresh.length === 0) return true;
    const starts = await withAdmin(this.o, `reading offsets of group ${this.o.group}`, async (admin) => {
      const [committed] = await admin.listConsumerGroupOffsets({
        groups: [{ groupId: this.o.group!, topics: [{ name: this.topic, partitionIndexes: fresh }] }],
      });
      const infos = fresh.map((partition) => ({ partition, leader: 0, replicas: [], isr: [], offline: [] }));
      const fallback = await partitionOffsets(admin, this.topic, infos, this.spec.kind === 'end' ? LATEST : EARLIEST);
      const out = new Map<number, bigint>();
      for (const p of fresh) out.set(p, fallback.get(p) ?? 0n);
      for (const t of committed?.topics ?? [])
        for (const c of t.partitions) if (t.name === this.topic && c.committedOffset >= 0n) out.set(c.partitionIndex, c.committedOffset);
      return out;
    });
    for (const [p, offset] of starts) {
      positions.set(p, offset);
      this.committed.set(p, offset);
    }
    return true;
  }

  /** Commits positions that moved since the last commit. */
  async commit(positions: ReadonlyMap<number, bigint>): Promise<void> {
    const offsets = [...positions]
      .filter(([p, offset]) => this.committed.get(p) !== offset)
      .map(([partition, offset]) => ({ topic: this.topic, partition, offset, leaderEpoch: -1 }));
    if (offsets.length === 0) return;
    try {
      await withDeadline(this.consumer.commit({ offsets }), this.o, `committing offsets of group ${this.o.group}`);
      for (const c of offsets) this.committed.set(c.partition, c.offset);
    } catch (e) {
      // A rebalance in between: the partitions' new owner starts from the last commit; say so.
      process.stderr.write(`clustergenie: commit for group ${this.o.group} failed (${(e as Error).message}); will retry\n`);
    }
  }

  async leave(): Promise<void> {
    try {
      await withDeadline(this.consumer.leaveGroup(false) as unknown as Promise<void>, this.o, `leaving group ${this.o.group}`);
    } catch {
      // The session times out on the broker instead.
    }
  }
}
