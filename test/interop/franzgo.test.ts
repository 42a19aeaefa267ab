// franz-go (kgo + kadm, from the Go module proxy), unchanged, against our broker through the small
// program in test/interop/go/franzgo: create a topic with a config, an idempotent acks=all zstd
// producer with keys and headers, a consumer group of two that splits the partitions and commits,
// then kadm's committed offsets, group list/describe, topic list and topic configs.
// The program is built once per source hash into ~/.cache/clustergenie/go-build (modules come
// from the proxy into Go's module cache; nothing is vendored into the repository).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { killOnExit } from '../helpers/children.js';

// Compiled into dist/test/interop, the Go sources stay in the source tree.
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const source = join(repo, 'test', 'interop', 'go', 'franzgo');
const sourceFiles = ['go.mod', 'main.go'];

let cluster: KafkaTestingCluster;
let binary = '';

/** The program's binary for the current sources, built on first use (GOFLAGS=-mod=mod resolves go.sum). */
function buildProgram(): string {
  const hash = createHash('sha256');
  for (const f of sourceFiles) hash.update(f).update(readFileSync(join(source, f)));
  const cache = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'clustergenie', 'go-build');
  const target = join(cache, `franzgo-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(target)) return target;
  try {
    execFileSync('go', ['version'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      'the Go toolchain is missing: install Go ≥ 1.26, which franz-go 1.22 requires (go.dev/dl; the golang-go of Debian bookworm is too old) and put `go` on PATH',
    );
  }
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, '.build-'));
  try {
    for (const f of sourceFiles) cpSync(join(source, f), join(work, f));
    execFileSync('go', ['build', '-o', 'franzgo', '.'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      timeout: 600_000,
    });
    renameSync(join(work, 'franzgo'), target);
  } catch (e) {
    throw new Error(`building the franz-go program failed (it needs the Go module proxy once): ${(e as { stderr?: Buffer }).stderr}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

before(async () => {
  binary = buildProgram();
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
});

after(async () => {
  await cluster?.close();
});

interface Outcome {
  produced: number;
  split: [number[], number[]];
  readByA: number;
  readByB: number;
  group: { state: string; protocol: string; members: string[] };
  committed: number;
  groupListed: boolean;
  listedPartitions: number;
  configs: Record<string, { value: string; source: string }>;
}

function runProgram(topic: string, timeoutMs = 120_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [cluster.bootstrap, topic], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new Error(`franzgo timed out; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`franzgo exited ${code}; stderr:\n${stderr}`));
      else resolve(JSON.parse(stdout) as Outcome);
    });
  });
}

test('franz-go produces, consumes in a group of two, commits, and administers', async () => {
  const r = await runProgram('franzgo-events');
  assert.equal(r.produced, 200);
  const [a, b] = r.split;
  assert.ok(a.length > 0 && b.length > 0, `both members own partitions: ${JSON.stringify(r.split)}`);
  assert.deepEqual([...a, ...b].sort(), [0, 1, 2, 3], 'the partitions are split without overlap');
  assert.ok(r.readByA + r.readByB >= 200, 'every record was read by one of the members');
  assert.deepEqual(r.group, { state: 'Stable', protocol: 'range', members: ['member-a', 'member-b'] });
  assert.equal(r.committed, 200, 'the committed offsets cover every record');
  assert.ok(r.groupListed, 'ListGroups lists the group');
  assert.equal(r.listedPartitions, 4);
  assert.deepEqual(r.configs['retention.ms'], { value: '654321', source: 'DYNAMIC_TOPIC_CONFIG' });
  assert.deepEqual(r.configs['cleanup.policy'], { value: 'delete', source: 'DEFAULT_CONFIG' });
});
