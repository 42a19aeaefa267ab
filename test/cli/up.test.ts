// `clustergenie up` (the README's first command): one process per ZooKeeper member and per
// broker, the two topics created with 3 partitions and 3 replicas, a second `up` on the same data
// dir refused without touching a file, SIGTERM stopping all six, edited configs kept across a
// restart, --restart bringing back a killed member, and SIGTERM to `npm start` reaching up.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { stablePortRange } from '../../src/util/net.js';
import { killOnExit, waitExit } from '../helpers/children.js';
import { Prometheus } from '../helpers/prometheus.js';
import { chromiumAvailable, chromiumPath, DashboardBrowser, screenshotsDir } from '../dashboard/browser.js';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
/** main.js of the build this test runs from (dist/ or .build-*), so the test runs that build's `up`. */
const mainJs = join(here, '..', '..', 'src', 'cli', 'main.js');
const repoRoot = join(here, '..', '..', '..');
const startDeadlineMs = 90_000;
const stopDeadlineMs = 45_000;

interface Up {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function startUp(args: string[], cmd: string[] = [process.execPath, mainJs, 'up'], cwd?: string): Up {
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

/** Node name -> PID, from up's summary. */
async function readyPids(up: Up): Promise<Map<string, number>> {
  await waitFor(() => /Kafka bootstrap:/.test(up.out()) || up.child.exitCode !== null, {
    timeoutMs: startDeadlineMs,
    what: () => `up's summary: ${up.out()}`,
  });
  assert.match(up.out(), /Kafka bootstrap:/, up.out());
  const pids = new Map<string, number>();
  for (const m of up.out().matchAll(/^ {2}((?:ZooKeeper member|Kafka broker) \d+)\s+\S+\s+pid (\d+)/gm)) pids.set(m[1]!, Number(m[2]));
  return pids;
}

/** Service name -> PID, from up's summary (jobs-service, scheduler, worker N, log-store, ...). */
function servicePids(up: Up): Map<string, number> {
  const pids = new Map<string, number>();
  const service = /^ {2}(jobs-service|scheduler|worker \d+|log-store|log-consumer|ship-logs|monitor|dashboard)\s+(?:\S+\s+)?pid (\d+)/gm;
  for (const m of up.out().matchAll(service)) pids.set(m[1]!, Number(m[2]));
  return pids;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Every file under `dir` with its contents and mtime (the lock file aside: it is up's own). */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^(zoo\.cfg|myid|server\.properties)$/.test(e.name)) files.set(p, `${statSync(p).mtimeMs} ${readFileSync(p, 'utf8')}`);
    }
  };
  walk(dir);
  return files;
}

let dataDir: string;
let flags: string[];
let zkPort: number;
let first: Up;
let firstPids: Map<string, number>;
let firstServicePids: Map<string, number>;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cg-up-'));
  zkPort = await stablePortRange(3);
  flags = [
    '--data-dir',
    dataDir,
    '--zk-port',
    String(zkPort),
    '--zk-quorum-port',
    String(await stablePortRange(3)),
    '--zk-election-port',
    String(await stablePortRange(3)),
    '--admin-port',
    String(await stablePortRange(1)),
    '--kafka-port',
    String(await stablePortRange(3)),
    '--jobs-port',
    String(await stablePortRange(1)),
    '--workers',
    '1',
    '--logs-port',
    String(await stablePortRange(1)),
    '--dashboard-port',
    String(await stablePortRange(1)),
    // 3 members, 3 brokers, then the scheduler, 1 worker, the Log Consumer and the monitor.
    '--metrics-port',
    String(await stablePortRange(10)),
    // Faster elections for the test; the seed's 2000 ms is the default.
    '--tick-time',
    '500',
  ];
  first = startUp(flags);
  firstPids = await readyPids(first);
  firstServicePids = servicePids(first);
});

after(async () => {
  if (first?.child.exitCode === null) first.child.kill('SIGKILL');
  for (const pid of [...(firstPids?.values() ?? []), ...(firstServicePids?.values() ?? [])]) {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

async function zk<T>(fn: (c: ZooKeeperClient) => Promise<T>): Promise<T> {
  const c = new ZooKeeperClient({ connectString: `127.0.0.1:${zkPort}`, sessionTimeoutMs: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

test('up runs 3 ZooKeeper members and 3 brokers as 6 processes, all registered, creates both topics with 3 partitions x 3 replicas, and kafkajs writes to them', async () => {
  assert.equal(firstPids.size, 6, first.out());
  assert.equal(new Set(firstPids.values()).size, 6);
  for (const [name, pid] of firstPids) assert.ok(pidAlive(pid), `${name} (pid ${pid}) is alive`);
  assert.ok(!firstPids.has(String(first.child.pid)));
  await zk(async (c) => {
    assert.deepEqual((await c.getChildren('/brokers/ids')).sort(), ['1', '2', '3']);
    const topics = await c.getChildren('/brokers/topics');
    for (const t of ['cluster-events', 'logs.dev']) {
      assert.ok(topics.includes(t), `${t} exists`);
      const { data } = await c.getData(`/brokers/topics/${t}`);
      const partitions = (JSON.parse(String(data)) as { partitions: Record<string, number[]> }).partitions;
      assert.equal(Object.keys(partitions).length, 3, `${t} has 3 partitions`);
      for (const replicas of Object.values(partitions)) assert.deepEqual([...replicas].sort(), [1, 2, 3]);
      const cfg = JSON.parse(String((await c.getData(`/config/topics/${t}`)).data)) as { config: Record<string, string> };
      assert.equal(cfg.config['min.insync.replicas'], '2');
    }
  });
  // A real client finds the cluster from the printed bootstrap string and writes to it.
  const bootstrap = /Kafka bootstrap: +(\S+)/.exec(first.out())![1]!.split(',');
  assert.equal(bootstrap.length, 3);
  const kafka = new kafkajs.Kafka({ brokers: bootstrap, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [sent] = await producer.send({ topic: 'cluster-events', acks: 1, messages: [{ key: 'k', value: 'v' }] });
    assert.equal(sent?.errorCode, 0);
  } finally {
    await producer.disconnect();
  }
});

test('up also runs the Job Service, the scheduler and a worker as their own processes, and a job submitted over HTTP completes', async () => {
  assert.deepEqual(
    [...firstServicePids.keys()].sort(),
    ['dashboard', 'jobs-service', 'log-consumer', 'log-store', 'monitor', 'scheduler', 'ship-logs', 'worker 1'],
    first.out(),
  );
  for (const [name, pid] of firstServicePids) assert.ok(pidAlive(pid), `${name} (pid ${pid}) is alive`);
  const api = /Jobs API: +(http:\/\/[^/\s]+)/.exec(first.out())?.[1];
  assert.ok(api, first.out());
  // The table says where each service runs: URL, pid, data dir and log, paths under the data dir.
  assert.match(
    first.out(),
    new RegExp(
      `^ {2}jobs-service\\s+${api.replace(/\./g, '\\.')}\\s+pid \\d+\\s+services/jobs-service\\s+services/jobs-service\\.log$`,
      'm',
    ),
  );
  const posted = await fetch(`${api}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'echo', payload: { hello: 'up' } }),
  });
  assert.equal(posted.status, 202);
  const { id } = (await posted.json()) as { id: string };
  const done = await waitFor(
    async () => {
      const job = (await (await fetch(`${api}/api/jobs/${id}`)).json()) as { state: string; result?: unknown };
      return job.state === 'completed' ? job : undefined;
    },
    { timeoutMs: 30_000, what: `job ${id} completed` },
  );
  assert.deepEqual(done.result, { hello: 'up' });
});

test("every process's own log reaches the log store through logs.dev and the Log Consumer, and LogQL finds it", async () => {
  const logs = /Logs API: +(http:\/\/[^/\s]+)/.exec(first.out())?.[1];
  assert.ok(logs, first.out());
  // The Job Service's start-up line, shipped from its log file by ship-logs, labelled with the service.
  const found = await waitFor(
    async () => {
      const q = new URLSearchParams({
        query: '{service="jobs-service"} |= "listening on"',
        limit: '10',
        start: String((Date.now() - 3_600_000) * 1e6),
      });
      const body = (await (await fetch(`${logs}/loki/api/v1/query_range?${q}`)).json()) as {
        data: { result: { stream: Record<string, string>; values: [string, string][] }[] };
      };
      return body.data.result.length > 0 ? body.data.result : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: "the Job Service's log line in the log store" },
  );
  assert.equal(found[0]!.stream['service'], 'jobs-service');
  assert.deepEqual(Object.keys(found[0]!.stream).sort(), ['env', 'host', 'level', 'service']);
  assert.match(found[0]!.values[0]![1], /jobs-service listening on http/);
});

test("up's dashboard, opened in Chromium at the URL up printed, shows its 3 members and 3 brokers", async () => {
  const url = /Dashboard: +(http:\/\/\S+)/.exec(first.out())?.[1];
  assert.ok(url, first.out());
  assert.ok(chromiumAvailable(), `no Chromium at ${chromiumPath} (apt-get install chromium)`);
  const shots = screenshotsDir();
  const b = await DashboardBrowser.launch(url, shots.dir);
  try {
    await b.open('/');
    await waitFor(async () => (await b.page.locator('[data-testid^="zk-member-"]').count()) === 3, {
      timeoutMs: 30_000,
      what: '3 ZooKeeper members on the overview',
    });
    for (const id of [1, 2, 3])
      await waitFor(async () => ((await b.byTestId(`broker-${id}-state`).first().textContent()) ?? '').trim() === 'up', {
        timeoutMs: 30_000,
        what: `broker ${id} shown up`,
      });
    assert.deepEqual((await b.byTestId('zk-mode').allTextContents()).sort(), ['follower', 'follower', 'leader']);
    await b.shot('up-overview');
    assert.deepEqual(b.pageErrors, []);
  } finally {
    await b.close();
    if (shots.temporary) rmSync(shots.dir, { recursive: true, force: true });
  }
});

test('a real Prometheus given only targets.json scrapes every member, broker and service, and PromQL sees their metrics', async () => {
  const targetsFile = /Prometheus targets: +(\S+)/.exec(first.out())?.[1];
  assert.ok(targetsFile, first.out());
  const groups = JSON.parse(readFileSync(targetsFile, 'utf8')) as { targets: string[]; labels: { job: string } }[];
  const jobs = groups.map((g) => g.labels.job).sort();
  assert.deepEqual(jobs, [
    'jobs-service',
    'kafka',
    'kafka',
    'kafka',
    'log-consumer',
    'log-store',
    'monitor',
    'scheduler',
    'worker',
    'zookeeper',
    'zookeeper',
    'zookeeper',
  ]);
  const prometheus = await Prometheus.start(targetsFile);
  try {
    let seen: Awaited<ReturnType<Prometheus['activeTargets']>> = [];
    const targets = await waitFor(
      async () => {
        seen = await prometheus.activeTargets();
        return seen.length === groups.length && seen.every((t) => t.health === 'up') ? seen : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: () => `every target up: ${JSON.stringify(seen.map((t) => [t.scrapeUrl, t.health, t.lastError]))}`,
      },
    );
    for (const t of targets) assert.equal(t.lastError, '', `${t.scrapeUrl} scraped without error`);
    // Apache ZooKeeper's names from each member; one active controller among the brokers (JMX-exporter names).
    assert.equal((await prometheus.query('znode_count')).length, 3);
    const quorum = await prometheus.query('quorum_size');
    assert.ok(quorum.length === 3 && quorum.every((s) => s.value[1] === '3'), JSON.stringify(quorum));
    const controllers = await prometheus.query('sum(kafka_controller_kafkacontroller_activecontrollercount)');
    assert.equal(controllers[0]?.value[1], '1');
    assert.ok((await prometheus.query('kafka_server_replicamanager_partitioncount')).length === 3);
    // The job the test above ran, counted by the Job Service; kafka_exporter's names from the monitor.
    const submitted = await prometheus.query('sum(clustergenie_jobs_submitted_total{type="echo"})');
    assert.ok(Number(submitted[0]?.value[1]) >= 1, JSON.stringify(submitted));
    assert.ok((await prometheus.query('kafka_topic_partitions{topic="cluster-events"}')).length >= 1);
    assert.ok((await prometheus.query('clustergenie_worker_info')).length === 1);
  } finally {
    await prometheus.stop();
  }
});

test('a second up on the same data dir fails with a message naming the running up, and changes no file', async () => {
  const before = snapshot(dataDir);
  assert.ok(before.size >= 9, 'configs of 3 members (zoo.cfg, myid) and 3 brokers');
  const second = startUp(flags);
  // 7: busy (src/cli/exitCodes.ts), the data dir is taken by another process.
  assert.equal(await second.exited, 7);
  assert.match(second.out(), new RegExp(`another \`clustergenie up\` \\(pid ${first.child.pid}\\) is running from`));
  assert.deepEqual(snapshot(dataDir), before);
  // The running up's own files too (down reads up.pid).
  assert.equal(readFileSync(join(dataDir, 'up.pid'), 'utf8').trim(), String(first.child.pid));
  assert.ok(existsSync(join(dataDir, 'up.json')));
  for (const pid of firstPids.values()) assert.ok(pidAlive(pid), 'the running cluster is untouched');
});

test('SIGTERM to up stops all six processes and the services, and up exits 0', async () => {
  first.child.kill('SIGTERM');
  assert.ok(await waitExit(first.child, stopDeadlineMs), `up exits: ${first.out()}`);
  assert.equal(await first.exited, 0);
  for (const [name, pid] of [...firstPids, ...firstServicePids]) assert.equal(pidAlive(pid), false, `${name} (pid ${pid}) is gone`);
});

/**
 * The dashboard of a running `up`, in Chromium: broker 2 frozen (SIGSTOP) until its ZooKeeper
 * session expires shows down with under-replicated partitions; resumed, it is back with none.
 * (A kill -9 would be restarted by up at once and might never be seen down: e2e.test.ts kills.)
 */
async function brokerLossSeenOnDashboard(up: Up, pids: Map<string, number>): Promise<void> {
  const url = /Dashboard: +(http:\/\/\S+)/.exec(up.out())?.[1];
  assert.ok(url, up.out());
  const shots = screenshotsDir();
  const b = await DashboardBrowser.launch(url, shots.dir);
  const shown = (id: string, pred: (t: string) => boolean, what: string, timeoutMs = 90_000) =>
    waitFor(async () => pred(((await b.byTestId(id).first().textContent()) ?? '').trim()), { timeoutMs, what });
  const broker2 = pids.get('Kafka broker 2')!;
  let frozen = false;
  try {
    await b.open('/');
    for (const id of [1, 2, 3]) await shown(`broker-${id}-state`, (t) => t === 'up', `broker ${id} shown up`);
    await shown('urp-total', (t) => t === '0', 'no under-replicated partitions before');
    process.kill(broker2, 'SIGSTOP');
    frozen = true;
    await shown('broker-2-state', (t) => t === 'down', 'broker 2 shown down');
    await shown('urp-total', (t) => Number(t) > 0, 'under-replicated partitions shown');
    await b.shot('up-broker-down');
    process.kill(broker2, 'SIGCONT');
    frozen = false;
    await shown('broker-2-state', (t) => t === 'up', 'broker 2 shown up again');
    await shown('urp-total', (t) => t === '0', 'partitions in sync again', 120_000);
    await b.shot('up-broker-recovered');
    assert.deepEqual(b.pageErrors, []);
  } finally {
    if (frozen) process.kill(broker2, 'SIGCONT');
    await b.close();
    if (shots.temporary) rmSync(shots.dir, { recursive: true, force: true });
  }
}

test('started again through `npm start` with --restart: edited configs kept, a killed member reported and restarted, SIGTERM to npm stops up and every child', async () => {
  // The project's start script must exec node (sh -c would otherwise keep npm's SIGTERM from up).
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['start']!;
  assert.match(script, /^exec node dist\/src\/cli\/main\.js up$/);
  // Edits a user makes; up must start on them, not rewrite them.
  const zooCfg = join(dataDir, 'zookeeper', 'zk1', 'zoo.cfg');
  const props = join(dataDir, 'kafka', 'kafka2', 'server.properties');
  writeFileSync(zooCfg, `${readFileSync(zooCfg, 'utf8')}# edited by the user\nmaxClientCnxns=61\n`);
  writeFileSync(props, `${readFileSync(props, 'utf8')}# edited by the user\nlog.retention.hours=100\n`);
  const edited = snapshot(dataDir);
  // The same script, pointed at this build's main.js, run by npm from a scratch package.
  const scratch = await mkdtemp(join(tmpdir(), 'cg-up-npm-'));
  try {
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({
        name: 'up-npm-check',
        version: '1.0.0',
        private: true,
        scripts: { start: script.replace('dist/src/cli/main.js', mainJs) },
      }),
    );
    const viaNpm = startUp(flags.slice(0, -2).concat(['--tick-time', '600', '--restart']), ['npm', 'start', '--silent', '--'], scratch);
    const pids = await readyPids(viaNpm);
    try {
      assert.equal(pids.size, 6, viaNpm.out());
      assert.match(viaNpm.out(), /--tick-time not applied to existing/);
      assert.deepEqual(snapshot(dataDir), edited);
      // --restart: a member killed by hand is reported, then started again (a new process).
      const killed = pids.get('ZooKeeper member 3')!;
      process.kill(killed, 'SIGKILL');
      await waitFor(() => /ZooKeeper member 3 restarted \(pid \d+\)/.test(viaNpm.out()), {
        timeoutMs: startDeadlineMs,
        what: () => `member 3 restarted: ${viaNpm.out()}`,
      });
      assert.match(viaNpm.out(), /ZooKeeper member 3 was ended by SIGKILL; the others keep running/);
      const again = Number(/ZooKeeper member 3 restarted \(pid (\d+)\)/.exec(viaNpm.out())![1]);
      assert.notEqual(again, killed);
      assert.ok(pidAlive(again));
      pids.set('ZooKeeper member 3', again);
      await brokerLossSeenOnDashboard(viaNpm, pids);
      viaNpm.child.kill('SIGTERM');
      assert.ok(await waitExit(viaNpm.child, stopDeadlineMs), `npm exits: ${viaNpm.out()}`);
      await waitFor(() => [...pids.values()].every((p) => !pidAlive(p)), {
        timeoutMs: stopDeadlineMs,
        what: () => `every child to stop: ${viaNpm.out()}`,
      });
      assert.match(viaNpm.out(), /SIGTERM received/);
      assert.match(viaNpm.out(), /clustergenie up: stopped/);
    } finally {
      for (const p of pids.values()) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
