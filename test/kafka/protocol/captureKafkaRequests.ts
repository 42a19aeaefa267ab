// Captures golden request (and response) frames from real Kafka clients: librdkafka (kcat and
// python3-confluent-kafka from Debian, the PyPI confluent-kafka in the venv when present), the
// Java client of Apache Kafka 3.9 and 4.x (through their command-line tools) and kafka-python.
// Each client runs against our broker through a frame-aware recording proxy that the broker
// advertises, and one frame of every distinct (client, API key, version), the smallest answered, is written under
// test/kafka/protocol/fixtures/<client>/ as hex. goldenCaptured.test.ts checks the fixtures.
//
// Run with scripts/capture-kafka-requests.sh [client-label] (compiles, then runs this file).
// It rewrites the fixture directory of every client it could run and leaves the others alone.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import { kafkaJarsPresent, type KafkaVersion, runKafkaTool } from '../../helpers/apacheKafka.js';
import { type RecordedExchange, startKafkaRecorder } from '../../helpers/kafkaRecorder.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The source tree: this file runs compiled from dist/ (or a private .build-* directory). */
const repo = findRepo(here);
export const FIXTURES = join(repo, 'test', 'kafka', 'protocol', 'fixtures');
const PY_CLIENTS = join(repo, 'test', 'kafka', 'protocol', 'capture', 'clients.py');
const DEBIAN_PYTHON = '/usr/bin/python3';
const VENV_PYTHON = join(process.env['CG_PY_VENV'] ?? join(process.env['HOME'] ?? '', '.cache', 'clustergenie', 'venv'), 'bin', 'python');
/** CAPTURE_VERBOSE=1 prints every client's output, not only failures. */
const VERBOSE = process.env['CAPTURE_VERBOSE'] === '1';
/** Responses bigger than this are not kept (fetch responses full of records say nothing new). */
const RESPONSE_KEEP_MAX = 16 * 1024;

function findRepo(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json'))) return d;
  throw new Error(`no package.json above ${from}`);
}

interface Run {
  code: number | null;
  out: string;
}

function runCmd(cmd: string, args: readonly string[], input = '', timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function kcat(bootstrap: string, topic: string): Promise<void> {
  const b = ['-b', bootstrap];
  const run = async (cmd: string, args: readonly string[], input = ''): Promise<void> => {
    const r = await runCmd(cmd, args, input);
    if (r.code !== 0 || VERBOSE) console.error(`kcat ${args.join(' ')}: exit ${r.code}\n${r.out.slice(-2000)}`);
  };
  await run('kcat', [...b, '-L']);
  await run('kcat', [...b, '-P', '-t', topic, '-z', 'gzip', '-K:'], 'k1:v1\nk2:v2\nk3:v3\n');
  await run('kcat', [...b, '-C', '-t', topic, '-o', 'beginning', '-e']);
  await run('kcat', [...b, '-C', '-t', topic, '-o', 's@0', '-e']);
  // Balanced consumer: FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, Heartbeat, OffsetCommit, LeaveGroup.
  await run('kcat', [...b, '-G', `${topic}-kcat-group`, '-o', 'beginning', '-e', '-X', 'enable.auto.commit=true', topic]);
}

async function javaTools(bootstrap: string, topic: string, v: KafkaVersion, dir: string): Promise<void> {
  const bs = ['--bootstrap-server', bootstrap];
  const o = { clientVersion: v, timeoutMs: 90_000 };
  const group = `${topic}-group`;
  const report = (what: string, r: { code: number | null; stderr: string }): void => {
    if (r.code !== 0) console.error(`java ${v} ${what} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  };
  report(
    'create',
    await runKafkaTool('kafka-topics', [...bs, '--create', '--topic', topic, '--partitions', '1', '--replication-factor', '1'], o),
  );
  report('describe', await runKafkaTool('kafka-topics', [...bs, '--describe', '--topic', topic], o));
  report('list', await runKafkaTool('kafka-topics', [...bs, '--list'], o));
  report('alter', await runKafkaTool('kafka-topics', [...bs, '--alter', '--topic', topic, '--partitions', '2'], o));
  const cfg = ['--entity-type', 'topics', '--entity-name', topic];
  report('configs-alter', await runKafkaTool('kafka-configs', [...bs, ...cfg, '--alter', '--add-config', 'retention.ms=3600000'], o));
  report('configs-describe', await runKafkaTool('kafka-configs', [...bs, ...cfg, '--describe', '--all'], o));
  report('broker-configs', await runKafkaTool('kafka-configs', [...bs, '--entity-type', 'brokers', '--entity-name', '1', '--describe'], o));
  // The 3.x+ producer is idempotent by default (InitProducerId, then Produce with a producer id).
  const prodProps = ['--producer-property', 'enable.idempotence=true', '--producer-property', 'compression.type=lz4'];
  report('produce', await runKafkaTool('kafka-console-producer', [...bs, '--topic', topic, ...prodProps], { ...o, input: 'a\nb\nc\nd\n' }));
  // A short heartbeat interval so that a Heartbeat goes out before the four records are read.
  const cons = [...bs, '--topic', topic, '--group', group, '--from-beginning', '--max-messages', '4', '--timeout-ms', '30000'];
  cons.push('--consumer-property', 'heartbeat.interval.ms=50');
  report('consume', await runKafkaTool('kafka-console-consumer', cons, o));
  report('groups-list', await runKafkaTool('kafka-consumer-groups', [...bs, '--list'], o));
  report('groups-describe', await runKafkaTool('kafka-consumer-groups', [...bs, '--describe', '--group', group], o));
  report(
    'groups-reset',
    await runKafkaTool(
      'kafka-consumer-groups',
      [...bs, '--reset-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute'],
      o,
    ),
  );
  report(
    'groups-delete-offsets',
    await runKafkaTool('kafka-consumer-groups', [...bs, '--delete-offsets', '--group', group, '--topic', `${topic}:1`], o),
  );
  const json = join(dir, `delete-${v}.json`);
  await writeFile(json, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, offset: 1 }] }));
  report('delete-records', await runKafkaTool('kafka-delete-records', [...bs, '--offset-json-file', json], o));
  // Tools without a KafkaToolName, by main class: DescribeLogDirs, ElectLeaders, DescribeProducers.
  const logDirs = ['--describe', '--topic-list', topic];
  report('log-dirs', await runKafkaTool('org.apache.kafka.tools.LogDirsCommand', [...bs, ...logDirs], o));
  const elect = ['--election-type', 'preferred', '--topic', topic, '--partition', '0'];
  report('elect', await runKafkaTool('org.apache.kafka.tools.LeaderElectionCommand', [...bs, ...elect], o));
  const producers = ['describe-producers', '--topic', topic, '--partition', '0'];
  report('producers', await runKafkaTool('org.apache.kafka.tools.TransactionsCommand', [...bs, ...producers], o));
  report('groups-delete', await runKafkaTool('kafka-consumer-groups', [...bs, '--delete', '--group', group], o));
  report('delete', await runKafkaTool('kafka-topics', [...bs, '--delete', '--topic', topic], o));
}

async function python(py: string, kind: 'confluent' | 'kafka-python', bootstrap: string, topic: string): Promise<void> {
  const r = await runCmd(py, [PY_CLIENTS, kind, bootstrap, topic]);
  if (r.code !== 0 || /failed/.test(r.out) || VERBOSE) console.error(`${py} ${kind}: exit ${r.code}\n${r.out.slice(-4000)}`);
}

async function newLibrdkafkaVersion(): Promise<string | undefined> {
  if (!existsSync(VENV_PYTHON)) return undefined;
  const r = await runCmd(VENV_PYTHON, ['-c', 'import confluent_kafka as c; print(c.libversion()[0])']);
  return r.code === 0 ? r.out.trim() : undefined;
}

/** The smallest request of each (API key, version), and a response for it when one is small enough. */
function distinct(exchanges: readonly RecordedExchange[]): Map<string, RecordedExchange> {
  const out = new Map<string, RecordedExchange>();
  // Prefer an answered request, then the smallest: small fixtures, and a response to keep.
  const rank = (e: RecordedExchange): number => (e.response ? 0 : 1e9) + e.request.length;
  for (const ex of exchanges) {
    const k = `${ex.apiKey}:${ex.apiVersion}`;
    const had = out.get(k);
    if (!had || rank(ex) < rank(had)) out.set(k, ex);
  }
  return out;
}

export function fixtureName(apiKey: number, version: number): string {
  const name = apiDef(apiKey)?.name ?? 'Unknown';
  return `${String(apiKey).padStart(2, '0')}-${name}-v${version}`;
}

async function save(label: string, exchanges: readonly RecordedExchange[]): Promise<void> {
  const mine = exchanges.filter((e) => e.label === label);
  // A client that could not run at all keeps its old fixtures rather than losing them.
  if (mine.length === 0) {
    console.error(`${label}: nothing recorded; fixtures left as they were`);
    return;
  }
  const dir = join(FIXTURES, label);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const picked = distinct(mine);
  for (const ex of picked.values()) {
    const base = join(dir, fixtureName(ex.apiKey, ex.apiVersion));
    await writeFile(`${base}.req.hex`, `${ex.request.toString('hex')}\n`);
    if (ex.response && ex.response.length <= RESPONSE_KEEP_MAX) await writeFile(`${base}.res.hex`, `${ex.response.toString('hex')}\n`);
  }
  console.log(`${label}: ${[...picked.keys()].sort().join(' ')}`);
}

async function main(): Promise<void> {
  const recorder = await startKafkaRecorder();
  const cluster = await KafkaTestingCluster.start({
    brokerProps: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${recorder.port}`, 'auto.create.topics.enable': 'true' },
  });
  recorder.setTarget('127.0.0.1', cluster.get(1).port);
  const bootstrap = `127.0.0.1:${recorder.port}`;
  const work = await mkdtemp(join(tmpdir(), 'cg-capture-'));
  const only = process.argv[2];
  const runs: [string, () => Promise<void>][] = [
    [
      'librdkafka-2.0.2',
      async () => {
        await kcat(bootstrap, 'golden-kcat');
        await python(DEBIAN_PYTHON, 'confluent', bootstrap, 'golden-ck17');
      },
    ],
    ['kafka-python-2.0.2', () => python(DEBIAN_PYTHON, 'kafka-python', bootstrap, 'golden-kafka-python')],
  ];
  const newer = await newLibrdkafkaVersion();
  if (newer) runs.push([`librdkafka-${newer}`, () => python(VENV_PYTHON, 'confluent', bootstrap, 'golden-ck-new')]);
  for (const v of ['3.9', '4.x'] as const) {
    if (kafkaJarsPresent(v)) runs.push([`java-${v}`, () => javaTools(bootstrap, `golden-java-${v.replace('.', '')}`, v, work)]);
  }
  try {
    for (const [label, fn] of runs) {
      if (only && label !== only) continue;
      recorder.label = label;
      await fn();
      await save(label, recorder.exchanges);
    }
  } finally {
    await cluster.close();
    await recorder.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
