// The Prometheus metrics provider: zoo.cfg keys, /metrics served with Apache ZooKeeper 3.8's names
// and types, the fsync timing and slow-fsync warning; and, when the provider's jars are cached
// (scripts/fetch-zk-prometheus.sh), a differential check against Apache's own /metrics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseZooCfg } from '../../src/zookeeper/config.js';
import { startZooKeeperServer } from '../../src/zookeeper/server/server.js';
import { startMetricsProvider, type MetricsProviderHandle } from '../../src/zookeeper/server/metricsServer.js';
import { ZooKeeperTestingCluster } from '../../src/cluster/zkTestingCluster.js';
import { jacksonJson, runAdminCommand } from '../../src/zookeeper/server/admin.js';
import { GAUGE_NAMES } from '../../src/zookeeper/server/metrics.js';
import { COUNTER_NAMES, SUMMARY_LEVELS } from '../../src/zookeeper/server/metricsSink.js';
import type { Logger } from '../../src/util/log.js';
import { freePort } from '../../src/util/net.js';
import { TestClient } from './fourletterHelpers.js';
import { startApacheZooKeeper } from '../helpers/apacheZk.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `# TYPE` lines of Apache ZooKeeper 3.8.0's /metrics (standalone, exportJvmInfo=false), plus the
 * gauges QuorumZooKeeperServer and LeaderZooKeeperServer register (from their registerMetrics).
 */
const APACHE_TYPES: Record<string, string> = {
  ...Object.fromEntries(
    `ack_latency summary|add_dead_watcher_stall_time counter|approximate_data_size gauge|auth_failed_count gauge|avg_latency gauge
bytes_received_count counter|close_session_prep_time summary|cnxn_closed_without_zk_server_running counter
commit_commit_proc_req_queued summary|commit_count counter|commit_process_time summary|commit_propagation_latency summary
concurrent_request_processing_in_commit_processor summary|connection_drop_count counter|connection_drop_probability gauge
connection_rejected counter|connection_request_count counter|connection_revalidate_count counter
connection_token_deficit summary|dbinittime summary|dead_watchers_cleaner_latency summary|dead_watchers_cleared counter
dead_watchers_queued counter|diff_count counter|digest_mismatches_count counter|election_time summary
ensemble_auth_fail counter|ensemble_auth_skip counter|ensemble_auth_success counter|ephemerals_count gauge
follower_sync_time summary|fsynctime summary|global_sessions gauge|inflight_diff_count summary|inflight_snap_count summary
insecure_admin_count counter|jvm_pause_time_ms summary|large_requests_rejected counter|last_client_response_size gauge
leader_unavailable_time summary|learner_commit_received_count counter|learner_handler_qp_size summary
learner_handler_qp_time_ms summary|learner_proposal_received_count counter|learner_request_processor_queue_size summary
local_sessions gauge|local_write_committed_time_ms summary|looking_count counter|max_client_response_size gauge
max_file_descriptor_count gauge|max_latency gauge|min_client_response_size gauge|min_latency gauge
netty_queued_buffer_capacity summary|node_changed_watch_count summary|node_children_watch_count summary
node_created_watch_count summary|node_deleted_watch_count summary|non_mtls_local_conn_count gauge
non_mtls_remote_conn_count gauge|num_alive_connections gauge|observer_sync_time summary|om_commit_process_time_ms summary
om_proposal_process_time_ms summary|open_file_descriptor_count gauge|outstanding_changes_queued counter
outstanding_changes_removed counter|outstanding_requests gauge|outstanding_tls_handshake gauge|packets_received gauge
packets_sent gauge|pending_session_queue_size summary|prep_process_time summary|prep_processor_queue_size summary
prep_processor_queue_time_ms summary|prep_processor_request_queued counter|propagation_latency summary
proposal_ack_creation_latency summary|proposal_count counter|proposal_latency summary|proposal_process_time summary
quit_leading_due_to_disloyal_voter counter|quorum_ack_latency summary|quota_bytes_limit_per_namespace gauge
quota_bytes_usage_per_namespace gauge|quota_count_limit_per_namespace gauge|quota_count_usage_per_namespace gauge
quota_exceeded_error_per_namespace counter|read_commit_proc_issued summary|read_commit_proc_req_queued summary
read_commitproc_time_ms summary|read_final_proc_time_ms summary|read_per_namespace summary|readlatency summary
reads_after_write_in_session_queue summary|reads_issued_from_session_queue summary|request_commit_queued counter
request_throttle_queue_time_ms summary|request_throttle_wait_count counter|requests_in_session_queue summary
requests_not_forwarded_to_commit_processor counter|response_bytes counter|response_packet_cache_hits counter
response_packet_cache_misses counter|response_packet_get_children_cache_hits counter
response_packet_get_children_cache_misses counter|revalidate_count counter|server_write_committed_time_ms summary
session_queues_drained summary|sessionless_connections_expired counter|skip_learner_request_to_next_processor_count counter
snap_count counter|snapshottime summary|socket_closing_time summary|stale_replies counter|stale_requests counter
stale_requests_dropped counter|stale_sessions_expired counter|startup_snap_load_time summary|startup_txns_load_time summary
startup_txns_loaded summary|sync_process_time summary|sync_processor_batch_size summary
sync_processor_queue_and_flush_time_ms summary|sync_processor_queue_flush_time_ms summary|sync_processor_queue_size summary
sync_processor_queue_time_ms summary|sync_processor_request_queued counter|throttled_ops counter|time_waiting_empty_pool_in_commit_processor_read_ms summary
tls_handshake_exceeded counter|unavailable_time summary|unrecoverable_error_count counter|unsuccessful_handshake counter
updatelatency summary|uptime gauge|watch_bytes counter|watch_count gauge|write_batch_time_in_commit_processor summary
write_commit_proc_issued summary|write_commit_proc_req_queued summary|write_commitproc_time_ms summary
write_final_proc_time_ms summary|write_per_namespace summary|znode_count gauge`
      .split(/[|\n]/)
      .map((s) => s.trim().split(' ') as [string, string]),
  ),
  quorum_size: 'gauge',
  learners: 'gauge',
  synced_followers: 'gauge',
  synced_non_voting_followers: 'gauge',
  synced_observers: 'gauge',
  pending_syncs: 'gauge',
  leader_uptime: 'gauge',
  last_proposal_size: 'gauge',
  max_proposal_size: 'gauge',
  min_proposal_size: 'gauge',
};

/** name -> type from `# TYPE` lines. */
function typesOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Sample value of `name{labels}` (labels as printed, without a trailing comma). */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (i < 0) continue;
    const key = line.slice(0, i).replace(/,\}$/, '}');
    if (key === series) return Number(line.slice(i + 1));
  }
  return undefined;
}

async function scrape(port: number): Promise<{ status: number; type: string | null; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

function baseCfg(dataDir: string, extra: string): string {
  return `tickTime=2000\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n${extra}`;
}

function captureLogger(lines: { level: string; obj: unknown; msg: string }[]): Logger {
  const at =
    (level: string) =>
    (obj: unknown, msg?: unknown): void => {
      lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj, msg: String(msg ?? '') });
    };
  const l: Logger = {
    level: 'trace',
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => l,
  };
  return l;
}

test('zoo.cfg metricsProvider.* and fsync.warningthresholdms are parsed, with defaults', () => {
  const { options, warnings } = parseZooCfg(
    baseCfg('/tmp/x', 'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n'),
    '/tmp',
  );
  assert.deepEqual(options.metricsProvider, {
    className: 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    httpHost: '0.0.0.0',
    httpPort: 7000,
    exportJvmInfo: true,
  });
  assert.equal(options.fsyncWarningThresholdMs, undefined);
  assert.ok(!warnings.some((w) => w.includes('metricsProvider')), warnings.join('\n'));

  const p2 = parseZooCfg(
    baseCfg(
      '/tmp/x',
      'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpPort=7001\n' +
        'metricsProvider.httpHost=127.0.0.1\nmetricsProvider.exportJvmInfo=false\nfsync.warningthresholdms=50\n',
    ),
    '/tmp',
  );
  assert.deepEqual(p2.options.metricsProvider, {
    className: 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    httpHost: '127.0.0.1',
    httpPort: 7001,
    exportJvmInfo: false,
  });
  assert.equal(p2.options.fsyncWarningThresholdMs, 50);
  // The system property spelling works too.
  assert.equal(
    parseZooCfg(baseCfg('/tmp/x', ''), '/tmp', { 'zookeeper.fsync.warningthresholdms': '7' }).options.fsyncWarningThresholdMs,
    7,
  );
  // A provider class we do not have: a warning, no provider (Apache would stop on ClassNotFoundException).
  const p3 = parseZooCfg(baseCfg('/tmp/x', 'metricsProvider.className=com.example.Nope\n'), '/tmp');
  assert.equal(p3.options.metricsProvider, undefined);
  assert.match(
    p3.warnings.join('\n'),
    /metricsProvider\.className names an unknown metrics provider "com\.example\.Nope" and is ignored \(line 6\)/,
  );
  // No metricsProvider keys: no provider.
  assert.equal(parseZooCfg(baseCfg('/tmp/x', ''), '/tmp').options.metricsProvider, undefined);
});

test('bad metricsProvider values fail fast naming the key and the line', () => {
  const bad: [string, RegExp][] = [
    ['metricsProvider.httpPort=abc', /metricsProvider\.httpPort must be an integer, got "abc" \(line 6\)/],
    ['metricsProvider.httpPort=70000', /metricsProvider\.httpPort=70000 is out of range \[0, 65535\] \(line 6\)/],
    ['metricsProvider.exportJvmInfo=maybe', /metricsProvider\.exportJvmInfo.*line 6/],
    ['metricsProvider.httpHost=', /metricsProvider\.httpHost must not be empty \(line 6\)/],
    ['fsync.warningthresholdms=-5', /fsync\.warningthresholdms=-5 is out of range.*line 6/],
    ['fsync.warningthresholdms=1s', /fsync\.warningthresholdms must be an integer.*line 6/],
  ];
  for (const [line, re] of bad) {
    assert.throws(
      () => parseZooCfg(baseCfg('/tmp/x', `${line}\n`), '/tmp'),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      line,
    );
  }
});

test('standalone /metrics: Apache names and types, values that follow the server', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zk-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logs: { level: string; obj: unknown; msg: string }[] = [];
  const { options } = parseZooCfg(
    baseCfg(
      dir,
      'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpPort=0\n' +
        'metricsProvider.httpHost=127.0.0.1\nfsync.warningthresholdms=0\n',
    ),
    dir,
  );
  const shell = await startZooKeeperServer(options, { logger: captureLogger(logs) });
  t.after(() => shell.stop());
  const provider = (await startMetricsProvider(shell))!;
  assert.ok(provider, 'the Prometheus provider starts');
  t.after(() => provider.close());

  const before = sample((await scrape(provider.port)).text, 'znode_count')!;
  assert.equal(before, shell.core.tree.nodeCount);
  const client = await TestClient.connect(`127.0.0.1:${shell.port}`);
  t.after(() => client.close());
  await client.create('/m1', Buffer.from('abc'));
  await client.create('/m2', Buffer.from('de'));
  await client.getData('/m1');
  await client.exists('/m2');

  const r = await scrape(provider.port);
  assert.equal(r.status, 200);
  assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
  const types = typesOf(r.text);
  // Every name we export is Apache's, with Apache's type; process_*/nodejs_* stand in for jvm_*.
  for (const [name, type] of types) {
    if (name.startsWith('process_') || name.startsWith('nodejs_')) continue;
    assert.equal(APACHE_TYPES[name], type, `${name} (${type}) is not an Apache ZooKeeper metric of that type`);
  }
  for (const name of ['znode_count', 'watch_count', 'ephemerals_count', 'approximate_data_size', 'outstanding_requests']) {
    assert.equal(types.get(name), 'gauge', name);
  }
  for (const name of ['num_alive_connections', 'packets_received', 'packets_sent', 'uptime', 'global_sessions']) {
    assert.equal(types.get(name), 'gauge', name);
  }
  for (const name of ['readlatency', 'updatelatency', 'fsynctime']) assert.equal(types.get(name), 'summary', name);
  assert.ok(types.has('process_cpu_user_seconds_total'), 'exportJvmInfo (default true) exports the process metrics');
  // Standalone: no quorum gauges, no election or Zab metrics (nothing measures them).
  for (const name of ['quorum_size', 'learners', 'election_time', 'looking_count', 'proposal_count']) assert.ok(!types.has(name), name);

  assert.equal(sample(r.text, 'znode_count'), before + 2, 'the two nodes created');
  assert.equal(sample(r.text, 'approximate_data_size'), shell.core.tree.approximateDataSize);
  assert.equal(sample(r.text, 'num_alive_connections'), 1);
  assert.equal(sample(r.text, 'global_sessions'), 1);
  // Two creates and the session's creation are updates; getData and exists are reads.
  assert.equal(sample(r.text, 'updatelatency_count'), 3);
  assert.ok(sample(r.text, 'readlatency_count')! >= 2);
  assert.ok(!Number.isNaN(sample(r.text, 'readlatency{quantile="0.99"}')));
  // Each write was fsynced (forceSync defaults to yes).
  assert.ok(sample(r.text, 'fsynctime_count')! >= 3, `fsynctime_count ${sample(r.text, 'fsynctime_count')}`);
  // fsync.warningthresholdms=0: every fsync is "slow" and logged in Apache's words.
  const warned = logs.filter((l) => l.level === 'warn' && l.msg.startsWith('fsync-ing the write ahead log took'));
  assert.ok(warned.length >= 3, `slow fsync warnings: ${warned.length}`);
  assert.equal(shell.storage!.fsyncThresholdExceedCount, warned.length);
  // ServerStats' count of them, in the admin server_stats reply.
  const stats = adminJson(shell, 'server_stats')['server_stats'] as Record<string, unknown>;
  assert.equal(stats['fsync_threshold_exceed_count'], shell.storage!.fsyncThresholdExceedCount);

  const nf = await fetch(`http://127.0.0.1:${provider.port}/other`);
  assert.equal(nf.status, 404);
  await nf.text();
});

test('exportJvmInfo=false leaves out the process metrics; no provider without the Prometheus class name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zk-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { options } = parseZooCfg(
    baseCfg(
      '',
      'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpPort=0\n' +
        'metricsProvider.httpHost=127.0.0.1\nmetricsProvider.exportJvmInfo=false\n',
    ).replace('dataDir=\n', `dataDir=${dir}\n`),
    dir,
  );
  const shell = await startZooKeeperServer(options);
  t.after(() => shell.stop());
  const provider = (await startMetricsProvider(shell))!;
  t.after(() => provider.close());
  const r = await scrape(provider.port);
  assert.ok(![...typesOf(r.text).keys()].some((n) => n.startsWith('process_') || n.startsWith('nodejs_')), 'no process metrics');
  // An empty summary has NaN quantiles, as Apache's simpleclient prints them.
  assert.ok(Number.isNaN(sample(r.text, 'updatelatency{quantile="0.5"}')));
  assert.equal(sample(r.text, 'updatelatency_count'), 0);

  const plain = parseZooCfg(baseCfg(dir, ''), dir).options;
  const shell2 = await startZooKeeperServer({ ...plain, dataDir: '' });
  t.after(() => shell2.stop());
  assert.equal(await startMetricsProvider(shell2), undefined);
});

test('a busy metrics port fails the provider start with a clear error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zk-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { options } = parseZooCfg(
    baseCfg(
      dir,
      'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpPort=0\n',
    ),
    dir,
  );
  const shell = await startZooKeeperServer(options);
  t.after(() => shell.stop());
  const first = (await startMetricsProvider(shell, { httpHost: '127.0.0.1' }))!;
  t.after(() => first.close());
  await assert.rejects(
    startMetricsProvider(shell, { httpHost: '127.0.0.1', httpPort: first.port }),
    /metrics provider cannot listen on 127\.0\.0\.1:\d+/,
  );
});

test('our declared metric names are all Apache names of the same type', () => {
  for (const [name, level] of Object.entries(SUMMARY_LEVELS)) assert.equal(APACHE_TYPES[name], 'summary', `${name} (${level})`);
  for (const name of COUNTER_NAMES) assert.equal(APACHE_TYPES[name], 'counter', name);
  for (const name of GAUGE_NAMES) assert.equal(APACHE_TYPES[name], 'gauge', name);
});

const PROM_HOME = process.env['ZK_PROMETHEUS_HOME'] ?? join(homedir(), '.cache', 'clustergenie', 'zk-prometheus');
const promJars = existsSync(PROM_HOME) ? readdirSync(PROM_HOME).filter((f) => f.endsWith('.jar')) : [];
const canDiff = promJars.length > 0 && existsSync('/usr/share/java/zookeeper.jar');

// A missing oracle fails the test (it is part of the claim), never skips it.
test('differential: our /metrics names and types are a subset of Apache 3.8 with the Prometheus provider', async (t) => {
  assert.ok(
    canDiff,
    `Apache's Prometheus provider jars are not in ${PROM_HOME}: run scripts/fetch-zk-prometheus.sh (and install Debian zookeeper)`,
  );
  const saved = process.env['APACHE_ZK_CLASSPATH'];
  process.env['APACHE_ZK_CLASSPATH'] = [
    '/usr/share/java/zookeeper.jar',
    '/usr/share/java/slf4j-simple.jar',
    '/usr/share/java/servlet-api.jar',
    ...promJars.map((j) => join(PROM_HOME, j)),
  ]
    .filter((p) => existsSync(p))
    .join(':');
  t.after(() => {
    if (saved === undefined) delete process.env['APACHE_ZK_CLASSPATH'];
    else process.env['APACHE_ZK_CLASSPATH'] = saved;
  });
  const apachePort = await freePort();
  const providerCfg = {
    'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    'metricsProvider.httpHost': '127.0.0.1',
    'metricsProvider.exportJvmInfo': 'false',
  };
  const apache = await startApacheZooKeeper({ extraConfig: { ...providerCfg, 'metricsProvider.httpPort': String(apachePort) } });
  t.after(() => apache.stop());
  const theirs = typesOf((await waitFor(() => scrape(apachePort).catch(() => undefined), { what: 'Apache /metrics' })).text);
  assert.ok(theirs.size > 100, `Apache exports ${theirs.size} metrics`);

  const dir = await mkdtemp(join(tmpdir(), 'zk-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = Object.entries({ ...providerCfg, 'metricsProvider.httpPort': '0' })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const shell = await startZooKeeperServer(parseZooCfg(baseCfg(dir, `${cfg}\n`), dir).options);
  t.after(() => shell.stop());
  const provider = (await startMetricsProvider(shell))!;
  t.after(() => provider.close());
  const ours = typesOf((await scrape(provider.port)).text);
  for (const [name, type] of ours) assert.equal(theirs.get(name), type, `ours: ${name} ${type}; Apache: ${theirs.get(name) ?? 'absent'}`);
  // What Apache exports and we leave out is what we do not measure; the core set is there.
  for (const name of ['znode_count', 'watch_count', 'ephemerals_count', 'approximate_data_size', 'outstanding_requests', 'uptime']) {
    assert.ok(ours.has(name) && theirs.has(name), name);
  }
  for (const name of ['readlatency', 'updatelatency', 'fsynctime']) assert.equal(ours.get(name), 'summary', name);
  // The same quantile labels per summary.
  const ourText = (await scrape(provider.port)).text;
  const theirText = (await scrape(apachePort)).text;
  for (const name of ['readlatency', 'fsynctime']) {
    const q = (text: string) => [...text.matchAll(new RegExp(`^${name}\\{quantile="([0-9.]+)",?\\}`, 'gm'))].map((m) => m[1]);
    assert.deepEqual(q(ourText), q(theirText), name);
  }
});

test('ensemble: quorum gauges on every member, Zab metrics, election and quorum-loss log lines', async () => {
  const logs: { level: string; obj: unknown; msg: string }[] = [];
  const cluster = await ZooKeeperTestingCluster.start({
    size: 3,
    extraConfig: {
      'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
      'metricsProvider.httpPort': '0',
      'metricsProvider.httpHost': '127.0.0.1',
      'metricsProvider.exportJvmInfo': 'false',
    },
    logger: captureLogger(logs),
  });
  const providers = new Map<number, MetricsProviderHandle>();
  let client: TestClient | undefined;
  try {
    for (const m of cluster.members) providers.set(m.id, (await startMetricsProvider(m.member!.shell))!);
    const leader = await waitFor(() => cluster.leader(), { what: 'a leader', timeoutMs: 30_000 });
    await waitFor(() => cluster.serving().length === 3, { what: 'all members serving', timeoutMs: 30_000 });
    client = await TestClient.connect(cluster.connectString);
    for (let i = 0; i < 3; i++) await client.create(`/e${i}`, Buffer.from('v'));

    const lt = (await scrape(providers.get(leader)!.port)).text;
    for (const [name, type] of typesOf(lt)) assert.equal(APACHE_TYPES[name], type, `${name} ${type}`);
    assert.equal(sample(lt, 'quorum_size'), 3);
    assert.equal(sample(lt, 'learners'), 2);
    assert.equal(sample(lt, 'synced_followers'), 2);
    assert.ok(sample(lt, 'leader_uptime')! >= 0);
    // Three creates and at least one session are proposals, each committed once acked by a quorum.
    assert.ok(sample(lt, 'proposal_count')! >= 4, `proposal_count ${sample(lt, 'proposal_count')}`);
    assert.ok(sample(lt, 'commit_count')! >= sample(lt, 'proposal_count')!, 'every proposal was committed');
    assert.ok(sample(lt, 'quorum_ack_latency_count')! >= 4);
    // Group commit folds writes into one fsync, and two followers' acks can commit a write before
    // the leader's own fsync ends: so the count of fsyncs is at least one, not one per write.
    await waitFor(
      async () => ((sample((await scrape(providers.get(leader)!.port)).text, 'fsynctime_count') ?? 0) >= 1 ? true : undefined),
      {
        what: 'the leader counts its transaction-log fsyncs',
      },
    );
    const follower = cluster.members.find((m) => m.id !== leader)!.id;
    checkQuorumAdminCommands(cluster, leader, follower);
    const ft = (await scrape(providers.get(follower)!.port)).text;
    assert.equal(sample(ft, 'quorum_size'), 3);
    assert.equal(sample(ft, 'learners'), undefined, 'leader-only gauges are absent on a follower');
    assert.equal(sample(ft, 'proposal_count'), 0);

    // The leader goes away: the others log the quorum loss, elect, and count it.
    await providers.get(leader)!.close();
    providers.delete(leader);
    await cluster.stopMember(leader);
    const next = await waitFor(
      () => {
        const l = cluster.leader();
        return l !== undefined && l !== leader && cluster.serving().length === 2 ? l : undefined;
      },
      { what: 'a new leader', timeoutMs: 30_000 },
    );
    const lost = logs.filter((l) => l.level === 'warn' && l.msg.startsWith('quorum lost:'));
    assert.ok(lost.length >= 2, `quorum-loss warnings: ${lost.map((l) => l.msg).join(' | ')}`);
    assert.ok(
      lost.some((l) => l.msg.includes(`leader server.${leader}`)),
      lost.map((l) => l.msg).join(' | '),
    );
    const elected = logs.filter((l) => l.level === 'info' && / - LEADER ELECTION TOOK - \d+ MS/.test(l.msg));
    assert.ok(elected.some((l) => l.msg.startsWith('LEADING') && l.msg.includes(`leader ${next}`) && /last zxid 0x[0-9a-f]+/.test(l.msg)));
    const nt = (await scrape(providers.get(next)!.port)).text;
    assert.ok(sample(nt, 'looking_count')! >= 1);
    assert.ok(sample(nt, 'election_time_count')! >= 1);
    assert.ok(!Number.isNaN(sample(nt, 'election_time{quantile="0.5"}')));
    const other = cluster.members.find((m) => m.id !== leader && m.id !== next)!.id;
    const ot = (await scrape(providers.get(other)!.port)).text;
    assert.ok(sample(ot, 'follower_sync_time_count')! >= 1);
    assert.ok(sample(nt, 'diff_count')! + sample(nt, 'snap_count')! >= 1, 'the new leader synced its follower');
  } finally {
    client?.close();
    for (const p of providers.values()) await p.close();
    await cluster.close();
  }
});

/** Key order of each admin reply, as a 3-node Apache ZooKeeper 3.8.0 ensemble writes it. */
const APACHE_ADMIN_KEYS = {
  leader: ['is_leader', 'leader_id', 'leader_ip', 'command', 'error'],
  voting_view: ['current_config', 'command', 'error'],
  votingMember: ['server_addresses', 'election_addresses', 'client_address', 'learner_type'],
  zabstate: [
    'myid',
    'is_leader',
    'quorum_address',
    'election_address',
    'client_address',
    'voting',
    'last_zxid',
    'zab_epoch',
    'zab_counter',
    'zabstate',
    'command',
    'error',
  ],
  multipleAddresses: [
    'empty',
    'all_addresses',
    'all_reachable_addresses',
    'one',
    'reachable_address',
    'wildcard_addresses',
    'all_ports',
    'all_host_strings',
    'all_reachable_addresses_or_all',
    'reachable_or_one',
  ],
};

function adminJson(shell: Parameters<typeof runAdminCommand>[0], name: string): Record<string, unknown> {
  return JSON.parse(jacksonJson(runAdminCommand(shell, name))) as Record<string, unknown>;
}

function checkQuorumAdminCommands(cluster: ZooKeeperTestingCluster, leader: number, follower: number): void {
  const lm = cluster.get(leader);
  const fshell = cluster.get(follower).member!.shell;
  const lshell = lm.member!.shell;
  for (const [shell, isLeader] of [
    [lshell, true],
    [fshell, false],
  ] as const) {
    const l = adminJson(shell, 'lead');
    assert.deepEqual(Object.keys(l), APACHE_ADMIN_KEYS.leader);
    assert.deepEqual(l, { is_leader: isLeader, leader_id: leader, leader_ip: '127.0.0.1', command: 'leader', error: null });

    const v = adminJson(shell, 'voting_view');
    assert.deepEqual(Object.keys(v), APACHE_ADMIN_KEYS.voting_view);
    const cfg = v['current_config'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(cfg), ['1', '2', '3']);
    const me = cfg[String(leader)]!;
    assert.deepEqual(Object.keys(me), APACHE_ADMIN_KEYS.votingMember);
    assert.deepEqual(me['server_addresses'], [`127.0.0.1:${lm.quorumPort}`]);
    assert.deepEqual(me['election_addresses'], [`127.0.0.1:${lm.electionPort}`]);
    assert.equal(me['learner_type'], 'participant');

    const z = adminJson(shell, 'zabstate');
    assert.deepEqual(Object.keys(z), APACHE_ADMIN_KEYS.zabstate);
    assert.deepEqual(Object.keys(z['quorum_address'] as object), APACHE_ADMIN_KEYS.multipleAddresses);
    assert.deepEqual(Object.keys(z['election_address'] as object), APACHE_ADMIN_KEYS.multipleAddresses);
    assert.equal(z['is_leader'], isLeader);
    assert.equal(z['voting'], true);
    assert.equal(z['zabstate'], 'broadcast');
    const zxid = shell.core.tree.lastProcessedZxid;
    assert.equal(z['last_zxid'], `0x${zxid.toString(16)}`);
    assert.equal(z['zab_epoch'], Math.floor(zxid / 2 ** 32));
  }
}

test('standalone leader, voting_view and zabstate answer as Apache 3.8 standalone does', async (t) => {
  const { options } = parseZooCfg(baseCfg('', ''), '/tmp');
  const shell = await startZooKeeperServer({ ...options, dataDir: '', dataLogDir: '' });
  t.after(() => shell.stop());
  // Apache 3.8.0 standalone, captured byte for byte.
  assert.equal(jacksonJson(runAdminCommand(shell, 'lead')), '{\n  "error" : "server is not initialized",\n  "command" : "leader"\n}');
  assert.equal(
    jacksonJson(runAdminCommand(shell, 'voting_view')),
    '{\n  "current_config" : { },\n  "command" : "voting_view",\n  "error" : null\n}',
  );
  assert.equal(
    jacksonJson(runAdminCommand(shell, 'zabstate')),
    '{\n  "voting" : false,\n  "zabstate" : "",\n  "command" : "zabstate",\n  "error" : null\n}',
  );
});
