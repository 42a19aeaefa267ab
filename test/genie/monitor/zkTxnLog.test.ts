// ZkTxnLogGrowing, "the transaction log growing without purge": the rule over snapshots (pure),
// the collector over a real ZooKeeper data dir of ours (and a hand-made one for a purge), and the
// /metrics series the Prometheus rule reads.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { collectZkTxnLog, collectZkTxnLogs } from '../../../src/genie/monitor/collect.js';
import { MonitorMetrics } from '../../../src/genie/monitor/metrics.js';
import { type AlertEvent, emptyState, evaluate, type MonitorState, ruleConfigDefaults } from '../../../src/genie/monitor/rules.js';
import type { ZkTxnLogSnapshot } from '../../../src/genie/monitor/snapshot.js';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { startOurZooKeeper } from '../../helpers/ourZk.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const path = '/var/lib/zookeeper';
const logs = (bytes: number, oldestZxid: number, files = Math.ceil(bytes / (64 * MiB))): ZkTxnLogSnapshot[] => [
  { path, bytes, files, oldestZxid },
];

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function rounds(steps: { atS: number; zkLogs: ZkTxnLogSnapshot[] | undefined }[], start: MonitorState = emptyState) {
  let state = start;
  const events: { atS: number; e: AlertEvent }[] = [];
  for (const s of steps) {
    const atMs = s.atS * 1000;
    const out = evaluate({ atMs, ...(s.zkLogs ? { zkLogs: s.zkLogs } : {}) }, state, atMs);
    state = out.state;
    for (const e of out.events) events.push({ atS: s.atS, e });
  }
  return { state, events };
}

test('logs above the size floor that grow with the oldest file kept: pending, then firing after `for`', () => {
  const oldest = 0x1_0000_0001;
  const { state, events } = rounds([
    { atS: 0, zkLogs: logs(2 * GiB, oldest) },
    { atS: 60, zkLogs: logs(2 * GiB + 64 * MiB, oldest) },
    { atS: 120, zkLogs: logs(2 * GiB + 64 * MiB, oldest) },
    { atS: 359, zkLogs: logs(2 * GiB + 64 * MiB, oldest) },
  ]);
  assert.deepEqual(events, [], 'grew at 60 s; the default `for` of 5 min has not passed at 359 s');
  const pending = [...state.alerts.values()];
  assert.equal(pending.length, 1);
  assert.equal(pending[0]!.state, 'pending');
  assert.equal(ruleConfigDefaults.zkTxnLogBytesMin, GiB);

  const next = rounds([{ atS: 361, zkLogs: logs(2 * GiB + 64 * MiB, oldest) }], state);
  assert.equal(next.events.length, 1);
  const fired = next.events[0]!.e;
  assert.equal(fired.type, 'alert.firing');
  assert.equal(fired.alert.name, 'ZkTxnLogGrowing');
  assert.deepEqual(fired.alert.labels, { alertname: 'ZkTxnLogGrowing', severity: 'warning', path });
  assert.equal(fired.alert.value, 2 * GiB + 64 * MiB);
  assert.match(fired.alert.summary, /no old log was purged/);
  assert.match(fired.alert.summary, new RegExp(`up ${64 * MiB} within 3600 s`));

  // A purge deletes the oldest logs: resolved at once, though the total is still above the floor.
  const purged = rounds([{ atS: 400, zkLogs: logs(1.5 * GiB, 0x1_0000_9000) }], next.state);
  assert.deepEqual(
    purged.events.map((x) => [x.e.type, x.e.alert.name]),
    [['alert.resolved', 'ZkTxnLogGrowing']],
  );
});

test('no alert: small logs, logs that do not grow, or logs that are purged while they grow', () => {
  const small = rounds([
    { atS: 0, zkLogs: logs(100 * MiB, 1) },
    { atS: 600, zkLogs: logs(900 * MiB, 1) },
    { atS: 1200, zkLogs: logs(1000 * MiB, 1) },
  ]);
  assert.equal(small.state.alerts.size, 0, 'below 1 GiB');

  const flat = rounds([
    { atS: 0, zkLogs: logs(5 * GiB, 1) },
    { atS: 600, zkLogs: logs(5 * GiB, 1) },
    { atS: 1200, zkLogs: logs(5 * GiB, 1) },
  ]);
  assert.equal(flat.state.alerts.size, 0, 'big but not growing');

  // Autopurge running: the total grows between purges, but the oldest file moves up within the window.
  const purging = rounds([
    { atS: 0, zkLogs: logs(2 * GiB, 0x100) },
    { atS: 600, zkLogs: logs(2.2 * GiB, 0x100) },
    { atS: 1200, zkLogs: logs(1.2 * GiB, 0x900) },
    { atS: 1800, zkLogs: logs(1.4 * GiB, 0x900) },
    { atS: 2400, zkLogs: logs(1.6 * GiB, 0x900) },
  ]);
  assert.equal(purging.events.length, 0, 'a purge within the hour keeps it quiet');
  assert.equal(purging.state.alerts.size, 0);
});

test('the growth must be within the window; an unread round keeps the alert as it was', () => {
  const cfg = { zkTxnLogWindowMs: 600_000, forMs: { ZkTxnLogGrowing: 0 } };
  let state = emptyState;
  const step = (atS: number, zkLogs: ZkTxnLogSnapshot[] | undefined): AlertEvent[] => {
    const out = evaluate({ atMs: atS * 1000, ...(zkLogs ? { zkLogs } : {}) }, state, atS * 1000, cfg);
    state = out.state;
    return out.events;
  };
  assert.deepEqual(step(0, logs(3 * GiB, 7)), []);
  assert.deepEqual(
    step(60, logs(3 * GiB + MiB, 7)).map((e) => e.type),
    ['alert.firing'],
  );
  assert.deepEqual(step(120, undefined), [], 'the directory could not be read: neither raised nor resolved');
  assert.equal([...state.alerts.values()][0]!.state, 'firing');
  assert.deepEqual(step(300, logs(3 * GiB + MiB, 7)), [], 'the step at 60 s is still within 10 min');
  // At 700 s the window (100 s..700 s) holds no growth: resolved.
  assert.deepEqual(
    step(700, logs(3 * GiB + MiB, 7)).map((e) => e.type),
    ['alert.resolved'],
  );
});

test('collector: the log files of a running ZooKeeper of ours; a purge moves the oldest zxid up', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cg-txnlog-zk-'));
  dirs.push(dataDir);
  // dataDir given: kept after stop for the collector to read.
  const zk = await startOurZooKeeper({ dataDir, extraConfig: { snapCount: '20' } });
  const client = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000 });
  try {
    await client.connect();
    for (let i = 0; i < 60; i++) await client.create(`/txnlog-${i}`, Buffer.from('x'.repeat(100)));
  } finally {
    await client.close();
    await zk.stop();
  }
  const before = await collectZkTxnLog(zk.dataDir);
  assert.equal(before.path, zk.dataDir);
  assert.ok(before.files >= 2, `snapCount 20 rolled the log at least once: ${before.files} file(s)`);
  assert.ok(before.bytes > 60 * 100, `${before.bytes} bytes hold the 60 creates`);
  assert.ok(before.oldestZxid !== undefined && before.oldestZxid > 0);
  const same = await collectZkTxnLog(join(zk.dataDir, 'version-2'));
  assert.deepEqual({ ...same, path: zk.dataDir }, before, 'the version-2 dir itself may be given');

  // Delete the oldest log as a purge does.
  const name = `log.${before.oldestZxid!.toString(16)}`;
  await unlink(join(zk.dataDir, 'version-2', name));
  const after = await collectZkTxnLog(zk.dataDir);
  assert.equal(after.files, before.files - 1);
  assert.ok(after.oldestZxid! > before.oldestZxid!, 'the oldest log moved up');
  assert.ok(after.bytes < before.bytes);
});

test('collector: only log.<hex> files count; a dir without version-2 is a clear error; others still read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-txnlog-'));
  dirs.push(dir);
  await mkdir(join(dir, 'version-2'));
  await writeFile(join(dir, 'version-2', 'log.200000001'), Buffer.alloc(4096));
  await writeFile(join(dir, 'version-2', 'log.1a'), Buffer.alloc(1000));
  await writeFile(join(dir, 'version-2', 'snapshot.1a'), Buffer.alloc(5000));
  await writeFile(join(dir, 'version-2', 'acceptedEpoch'), '2');
  await writeFile(join(dir, 'version-2', 'log.zz'), 'not a log');
  const missing = join(dir, 'nope');
  const r = await collectZkTxnLogs([dir, missing]);
  assert.deepEqual(r.logs, [{ path: dir, bytes: 5096, files: 2, oldestZxid: 0x1a }]);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!, /nope: no version-2 directory; give ZooKeeper's dataLogDir/);

  const m = new MonitorMetrics();
  m.update({ atMs: 1000, zkLogs: r.logs }, [], new Map());
  const text = await m.metrics();
  assert.match(text, new RegExp(`^clustergenie_zookeeper_txnlog_bytes\\{path="${dir}"\\} 5096$`, 'm'));
  assert.match(text, new RegExp(`^clustergenie_zookeeper_txnlog_files\\{path="${dir}"\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^clustergenie_zookeeper_txnlog_oldest_zxid\\{path="${dir}"\\} 26$`, 'm'));
});
