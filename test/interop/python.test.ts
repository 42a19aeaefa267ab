// Python clients, unchanged, against our broker: confluent-kafka on Debian's librdkafka 2.0.2
// (python3-confluent-kafka 1.7), the current confluent-kafka from PyPI with its bundled librdkafka
// (a venv made by scripts/fetch-python-clients.sh), and kafka-python (python3-kafka 2.0.2).
// Each runs the scripts in test/interop/python/: an acks=all producer with keys, headers and two
// codecs (idempotent where the client has it) read back by assignment; a group of two members
// that rebalances, commits, and a third member resuming from the commits while the admin API
// lists and describes the group; and admin create/describe/describe-configs/partitions/delete.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { killOnExit } from '../helpers/children.js';
import { debianPython, pythonScripts, repoRoot, requireDebianPythonClients } from './helpers/pythonClients.js';

const scripts = pythonScripts;

let cluster: KafkaTestingCluster;
let venvPython = '';

before(async () => {
  requireDebianPythonClients();
  // Idempotent: a cached venv is reused without touching the network.
  let out: string;
  try {
    out = execFileSync(join(repoRoot, 'scripts', 'fetch-python-clients.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`scripts/fetch-python-clients.sh failed (it needs python3-venv and PyPI once): ${(e as { stderr?: string }).stderr}`);
  }
  const venv = /^CG_PY_VENV=(.*)$/m.exec(out)?.[1];
  assert.ok(venv, `fetch-python-clients.sh printed no CG_PY_VENV line: ${out}`);
  venvPython = join(venv, 'bin', 'python');
  cluster = await KafkaTestingCluster.start({ brokers: 1, brokerProps: { 'num.partitions': '3' } });
});

after(async () => {
  await cluster?.close();
});

interface Client {
  name: string;
  python: () => string;
  script: string;
  codecs: string[];
  /** Whether its admin API reports per-topic results for delete (kafka-python raises or returns nothing). */
  deleteResults: boolean;
}

const clients: Client[] = [
  {
    name: 'confluent-kafka 1.7 (Debian, librdkafka 2.0.2)',
    python: () => debianPython,
    script: 'confluent_suite.py',
    codecs: ['gzip', 'zstd'],
    deleteResults: true,
  },
  {
    name: 'confluent-kafka (PyPI, bundled librdkafka)',
    python: () => venvPython,
    script: 'confluent_suite.py',
    codecs: ['lz4', 'snappy'],
    deleteResults: true,
  },
  {
    name: 'kafka-python 2.0.2 (Debian)',
    python: () => debianPython,
    script: 'kafka_python_suite.py',
    codecs: ['gzip', 'lz4'],
    deleteResults: false,
  },
];

/** Runs one scenario and returns the JSON object it printed; the script's stderr explains a failure. */
function scenario<T>(client: Client, args: string[], timeoutMs = 100_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(client.python(), [join(scripts, client.script), args[0] as string, cluster.bootstrap, ...args.slice(1)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // No __pycache__ in the source tree; unbuffered so a killed run still shows its last words.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${client.script} ${args.join(' ')} timed out; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`${client.script} ${args.join(' ')} exited ${code}; stderr:\n${stderr}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

interface Produced {
  delivered: { partition: number; offset: number; key: string }[];
  errors: string[];
  records: { partition: number; offset: number; key: string | null; value: string; headers: [string, string | null][] }[];
}

interface Grouped {
  alone: number[];
  split: [number[], number[]];
  view: { listed: boolean; state: string; members: { client_id: string }[]; protocol: string };
  midByA: number;
  midByB: number;
  resumed: string[];
  committedAtResume: number;
}

interface Admin {
  created: Record<string, string | null>;
  again: Record<string, string | null>;
  partitions: Record<string, number>;
  topicConfigs: Record<string, { value: string; source: string }>;
  brokerNumPartitions: string | null;
  deleted?: Record<string, string | null>;
}

let seq = 0;
const unique = (what: string): string => `py-${what}-${++seq}`;

for (const client of clients) {
  describe(client.name, () => {
    for (const codec of client.codecs) {
      test(`produces keys and headers with ${codec} at acks=all and reads them back`, async () => {
        const topic = unique(codec);
        const r = await scenario<Produced>(client, ['produce', topic, codec]);
        assert.deepEqual(r.errors, []);
        assert.equal(r.delivered.length, 300);
        assert.equal(r.records.length, 300, 'every delivered record is read back');
        const byPos = new Map(r.records.map((x) => [`${x.partition}:${x.offset}`, x]));
        const keyPartition = new Map<string, number>();
        for (const d of r.delivered) {
          const rec = byPos.get(`${d.partition}:${d.offset}`);
          assert.ok(rec, `delivered ${d.partition}:${d.offset} is readable`);
          assert.equal(rec.key, d.key);
          const seqHeader = rec.headers.find(([k]) => k === 'seq')?.[1];
          assert.match(rec.value, new RegExp(`^value-${codec}-${seqHeader}-x*$`), 'the headers travel with their record');
          assert.deepEqual(rec.headers[1], ['codec', codec]);
          // A key always lands in one partition, whatever the client's partitioner.
          assert.equal(keyPartition.get(d.key) ?? d.partition, d.partition);
          keyPartition.set(d.key, d.partition);
        }
        for (const p of [0, 1, 2]) {
          const offsets = r.records.filter((x) => x.partition === p).map((x) => x.offset);
          assert.deepEqual(
            offsets,
            offsets.map((_, i) => i),
            `partition ${p} offsets are dense and in order`,
          );
        }
      });
    }

    test('a group of two rebalances, commits, and a new member resumes from the commits', async () => {
      const r = await scenario<Grouped>(client, ['group', unique('group')], 150_000);
      assert.deepEqual(r.alone, [0, 1, 2, 3], 'the first member owns every partition');
      const [a, b] = r.split;
      assert.ok(a.length > 0 && b.length > 0, `both members own partitions: ${JSON.stringify(r.split)}`);
      assert.deepEqual([...a, ...b].sort(), [0, 1, 2, 3], 'the rebalance splits the partitions without overlap');
      assert.ok(r.view.listed, 'the group is listed');
      assert.equal(r.view.state, 'STABLE');
      assert.equal(r.view.protocol, 'range');
      assert.deepEqual(r.view.members.map((m) => m.client_id).sort(), ['member-a', 'member-b']);
      assert.ok(r.midByA > 0 && r.midByB > 0, `both members read after the split (${r.midByA}, ${r.midByB})`);
      assert.equal(r.midByA + r.midByB, 100, 'no record read twice after the split');
      assert.equal(r.committedAtResume, 300, 'the committed offsets cover everything read before');
      assert.deepEqual(
        [...r.resumed].sort(),
        Array.from({ length: 40 }, (_, i) => `second-${i}`).sort(),
        'the resumed member reads only what came after the commits',
      );
    });

    test('admin creates, describes, grows and deletes topics and describes configs', async () => {
      const prefix = unique('admin');
      const r = await scenario<Admin>(client, ['admin', prefix]);
      const [ta, tb] = [`${prefix}-a`, `${prefix}-b`];
      assert.deepEqual(r.created, { [ta]: null, [tb]: null });
      assert.match(String(r.again[tb]), /ALREADY_EXISTS|AlreadyExists/, 'creating an existing topic fails with TOPIC_ALREADY_EXISTS');
      assert.deepEqual(r.partitions, { [ta]: 3, [tb]: 1 });
      assert.deepEqual(r.topicConfigs['retention.ms'], {
        ...r.topicConfigs['retention.ms'],
        value: '123456',
        source: 'DYNAMIC_TOPIC_CONFIG',
      });
      assert.equal(r.topicConfigs['cleanup.policy']?.value, 'compact');
      assert.equal(r.topicConfigs['segment.bytes']?.source, 'DEFAULT_CONFIG');
      assert.equal(r.brokerNumPartitions, '3', "the broker's num.partitions is described");
      if (client.deleteResults) assert.deepEqual(r.deleted, { [ta]: null, [tb]: null });
    });
  });
}
