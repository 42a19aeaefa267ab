import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { fetchMntr, mntrReplyBytesMax, parseMntr, parseMntrLines } from '../../../src/genie/monitor/mntr.js';

// A leader's reply as Apache ZooKeeper 3.8 formats it (MonitorCommand: zk_<key>\t<value>).
const APACHE_LEADER = [
  'zk_version\t3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC',
  'zk_server_state\tleader',
  'zk_avg_latency\t0.3333',
  'zk_max_latency\t12',
  'zk_min_latency\t0',
  'zk_outstanding_requests\t0',
  'zk_znode_count\t42',
  'zk_approximate_data_size\t1873',
  'zk_fsync_threshold_exceed_count\t0',
  'zk_learners\t2',
  'zk_synced_followers\t2',
  'zk_synced_non_voting_followers\t0',
  'zk_quorum_size\t3',
  '',
].join('\n');

test('parses the figures the rules use from an Apache-format mntr reply', () => {
  const r = parseMntr(APACHE_LEADER);
  assert.ok(r.ok);
  const f = r.figures;
  assert.equal(f.serverState, 'leader');
  assert.equal(f.avgLatencyMs, 0.3333);
  assert.equal(f.maxLatencyMs, 12);
  assert.equal(f.outstandingRequests, 0);
  assert.equal(f.znodeCount, 42);
  assert.equal(f.approximateDataSize, 1873);
  assert.equal(f.fsyncThresholdExceedCount, 0);
  assert.equal(f.syncedFollowers, 2);
  assert.equal(f.quorumSize, 3);
  assert.equal(f.learners, 2);
  assert.match(f.raw.get('version')!, /^3\.8\.4/);
});

test('a follower without leader-only keys; non-numeric values are left out, not NaN', () => {
  const r = parseMntr('zk_server_state\tfollower\nzk_avg_latency\tabc\nzk_outstanding_requests\t3\n');
  assert.ok(r.ok);
  assert.equal(r.figures.serverState, 'follower');
  assert.equal(r.figures.avgLatencyMs, undefined);
  assert.equal(r.figures.syncedFollowers, undefined);
  assert.equal(r.figures.outstandingRequests, 3);
});

test('not serving, empty and garbage replies are clear errors', () => {
  const ns = parseMntr('This ZooKeeper instance is not currently serving requests\n');
  assert.deepEqual(ns, { ok: false, serving: false, error: 'not currently serving requests' });
  const empty = parseMntr('');
  assert.ok(!empty.ok);
  assert.match(empty.error, /empty mntr reply/);
  const garbage = parseMntr('\x00\x01\x02HTTP/1.1 400 Bad Request\r\n');
  assert.ok(!garbage.ok);
  assert.match(garbage.error, /not an mntr reply/);
  const denied = parseMntr('mntr is not executed because it is not in the whitelist.\n');
  assert.deepEqual(denied, { ok: false, serving: true, error: "mntr is not in the member's 4lw.commands.whitelist" });
  assert.deepEqual([...parseMntrLines('no tabs here\n\tleading tab\nk\tv\n')], [['k', 'v']]);
});

async function serve(reply: (sock: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.once('data', () => reply(sock));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, sockets };
}

test('fetchMntr over TCP: a reply, a refused port, a silent server and an endless reply', async () => {
  const good = await serve((s) => s.end(APACHE_LEADER));
  const silent = await serve(() => undefined);
  const endless = await serve((s) => {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = (): void => {
      while (!s.destroyed && s.write(chunk));
      if (!s.destroyed) s.once('drain', pump);
    };
    pump();
  });
  try {
    const r = await fetchMntr('127.0.0.1', good.port);
    assert.ok(r.ok);
    assert.equal(r.figures.serverState, 'leader');

    const closedPort = await serve(() => undefined);
    await new Promise<void>((res) => closedPort.server.close(() => res()));
    const refused = await fetchMntr('127.0.0.1', closedPort.port);
    assert.ok(!refused.ok);
    assert.match(refused.error, /ECONNREFUSED/);

    const timedOut = await fetchMntr('127.0.0.1', silent.port, 300);
    assert.ok(!timedOut.ok);
    assert.match(timedOut.error, /no mntr reply within 300 ms/);

    const tooLong = await fetchMntr('127.0.0.1', endless.port, 10_000);
    assert.ok(!tooLong.ok);
    assert.match(tooLong.error, new RegExp(`longer than ${mntrReplyBytesMax} bytes`));
  } finally {
    for (const s of [good, silent, endless]) {
      for (const sock of s.sockets) sock.destroy();
      await new Promise<void>((res) => s.server.close(() => res()));
    }
  }
});
