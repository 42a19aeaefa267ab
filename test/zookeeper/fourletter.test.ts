// Four-letter words on our server (in-process) and, in the last suite, side by side with a real
// Apache ZooKeeper 3.8. The regexes are built from Apache's captured output.

import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { startApacheZooKeeper } from '../helpers/apacheZk.js';
import { fourLetter, parseMntr as mntrMap, waitFor } from '../helpers/net.js';
import { TestClient, isOrderedSubset, labels, lineShape, rawFourLetter, stmkBytes } from './fourletterHelpers.js';
import { javaDoubleString, latencyAvg } from '../../src/zookeeper/server/javaText.js';

const HOST = '127.0.0.1';
type Started = Awaited<ReturnType<typeof startOurZooKeeper>>;

const SRVR_RE =
  /^Zookeeper version: 3\.8\.4-clustergenie, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC\nLatency min\/avg\/max: \d+\/\d+\.\d+(?:E-?\d+)?\/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: \d+\n$/;
const BRIEF_LINE_RE = /^ \/127\.0\.0\.1:\d+\[[0-9a-f]+\]\(queued=\d+,recved=\d+,sent=\d+\)$/;
const FULL_LINE_RE =
  /^ \/127\.0\.0\.1:\d+\[[0-9a-f]+\]\(queued=\d+,recved=\d+,sent=\d+,sid=0x[0-9a-f]+,lop=[A-Z]+,est=\d+,to=\d+(?:,lcxid=0x[0-9a-f]+)?,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)$/;
/** mntr keys we print, in the order Apache 3.8 prints them. */
const MNTR_KEYS = [
  'zk_version',
  'zk_server_state',
  'zk_ephemerals_count',
  'zk_num_alive_connections',
  'zk_avg_latency',
  'zk_outstanding_requests',
  'zk_znode_count',
  'zk_global_sessions',
  'zk_non_mtls_remote_conn_count',
  'zk_last_client_response_size',
  'zk_packets_sent',
  'zk_packets_received',
  'zk_max_client_response_size',
  'zk_connection_drop_probability',
  'zk_watch_count',
  'zk_auth_failed_count',
  'zk_min_latency',
  'zk_max_file_descriptor_count',
  'zk_approximate_data_size',
  'zk_open_file_descriptor_count',
  'zk_local_sessions',
  'zk_uptime',
  'zk_max_latency',
  'zk_outstanding_tls_handshake',
  'zk_min_client_response_size',
  'zk_non_mtls_local_conn_count',
  // Then commit_count and the latency summaries (fsync, commit propagation, quorum ack, ...).
  'zk_commit_count',
  'zk_avg_follower_sync_time',
  'zk_min_follower_sync_time',
  'zk_max_follower_sync_time',
  'zk_cnt_follower_sync_time',
  'zk_sum_follower_sync_time',
  'zk_avg_fsynctime',
  'zk_min_fsynctime',
  'zk_max_fsynctime',
  'zk_cnt_fsynctime',
  'zk_sum_fsynctime',
  'zk_avg_election_time',
  'zk_min_election_time',
  'zk_max_election_time',
  'zk_cnt_election_time',
  'zk_sum_election_time',
  'zk_avg_updatelatency',
  'zk_min_updatelatency',
  'zk_max_updatelatency',
  'zk_cnt_updatelatency',
  'zk_sum_updatelatency',
  'zk_avg_readlatency',
  'zk_min_readlatency',
  'zk_max_readlatency',
  'zk_cnt_readlatency',
  'zk_sum_readlatency',
  'zk_avg_quorum_ack_latency',
  'zk_min_quorum_ack_latency',
  'zk_max_quorum_ack_latency',
  'zk_cnt_quorum_ack_latency',
  'zk_sum_quorum_ack_latency',
  'zk_avg_commit_propagation_latency',
  'zk_min_commit_propagation_latency',
  'zk_max_commit_propagation_latency',
  'zk_cnt_commit_propagation_latency',
  'zk_sum_commit_propagation_latency',
];

function statValue(text: string, label: string): string {
  const m = new RegExp(`^${label}: (.*)$`, 'm').exec(text);
  assert.ok(m, `${label} missing in:\n${text}`);
  return m[1]!;
}

describe('number formats', () => {
  it('prints doubles and latency averages as Java does', () => {
    assert.equal(javaDoubleString(0), '0.0');
    assert.equal(javaDoubleString(6.5), '6.5');
    assert.equal(javaDoubleString(3), '3.0');
    assert.equal(javaDoubleString(1e7), '1.0E7');
    assert.equal(javaDoubleString(0.0001), '1.0E-4');
    assert.equal(latencyAvg(19, 6), 3.1667);
    assert.equal(latencyAvg(1, 3), 0.3333);
    assert.equal(latencyAvg(0, 0), 0);
    // HALF_UP on the exact binary value: 1/32 = 0.03125 exactly -> 0.0313
    assert.equal(latencyAvg(1, 32), 0.0313);
  });
});

describe('four-letter words on our server', () => {
  let zk: Started;
  let client: TestClient;
  let sidHex: string;
  const fl = (cmd: string): Promise<string> => fourLetter(HOST, zk.port, cmd);

  before(async () => {
    zk = await startOurZooKeeper();
    client = await TestClient.connect(zk.connectString, 30_000);
    sidHex = client.sessionId.toString(16);
  });
  after(async () => {
    client?.close();
    await zk?.stop();
  });

  it('ruok, isro, hash, envi', async () => {
    assert.equal(await fl('ruok'), 'imok');
    assert.equal(await fl('isro'), 'rw');
    assert.equal(await fl('hash'), '');
    const envi = await fl('envi');
    const lines = envi.split('\n');
    assert.equal(lines[0], 'Environment:');
    assert.match(lines[1]!, /^zookeeper\.version=3\.8\.4-clustergenie, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    assert.match(lines[2]!, /^host\.name=.+$/);
    assert.ok(envi.endsWith('\n'));
    for (const l of lines.slice(1, -1)) assert.match(l, /^[a-z.]+=.*$/);
    assert.match(envi, /^os\.memory\.total=\d+MB$/m);
  });

  it('gtmk and stmk read and set the trace mask', async () => {
    assert.equal(await fl('gtmk'), '306');
    assert.equal(await rawFourLetter(zk.port, stmkBytes(0x1f2n)), '498');
    assert.equal(await fl('gtmk'), '498');
    assert.equal(await rawFourLetter(zk.port, stmkBytes(-1n)), '-1');
    assert.equal(await fl('gtmk'), '-1');
    assert.equal(await rawFourLetter(zk.port, stmkBytes(306n)), '306');
  });

  it('srvr: format, and Received/Sent/Node count/Zxid follow the requests', async () => {
    const a = await fl('srvr');
    assert.match(a, SRVR_RE);
    const n = 10;
    for (let i = 0; i < n; i++) await client.exists('/nope');
    await client.create('/srvr', Buffer.from('x'));
    const b = await fl('srvr');
    assert.match(b, SRVR_RE);
    // n exists + 1 create + this srvr; sent: the previous srvr's reply + n + 1 replies. A client
    // ping could add one each (30 s session: pings every 10 s), hence the small tolerance.
    const dr = Number(statValue(b, 'Received')) - Number(statValue(a, 'Received'));
    const ds = Number(statValue(b, 'Sent')) - Number(statValue(a, 'Sent'));
    assert.ok(dr >= n + 2 && dr <= n + 3, `Received grew by ${dr}`);
    assert.ok(ds >= n + 2 && ds <= n + 3, `Sent grew by ${ds}`);
    assert.equal(Number(statValue(b, 'Node count')), Number(statValue(a, 'Node count')) + 1);
    assert.equal(statValue(b, 'Node count'), String(zk.shell.core.tree.nodeCount));
    assert.equal(statValue(b, 'Zxid'), `0x${zk.shell.core.lastZxid.toString(16)}`);
    assert.equal(statValue(b, 'Connections'), '2'); // the client and this 4lw connection
    assert.equal(statValue(b, 'Outstanding'), '0');
    assert.match(statValue(b, 'Latency min/avg/max'), /^\d+\/\d+\.\d+\/\d+$/);
  });

  it('stat lists every client connection, including itself', async () => {
    const text = await fl('stat');
    const lines = text.split('\n');
    assert.match(lines[0]!, /^Zookeeper version: /);
    assert.equal(lines[1], 'Clients:');
    const blank = lines.indexOf('', 2);
    const clients = lines.slice(2, blank);
    assert.equal(clients.length, 2);
    for (const l of clients) assert.match(l, BRIEF_LINE_RE);
    const conn = [...zk.shell.connections].find((c) => c.sessionId === client.sessionId)!;
    assert.ok(
      clients.includes(` /127.0.0.1:${conn.remotePort}[1](queued=0,recved=${conn.stats.packetsReceived},sent=${conn.stats.packetsSent})`),
      text,
    );
    assert.ok(
      clients.some((l) => /\[0\]\(queued=0,recved=1,sent=0\)$/.test(l)),
      'the stat connection itself',
    );
    assert.deepEqual(labels(lines.slice(blank + 1).join('\n'), ': '), [
      'Latency min/avg/max',
      'Received',
      'Sent',
      'Connections',
      'Outstanding',
      'Zxid',
      'Mode',
      'Node count',
    ]);
  });

  it('cons shows the session details of our connection', async () => {
    await client.exists('/cons');
    const text = await fl('cons');
    assert.ok(text.endsWith(')\n\n'));
    const lines = text.split('\n').filter((l) => l !== '');
    const mine = lines.find((l) => l.includes(`sid=0x${sidHex},`));
    assert.ok(mine, `no line with sid=0x${sidHex}:\n${text}`);
    assert.match(mine, FULL_LINE_RE);
    assert.match(mine, /\[1\]/);
    assert.match(mine, /,lop=EXIS,/);
    assert.match(mine, /,to=30000,/);
    const est = Number(/est=(\d+)/.exec(mine)![1]);
    assert.ok(Math.abs(Date.now() - est) < 60_000, `est=${est}`);
    const conn = [...zk.shell.connections].find((c) => c.sessionId === client.sessionId)!;
    assert.match(mine, new RegExp(`recved=${conn.stats.packetsReceived},sent=${conn.stats.packetsSent},`));
    assert.match(mine, new RegExp(`lcxid=0x${conn.stats.lastCxid.toString(16)},lzxid=0x${zk.shell.core.lastZxid.toString(16)},`));
    const self = lines.filter((l) => l !== mine);
    assert.equal(self.length, 1);
    assert.match(self[0]!, /^ \/127\.0\.0\.1:\d+\[0\]\(queued=0,recved=1,sent=0\)$/);
  });

  it('wchs, wchc, wchp report data watches by connection and by path', async () => {
    await client.create('/w', Buffer.from('v'));
    assert.equal(await fl('wchs'), '0 connections watching 0 paths\nTotal watches:0\n');
    await client.getData('/w', true);
    assert.equal(await fl('wchs'), '1 connections watching 1 paths\nTotal watches:1\n');
    assert.equal(await fl('wchc'), `0x${sidHex}\n\t/w\n\n`);
    assert.equal(await fl('wchp'), `/w\n\t0x${sidHex}\n\n`);
    // Child watches count in zk_watch_count but not in wchs (ZooKeeper reports data watches).
    await client.getChildren('/w', true);
    assert.equal(await fl('wchs'), '1 connections watching 1 paths\nTotal watches:1\n');
    assert.equal(mntrMap(await fl('mntr')).get('zk_watch_count'), '2');
    await client.exists('/w2', true);
    assert.equal(await fl('wchs'), '1 connections watching 2 paths\nTotal watches:2\n');
    // Firing the watch removes it.
    await client.setData('/w', Buffer.from('v2'));
    await waitFor(
      async () => (await fl('wchs')) === '1 connections watching 1 paths\nTotal watches:1\n',
      5_000,
      () => 'the /w data watch to fire',
    );
    assert.equal(await fl('wchp'), `/w2\n\t0x${sidHex}\n\n`);
  });

  it('mntr prints the standalone keys in Apache order with true values', async () => {
    await client.create('/eph', Buffer.from('abc'), true);
    const m = mntrMap(await fl('mntr'));
    assert.deepEqual([...m.keys()], MNTR_KEYS);
    const core = zk.shell.core;
    assert.match(m.get('zk_version')!, /^3\.8\.4-clustergenie, built on /);
    assert.equal(m.get('zk_server_state'), 'standalone');
    assert.equal(m.get('zk_ephemerals_count'), '1');
    assert.equal(m.get('zk_num_alive_connections'), '2');
    assert.equal(m.get('zk_outstanding_requests'), '0');
    assert.equal(m.get('zk_znode_count'), String(core.tree.nodeCount));
    assert.equal(m.get('zk_global_sessions'), '1');
    assert.equal(m.get('zk_local_sessions'), '0');
    assert.equal(m.get('zk_approximate_data_size'), String(core.tree.approximateDataSize));
    assert.equal(m.get('zk_connection_drop_probability'), '0.0');
    assert.match(m.get('zk_avg_latency')!, /^\d+\.\d+$/);
    assert.ok(Number(m.get('zk_packets_received')) > 0);
    assert.ok(Number(m.get('zk_packets_sent')) > 0);
    assert.ok(Number(m.get('zk_max_client_response_size')) >= Number(m.get('zk_min_client_response_size')));
    assert.ok(Number(m.get('zk_min_client_response_size')) >= 16, 'a reply is at least its 16-byte header');
    assert.ok(Number(m.get('zk_uptime')) >= 0);
    // The create above was logged, fsynced and answered: its latencies are counted.
    for (const name of ['fsynctime', 'updatelatency']) {
      assert.ok(Number(m.get(`zk_cnt_${name}`)) >= 1, name);
      assert.match(m.get(`zk_avg_${name}`)!, /^\d+\.\d+(?:E-?\d+)?$/, name);
      assert.ok(Number(m.get(`zk_max_${name}`)) >= Number(m.get(`zk_min_${name}`)), name);
      assert.ok(Number(m.get(`zk_sum_${name}`)) >= Number(m.get(`zk_max_${name}`)), name);
    }
    assert.equal(m.get('zk_cnt_quorum_ack_latency'), '0', 'a standalone server has no quorum');
    if (process.platform === 'linux') {
      assert.ok(Number(m.get('zk_open_file_descriptor_count')) > 0);
      assert.ok(Number(m.get('zk_max_file_descriptor_count')) > 0);
    }
  });

  it('dump lists sessions, ephemerals and connections', async () => {
    const text = await fl('dump');
    const date = '\\w{3} \\w{3} \\d\\d \\d\\d:\\d\\d:\\d\\d \\S+ \\d{4}';
    const re = new RegExp(
      `^SessionTracker dump:\\nSession Sets \\(1\\)/\\(1\\):\\n1 expire at ${date}:\\n\\t0x${sidHex}\\n` +
        `ephemeral nodes dump:\\nSessions with Ephemerals \\(1\\):\\n0x${sidHex}:\\n\\t/eph\\n` +
        `Connections dump:\\nConnections Sets \\(1\\)/\\(1\\):\\n1 expire at ${date}:\\n\\tip: /127\\.0\\.0\\.1:\\d+ sessionId: 0x${sidHex}\\n$`,
    );
    assert.match(text, re);
  });

  it('conf prints our settings; dirs and conf report real directory sizes', async () => {
    const conf = await fl('conf');
    const snap = join(zk.dataDir, 'version-2');
    const base = Number(/^dataDirSize=(\d+)$/m.exec(conf)![1]);
    assert.equal(
      conf,
      `clientPort=${zk.port}\nsecureClientPort=-1\ndataDir=${snap}\ndataDirSize=${base}\ndataLogDir=${snap}\ndataLogSize=${base}\n` +
        'tickTime=2000\nmaxClientCnxns=0\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n',
    );
    assert.equal(await fl('dirs'), `datadir_size: ${base}\nlogdir_size: ${base}\n`);
    await mkdir(join(snap, 'sub'), { recursive: true });
    await writeFile(join(snap, 'probe.bin'), Buffer.alloc(123));
    await writeFile(join(snap, 'sub', 'probe2.bin'), Buffer.alloc(7));
    try {
      assert.equal(await fl('dirs'), `datadir_size: ${base + 130}\nlogdir_size: ${base + 130}\n`);
      assert.match(await fl('conf'), new RegExp(`^dataDirSize=${base + 130}$`, 'm'));
    } finally {
      await rm(join(snap, 'probe.bin'));
      await rm(join(snap, 'sub'), { recursive: true });
    }
  });

  it('crst resets the connection counters', async () => {
    await client.exists('/crst');
    assert.match(await fl('cons'), new RegExp(`sid=0x${sidHex},lop=EXIS,`));
    assert.equal(await fl('crst'), 'Connection stats reset.\n');
    const mine = (await fl('cons')).split('\n').find((l) => l.includes(`sid=0x${sidHex},`))!;
    assert.match(
      mine,
      new RegExp(
        `\\(queued=0,recved=0,sent=0,sid=0x${sidHex},lop=NA,est=\\d+,to=30000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0\\)$`,
      ),
    );
  });

  it('srst resets the server counters (the srst reply itself is counted after the reset)', async () => {
    assert.equal(await fl('srst'), 'Server stats reset.\n');
    const a = await fl('srvr');
    assert.equal(statValue(a, 'Latency min/avg/max'), '0/0.0/0');
    assert.equal(statValue(a, 'Received'), '1');
    assert.equal(statValue(a, 'Sent'), '1');
    await client.exists('/srst');
    const b = await fl('srvr');
    assert.equal(statValue(b, 'Received'), '3');
    assert.equal(statValue(b, 'Sent'), '3');
    assert.match(statValue(b, 'Latency min/avg/max'), /^(\d+)\/\1\.0\/\1$/); // one sample
  });
});

describe('four-letter word whitelist', () => {
  let zk: Started;
  before(async () => {
    zk = await startOurZooKeeper({ extraConfig: { '4lw.commands.whitelist': 'ruok, conf' } });
  });
  after(async () => {
    await zk?.stop();
  });

  it('refuses commands outside the whitelist, always allows srvr', async () => {
    assert.equal(await fourLetter(HOST, zk.port, 'ruok'), 'imok');
    assert.match(await fourLetter(HOST, zk.port, 'conf'), /^clientPort=/);
    assert.equal(await fourLetter(HOST, zk.port, 'stat'), 'stat is not executed because it is not in the whitelist.\n');
    assert.equal(await fourLetter(HOST, zk.port, 'mntr'), 'mntr is not executed because it is not in the whitelist.\n');
    assert.equal(await rawFourLetter(zk.port, stmkBytes(1n)), 'stmk is not executed because it is not in the whitelist.\n');
    const srvr = await fourLetter(HOST, zk.port, 'srvr');
    assert.match(srvr, SRVR_RE);
    // Refused commands still count as received packets, as in ZooKeeper.
    assert.equal(statValue(srvr, 'Received'), '6');
  });
});

describe('four-letter words compared with Apache ZooKeeper 3.8', () => {
  const out = { apache: new Map<string, string>(), ours: new Map<string, string>() };
  const WORDS = [
    'ruok',
    'isro',
    'gtmk',
    'hash',
    'stat',
    'srvr',
    'conf',
    'cons',
    'mntr',
    'wchs',
    'wchc',
    'wchp',
    'dirs',
    'envi',
    'dump',
    'crst',
    'srst',
    'srvr',
  ];

  before(async () => {
    const capture = async (which: 'apache' | 'ours'): Promise<void> => {
      const server = which === 'apache' ? await startApacheZooKeeper() : await startOurZooKeeper();
      let client: TestClient | undefined;
      try {
        client = await TestClient.connect(server.connectString, 30_000);
        await client.create('/a', Buffer.from('hello'));
        await client.create('/a/eph', Buffer.from('x'), true);
        await client.getData('/a', true);
        await client.getChildren('/a', true);
        await client.exists('/b', true);
        for (const [i, w] of WORDS.entries())
          out[which].set(i === WORDS.length - 1 ? 'srvr-after-srst' : w, await fourLetter(HOST, server.port, w));
      } finally {
        client?.close();
        await server.stop();
      }
    };
    await Promise.all([capture('apache'), capture('ours')]);
  });

  const get = (which: 'apache' | 'ours', w: string): string => out[which].get(w)!;

  it('ruok, isro, gtmk, hash, wchs, crst, srst are identical', () => {
    for (const w of ['ruok', 'isro', 'gtmk', 'hash', 'wchs', 'crst', 'srst']) assert.equal(get('ours', w), get('apache', w), w);
    assert.equal(get('ours', 'wchs'), '1 connections watching 2 paths\nTotal watches:2\n');
  });

  it('srvr has the same lines; after srst every value but the version matches', () => {
    assert.deepEqual(labels(get('ours', 'srvr'), ': '), labels(get('apache', 'srvr'), ': '));
    assert.match(get('apache', 'srvr').replace(/3\.8\.\d+-\$\{mvngit\.commit\.id\}/, '3.8.4-clustergenie'), SRVR_RE);
    const strip = (s: string): string => s.replace(/^Zookeeper version: .*\n/, '');
    assert.equal(strip(get('ours', 'srvr-after-srst')), strip(get('apache', 'srvr-after-srst')));
  });

  it('stat has the same structure and connection line shapes', () => {
    const shape = (s: string): string[] => {
      const lines = s.split('\n');
      const blank = lines.indexOf('', 2);
      return [lines[1]!, ...lines.slice(2, blank).map(lineShape).sort(), ...labels(lines.slice(blank).join('\n'), ': ')];
    };
    assert.deepEqual(shape(get('ours', 'stat')), shape(get('apache', 'stat')));
  });

  it('cons has the same line shapes', () => {
    const shape = (s: string): string[] => s.split('\n').map(lineShape).sort();
    assert.deepEqual(shape(get('ours', 'cons')), shape(get('apache', 'cons')));
  });

  it('conf has the same keys in the same order', () => {
    assert.deepEqual(labels(get('ours', 'conf'), '='), labels(get('apache', 'conf'), '='));
    for (const w of ['ours', 'apache'] as const) assert.match(get(w, 'conf'), /^dataDir=.*\/version-2$/m);
  });

  it('mntr: every key we print is printed by Apache, in the same order', () => {
    const ours = labels(get('ours', 'mntr'), '\t');
    const apache = labels(get('apache', 'mntr'), '\t');
    assert.deepEqual(ours, MNTR_KEYS);
    assert.ok(isOrderedSubset(ours, apache), `ours: ${ours.join(',')}\napache: ${apache.slice(0, 40).join(',')}`);
    const a = mntrMap(get('apache', 'mntr'));
    const o = mntrMap(get('ours', 'mntr'));
    for (const k of [
      'zk_server_state',
      'zk_ephemerals_count',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_znode_count',
      'zk_global_sessions',
      'zk_watch_count',
      'zk_local_sessions',
    ]) {
      assert.equal(o.get(k), a.get(k), k);
    }
  });

  it('wchc and wchp have the same shapes', () => {
    const shape = (s: string): string[] =>
      s
        .replace(/0x[0-9a-f]+/g, '0xSID')
        .split('\n')
        .sort();
    assert.deepEqual(shape(get('ours', 'wchc')), shape(get('apache', 'wchc')));
    assert.deepEqual(shape(get('ours', 'wchp')), shape(get('apache', 'wchp')));
  });

  it('dirs has the same labels; envi starts the same way', () => {
    for (const w of ['ours', 'apache'] as const) assert.match(get(w, 'dirs'), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
    const ours = labels(get('ours', 'envi'), '=');
    const apache = labels(get('apache', 'envi'), '=');
    assert.deepEqual(ours.slice(0, 3), apache.slice(0, 3)); // Environment:, zookeeper.version, host.name
    assert.ok(
      isOrderedSubset(
        ours.filter((k) => apache.includes(k)),
        apache,
      ),
    );
    assert.ok(
      isOrderedSubset(
        ['os.name', 'os.arch', 'os.version', 'user.name', 'user.home', 'user.dir', 'os.memory.free', 'os.memory.max', 'os.memory.total'],
        ours,
      ),
    );
  });

  it('dump: sessions and ephemerals sections have the same shape', () => {
    // ZooKeeper's ExpiryQueue keeps emptied buckets ("0 expire at ...") until their time
    // passes; whether one shows depends on tick boundaries, so they are dropped before comparing.
    const shape = (s: string): string =>
      s
        .slice(0, s.indexOf('Connections dump:'))
        .replace(/^0 expire at .*\n/gm, '')
        .replace(/Sets \(\d+\)/g, 'Sets (B)')
        .replace(/0x[0-9a-f]+/g, '0xSID')
        .replace(/expire at .*:/g, 'expire at DATE:');
    assert.equal(shape(get('ours', 'dump')), shape(get('apache', 'dump')));
    assert.match(get('ours', 'dump'), /\nConnections dump:\nConnections Sets \(\d+\)\/\(\d+\):\n/);
  });
});
