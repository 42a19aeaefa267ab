// Four-letter words (text on the client port) and the data behind them, which the AdminServer
// (admin.ts) serves as JSON. Formats follow ZooKeeper 3.8 (command/*.java, ServerStats.toString,
// ServerCnxn.dumpConnectionInfo, WatchManager, ExpiryQueue.dump) and were checked against the
// output of a real 3.8 server.

import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { arch, homedir, hostname, platform, release, userInfo } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { ServerConnection } from './connection.js';
import type { ZooKeeperServerShell } from './server.js';
import { ZK_FULL_VERSION } from './server.js';
import type { WatchTable } from './watches.js';

import { renderQuorumConf } from '../quorum/config.js';

export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** A value Java prints as a double (`0.0`, `6.5`, `1.0E-4`), in mntr text and in admin JSON. */
export class JDouble {
  constructor(readonly value: number) {}
  toString(): string {
    return javaDoubleString(this.value);
  }
}

/** What admin JSON is built from. Plain numbers are Java ints/longs; bigints are longs. */
export type JValue = null | boolean | number | bigint | string | JDouble | JValue[] | JMap;
export type JMap = Map<string, JValue>;

// ------------------------------------------------------------------ Java number formatting

/** Java's Double.toString for finite values: `0.0`, `6.5`, `3.1667`, `1.0E7`, `1.0E-4`. */
export function javaDoubleString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = x.toExponential().split('e') as [string, string];
  return `${mant.includes('.') ? mant : `${mant}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** Long.toHexString: two's complement for negatives. */
export function javaHex(v: number | bigint): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16);
}

/**
 * AvgMinMaxCounter.getAvg: total/count as a double, then BigDecimal.setScale(4, HALF_UP).
 * toFixed rounds the exact binary value half-up, as BigDecimal(double) does.
 */
export function latencyAvg(total: number, count: number): number {
  if (count <= 0) return 0;
  return Number((total / count).toFixed(4));
}

// ------------------------------------------------------------------ small helpers

/** ZooTrace's text trace mask is process-global in Java; here it is per server. */
const traceMasks = new WeakMap<ZooKeeperServerShell, bigint>();
/** ZooTrace default: CLIENT_REQUEST_TRACE_MASK | SESSION_TRACE_MASK | ... = 306. */
const DEFAULT_TRACE_MASK = 306n;

export function getTraceMask(shell: ZooKeeperServerShell): bigint {
  return traceMasks.get(shell) ?? DEFAULT_TRACE_MASK;
}

export function setTraceMask(shell: ZooKeeperServerShell, mask: bigint): void {
  traceMasks.set(shell, BigInt.asIntN(64, mask));
}

/** FourLetterCommands.isEnabled: the whitelist, plus `srvr`, which is always allowed. */
export function isFourLetterWordEnabled(shell: ZooKeeperServerShell, cmd: string): boolean {
  const allowed = shell.opts.fourLetterWords;
  return cmd === 'srvr' || allowed.has('*') || allowed.has(cmd);
}

function serving(shell: ZooKeeperServerShell): boolean {
  return shell.core.serving;
}

/** The snapshot directory ZooKeeper reports as dataDir (FileTxnSnapLog: <dataDir>/version-2). */
export function snapDir(shell: ZooKeeperServerShell): string {
  return shell.opts.dataDir ? join(shell.opts.dataDir, 'version-2') : '';
}

export function logDir(shell: ZooKeeperServerShell): string {
  const d = shell.opts.dataLogDir || shell.opts.dataDir;
  return d ? join(d, 'version-2') : '';
}

/** ZooKeeperServer.getDirSize: file lengths summed recursively; 0 if missing. */
export function dirSize(path: string): number {
  if (!path) return 0;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const n of names) total += dirSize(join(path, n));
  return total;
}

/** OSMXBean.getOpenFileDescriptorCount (Linux: /proc/self/fd minus the one used to list it). */
export function openFileDescriptorCount(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1;
  }
}

/** OSMXBean.getMaxFileDescriptorCount: the soft RLIMIT_NOFILE. */
export function maxFileDescriptorCount(): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return -1;
    return m[1] === 'unlimited' ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** java.util.Date.toString: `Sat Nov 21 12:25:43 UTC 2026`, in the local time zone. */
export function javaDateString(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  let zone = 'UTC';
  try {
    zone =
      new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? 'UTC';
  } catch {
    // keep UTC
  }
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone} ${d.getFullYear()}`;
}

// ------------------------------------------------------------------ connections

/** NIOServerCnxn.getInterestOps: 0 while not selectable, else OP_READ(1) | OP_WRITE(4). */
export function interestOps(c: ServerConnection, self?: ServerConnection): number {
  if (c === self || c.closed || c.socket.destroyed) return 0;
  let ops = c.socket.isPaused() ? 0 : 1;
  if (c.socket.writableLength > 0) ops |= 4;
  return ops;
}

/** ServerCnxn.getMinLatency/getAvgLatency (integer division)/getMaxLatency. */
function connLatency(c: ServerConnection): { min: number; avg: number; max: number } {
  const l = c.stats.latency;
  return { min: l.minOrZero, avg: l.count === 0 ? 0 : Math.floor(l.total / l.count), max: l.max };
}

/** ServerCnxn.dumpConnectionInfo. */
export function connectionLine(c: ServerConnection, brief: boolean, self?: ServerConnection): string {
  const ops = interestOps(c, self);
  let s = ` /${c.remoteAddress}:${c.remotePort}[${ops === 0 ? '0' : ops.toString(16)}](queued=${c.queue.length},recved=${c.stats.packetsReceived},sent=${c.stats.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    const st = c.stats;
    const lat = connLatency(c);
    s += `,sid=0x${javaHex(c.sessionId)},lop=${st.lastOp},est=${st.createdMs},to=${c.timeoutMs}`;
    if (st.lastCxid >= 0) s += `,lcxid=0x${javaHex(st.lastCxid)}`;
    s += `,lzxid=0x${javaHex(st.lastZxid)},lresp=${st.lastResponseMs},llat=${st.lastLatencyMs}`;
    s += `,minlat=${lat.min},avglat=${lat.avg},maxlat=${lat.max}`;
  }
  return `${s})`;
}

/** ServerCnxn.getConnectionInfo, for the admin `connections`/`stats` commands. */
export function connectionInfo(c: ServerConnection, brief: boolean, self?: ServerConnection): JMap {
  const m: JMap = new Map<string, JValue>([
    ['remote_socket_address', `${c.remoteAddress}:${c.remotePort}`],
    ['interest_ops', interestOps(c, self)],
    ['outstanding_requests', c.queue.length],
    ['packets_received', c.stats.packetsReceived],
    ['packets_sent', c.stats.packetsSent],
  ]);
  if (!brief) {
    const st = c.stats;
    const lat = connLatency(c);
    m.set('session_id', c.sessionId);
    m.set('last_operation', st.lastOp);
    m.set('established', st.createdMs);
    m.set('session_timeout', c.timeoutMs);
    m.set('last_cxid', st.lastCxid);
    m.set('last_zxid', st.lastZxid);
    m.set('last_response_time', st.lastResponseMs);
    m.set('last_latency', st.lastLatencyMs);
    m.set('min_latency', lat.min);
    m.set('avg_latency', lat.avg);
    m.set('max_latency', lat.max);
  }
  return m;
}

export function resetConnectionStats(shell: ZooKeeperServerShell): void {
  for (const c of shell.connections) c.stats.reset();
}

// ------------------------------------------------------------------ server stats

export function serverLatency(shell: ZooKeeperServerShell): { min: number; avg: number; max: number } {
  const l = shell.core.stats.latency;
  return { min: l.minOrZero, avg: latencyAvg(l.total, l.count), max: l.max };
}

/** ServerStats.toString. */
export function serverStatsText(shell: ZooKeeperServerShell): string {
  const core = shell.core;
  const lat = serverLatency(shell);
  return (
    `Latency min/avg/max: ${lat.min}/${javaDoubleString(lat.avg)}/${lat.max}\n` +
    `Received: ${core.stats.packetsReceived}\n` +
    `Sent: ${core.stats.packetsSent}\n` +
    `Connections: ${shell.connections.size}\n` +
    `Outstanding: ${core.outstandingRequests}\n` +
    `Zxid: 0x${javaHex(core.lastZxid)}\n` +
    `Mode: ${shell.mode}\n`
  );
}

function uptimeMs(shell: ZooKeeperServerShell): number {
  return Math.max(0, shell.core.now() - shell.core.startedAtMs);
}

function bufferStats(shell: ZooKeeperServerShell): JMap {
  const b = shell.core.stats.clientResponse;
  return new Map<string, JValue>([
    ['last_buffer_size', b.last],
    ['min_buffer_size', b.min],
    ['max_buffer_size', b.max],
  ]);
}

/** The bean properties Jackson writes for ServerStats (admin `server_stats`/`stats`). */
export function serverStatsMap(shell: ZooKeeperServerShell): JMap {
  const core = shell.core;
  const lat = serverLatency(shell);
  return new Map<string, JValue>([
    ['packets_sent', core.stats.packetsSent],
    ['packets_received', core.stats.packetsReceived],
    ['fsync_threshold_exceed_count', shell.storage?.fsyncThresholdExceedCount ?? shell.core.quorumView?.fsyncThresholdExceedCount() ?? 0],
    ['client_response_stats', bufferStats(shell)],
    ['data_dir_size', dirSize(snapDir(shell))],
    ['log_dir_size', dirSize(logDir(shell))],
    ['provider_null', false],
    ['server_state', shell.mode],
    ['last_processed_zxid', core.lastZxid],
    ['outstanding_requests', core.outstandingRequests],
    ['avg_latency', new JDouble(lat.avg)],
    ['max_latency', lat.max],
    ['min_latency', lat.min],
    ['num_alive_client_connections', shell.connections.size],
    ['uptime', uptimeMs(shell)],
    ['auth_failed_count', 0],
    ['non_mtlsremote_conn_count', 0],
    ['non_mtlslocal_conn_count', 0],
  ]);
}

/** ZooKeeperServer.getConf().toMap() (admin `configuration`). */
export function confMap(shell: ZooKeeperServerShell): JMap {
  const o = shell.opts;
  return new Map<string, JValue>([
    ['client_port', shell.port],
    ['data_dir', snapDir(shell)],
    ['data_log_dir', logDir(shell)],
    ['tick_time', o.tickTimeMs],
    ['max_client_cnxns', o.maxClientCnxns],
    ['min_session_timeout', o.minSessionTimeoutMs],
    ['max_session_timeout', o.maxSessionTimeoutMs],
    ['server_id', o.serverId],
    ['client_port_listen_backlog', -1],
  ]);
}

/** ZooKeeperServer.dumpConf. */
function confText(shell: ZooKeeperServerShell): string {
  const o = shell.opts;
  const dd = snapDir(shell);
  const ld = logDir(shell);
  return (
    `clientPort=${shell.port}\n` +
    'secureClientPort=-1\n' +
    `dataDir=${dd}\n` +
    `dataDirSize=${dirSize(dd)}\n` +
    `dataLogDir=${ld}\n` +
    `dataLogSize=${dirSize(ld)}\n` +
    `tickTime=${o.tickTimeMs}\n` +
    `maxClientCnxns=${o.maxClientCnxns}\n` +
    `minSessionTimeout=${o.minSessionTimeoutMs}\n` +
    `maxSessionTimeout=${o.maxSessionTimeoutMs}\n` +
    'clientPortListenBacklog=-1\n' +
    `serverId=${o.serverId}\n` +
    // A quorum server adds its quorum settings and the membership (QuorumZooKeeperServer.dumpConf).
    (o.ensemble ? renderQuorumConf(o.ensemble) : '')
  );
}

/**
 * mntr / admin `monitor`: ZooKeeperServer.dumpMonitorValues plus the gauges it registers, in the
 * order a 3.8 standalone server prints them. The hundreds of metric counters and summaries that
 * follow in ZooKeeper are not kept here and are not printed.
 */
export function monitorValues(shell: ZooKeeperServerShell): [string, number | bigint | string | JDouble][] {
  const core = shell.core;
  const tree = core.tree;
  const lat = serverLatency(shell);
  const resp = core.stats.clientResponse;
  return [
    ['version', ZK_FULL_VERSION],
    ['server_state', shell.mode],
    ['ephemerals_count', tree.ephemeralCount],
    ['num_alive_connections', shell.connections.size],
    ['avg_latency', new JDouble(lat.avg)],
    ['outstanding_requests', core.outstandingRequests],
    ['znode_count', tree.nodeCount],
    ['global_sessions', core.sessions.sessions.size],
    ['non_mtls_remote_conn_count', 0],
    ['last_client_response_size', resp.last],
    ['packets_sent', core.stats.packetsSent],
    ['packets_received', core.stats.packetsReceived],
    ['max_client_response_size', resp.max],
    ['connection_drop_probability', new JDouble(0)],
    ['watch_count', tree.watches.data.watchCount + tree.watches.child.watchCount],
    ['auth_failed_count', 0],
    ['min_latency', lat.min],
    ['max_file_descriptor_count', maxFileDescriptorCount()],
    ['approximate_data_size', tree.approximateDataSize],
    ['open_file_descriptor_count', openFileDescriptorCount()],
    ['local_sessions', 0],
    ['uptime', uptimeMs(shell)],
    ['max_latency', lat.max],
    ['outstanding_tls_handshake', 0],
    ['min_client_response_size', resp.min],
    ['non_mtls_local_conn_count', 0],
    ...quorumValues(shell),
    // Not in Apache ZooKeeper (which exits on a log write failure): present only while failing.
    ...(core.writeRefusal !== undefined ? [['storage_error', core.writeRefusal] as [string, string]] : []),
  ];
}

/** The quorum gauges a member adds (QuorumZooKeeperServer, LeaderZooKeeperServer). */
function quorumValues(shell: ZooKeeperServerShell): [string, number | string][] {
  const q = shell.quorum;
  if (!q) return [];
  const out: [string, number | string][] = [
    ['peer_state', q.peerState()],
    ['quorum_size', q.quorumSize()],
  ];
  const l = q.leaderStats();
  if (l) {
    out.push(
      ['learners', l.learners],
      // zk_followers: the 3.4-era name monitoring scripts still read.
      ['followers', l.learners],
      ['synced_followers', l.syncedFollowers],
      ['synced_non_voting_followers', 0],
      ['synced_observers', l.syncedObservers],
      ['pending_syncs', l.pendingSyncs],
      ['leader_uptime', l.uptimeMs],
    );
  }
  return out;
}

function monitorText(shell: ZooKeeperServerShell): string {
  let s = '';
  for (const [k, v] of monitorValues(shell)) s += `zk_${k}\t${String(v)}\n`;
  return s;
}

// ------------------------------------------------------------------ environment

const OS_NAMES: Record<string, string> = {
  linux: 'Linux',
  darwin: 'Mac OS X',
  win32: 'Windows',
  freebsd: 'FreeBSD',
  sunos: 'SunOS',
  aix: 'AIX',
};
const OS_ARCHS: Record<string, string> = { x64: 'amd64', arm64: 'aarch64', ia32: 'x86', ppc64: 'ppc64le' };

function mb(bytes: number): string {
  return `${Math.floor(bytes / (1024 * 1024))}MB`;
}

/**
 * Environment.list(), with the runtime described truthfully: the java.* entries become node.*
 * entries; everything else keeps ZooKeeper's key and order. kazoo reads `zookeeper.version`.
 */
export function environment(): [string, string][] {
  let user = '<NA>';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  const heap = getHeapStatistics();
  return [
    ['zookeeper.version', ZK_FULL_VERSION],
    ['host.name', hostname() || '<NA>'],
    ['node.version', process.version],
    ['node.path', process.execPath],
    ['os.name', OS_NAMES[platform()] ?? platform()],
    ['os.arch', OS_ARCHS[arch()] ?? arch()],
    ['os.version', release()],
    ['user.name', user],
    ['user.home', homedir()],
    ['user.dir', process.cwd()],
    ['os.memory.free', mb(heap.total_heap_size - heap.used_heap_size)],
    ['os.memory.max', mb(heap.heap_size_limit)],
    ['os.memory.total', mb(heap.total_heap_size)],
  ];
}

/**
 * Admin `system_properties`: no JVM here, so the settings this server runs with under their
 * Java system property names, plus the runtime entries of `envi`, sorted by name as ZooKeeper
 * sorts. Secrets (superDigest) are left out.
 */
export function systemProperties(shell: ZooKeeperServerShell): [string, string][] {
  const o = shell.opts;
  const props = new Map<string, string>(environment().filter(([k]) => k !== 'zookeeper.version'));
  props.set('jute.maxbuffer', String(o.frameBytesMax));
  props.set('zookeeper.4lw.commands.whitelist', [...o.fourLetterWords].join(','));
  props.set('zookeeper.admin.enableServer', String(o.adminEnabled));
  props.set('zookeeper.admin.serverAddress', o.adminAddress);
  props.set('zookeeper.admin.serverPort', String(o.adminPort));
  props.set('zookeeper.extendedTypesEnabled', String(o.extendedTypesEnabled));
  props.set('zookeeper.skipACL', o.skipAcl ? 'yes' : 'no');
  props.set('znode.container.checkIntervalMs', String(o.containerCheckIntervalMs));
  props.set('znode.container.maxPerMinute', String(o.containerMaxPerMinute));
  props.set('znode.container.maxNeverUsedIntervalMs', String(o.containerMaxNeverUsedIntervalMs));
  return [...props].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function environmentText(): string {
  let s = 'Environment:\n';
  for (const [k, v] of environment()) s += `${k}=${v}\n`;
  return s;
}

// ------------------------------------------------------------------ watches, sessions

function watcherSession(w: object): bigint {
  return (w as { sessionId?: bigint }).sessionId ?? 0n;
}

/** wchs/wchc/wchp report ZooKeeper's data-watch table only (DataTree.dumpWatches*). */
function dataWatches(shell: ZooKeeperServerShell): WatchTable {
  return shell.core.tree.watches.data;
}

export function watchSummary(shell: ZooKeeperServerShell): { connections: number; paths: number; total: number } {
  const t = dataWatches(shell);
  let total = 0;
  for (const ps of t.byWatcher.values()) total += ps.size;
  return { connections: t.byWatcher.size, paths: t.byPath.size, total };
}

/** WatchManager.getWatches: session id -> paths. */
export function watchesBySession(shell: ZooKeeperServerShell): [bigint, string[]][] {
  return [...dataWatches(shell).byWatcher].map(([w, ps]) => [watcherSession(w), [...ps.keys()]]);
}

/** WatchManager.getWatchesByPath: path -> session ids. */
export function watchesByPath(shell: ZooKeeperServerShell): [string, bigint[]][] {
  return [...dataWatches(shell).byPath].map(([p, ws]) => [p, [...ws.keys()].map(watcherSession)]);
}

/** Session expiry buckets (time -> session ids), ascending, as ExpiryQueue keeps them. */
export function sessionExpiry(shell: ZooKeeperServerShell): [number, bigint[]][] {
  const byTime = new Map<number, bigint[]>();
  for (const s of shell.core.sessions.sessions.values()) {
    let ids = byTime.get(s.expiresAt);
    if (!ids) {
      ids = [];
      byTime.set(s.expiresAt, ids);
    }
    ids.push(s.id);
  }
  return [...byTime].sort(([a], [b]) => a - b);
}

export function ephemeralsBySession(shell: ZooKeeperServerShell): [bigint, string[]][] {
  return [...shell.core.tree.ephemerals].map(([id, paths]) => [id, [...paths]]);
}

function expiryDump(label: string, buckets: [number, string[]][]): string {
  const n = buckets.reduce((a, [, xs]) => a + xs.length, 0);
  let s = `${label} Sets (${buckets.length})/(${n}):\n`;
  for (const [t, xs] of buckets) {
    s += `${xs.length} expire at ${javaDateString(t)}:\n`;
    for (const x of xs) s += `\t${x}\n`;
  }
  return s;
}

/** `dump`: SessionTracker, ephemerals and connection expiry. */
function dumpText(shell: ZooKeeperServerShell): string {
  let s = 'SessionTracker dump:\n';
  s += expiryDump(
    'Session',
    sessionExpiry(shell).map(([t, ids]) => [t, ids.map((id) => `0x${javaHex(id)}`)]),
  );
  s += 'ephemeral nodes dump:\n';
  const eph = ephemeralsBySession(shell);
  s += `Sessions with Ephemerals (${eph.length}):\n`;
  for (const [id, paths] of eph) {
    s += `0x${javaHex(id)}:\n`;
    for (const p of paths) s += `\t${p}\n`;
  }
  s += 'Connections dump:\n';
  // Connections expire with their session here (there is no separate idle-connection timer),
  // so connections without a session are not listed.
  const byTime = new Map<number, string[]>();
  for (const c of shell.connections) {
    if (c.sessionId === 0n) continue;
    const sess = shell.core.sessions.sessions.get(c.sessionId);
    if (!sess) continue;
    let xs = byTime.get(sess.expiresAt);
    if (!xs) {
      xs = [];
      byTime.set(sess.expiresAt, xs);
    }
    xs.push(`ip: /${c.remoteAddress}:${c.remotePort} sessionId: 0x${javaHex(c.sessionId)}`);
  }
  s += expiryDump(
    'Connections',
    [...byTime].sort(([a], [b]) => a - b),
  );
  return s;
}

// ------------------------------------------------------------------ the 4lw entry point

/**
 * Answers one four-letter word on connection `conn` (which is closed after the reply). `extra`
 * is the 8-byte trace mask that follows `stmk`.
 */
export function runFourLetterWord(shell: ZooKeeperServerShell, cmd: string, conn: ServerConnection, extra: Buffer | undefined): string {
  // NIOServerCnxn.checkFourLetterWord counts the command as a received packet first.
  shell.core.stats.packetsReceived++;
  conn.stats.packetsReceived++;
  const text = isFourLetterWordEnabled(shell, cmd)
    ? fourLetterWordText(shell, cmd, conn, extra)
    : `${cmd} is not executed because it is not in the whitelist.\n`;
  // The reply leaves through ZooKeeper's SendBufferWriter behind an 8192-char BufferedWriter:
  // one sent packet per (started) 8 KiB chunk, counted after the text was produced.
  const sent = Math.ceil(text.length / 8192);
  shell.core.stats.packetsSent += sent;
  conn.stats.packetsSent += sent;
  return text;
}

function fourLetterWordText(shell: ZooKeeperServerShell, cmd: string, conn: ServerConnection, extra: Buffer | undefined): string {
  const core = shell.core;
  const up = serving(shell);
  switch (cmd) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return !up ? 'null' : shell.mode === 'read-only' ? 'ro' : 'rw';
    case 'gtmk':
      return getTraceMask(shell).toString();
    case 'stmk': {
      const mask = extra && extra.length >= 8 ? extra.readBigInt64BE(0) : 0n;
      setTraceMask(shell, mask);
      return mask.toString();
    }
    case 'envi':
      return environmentText();
    case 'hash':
      // No digest log is kept (ZooKeeper's is empty until digests are recorded, too).
      return up ? '' : ZK_NOT_SERVING;
  }
  if (!up) return `${ZK_NOT_SERVING}\n`;
  switch (cmd) {
    case 'srvr':
    case 'stat': {
      let s = `Zookeeper version: ${ZK_FULL_VERSION}\n`;
      if (shell.mode === 'read-only') s += 'READ-ONLY mode; serving only read-only clients\n';
      if (cmd === 'stat') {
        s += 'Clients:\n';
        for (const c of shell.connections) s += `${connectionLine(c, true, conn)}\n`;
        s += '\n';
      }
      s += serverStatsText(shell);
      s += `Node count: ${core.tree.nodeCount}\n`;
      if (core.writeRefusal !== undefined) s += `Storage error: ${core.writeRefusal}\n`;
      return s;
    }
    case 'cons': {
      let s = '';
      for (const c of shell.connections) s += `${connectionLine(c, false, conn)}\n`;
      return `${s}\n`;
    }
    case 'crst':
      resetConnectionStats(shell);
      return 'Connection stats reset.\n';
    case 'srst':
      core.stats.reset();
      return 'Server stats reset.\n';
    case 'conf':
      return confText(shell);
    case 'dirs':
      return `datadir_size: ${dirSize(snapDir(shell))}\nlogdir_size: ${dirSize(logDir(shell))}\n`;
    case 'mntr':
      return monitorText(shell);
    case 'dump':
      return dumpText(shell);
    case 'wchs': {
      const w = watchSummary(shell);
      return `${w.connections} connections watching ${w.paths} paths\nTotal watches:${w.total}\n`;
    }
    case 'wchc': {
      let s = '';
      for (const [id, paths] of watchesBySession(shell)) {
        s += `0x${javaHex(id)}\n`;
        for (const p of paths) s += `\t${p}\n`;
      }
      return `${s}\n`;
    }
    case 'wchp': {
      let s = '';
      for (const [p, ids] of watchesByPath(shell)) {
        s += `${p}\n`;
        for (const id of ids) s += `\t0x${javaHex(id)}\n`;
      }
      return `${s}\n`;
    }
  }
  return '';
}
