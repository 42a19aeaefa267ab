// The AdminServer (HTTP /commands) of our server, in-process, and its JSON compared with the
// Jetty AdminServer of a real Apache ZooKeeper 3.8.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { fourLetter } from '../helpers/net.js';
import { TestClient, httpGet, isOrderedSubset, jsonShape, jsonShapeSorted, startApacheWithAdmin } from './fourletterHelpers.js';
import { jacksonJson } from '../../src/zookeeper/server/admin.js';
import { JDouble, type JValue } from '../../src/zookeeper/server/javaText.js';

type Started = Awaited<ReturnType<typeof startOurZooKeeper>>;

const ADMIN_CONFIG = { 'admin.enableServer': 'true', 'admin.serverAddress': '127.0.0.1', 'admin.serverPort': '0' };

/** [name or alias, primary name, data keys in order (before "command", "error")]. */
const COMMANDS: [string, string, string[]][] = [
  [
    'configuration',
    'configuration',
    [
      'client_port',
      'data_dir',
      'data_log_dir',
      'tick_time',
      'max_client_cnxns',
      'min_session_timeout',
      'max_session_timeout',
      'server_id',
      'client_port_listen_backlog',
    ],
  ],
  ['conf', 'configuration', []],
  ['config', 'configuration', []],
  ['connections', 'connections', ['connections', 'secure_connections']],
  ['cons', 'connections', []],
  ['connection_stat_reset', 'connection_stat_reset', []],
  ['crst', 'connection_stat_reset', []],
  ['dirs', 'dirs', ['datadir_size', 'logdir_size']],
  ['dump', 'dump', ['expiry_time_to_session_ids', 'session_id_to_ephemeral_paths']],
  ['environment', 'environment', []],
  ['env', 'environment', []],
  ['envi', 'environment', []],
  ['get_trace_mask', 'get_trace_mask', ['tracemask']],
  ['gtmk', 'get_trace_mask', ['tracemask']],
  ['hash', 'hash', ['digests']],
  ['is_read_only', 'is_read_only', ['read_only']],
  ['isro', 'is_read_only', ['read_only']],
  ['monitor', 'monitor', []],
  ['mntr', 'monitor', []],
  ['ruok', 'ruok', []],
  ['server_stats', 'server_stats', ['version', 'read_only', 'server_stats', 'client_response', 'node_count']],
  ['srvr', 'server_stats', []],
  ['stats', 'stats', ['version', 'read_only', 'server_stats', 'client_response', 'node_count', 'connections', 'secure_connections']],
  ['stat', 'stats', []],
  ['stat_reset', 'stat_reset', []],
  ['srst', 'stat_reset', []],
  ['system_properties', 'system_properties', []],
  ['sysp', 'system_properties', []],
  ['watches', 'watches', ['session_id_to_watched_paths']],
  ['wchc', 'watches', []],
  ['watches_by_path', 'watches_by_path', ['path_to_session_ids']],
  ['wchp', 'watches_by_path', []],
  ['watch_summary', 'watch_summary', ['num_connections', 'num_paths', 'num_total_watches']],
  ['wchs', 'watch_summary', []],
];

const PRIMARY = [...new Set(COMMANDS.map(([, p]) => p)), 'set_trace_mask', 'leader', 'voting_view', 'zabstate'].sort();

async function json(port: number, path: string): Promise<{ raw: string; obj: Record<string, unknown> }> {
  const r = await httpGet(port, path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  assert.equal(r.contentType, 'application/json');
  return { raw: r.body, obj: JSON.parse(r.body) as Record<string, unknown> };
}

describe('Jackson-style JSON', () => {
  it('indents objects, keeps arrays inline, prints doubles and longs as Java does', () => {
    const v: JValue = new Map<string, JValue>([
      ['a', 1],
      ['d', new JDouble(0)],
      ['big', 72057620167655424n],
      ['list', [new Map<string, JValue>([['x', 'y']])]],
      ['empty', []],
      ['obj', new Map()],
      ['s', 'q"\\'],
      ['n', null],
    ]);
    assert.equal(
      jacksonJson(v),
      '{\n  "a" : 1,\n  "d" : 0.0,\n  "big" : 72057620167655424,\n  "list" : [ {\n    "x" : "y"\n  } ],\n  "empty" : [ ],\n  "obj" : { },\n  "s" : "q\\"\\\\",\n  "n" : null\n}',
    );
  });
});

describe('AdminServer on our server', () => {
  let zk: Started;
  let admin: number;
  let client: TestClient;
  let sid: bigint;

  before(async () => {
    zk = await startOurZooKeeper({ extraConfig: ADMIN_CONFIG });
    admin = zk.shell.adminPort;
    assert.ok(admin > 0, 'admin server is listening');
    client = await TestClient.connect(zk.connectString, 30_000);
    sid = client.sessionId;
  });
  after(async () => {
    client?.close();
    await zk?.stop();
  });

  it('GET /commands links every command, sorted', async () => {
    for (const path of ['/commands', '/commands/']) {
      const r = await httpGet(admin, path);
      assert.equal(r.status, 200);
      assert.equal(r.body, PRIMARY.map((n) => `<a href="/commands/${n}">${n}</a>\n<br/>\n`).join(''));
    }
  });

  it('ruok and an unknown command answer exactly as ZooKeeper does', async () => {
    assert.equal((await json(admin, '/commands/ruok')).raw, '{\n  "command" : "ruok",\n  "error" : null\n}');
    const r = await httpGet(admin, '/commands/nosuch');
    assert.equal(r.status, 200);
    assert.equal(r.body, '{\n  "command" : "nosuch",\n  "error" : "Unknown command: nosuch"\n}');
  });

  it('every command and alias answers with its primary name and ZooKeeper field names', async () => {
    for (const [name, primary, keys] of COMMANDS) {
      const { obj } = await json(admin, `/commands/${name}`);
      const got = Object.keys(obj);
      assert.equal(obj['command'], primary, name);
      assert.equal(obj['error'], null, name);
      assert.deepEqual(got.slice(-2), ['command', 'error'], name);
      if (keys.length > 0) assert.deepEqual(got.slice(0, -2), keys, name);
    }
  });

  it('monitor, environment and system_properties carry the 4lw data', async () => {
    const mon = (await json(admin, '/commands/monitor')).obj;
    const mntr = (await fourLetter('127.0.0.1', zk.port, 'mntr'))
      .split('\n')
      .filter((l) => l)
      .map((l) => l.split('\t')[0]!.slice(3));
    assert.deepEqual(Object.keys(mon).slice(0, -2), mntr);
    assert.equal(mon['server_state'], 'standalone');
    assert.match((await json(admin, '/commands/monitor')).raw, /"avg_latency" : \d+\.\d+,/);
    const env = (await json(admin, '/commands/environment')).obj;
    assert.match(String(env['zookeeper.version']), /^3\.8\.4-clustergenie, built on /);
    assert.deepEqual(Object.keys(env).slice(0, 2), ['zookeeper.version', 'host.name']);
    const sysp = Object.keys((await json(admin, '/commands/system_properties')).obj).slice(0, -2);
    assert.deepEqual(sysp, [...sysp].sort());
    assert.ok(sysp.includes('zookeeper.4lw.commands.whitelist'));
  });

  it('connections, watches and dump report the session with exact 64-bit ids', async () => {
    await client.create('/w', Buffer.from('v'));
    await client.create('/e', Buffer.alloc(0), true);
    await client.getData('/w', true);
    const cons = await json(admin, '/commands/connections');
    assert.match(cons.raw, new RegExp(`"session_id" : ${sid},\\n`));
    const conns = cons.obj['connections'] as Record<string, unknown>[];
    assert.equal(conns.length, 1); // admin requests are not ZooKeeper connections
    assert.equal(conns[0]!['interest_ops'], 1);
    assert.equal(conns[0]!['session_timeout'], 30000);
    assert.equal(conns[0]!['last_operation'], 'GETD');
    assert.match(String(conns[0]!['remote_socket_address']), /^127\.0\.0\.1:\d+$/);
    assert.match((await json(admin, '/commands/watches')).raw, new RegExp(`\\{\\n    "${sid}" : \\[ "/w" \\]\\n  \\}`));
    assert.match((await json(admin, '/commands/watches_by_path')).raw, new RegExp(`\\{\\n    "/w" : \\[ ${sid} \\]\\n  \\}`));
    assert.deepEqual((await json(admin, '/commands/watch_summary')).obj, {
      num_connections: 1,
      num_paths: 1,
      num_total_watches: 1,
      command: 'watch_summary',
      error: null,
    });
    const dump = (await json(admin, '/commands/dump')).raw;
    assert.match(dump, new RegExp(`"expiry_time_to_session_ids" : \\{\\n    "\\d+" : \\[ ${sid} \\]\\n  \\}`));
    assert.match(dump, new RegExp(`"session_id_to_ephemeral_paths" : \\{\\n    "${sid}" : \\[ "/e" \\]\\n  \\}`));
  });

  it('server_stats and configuration carry our values', async () => {
    const s = (await json(admin, '/commands/server_stats')).obj;
    const stats = s['server_stats'] as Record<string, unknown>;
    assert.equal(stats['packets_received'], zk.shell.core.stats.packetsReceived);
    assert.equal(stats['packets_sent'], zk.shell.core.stats.packetsSent);
    assert.equal(stats['last_processed_zxid'], zk.shell.core.lastZxid);
    assert.equal(stats['server_state'], 'standalone');
    assert.equal(stats['num_alive_client_connections'], 1);
    assert.equal(s['node_count'], zk.shell.core.tree.nodeCount);
    assert.equal(s['read_only'], false);
    const c = (await json(admin, '/commands/configuration')).obj;
    assert.equal(c['client_port'], zk.port);
    assert.equal(c['tick_time'], 2000);
    assert.equal(c['min_session_timeout'], 4000);
    assert.equal(c['max_session_timeout'], 40000);
    assert.equal(c['data_dir'], `${zk.dataDir}/version-2`);
    const dirs = (await json(admin, '/commands/dirs')).obj;
    assert.equal(
      await fourLetter('127.0.0.1', zk.port, 'dirs'),
      `datadir_size: ${dirs['datadir_size']}\nlogdir_size: ${dirs['logdir_size']}\n`,
    );
  });

  it('set_trace_mask validates its argument and get_trace_mask/gtmk read it back', async () => {
    assert.equal(
      (await json(admin, '/commands/set_trace_mask')).raw,
      '{\n  "error" : "setTraceMask requires long traceMask argument",\n  "command" : "set_trace_mask"\n}',
    );
    assert.equal(
      (await json(admin, '/commands/stmk?traceMask=abc')).obj['error'],
      'setTraceMask requires long traceMask argument, got abc',
    );
    assert.equal(
      (await json(admin, '/commands/stmk?traceMask=9223372036854775808')).obj['error'],
      'setTraceMask requires long traceMask argument, got 9223372036854775808',
    );
    assert.equal(
      (await json(admin, '/commands/set_trace_mask?traceMask=12')).raw,
      '{\n  "tracemask" : 12,\n  "command" : "set_trace_mask",\n  "error" : null\n}',
    );
    assert.equal((await json(admin, '/commands/get_trace_mask')).obj['tracemask'], 12);
    assert.equal(await fourLetter('127.0.0.1', zk.port, 'gtmk'), '12');
    await json(admin, '/commands/stmk?traceMask=306');
  });

  it('stat_reset and connection_stat_reset reset the counters', async () => {
    await client.exists('/x');
    await json(admin, '/commands/stat_reset');
    const srvr = await fourLetter('127.0.0.1', zk.port, 'srvr');
    assert.match(srvr, /\nReceived: 1\nSent: 0\n/);
    await json(admin, '/commands/crst');
    const conns = (await json(admin, '/commands/connections')).obj['connections'] as Record<string, unknown>[];
    assert.deepEqual(
      [
        conns[0]!['packets_received'],
        conns[0]!['packets_sent'],
        conns[0]!['last_operation'],
        conns[0]!['last_cxid'],
        conns[0]!['last_zxid'],
      ],
      [0, 0, 'NA', -1, -1],
    );
  });

  it('only GET and HEAD under /commands', async () => {
    assert.equal((await httpGet(admin, '/commands/ruok', 'POST')).status, 405);
    assert.equal((await httpGet(admin, '/commands/ruok', 'DELETE')).status, 405);
    assert.equal((await httpGet(admin, '/')).status, 404);
    assert.equal((await httpGet(admin, '/other/ruok')).status, 404);
    const head = await httpGet(admin, '/commands/ruok', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});

describe('AdminServer off', () => {
  it('admin.enableServer=false starts no admin server', async () => {
    const zk = await startOurZooKeeper({ extraConfig: { 'admin.enableServer': 'false' } });
    try {
      assert.equal(zk.shell.adminPort, 0);
    } finally {
      await zk.stop();
    }
  });
});

describe('AdminServer compared with Apache ZooKeeper 3.8', () => {
  const SAME_SHAPE = [
    'configuration',
    'connections',
    'dirs',
    'get_trace_mask',
    'hash',
    'is_read_only',
    'ruok',
    'server_stats',
    'stats',
    'watch_summary',
    'watches',
    'watches_by_path',
    'connection_stat_reset',
    'set_trace_mask',
    'nosuch',
    'leader',
    'voting_view',
    'zabstate',
  ];
  const out = { apache: new Map<string, string>(), ours: new Map<string, string>() };

  before(async () => {
    const capture = async (which: 'apache' | 'ours'): Promise<void> => {
      const server = which === 'apache' ? await startApacheWithAdmin() : await startOurZooKeeper({ extraConfig: ADMIN_CONFIG });
      const adminPort =
        which === 'apache' ? (server as Awaited<ReturnType<typeof startApacheWithAdmin>>).adminPort : (server as Started).shell.adminPort;
      let client: TestClient | undefined;
      try {
        client = await TestClient.connect(server.connectString, 30_000);
        await client.create('/a', Buffer.from('hello'));
        await client.create('/a/eph', Buffer.from('x'), true);
        await client.getData('/a', true);
        await client.exists('/b', true);
        for (const name of ['', ...SAME_SHAPE, 'monitor', 'environment', 'dump']) {
          const r = await httpGet(adminPort, `/commands${name ? `/${name}` : ''}`);
          assert.equal(r.status, 200, `${which} ${name}: ${r.body}`);
          out[which].set(name || 'listing', r.body);
        }
      } finally {
        client?.close();
        await server.stop();
      }
    };
    await Promise.all([capture('apache'), capture('ours')]);
  });

  it('the same JSON layout, field names and value types', () => {
    // Key order is not compared: Apache's own order of bean-derived fields changes between runs.
    const layoutLines = (json: string): string =>
      jsonShape(json)
        .split('\n')
        .map((line) => line.replace(/,$/, ''))
        .sort()
        .join('\n');
    for (const name of SAME_SHAPE) {
      assert.equal(jsonShapeSorted(out.ours.get(name)!), jsonShapeSorted(out.apache.get(name)!), name);
      assert.equal(layoutLines(out.ours.get(name)!), layoutLines(out.apache.get(name)!), `${name}: Jackson's pretty-print layout`);
    }
  });

  it('unknown commands and ruok are byte-identical', () => {
    for (const name of ['nosuch', 'ruok', 'connection_stat_reset']) assert.equal(out.ours.get(name), out.apache.get(name), name);
  });

  it('monitor: every field we print is printed by Apache, in the same order', () => {
    const keys = (s: string): string[] => Object.keys(JSON.parse(s) as object);
    const ours = keys(out.ours.get('monitor')!);
    const apache = keys(out.apache.get('monitor')!);
    assert.ok(isOrderedSubset(ours, apache), ours.join(','));
    const types = (s: string): string =>
      jsonShape(s)
        .split('\n')
        .filter((l) => ours.some((k) => l.startsWith(`  "${k}" :`)))
        .join('\n');
    assert.equal(types(out.ours.get('monitor')!), types(out.apache.get('monitor')!));
  });

  it('environment starts with the same fields; dump has the same field names', () => {
    const keys = (s: string): string[] => Object.keys(JSON.parse(s) as object);
    assert.deepEqual(keys(out.ours.get('environment')!).slice(0, 2), keys(out.apache.get('environment')!).slice(0, 2));
    assert.deepEqual(keys(out.ours.get('dump')!), keys(out.apache.get('dump')!));
  });

  it("our command listing is a subset of Apache's, in the same format", () => {
    const links = (s: string): string[] => s.split('\n<br/>\n').filter((l) => l);
    const ours = links(out.ours.get('listing')!);
    const apache = links(out.apache.get('listing')!);
    assert.ok(isOrderedSubset(ours, apache), ours.join('\n'));
    assert.equal(ours.length, PRIMARY.length);
  });
});
