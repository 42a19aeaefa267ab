// Four-letter words (text on the client port) and the data behind them, which the AdminServer
// (admin.ts) serves as JSON. Formats follow ZooKeeper 3.8 (command/*.java, ServerStats.toString,
// ServerCnxn.dumpConnectionInfo, WatchManager, ExpiryQueue.dump) and were checked against the
// output of a real 3.8 server.

import type { ServerConnection } from './connection.js';
import { dirSize, environment, logDir, maxFileDescriptorCount, openFileDescriptorCount, snapDir } from './hostFacts.js';
import { JDouble, type JMap, type JValue, javaDateString, javaDoubleString, javaHex, latencyAvg } from './javaText.js';
import type { ZooKeeperServerShell } from './server.js';
import { ZK_FULL_VERSION } from './server.js';
import type { WatchTable } from './watches.js';

import { renderQuorumConf } from '../quorum/config.js';

export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

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
  // FourLetterCommands: isro is always allowed when read-only mode is on (clients probe with it).
  return cmd === 'srvr' || allowed.has('*') || allowed.has(cmd) || (cmd === 'isro' && shell.opts.readOnlyModeEnabled);
}

function serving(shell: ZooKeeperServerShell): boolean {
  return shell.core.serving;
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
    // -1 for a port that is not configured (getClientPort/getSecureClientPort without a factory).
    `clientPort=${o.clientPortEnabled === false ? -1 : shell.port}\n` +
    `secureClientPort=${shell.securePort > 0 ? shell.securePort : -1}\n` +
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
 * order a 3.8 standalone server prints them, then commit_count and the latency summaries operators
 * read (fsync, commit propagation, quorum ack, request latencies; metricsSink.ts MntrRecorder).
 * The hundreds of other metric counters and summaries ZooKeeper prints are not kept.
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
    ['global_sessions', core.sessions.sessions.size - core.sessions.localCount],
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
    ['local_sessions', core.sessions.localCount],
    ['uptime', uptimeMs(shell)],
    ['max_latency', lat.max],
    ['outstanding_tls_handshake', 0],
    ['min_client_response_size', resp.min],
    ['non_mtls_local_conn_count', 0],
    ...quorumValues(shell),
    ...core.mntrMetrics
      .mntrValues()
      .map(({ key, value, double }) => [key, double ? new JDouble(value) : value] as [string, number | JDouble]),
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
