// AdminServer: the four-letter words' data as JSON over HTTP, like ZooKeeper's Jetty
// AdminServer (admin/Commands.java, JettyAdminServer.java, JsonOutputter.java):
//   GET /commands            links to every command (primary names, sorted)
//   GET /commands/<name>     {<data fields>, "command": <primary name>, "error": null|<message>}
// JSON is written the way Jackson's default pretty printer writes it (`"key" : value`, 2-space
// indent, arrays inline as `[ a, b ]`, doubles as `0.0`), longs exactly (session ids exceed 2^53).
// An unknown command is 200 with an error field, as in ZooKeeper. GET/HEAD only; request bodies
// are never read.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ZooKeeperServerShell } from './server.js';
import { ZK_FULL_VERSION } from './server.js';
import {
  ZK_NOT_SERVING,
  confMap,
  connectionInfo,
  ephemeralsBySession,
  getTraceMask,
  monitorValues,
  resetConnectionStats,
  serverStatsMap,
  sessionExpiry,
  setTraceMask,
  watchSummary,
  watchesByPath,
  watchesBySession,
} from './commands.js';
import { dirSize, environment, logDir, snapDir, systemProperties } from './hostFacts.js';
import { JDouble, type JMap, type JValue, javaDoubleString } from './javaText.js';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ JSON, Jackson style

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** Jackson DefaultPrettyPrinter output (objects indent by nesting; arrays stay inline). */
export function jacksonJson(v: JValue, level = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : javaDoubleString(v);
  if (typeof v === 'string') return jsonString(v);
  if (v instanceof JDouble) return javaDoubleString(v.value);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[ ]';
    return `[ ${v.map((x) => jacksonJson(x, level)).join(', ')} ]`;
  }
  if (v.size === 0) return '{ }';
  const pad = '  '.repeat(level + 1);
  const parts: string[] = [];
  for (const [k, x] of v) parts.push(`${pad}${jsonString(k)} : ${jacksonJson(x, level + 1)}`);
  return `{\n${parts.join(',\n')}\n${'  '.repeat(level)}}`;
}

// ------------------------------------------------------------------ commands

interface AdminCommand {
  /** Primary name first. */
  names: string[];
  /** CommandBase.serverRequired: refuse while the server is not serving. */
  serverRequired: boolean;
  run(shell: ZooKeeperServerShell, kwargs: Map<string, string>): JMap;
}

const m = (entries: [string, JValue][] = []): JMap => new Map<string, JValue>(entries);

function srvrData(shell: ZooKeeperServerShell): JMap {
  const stats = serverStatsMap(shell);
  return m([
    ['version', ZK_FULL_VERSION],
    ['read_only', shell.mode === 'read-only'],
    ['server_stats', stats],
    ['client_response', stats.get('client_response_stats')!],
    ['node_count', shell.core.tree.nodeCount],
  ]);
}

/** Long.parseLong: optional sign, decimal digits, within the signed 64-bit range. */
function parseJavaLong(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v === BigInt.asIntN(64, v) ? v : undefined;
}

// ------------------------------------------------------------------ quorum commands (3.8)

/** Jackson's InetSocketAddress: host:port, IPv6 literals in brackets. */
function addrString(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** MultipleAddresses as Jackson writes its bean properties (zabstate's quorum_address/election_address). */
function multipleAddresses(hosts: string[], ports: number[]): JMap {
  const all = hosts.map((h, i) => addrString(h, ports[i]!));
  return m([
    ['empty', all.length === 0],
    ['all_addresses', all],
    // Reachability is not probed: every configured address counts as reachable.
    ['all_reachable_addresses', all],
    ['one', all[0] ?? null],
    ['reachable_address', all[0] ?? null],
    ['wildcard_addresses', ports.map((p) => addrString('0.0.0.0', p))],
    ['all_ports', [...new Set(ports)]],
    ['all_host_strings', hosts],
    ['all_reachable_addresses_or_all', all],
    ['reachable_or_one', all[0] ?? null],
  ]);
}

/** Commands.LeaderCommand. */
function leaderData(shell: ZooKeeperServerShell): JMap {
  const e = shell.opts.ensemble;
  const view = shell.core.quorumView;
  if (!e || !view) return m([['error', 'server is not initialized']]);
  const leaderId = view.leaderId();
  const leader = e.members.find((x) => x.id === leaderId);
  return m([
    ['is_leader', shell.mode === 'leader'],
    // QuorumPeer.leaderId is -1 until a leader is known.
    ['leader_id', leaderId ?? -1],
    ['leader_ip', leader ? leader.addresses.map((a) => a.host).join('|') : ''],
  ]);
}

/** Commands.VotingViewCommand: the voting members (QuorumServerView). */
function votingViewData(shell: ZooKeeperServerShell): JMap {
  const e = shell.opts.ensemble;
  const view = m();
  if (e) {
    for (const x of [...e.members].filter((x) => x.role === 'participant').sort((a, b) => a.id - b.id)) {
      view.set(
        String(x.id),
        m([
          ['server_addresses', x.addresses.map((a) => addrString(a.host, a.quorumPort))],
          ['election_addresses', x.addresses.map((a) => addrString(a.host, a.electionPort))],
          ['client_address', x.clientPort !== undefined && x.clientAddress !== undefined ? addrString(x.clientAddress, x.clientPort) : ''],
          ['learner_type', 'participant'],
        ]),
      );
    }
  }
  return m([['current_config', view]]);
}

/** Commands.ZabStateCommand. */
function zabStateData(shell: ZooKeeperServerShell): JMap {
  const e = shell.opts.ensemble;
  const view = shell.core.quorumView;
  const me = e?.members.find((x) => x.id === e.myId);
  if (!e || !view || !me) {
    return m([
      ['voting', false],
      ['zabstate', ''],
    ]);
  }
  const zxid = shell.core.tree.lastProcessedZxid;
  const client = me.clientPort !== undefined && me.clientAddress !== undefined ? addrString(me.clientAddress, me.clientPort) : null;
  return m([
    ['myid', shell.opts.serverId],
    ['is_leader', shell.mode === 'leader'],
    [
      'quorum_address',
      multipleAddresses(
        me.addresses.map((a) => a.host),
        me.addresses.map((a) => a.quorumPort),
      ),
    ],
    [
      'election_address',
      multipleAddresses(
        me.addresses.map((a) => a.host),
        me.addresses.map((a) => a.electionPort),
      ),
    ],
    ['client_address', client],
    ['voting', me.role === 'participant'],
    ['last_zxid', `0x${zxid.toString(16)}`],
    ['zab_epoch', Math.floor(zxid / 2 ** 32)],
    ['zab_counter', zxid % 2 ** 32],
    ['zabstate', view.zabState()],
  ]);
}

const COMMANDS: AdminCommand[] = [
  {
    names: ['connection_stat_reset', 'crst'],
    serverRequired: true,
    run(shell) {
      resetConnectionStats(shell);
      return m();
    },
  },
  { names: ['configuration', 'conf', 'config'], serverRequired: true, run: (shell) => confMap(shell) },
  {
    names: ['connections', 'cons'],
    serverRequired: true,
    run: (shell) =>
      m([
        ['connections', [...shell.connections].map((c) => connectionInfo(c, false))],
        ['secure_connections', []],
      ]),
  },
  {
    names: ['hash'],
    serverRequired: true,
    run: () => m([['digests', []]]),
  },
  {
    names: ['dirs'],
    serverRequired: true,
    run: (shell) =>
      m([
        ['datadir_size', dirSize(snapDir(shell))],
        ['logdir_size', dirSize(logDir(shell))],
      ]),
  },
  {
    names: ['dump'],
    serverRequired: true,
    run: (shell) =>
      m([
        ['expiry_time_to_session_ids', m(sessionExpiry(shell).map(([t, ids]) => [String(t), ids]))],
        ['session_id_to_ephemeral_paths', m(ephemeralsBySession(shell).map(([id, paths]) => [id.toString(), paths]))],
      ]),
  },
  { names: ['environment', 'env', 'envi'], serverRequired: false, run: () => m(environment()) },
  {
    names: ['get_trace_mask', 'gtmk'],
    serverRequired: false,
    run: (shell) => m([['tracemask', getTraceMask(shell)]]),
  },
  {
    names: ['is_read_only', 'isro'],
    serverRequired: true,
    run: (shell) => m([['read_only', shell.mode === 'read-only']]),
  },
  { names: ['leader', 'lead'], serverRequired: true, run: (shell) => leaderData(shell) },
  { names: ['monitor', 'mntr'], serverRequired: false, run: (shell) => m(monitorValues(shell)) },
  { names: ['ruok'], serverRequired: true, run: () => m() },
  {
    names: ['set_trace_mask', 'stmk'],
    serverRequired: false,
    run(shell, kwargs) {
      const raw = kwargs.get('traceMask');
      if (raw === undefined) return m([['error', 'setTraceMask requires long traceMask argument']]);
      const mask = parseJavaLong(raw);
      if (mask === undefined) return m([['error', `setTraceMask requires long traceMask argument, got ${raw}`]]);
      setTraceMask(shell, mask);
      return m([['tracemask', mask]]);
    },
  },
  { names: ['server_stats', 'srvr'], serverRequired: true, run: (shell) => srvrData(shell) },
  {
    names: ['stats', 'stat'],
    serverRequired: true,
    run(shell) {
      const data = srvrData(shell);
      data.set(
        'connections',
        [...shell.connections].map((c) => connectionInfo(c, true)),
      );
      data.set('secure_connections', []);
      return data;
    },
  },
  {
    names: ['stat_reset', 'srst'],
    serverRequired: true,
    run(shell) {
      shell.core.stats.reset();
      return m();
    },
  },
  { names: ['system_properties', 'sysp'], serverRequired: false, run: (shell) => m(systemProperties(shell)) },
  { names: ['voting_view'], serverRequired: true, run: (shell) => votingViewData(shell) },
  {
    names: ['watches', 'wchc'],
    serverRequired: true,
    run: (shell) => m([['session_id_to_watched_paths', m(watchesBySession(shell).map(([id, paths]) => [id.toString(), paths]))]]),
  },
  {
    names: ['watches_by_path', 'wchp'],
    serverRequired: true,
    run: (shell) => m([['path_to_session_ids', m(watchesByPath(shell))]]),
  },
  {
    names: ['watch_summary', 'wchs'],
    serverRequired: true,
    run(shell) {
      const w = watchSummary(shell);
      return m([
        ['num_connections', w.connections],
        ['num_paths', w.paths],
        ['num_total_watches', w.total],
      ]);
    },
  },
  { names: ['zabstate'], serverRequired: true, run: (shell) => zabStateData(shell) },
];

const BY_NAME = new Map<string, AdminCommand>();
for (const c of COMMANDS) for (const n of c.names) BY_NAME.set(n, c);

/** Primary command names, sorted as the /commands listing shows them. */
export const ADMIN_COMMANDS: readonly string[] = COMMANDS.map((c) => c.names[0]!).sort();

/** CommandResponse.toMap: data fields, then "command" and "error" unless the data set them. */
function response(command: string, error: string | null, data: JMap = m()): JMap {
  const out = new Map(data);
  if (!out.has('command')) out.set('command', command);
  if (!out.has('error')) out.set('error', error);
  return out;
}

/** Commands.runCommand. */
export function runAdminCommand(shell: ZooKeeperServerShell, name: string, kwargs: Map<string, string> = new Map()): JMap {
  const cmd = BY_NAME.get(name);
  if (!cmd) return response(name, `Unknown command: ${name}`);
  const primary = cmd.names[0]!;
  if (cmd.serverRequired && !shell.core.serving) return response(name, ZK_NOT_SERVING);
  return response(primary, null, cmd.run(shell, kwargs));
}

// ------------------------------------------------------------------ HTTP

const COMMAND_URL = '/commands';

function listing(): string {
  return ADMIN_COMMANDS.map((n) => `<a href="${COMMAND_URL}/${n}">${n}</a>\n<br/>\n`).join('');
}

function send(res: ServerResponse, head: boolean, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': type, 'content-length': String(buf.length), ...extra });
  res.end(head ? undefined : buf);
}

function handle(shell: ZooKeeperServerShell, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const hasBody =
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
    req.headers['transfer-encoding'] !== undefined;
  // Bodies are never read: close the connection after answering instead of draining them.
  const extra: Record<string, string> = hasBody ? { connection: 'close' } : {};
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, false, 405, 'text/plain; charset=utf-8', `HTTP method ${method} is not supported by this URL\n`, {
      ...extra,
      allow: 'GET, HEAD',
    });
    return;
  }
  const head = method === 'HEAD';
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    send(res, head, 400, 'text/plain; charset=utf-8', 'Bad Request\n', extra);
    return;
  }
  const path = url.pathname;
  if (path === COMMAND_URL || path === `${COMMAND_URL}/`) {
    send(res, head, 200, 'text/html; charset=utf-8', listing(), extra);
    return;
  }
  if (!path.startsWith(`${COMMAND_URL}/`)) {
    send(res, head, 404, 'text/plain; charset=utf-8', `Not Found: try ${COMMAND_URL}\n`, extra);
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(path.slice(COMMAND_URL.length + 1));
  } catch {
    name = path.slice(COMMAND_URL.length + 1);
  }
  const kwargs = new Map<string, string>();
  for (const [k, v] of url.searchParams) if (!kwargs.has(k)) kwargs.set(k, v);
  let body: string;
  try {
    body = jacksonJson(runAdminCommand(shell, name, kwargs));
  } catch (e) {
    shell.log.error({ err: e, command: name }, 'admin command failed');
    send(res, head, 500, 'application/json', jacksonJson(response(name, `Exception running command: ${(e as Error).message}`)), extra);
    return;
  }
  send(res, head, 200, 'application/json', body, extra);
}

/** Starts the admin HTTP server on admin.serverAddress:admin.serverPort (0 = any free port). */
export async function startAdminServer(shell: ZooKeeperServerShell): Promise<AdminServer> {
  const server: Server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      keepAliveTimeout: 30_000,
    },
    (req, res) => handle(shell, req, res),
  );
  server.maxConnections = 256;
  server.maxRequestsPerSocket = 1000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(shell.opts.adminPort, shell.opts.adminAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
