// The Job Service's HTTP API against schemathesis (PyPI), a property-based fuzzer driven by the
// OpenAPI document the service serves: generated requests, valid and not, for every operation;
// every check (no 5xx, status codes, content types, headers, bodies and SSE events that match the
// spec, 405 for undeclared methods, invalid input rejected and valid input accepted). The service
// runs on a one-broker cluster with ZooKeeper, as under `clustergenie up`.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { KafkaTestingCluster } from '../../src/cluster/kafkaTestingCluster.js';
import { startJobsHttp } from '../../src/genie/jobs/http.js';
import { JobService } from '../../src/genie/jobs/service.js';
import { ensureTopics, jobTopics } from '../../src/genie/kafka.js';
import { repoRoot } from './helpers/pythonClients.js';

/**
 * Rules JSON Schema cannot state, which the service enforces with a documented 400: runAt at most
 * 366 days ahead of now, a body id equal to the Idempotency-Key header when both are sent, and a
 * schedule's cron pattern and time zone being ones croner reads. The hook adjusts only cases the generator meant as valid, just before each call
 * (so ids the stateful phase takes from earlier responses are covered too).
 */
const hooksPy = `
import datetime
import re

import schemathesis
from schemathesis import GenerationMode

AHEAD_MAX = datetime.timedelta(days=366)


def _too_far(run_at, now):
    try:
        return datetime.datetime.fromisoformat(run_at.replace("z", "Z")) > now + AHEAD_MAX
    except ValueError:
        year = re.match(r"^(\\d{4})-", run_at)
        return year is not None and int(year.group(1)) > now.year


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    body = case.body
    if case.method.upper() == "PUT" and case.path == "/api/schedules/{name}" and isinstance(body, dict):
        body["cron"] = "*/10 * * * * *"
        if "timezone" in body:
            body["timezone"] = "UTC"
        return
    if case.method.upper() != "POST":
        return
    if case.path == "/api/jobs" and isinstance(body, dict):
        submissions = [body]
        key = (case.headers or {}).get("Idempotency-Key")
        if key is not None and "id" in body and body["id"] != key:
            body["id"] = key
    elif case.path == "/api/jobs/batch" and isinstance(body, dict) and isinstance(body.get("jobs"), list):
        submissions = body["jobs"]
    else:
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    for s in submissions:
        if isinstance(s, dict) and isinstance(s.get("runAt"), str) and _too_far(s["runAt"], now):
            s["runAt"] = (now + datetime.timedelta(days=1)).isoformat()
`;

/** A stream of a job no worker runs never ends: schemathesis reads it for a second, not its default ten. */
const configToml = `
hooks = "hooks.py"

[[operations]]
include-operation-id = "streamJob"
request-timeout = 1
`;

let cluster: KafkaTestingCluster;
let service: JobService;
let app: FastifyInstance;
let url: string;
let schemathesis: string;
let workDir: string;

before(async () => {
  let out: string;
  try {
    out = execFileSync(join(repoRoot, 'scripts', 'fetch-python-clients.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`scripts/fetch-python-clients.sh failed (it needs python3-venv and PyPI once): ${(e as { stderr?: string }).stderr}`);
  }
  const venv = /^CG_SCHEMATHESIS_VENV=(.*)$/m.exec(out)?.[1];
  assert.ok(venv, `fetch-python-clients.sh printed no CG_SCHEMATHESIS_VENV line: ${out}`);
  schemathesis = join(venv, 'bin', 'schemathesis');
  workDir = await mkdtemp(join(tmpdir(), 'cg-schemathesis-'));
  await writeFile(join(workDir, 'hooks.py'), hooksPy);
  await writeFile(join(workDir, 'schemathesis.toml'), configToml);
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  const kafka = { bootstrapBrokers: cluster.bootstrap.split(','), clientId: 'schemathesis-test' };
  await ensureTopics(kafka, jobTopics({ partitions: 3, replicationFactor: 1 }));
  service = new JobService({ kafka, zkConnect: cluster.zkConnect, instance: 'fuzzed', dataDir: join(workDir, 'store') });
  await service.start();
  ({ app, url } = await startJobsHttp(service, { port: 0 }));
});

after(async () => {
  await app?.close();
  await service?.close();
  await cluster?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test('schemathesis finds no 5xx and no response that breaks the OpenAPI document', { timeout: 300_000 }, async () => {
  const junit = join(workDir, 'junit.xml');
  const args = [
    'run',
    `${url}/openapi.json`,
    '--checks',
    'all',
    '--max-examples',
    '30',
    '--seed',
    '20261207',
    // One worker: deterministic, and clear of a CPython 3.11 race in ast.parse that two workers hit.
    '--workers',
    '1',
    '--generation-database',
    'none',
    '--report',
    'junit',
    '--report-junit-path',
    junit,
    '--no-color',
  ];
  // From the temp dir: schemathesis reads schemathesis.toml there and writes its caches there.
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(schemathesis, args, { cwd: workDir, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
  const report = await readFile(junit, 'utf8').catch(() => '');
  // It really ran: the report names the operations it exercised, and the hooks were loaded.
  const cases = (report.match(/<testcase /g) ?? []).length;
  assert.ok(cases >= 10, `schemathesis exercised ${cases} operations:\n${result.out.slice(-4000)}`);
  assert.doesNotMatch(result.out, /HookError|Failed to load hooks/i, 'the hooks loaded');
  assert.equal(result.code, 0, `schemathesis found problems:\n${result.out.slice(-8000)}`);
});
