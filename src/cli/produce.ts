// `clustergenie produce <topic>`: kcat -P. One message from the value argument, or one per stdin
// line (key split off by -K, or JSON lines with key/value/headers/partition). Partitions are
// chosen here (a key by Java's murmur2 partitioner, so keyed messages land where a Java producer
// puts them; no key: round robin), so the offset of every message is known from the batch's base
// offset and printed with --json.

import { createInterface, type Interface } from 'node:readline';
import { compatibilityPartitioner, type MessageToProduce, ProduceAcks, Producer } from '@platformatic/kafka';
import { CliError, ExitCode } from './exitCodes.js';
import {
  clientOptions,
  closeQuietly,
  exitSoon,
  type KafkaCliOptions,
  kafkaCliError,
  kafkaOptions,
  keyValueOption,
  requireTopic,
  topicPartitions,
  withAdmin,
  withDeadline,
} from './kafkaCli.js';
import { type LineOptions, type MessageIn, parseInputLine } from './kafkaCliMessages.js';
import { printJsonLine } from './output.js';
import { clientProgram, intOption, runProgram } from './program.js';

/** Messages per Produce request. */
const batchMessagesMax = 500;
/** Lines read ahead of the producer; stdin is paused beyond it. */
const queuedLinesMax = 5000;
/** A longer stdin line is refused (Kafka's default message.max.bytes is about 1 MB). */
const lineBytesMax = 16 * 1024 * 1024;

interface ProduceOptions extends KafkaCliOptions {
  key?: string;
  header?: [string, string][];
  partition?: number;
  acks: string;
  keyDelimiter?: string;
  format: string;
}

export async function runProduce(args: string[]): Promise<number> {
  const program = clientProgram('produce', 'produce messages to a topic, like kcat -P');
  kafkaOptions(
    program.argument('<topic>', 'the topic').argument('[value]', 'the value of one message (otherwise one message per stdin line)'),
  )
    .option('-k, --key <key>', 'the key of every message')
    .option('-H, --header <key=value>', 'a header of every message (repeatable)', keyValueOption('--header'))
    .option('-p, --partition <n>', 'the partition (default: by key, round robin without one)', intOption('--partition'))
    .option('--acks <acks>', 'all | 1 | 0', 'all')
    .option('-K, --key-delimiter <delim>', 'split each stdin line at the first <delim> into key and value')
    .option('--format <format>', 'stdin lines: line (the value) | json ({"key","value","headers","partition"})', 'line')
    .action(async (topic: string, value: string | undefined, o: ProduceOptions) => produce(topic, value, o));
  const code = await runProgram(program, args);
  exitSoon(code);
  return code;
}

function acksOf(s: string): number {
  if (s === 'all' || s === '-1') return ProduceAcks.ALL;
  if (s === '1') return ProduceAcks.LEADER;
  if (s === '0') return ProduceAcks.NO_RESPONSE;
  throw new CliError(`--acks must be all, 1 or 0, got ${JSON.stringify(s)}`, ExitCode.usage);
}

/** stdin lines, read ahead up to queuedLinesMax and handed out in batches. */
class LineSource {
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private paused = false;

  constructor(input: NodeJS.ReadableStream) {
    this.rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    this.rl.on('line', (line) => {
      this.lines.push(line);
      if (this.lines.length >= queuedLinesMax && !this.paused) {
        this.paused = true;
        this.rl.pause();
      }
      this.notify();
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Up to `max` lines (all that are ready, at least one), or undefined at the end of input. */
  async take(max: number): Promise<string[] | undefined> {
    while (this.lines.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.lines.length === 0) return undefined;
    const out = this.lines.splice(0, max);
    if (this.paused && this.lines.length < queuedLinesMax / 2) {
      this.paused = false;
      this.rl.resume();
    }
    return out;
  }

  close(): void {
    this.rl.close();
  }
}

/** Count-only progress on stderr while stdin is piped and stderr is a terminal. */
async function counter(): Promise<{ update(n: number): void; stop(): void }> {
  if (!process.stderr.isTTY || process.stdin.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, format: 'produced {value} messages  {speed} msg/s', hideCursor: true });
  const started = Date.now();
  bar.start(0, 0, { speed: 0 });
  return {
    update: (n) => bar.update(n, { speed: Math.round((n * 1000) / Math.max(1, Date.now() - started)) }),
    stop: () => bar.stop(),
  };
}

async function produce(topic: string, value: string | undefined, o: ProduceOptions): Promise<void> {
  const acks = acksOf(o.acks);
  if (o.format !== 'line' && o.format !== 'json')
    throw new CliError(`--format must be line or json, got ${JSON.stringify(o.format)}`, ExitCode.usage);
  if (o.keyDelimiter === '') throw new CliError('-K/--key-delimiter must not be empty', ExitCode.usage);
  const lineOptions: LineOptions = {
    format: o.format,
    headers: o.header ?? [],
    ...(o.keyDelimiter !== undefined ? { keyDelimiter: o.keyDelimiter } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
  };
  const partitionCount = await withAdmin(o, `producing to ${topic}`, async (admin) => {
    await requireTopic(admin, topic);
    return (await topicPartitions(admin, [topic])).get(topic)?.partitions.length ?? 0;
  });
  if (o.partition !== undefined && o.partition >= partitionCount)
    throw new CliError(`--partition ${o.partition}: topic ${topic} has partitions 0..${partitionCount - 1}`, ExitCode.usage);

  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
    ...clientOptions(o),
    acks,
    // Idempotence needs acks=all; with it, a retried batch is not written twice.
    idempotent: acks === ProduceAcks.ALL,
    autocreateTopics: false,
  });
  const sender = new Sender(producer, topic, partitionCount, acks, o);
  try {
    if (value !== undefined) {
      const m: MessageIn = { value, headers: lineOptions.headers };
      if (o.key !== undefined) m.key = o.key;
      if (o.partition !== undefined) m.partition = o.partition;
      await sender.send([m], 1);
    } else {
      await produceStdin(sender, lineOptions);
    }
  } finally {
    await closeQuietly(producer);
  }
  if (!o.json) process.stderr.write(`${sender.produced} message${sender.produced === 1 ? '' : 's'} produced to ${topic}\n`);
}

async function produceStdin(sender: Sender, lineOptions: LineOptions): Promise<void> {
  const source = new LineSource(process.stdin);
  const progress = await counter();
  let lineNo = 0;
  try {
    for (;;) {
      const lines = await source.take(batchMessagesMax);
      if (lines === undefined) break;
      const messages: MessageIn[] = [];
      for (const line of lines) {
        lineNo++;
        if (line.length > lineBytesMax) throw new CliError(`stdin line ${lineNo} is longer than ${lineBytesMax} bytes`, ExitCode.usage);
        const m = parseInputLine(line, lineOptions, lineNo);
        if (m) messages.push(m);
      }
      await sender.send(messages, lineNo - lines.length + 1);
      progress.update(sender.produced);
    }
  } finally {
    progress.stop();
    source.close();
  }
}

/** Sends batches with explicit partitions and reports each message's partition and offset. */
class Sender {
  produced = 0;
  private roundRobin = 0;

  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly topic: string,
    private readonly partitionCount: number,
    private readonly acks: number,
    private readonly o: ProduceOptions,
  ) {}

  private partitionOf(m: MessageIn, key: Buffer | undefined, lineNo: number): number {
    if (m.partition !== undefined) {
      if (m.partition >= this.partitionCount)
        throw new CliError(
          `line ${lineNo}: partition ${m.partition}: topic ${this.topic} has partitions 0..${this.partitionCount - 1}`,
          ExitCode.usage,
        );
      return m.partition;
    }
    if (key !== undefined) return compatibilityPartitioner({ topic: this.topic }, key) % this.partitionCount;
    return this.roundRobin++ % this.partitionCount;
  }

  async send(messages: readonly MessageIn[], firstLineNo: number): Promise<void> {
    if (messages.length === 0) return;
    const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = messages.map((m, i) => {
      const key = m.key === undefined ? undefined : Buffer.from(m.key);
      return {
        topic: this.topic,
        partition: this.partitionOf(m, key, firstLineNo + i),
        ...(key !== undefined ? { key } : {}),
        ...(m.value !== null ? { value: Buffer.from(m.value) } : {}),
        headers: new Map(m.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      };
    });
    let result: Awaited<ReturnType<typeof this.producer.send>>;
    try {
      result = await withDeadline(this.producer.send({ messages: out }), this.o, `producing to ${this.topic}`);
    } catch (e) {
      const err = kafkaCliError(e, this.o, `producing to ${this.topic} (after ${this.produced} messages)`);
      throw err;
    }
    this.produced += messages.length;
    if (!this.o.json) return;
    // Messages of one partition in a batch take consecutive offsets from the partition's base offset.
    const base = new Map<number, bigint>();
    for (const r of result.offsets ?? []) base.set(r.partition, r.offset);
    const next = new Map<number, bigint>();
    for (const m of out) {
      const p = m.partition!;
      const b = base.get(p);
      const offset = b === undefined || this.acks === ProduceAcks.NO_RESPONSE ? null : (next.get(p) ?? b);
      if (offset !== null) next.set(p, offset + 1n);
      printJsonLine({ topic: this.topic, partition: p, offset: offset === null ? null : Number(offset) });
    }
  }
}
