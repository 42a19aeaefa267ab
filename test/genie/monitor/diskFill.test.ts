// Issue 16's disk fault, for real: a small tmpfs is the watched data dir of `clustergenie monitor`
// (a process of this build) running against one ZooKeeper member and one broker (processes too).
// Filling the tmpfs past the threshold raises DiskSpaceLow; deleting the fill resolves it; both
// events are read back from `monitoring.alerts` with kafkajs. Mounting needs root (as here and in
// CI): without it the test fails with a message saying so, it never skips.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { ProcessCluster } from '../../../src/cluster/processCluster.js';
import { ServiceProcess } from '../../../src/cluster/serviceProcess.js';
import { type AlertRecord, MONITOR_TOPICS } from '../../../src/genie/monitor/events.js';
import { freePort } from '../../../src/util/net.js';
import { waitFor } from '../../helpers/wait.js';

const { Kafka, logLevel, CompressionCodecs, CompressionTypes } = kafkajs;
// The monitor publishes lz4 batches (src/genie/kafka.ts); kafkajs ships no lz4 codec of its own.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});
const run = promisify(execFile);

const tmpfsBytes = 8 * 1024 * 1024;
/** DiskSpaceLow fires below this much free space (the monitor's --disk-free-bytes-min). */
const freeBytesMin = 4 * 1024 * 1024;
const fillBytes = 6 * 1024 * 1024;
/** The rule's `for` shortened with the monitor's --for-ms (its default for DiskSpaceLow is 60 s). */
const forMs = 1000;

let root: string;
let dataDir: string;
let mounted = false;
let cluster: ProcessCluster | undefined;
let monitor: ServiceProcess | undefined;
let kafka: InstanceType<typeof Kafka>;
let metricsPort: number;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cg-disk-fill-'));
  dataDir = join(root, 'data');
  await mkdir(dataDir);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsBytes}`, 'tmpfs', dataDir], { timeout: 10_000 });
    mounted = true;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `cannot mount a ${tmpfsBytes}-byte tmpfs on ${dataDir} (${(err.stderr || err.message).trim()}): ` +
        'this test needs root (or CAP_SYS_ADMIN) to mount tmpfs; run it as root, as CI does',
    );
  }
  cluster = await ProcessCluster.start({ dir: join(root, 'cluster'), zookeepers: 1, brokers: 1, startTimeoutMs: 60_000 });
  kafka = new Kafka({ clientId: 'disk-fill-test', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  metricsPort = await freePort();
  monitor = new ServiceProcess({
    name: 'monitor',
    args: [
      'monitor',
      '--zookeeper',
      cluster.zkConnect,
      '--bootstrap-server',
      cluster.bootstrap,
      '--id',
      'disk-fill',
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      String(metricsPort),
      '--watch-dir',
      dataDir,
      '--zk-data-dir',
      cluster.zookeepers[0]!.layout.dataDirs[0]!,
      '--interval-ms',
      '250',
      '--for-ms',
      String(forMs),
      '--disk-free-bytes-min',
      String(freeBytesMin),
      '--disk-free-percent-min',
      '0',
      '--log-level',
      'info',
    ],
    logPath: join(root, 'monitor.log'),
    readyLine: /monitor \S+ ready/,
    restartOnCrash: true,
  });
  monitor.start();
  await monitor.waitReady(60_000);
});

after(async () => {
  await monitor?.stop(15_000);
  await cluster?.close(10_000);
  if (mounted) await run('umount', [dataDir], { timeout: 10_000 }).catch(() => run('umount', ['-l', dataDir]));
  if (root) await rm(root, { recursive: true, force: true });
});

/** Reads monitoring.alerts from the start with a fresh group until `done` holds for what was read. */
async function readAlertsUntil(done: (rs: AlertRecord[]) => boolean, timeoutMs: number, what: string): Promise<AlertRecord[]> {
  const records: AlertRecord[] = [];
  const consumer = kafka.consumer({ groupId: `disk-fill-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: MONITOR_TOPICS.alerts, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) records.push(JSON.parse(message.value.toString('utf8')) as AlertRecord);
      },
    });
    await waitFor(() => done(records), {
      timeoutMs,
      intervalMs: 100,
      what: () =>
        `${what}; read: ${records.map((r) => `${r.type}:${r.labels['alertname']}`).join(', ') || 'nothing'}; monitor log:\n${monitor?.logTail()}`,
    });
    return records;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

const diskAlerts = (rs: AlertRecord[], type: AlertRecord['type']): AlertRecord[] =>
  rs.filter((r) => r.type === type && r.labels['alertname'] === 'DiskSpaceLow' && r.labels['path'] === dataDir);

test('filling a tmpfs data dir raises DiskSpaceLow; emptying it resolves the alert', { timeout: 150_000 }, async () => {
  const before = await statfs(dataDir);
  assert.ok(before.bavail * before.bsize >= freeBytesMin, 'the fresh tmpfs starts above the threshold');
  // The monitor publishes only once it created its topics: wait for that before the fault.
  await waitFor(
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        return (await admin.listTopics()).includes(MONITOR_TOPICS.alerts);
      } finally {
        await admin.disconnect();
      }
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `topic ${MONITOR_TOPICS.alerts} created by the monitor` },
  );

  const fill = join(dataDir, 'fill.bin');
  const fh = await open(fill, 'w');
  try {
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    for (let written = 0; written < fillBytes; written += chunk.length) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const filled = await statfs(dataDir);
  const freeFilled = filled.bavail * filled.bsize;
  assert.ok(freeFilled < freeBytesMin, `the fill leaves ${freeFilled} bytes free, below ${freeBytesMin}`);
  const filledAt = Date.now();

  const firingRead = await readAlertsUntil((rs) => diskAlerts(rs, 'alert.firing').length > 0, 60_000, 'DiskSpaceLow firing');
  const firing = diskAlerts(firingRead, 'alert.firing')[0]!;
  assert.equal(firing.status, 'firing');
  assert.equal(firing.labels['severity'], 'critical');
  assert.equal(firing.labels['path'], dataDir);
  assert.ok(firing.value !== null && firing.value < freeBytesMin, `value is the free bytes: ${firing.value}`);
  assert.match(firing.annotations.summary, new RegExp(`below ${freeBytesMin} bytes`));
  // Pending first: not fired before the condition held for the rule's `for`.
  assert.ok(Date.parse(firing.startsAt) >= filledAt + forMs - 300, `fired ${Date.parse(firing.startsAt) - filledAt} ms after the fill`);
  assert.equal(diskAlerts(firingRead, 'alert.resolved').length, 0, 'not resolved while the disk is full');

  await rm(fill);
  const resolvedRead = await readAlertsUntil((rs) => diskAlerts(rs, 'alert.resolved').length > 0, 60_000, 'DiskSpaceLow resolved');
  const resolved = diskAlerts(resolvedRead, 'alert.resolved')[0]!;
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.fingerprint, firing.fingerprint, 'the same alert resolves');
  assert.equal(resolved.startsAt, firing.startsAt);
  assert.ok(Date.parse(resolved.endsAt) >= Date.parse(resolved.startsAt), 'endsAt is set, after startsAt');
  // One alert, one firing: the monitor did not restart and re-raise it meanwhile.
  assert.equal(diskAlerts(resolvedRead, 'alert.firing').length, 1, 'fired once');
});

test("the monitor reads the ZooKeeper member's transaction logs (--zk-data-dir) into /metrics", async () => {
  const zkDir = cluster!.zookeepers[0]!.layout.dataDirs[0]!;
  const series = (text: string, name: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{path="${zkDir}"} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const text = await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      const t = await res.text();
      return series(t, 'clustergenie_zookeeper_txnlog_files') !== undefined ? t : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: `txnlog series for ${zkDir} in the monitor's /metrics` },
  );
  assert.ok(series(text, 'clustergenie_zookeeper_txnlog_files')! >= 1, 'the member wrote a log file');
  assert.ok(series(text, 'clustergenie_zookeeper_txnlog_bytes')! > 0);
  assert.ok(series(text, 'clustergenie_zookeeper_txnlog_oldest_zxid')! > 0);
  assert.doesNotMatch(text, /clustergenie_monitor_collect_errors\{section="zkLogs"\}/);
  assert.doesNotMatch(text, /alertname="ZkTxnLogGrowing"/, 'far below the 1 GiB floor');
});
