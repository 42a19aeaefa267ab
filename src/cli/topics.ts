// `clustergenie topics list|describe|create|alter|delete`: kafka-topics.sh and kafka-configs.sh for
// topics, over the Admin API (Metadata, ListOffsets, DescribeConfigs, CreateTopics,
// CreatePartitions, IncrementalAlterConfigs, DeleteTopics).

import { createInterface } from 'node:readline/promises';
import { type Admin, ConfigResourceTypes, ConfigSources, IncrementalAlterConfigOperationTypes } from '@platformatic/kafka';
import { toController } from '../genie/kafka.js';
import { CliError, ExitCode } from './exitCodes.js';
import {
  collect,
  EARLIEST,
  exitSoon,
  type KafkaCliOptions,
  kafkaOptions,
  keyValueOption,
  LATEST,
  partitionOffsets,
  pause,
  positiveInt,
  requireTopic,
  topicNames,
  topicPartitions,
  withAdmin,
} from './kafkaCli.js';
import { printJson, printTable, safeText } from './output.js';
import { clientProgram, runProgram, subcommand } from './program.js';

/** How often create/delete look again for the change to show in metadata. */
const settlePollMs = 200;

export async function runTopics(args: string[]): Promise<number> {
  const program = clientProgram('topics', 'list, describe, create, alter and delete Kafka topics');

  kafkaOptions(subcommand(program, 'list', 'topics with partitions, replication factor and under-replicated partitions'))
    .option('--internal', 'include internal topics (__consumer_offsets)')
    .action(async (o: KafkaCliOptions & { internal?: boolean }) => listTopics(o));

  kafkaOptions(subcommand(program, 'describe <topic>', 'partitions (leader, replicas, ISR, log start/end) and configs'))
    .option('--all-configs', 'every config, not only the topic overrides')
    .action(async (topic: string, o: KafkaCliOptions & { allConfigs?: boolean }) => describeTopic(topic, o));

  kafkaOptions(subcommand(program, 'create <topic>', 'create a topic (partitions and replication default to the brokers’ settings)'))
    .option('-p, --partitions <n>', 'number of partitions', positiveInt('--partitions'))
    .option('-r, --replication-factor <n>', 'replicas per partition', positiveInt('--replication-factor'))
    .option('--config <key=value>', 'a topic config (repeatable)', keyValueOption('--config'))
    .action(async (topic: string, o: CreateOptions) => createTopic(topic, o));

  kafkaOptions(subcommand(program, 'alter <topic>', 'add partitions, set or delete topic configs'))
    .option('--partitions <n>', 'the new (larger) number of partitions', positiveInt('--partitions'))
    .option('--config <key=value>', 'set a topic config (repeatable)', keyValueOption('--config'))
    .option('--delete-config <key>', 'remove a topic config override (repeatable)', collect)
    .action(async (topic: string, o: AlterOptions) => alterTopic(topic, o));

  kafkaOptions(subcommand(program, 'delete <topic>', 'delete a topic (asks on a terminal; --yes otherwise)'))
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (topic: string, o: KafkaCliOptions & { yes?: boolean }) => deleteTopic(topic, o));

  const code = await runProgram(program, args);
  exitSoon(code);
  return code;
}

interface CreateOptions extends KafkaCliOptions {
  partitions?: number;
  replicationFactor?: number;
  config?: [string, string][];
}

interface AlterOptions extends KafkaCliOptions {
  partitions?: number;
  config?: [string, string][];
  deleteConfig?: string[];
}

export interface TopicSummary {
  name: string;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  internal: boolean;
}

const isInternal = (name: string): boolean => name.startsWith('__');

async function listTopics(o: KafkaCliOptions & { internal?: boolean }): Promise<void> {
  const topics = await withAdmin(o, 'listing topics', async (admin) => {
    const names = [...(await admin.listTopics({ includeInternals: o.internal === true }))].sort();
    const parts = await topicPartitions(admin, names);
    return names.map((name): TopicSummary => {
      const ps = parts.get(name)?.partitions ?? [];
      return {
        name,
        partitions: ps.length,
        replicationFactor: ps[0]?.replicas.length ?? 0,
        underReplicated: ps.filter((p) => p.isr.length < p.replicas.length).length,
        internal: isInternal(name),
      };
    });
  });
  if (o.json) return printJson(topics);
  printTable(
    ['TOPIC', 'PARTITIONS', 'RF', 'UNDER-REPLICATED'],
    topics.map((t) => [t.name, t.partitions, t.replicationFactor, t.underReplicated]),
  );
}

interface ConfigEntry {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  sensitive: boolean;
}

const sourceNames = new Map<number, string>(Object.entries(ConfigSources).map(([k, v]) => [v, k]));

async function describeTopic(topic: string, o: KafkaCliOptions & { allConfigs?: boolean }): Promise<void> {
  const described = await withAdmin(o, `describing topic ${topic}`, async (admin) => {
    await requireTopic(admin, topic);
    const meta = (await topicPartitions(admin, [topic])).get(topic);
    if (!meta) throw new CliError(`topic ${JSON.stringify(topic)} does not exist`, ExitCode.notFound);
    const [start, end, configs] = await Promise.all([
      partitionOffsets(admin, topic, meta.partitions, EARLIEST),
      partitionOffsets(admin, topic, meta.partitions, LATEST),
      admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] }),
    ]);
    const entries: ConfigEntry[] = [];
    for (const d of configs)
      for (const c of d.configs) {
        if (!o.allConfigs && c.configSource !== ConfigSources.TOPIC_CONFIG) continue;
        entries.push({
          name: c.name,
          value: c.isSensitive ? null : (c.value ?? null),
          source: sourceNames.get(c.configSource) ?? String(c.configSource),
          readOnly: c.readOnly,
          sensitive: c.isSensitive,
        });
      }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      name: topic,
      id: meta.id,
      partitions: meta.partitions.map((p) => ({
        ...p,
        logStartOffset: numberOrNull(start.get(p.partition)),
        logEndOffset: numberOrNull(end.get(p.partition)),
      })),
      configs: entries,
    };
  });
  if (o.json) return printJson(described);
  const rf = described.partitions[0]?.replicas.length ?? 0;
  process.stdout.write(
    `Topic: ${safeText(topic)}  TopicId: ${described.id}  PartitionCount: ${described.partitions.length}  ReplicationFactor: ${rf}\n`,
  );
  printTable(
    ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'LOG-END'],
    described.partitions.map((p) => [
      p.partition,
      p.leader < 0 ? 'none' : p.leader,
      p.replicas.join(','),
      p.isr.join(','),
      p.logStartOffset ?? '-',
      p.logEndOffset ?? '-',
    ]),
  );
  if (described.configs.length === 0) {
    process.stdout.write(o.allConfigs ? 'Configs: none\n' : 'Configs: no overrides (--all-configs shows every config)\n');
    return;
  }
  process.stdout.write('\n');
  printTable(
    ['CONFIG', 'VALUE', 'SOURCE'],
    described.configs.map((c) => [c.name, c.sensitive ? '(sensitive)' : (c.value ?? ''), c.source]),
  );
}

function numberOrNull(n: bigint | undefined): number | null {
  return n === undefined ? null : Number(n);
}

/** Waits (within the command's deadline) until every partition of `topic` has a leader. */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  for (;;) {
    const meta = (await topicPartitions(admin, [topic])).get(topic);
    if (meta && meta.partitions.length >= partitions && meta.partitions.every((p) => p.leader >= 0)) return;
    await pause(settlePollMs);
  }
}

async function createTopic(topic: string, o: CreateOptions): Promise<void> {
  const created = await withAdmin(o, `creating topic ${topic}`, async (admin) => {
    const [result] = await toController(admin, () =>
      admin.createTopics({
        topics: [topic],
        ...(o.partitions !== undefined ? { partitions: o.partitions } : {}),
        ...(o.replicationFactor !== undefined ? { replicas: o.replicationFactor } : {}),
        configs: (o.config ?? []).map(([name, value]) => ({ name, value })),
      }),
    );
    const partitions = result?.partitions ?? o.partitions ?? 1;
    // Scripts produce right after create: return once every partition has a leader.
    await waitForLeaders(admin, topic, partitions);
    return { name: topic, id: result?.id ?? '', partitions, replicationFactor: result?.replicas ?? o.replicationFactor ?? 0 };
  });
  if (o.json) return printJson(created);
  process.stdout.write(
    `Created topic ${safeText(topic)} (${created.partitions} partitions, replication factor ${created.replicationFactor}).\n`,
  );
}

async function alterTopic(topic: string, o: AlterOptions): Promise<void> {
  const sets = o.config ?? [];
  const deletes = o.deleteConfig ?? [];
  if (o.partitions === undefined && sets.length === 0 && deletes.length === 0)
    throw new CliError('nothing to alter: give --partitions, --config or --delete-config', ExitCode.usage);
  const altered = await withAdmin(o, `altering topic ${topic}`, async (admin) => {
    await requireTopic(admin, topic);
    if (o.partitions !== undefined) {
      const current = (await topicPartitions(admin, [topic])).get(topic)?.partitions.length ?? 0;
      if (o.partitions < current)
        throw new CliError(
          `--partitions ${o.partitions}: topic ${topic} has ${current} partitions and they can only be added`,
          ExitCode.usage,
        );
      if (o.partitions > current) {
        await admin.createPartitions({ topics: [{ name: topic, count: o.partitions }] });
        await waitForLeaders(admin, topic, o.partitions);
      }
    }
    if (sets.length > 0 || deletes.length > 0) {
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: topic,
            configs: [
              ...sets.map(([name, value]) => ({ name, value, configOperation: IncrementalAlterConfigOperationTypes.SET })),
              ...deletes.map((name) => ({ name, configOperation: IncrementalAlterConfigOperationTypes.DELETE })),
            ],
          },
        ],
      });
    }
    return { name: topic, partitions: o.partitions ?? null, set: Object.fromEntries(sets), deleted: deletes };
  });
  if (o.json) return printJson(altered);
  const what: string[] = [];
  if (o.partitions !== undefined) what.push(`${o.partitions} partitions`);
  for (const [k, v] of sets) what.push(`${k}=${v}`);
  for (const k of deletes) what.push(`${k} removed`);
  process.stdout.write(`Altered topic ${safeText(topic)}: ${safeText(what.join(', '))}.\n`);
}

async function confirmDelete(topic: string, o: { yes?: boolean }): Promise<void> {
  if (o.yes) return;
  if (!process.stdin.isTTY)
    throw new CliError(`refusing to delete topic ${topic} without --yes (stdin is not a terminal to ask on)`, ExitCode.usage);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Delete topic ${safeText(topic)} and all its messages? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not deleted', ExitCode.failure);
  } finally {
    rl.close();
  }
}

async function deleteTopic(topic: string, o: KafkaCliOptions & { yes?: boolean }): Promise<void> {
  // Existence first, so a typo is reported before anyone is asked to confirm.
  await withAdmin(o, `deleting topic ${topic}`, (admin) => requireTopic(admin, topic));
  await confirmDelete(topic, o);
  await withAdmin(o, `deleting topic ${topic}`, async (admin) => {
    await toController(admin, () => admin.deleteTopics({ topics: [topic] }));
    while ((await topicNames(admin)).has(topic)) await pause(settlePollMs);
  });
  if (o.json) return printJson({ name: topic, deleted: true });
  process.stdout.write(`Deleted topic ${safeText(topic)}.\n`);
}
