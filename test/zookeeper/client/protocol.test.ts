// Protocol-level client behaviour against a scripted fake server: exact request bytes,
// reconnect priming (auth, SetWatches), FIFO reply matching, pings, read timeout, limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperClient, type ZooKeeperError } from '../../../src/zookeeper/client/index.js';
import { AddWatchMode, Err, EventType, KeeperState, OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { JuteReader } from '../../../src/zookeeper/protocol/jute.js';
import {
  AuthPacket,
  CreateResponse,
  ErrorResponse,
  GetDataRequest,
  GetDataResponse,
  SetWatches,
  SetWatches2,
  type StatT,
} from '../../../src/zookeeper/protocol/records.js';
import { Inbox, nextEvent, waitFor } from '../../helpers/wait.js';
import { FakeZooKeeper } from './fakeServer.js';

const STAT: StatT = {
  czxid: 1,
  mzxid: 1,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 0,
  numChildren: 0,
  pzxid: 1,
};

async function setup(opts: Partial<ConstructorParameters<typeof ZooKeeperClient>[0]> = {}) {
  const server = await new FakeZooKeeper().start();
  const client = new ZooKeeperClient({ connectString: server.connectString, sessionTimeoutMs: 6000, ...opts });
  const connected = client.connect();
  const conn = await server.connections.next(5000, 'a connection');
  await connected;
  return { server, client, conn };
}

async function teardown(server: FakeZooKeeper, client: ZooKeeperClient): Promise<void> {
  // Close without waiting for a closeSession reply from the fake server.
  const closing = client.close();
  await server.stop();
  await closing;
}

test('ConnectRequest carries protocol 0, the requested timeout, a zero session and a 16-byte password', async () => {
  const { server, client, conn } = await setup({ sessionTimeoutMs: 7000, canBeReadOnly: false });
  const req = conn.connectRequest!;
  assert.equal(req.protocolVersion, 0);
  assert.equal(req.timeOut, 7000);
  assert.equal(req.sessionId, 0n);
  assert.equal(req.lastZxidSeen, 0);
  assert.deepEqual(req.passwd, Buffer.alloc(16));
  assert.equal(req.readOnly, false);
  assert.equal(client.sessionId, 0x1234n);
  assert.equal(client.negotiatedTimeoutMs, 7000);
  await teardown(server, client);
});

test('requests get ascending xids and replies resolve them in FIFO order', async () => {
  const { server, client, conn } = await setup();
  const p1 = client.getData('/a');
  const p2 = client.create('/b', 'x');
  const r1 = await conn.nextRequest();
  const r2 = await conn.nextRequest();
  assert.equal(r1.type, OpCode.getData);
  assert.equal(r2.type, OpCode.create);
  assert.equal(r2.xid, r1.xid + 1);
  assert.deepEqual(GetDataRequest.decode(new JuteReader(r1.body)), { path: '/a', watch: false });
  conn.reply(r1.xid, 5, 0, (w) => GetDataResponse.encode(w, { data: Buffer.from('hi'), stat: STAT }));
  conn.reply(r2.xid, 6, Err.NODEEXISTS);
  assert.deepEqual((await p1).data, Buffer.from('hi'));
  await assert.rejects(p2, (e: ZooKeeperError) => e.code === Err.NODEEXISTS && e.codeName === 'NODEEXISTS' && e.path === '/b');
  assert.equal(client.lastZxidSeen, 6);
  await teardown(server, client);
});

test('a reply whose xid does not match the oldest pending request drops the connection', async () => {
  const { server, client, conn } = await setup();
  const p = client.getData('/a');
  const r = await conn.nextRequest();
  const disconnected = nextEvent(client, 'disconnected');
  conn.reply(r.xid + 7, 5, 0);
  await assert.rejects(p, (e: ZooKeeperError) => e.code === Err.CONNECTIONLOSS);
  const [info] = (await disconnected) as [{ reason: string }];
  assert.match(info.reason, /xid/);
  // It reconnects with the same session.
  const conn2 = await server.connections.next(5000, 'the reconnection');
  assert.equal(conn2.connectRequest!.sessionId, 0x1234n);
  assert.deepEqual(conn2.connectRequest!.passwd, Buffer.alloc(16, 7));
  await teardown(server, client);
});

test('a frame longer than frameBytesMax drops the connection', async () => {
  const { server, client, conn } = await setup({ frameBytesMax: 1000 });
  const p = client.getData('/a');
  const r = await conn.nextRequest();
  conn.reply(r.xid, 5, 0, (w) => GetDataResponse.encode(w, { data: Buffer.alloc(2000), stat: STAT }));
  await assert.rejects(p, (e: ZooKeeperError) => e.code === Err.CONNECTIONLOSS);
  await server.connections.next(5000, 'the reconnection');
  // Oversized requests are refused before they are sent, and the connection stays up.
  await assert.rejects(client.create('/big', Buffer.alloc(2000)), (e: ZooKeeperError) => e.code === Err.BADARGUMENTS);
  assert.ok(client.isConnected);
  await teardown(server, client);
});

test('pendingRequestsMax bounds outstanding requests', async () => {
  const { server, client } = await setup({ pendingRequestsMax: 3 });
  const ps = [client.exists('/a'), client.exists('/b'), client.exists('/c')];
  for (const p of ps) p.catch(() => undefined);
  await assert.rejects(client.exists('/d'), (e: ZooKeeperError) => e.code === Err.THROTTLEDOP);
  assert.equal(client.pendingRequests, 3);
  await teardown(server, client);
});

test('pings go out about every timeout/3 and silence beyond 2/3 of the timeout drops the connection', async () => {
  const { server, client, conn } = await setup({ sessionTimeoutMs: 900 });
  const t0 = Date.now();
  const ping = await conn.requests.next(2000, 'a ping');
  assert.equal(ping.type, OpCode.ping);
  assert.equal(ping.xid, -2);
  const dt = ping.at - t0;
  assert.ok(dt >= 200 && dt <= 900, `first ping after ${dt} ms`);
  // Stop answering: the client must give up after ~600 ms of silence.
  conn.autoPing = false;
  const silentSince = Date.now();
  const [info] = (await nextEvent(client, 'disconnected', 3000)) as [{ reason: string }];
  const waited = Date.now() - silentSince;
  assert.match(info.reason, /no data/);
  assert.ok(waited < 1500, `disconnected after ${waited} ms`);
  await teardown(server, client);
});

test('reconnect sends lastZxidSeen, re-sends auth, then SetWatches2 with chroot paths, then queued requests', async () => {
  const server = await new FakeZooKeeper().start();
  const client = new ZooKeeperClient({ connectString: `${server.connectString}/app`, sessionTimeoutMs: 6000 });
  const connected = client.connect();
  const conn = await server.connections.next();
  await connected;

  const auth = client.addAuth('digest', 'u:p');
  const a = await conn.nextRequest();
  assert.deepEqual([a.xid, a.type], [-4, OpCode.auth]);
  assert.deepEqual(AuthPacket.decode(new JuteReader(a.body)), { type: 0, scheme: 'digest', auth: Buffer.from('u:p') });
  conn.reply(-4, 0, 0);
  await auth;

  const events = new Inbox<{ type: number; path: string }>();
  const recursive = new Inbox<{ type: number; path: string }>();
  const w1 = client.getData('/d', events.push);
  const r1 = await conn.nextRequest();
  assert.deepEqual(GetDataRequest.decode(new JuteReader(r1.body)), { path: '/app/d', watch: true });
  conn.reply(r1.xid, 40, 0, (w) => GetDataResponse.encode(w, { data: null, stat: STAT }));
  await w1;
  const w2 = client.exists('/e', events.push);
  const r2 = await conn.nextRequest();
  conn.reply(r2.xid, 41, Err.NONODE);
  assert.equal(await w2, null);
  const w3 = client.addWatch('/', recursive.push, AddWatchMode.PersistentRecursive);
  const r3 = await conn.nextRequest();
  assert.equal(r3.type, OpCode.addWatch);
  conn.reply(r3.xid, 42, 0, (w) => ErrorResponse.encode(w, { err: 0 }));
  await w3;
  assert.equal(client.lastZxidSeen, 42);

  conn.close();
  await nextEvent(client, 'disconnected');
  const queued = client.create('/q', null);
  const conn2 = await server.connections.next(5000, 'the reconnection');
  assert.equal(conn2.connectRequest!.lastZxidSeen, 42);
  assert.equal(conn2.connectRequest!.sessionId, 0x1234n);
  const ra = await conn2.nextRequest();
  assert.deepEqual([ra.xid, ra.type], [-4, OpCode.auth]);
  const rw = await conn2.nextRequest();
  assert.deepEqual([rw.xid, rw.type], [-8, OpCode.setWatches2]);
  assert.deepEqual(SetWatches2.decode(new JuteReader(rw.body)), {
    relativeZxid: 42,
    dataWatches: ['/app/d'],
    existWatches: ['/app/e'],
    childWatches: [],
    persistentWatches: [],
    persistentRecursiveWatches: ['/app'],
  });
  const rq = await conn2.nextRequest();
  assert.equal(rq.type, OpCode.create);
  // Auth replies come out of band; SetWatches and the create are answered in order.
  conn2.reply(-4, 0, 0);
  conn2.reply(-8, 43, 0);
  conn2.reply(rq.xid, 44, 0, (w) => CreateResponse.encode(w, { path: '/app/q' }));
  assert.equal(await queued, '/q');
  // Events arrive with chroot stripped; the recursive watch and the data watch both fire once.
  conn2.reply(-1, 45, 0, (w) => {
    w.int(EventType.NodeDataChanged);
    w.int(KeeperState.SyncConnected);
    w.ustring('/app/d');
  });
  assert.deepEqual(await events.next(), { type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: '/d' });
  assert.deepEqual(await recursive.next(), { type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: '/d' });
  await teardown(server, client);
});

test('without persistent watches the client re-arms with SetWatches (op 101)', async () => {
  const { server, client, conn } = await setup();
  const w = client.getChildren('/c', () => undefined);
  const r = await conn.nextRequest();
  conn.reply(r.xid, 9, 0, (wr) => {
    wr.int(0);
  });
  await w;
  conn.close();
  const conn2 = await server.connections.next();
  const rw = await conn2.nextRequest();
  assert.deepEqual([rw.xid, rw.type], [-8, OpCode.setWatches]);
  assert.deepEqual(SetWatches.decode(new JuteReader(rw.body)), {
    relativeZxid: 9,
    dataWatches: [],
    existWatches: [],
    childWatches: ['/c'],
  });
  await teardown(server, client);
});

test('timeOut <= 0 in the ConnectResponse means Expired: everything fails, watchers hear it', async () => {
  const { server, client, conn } = await setup();
  const events = new Inbox<{ type: number; state: number; path: string }>();
  const w = client.exists('/x', events.push);
  const r = await conn.nextRequest();
  conn.reply(r.xid, 3, Err.NONODE);
  await w;
  server.onConnect = () => ({ timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16) });
  const disconnected = nextEvent(client, 'disconnected');
  const expired = nextEvent(client, 'expired');
  conn.close();
  await disconnected;
  const queued = client.getData('/y');
  await expired;
  assert.equal(client.state, 'expired');
  await assert.rejects(queued, (e: ZooKeeperError) => e.code === Err.SESSIONEXPIRED);
  await assert.rejects(client.getData('/z'), (e: ZooKeeperError) => e.code === Err.SESSIONEXPIRED);
  assert.deepEqual(await events.next(), { type: EventType.None, state: KeeperState.Expired, path: '/x' });
  // Asked for, the client starts a brand new session.
  server.onConnect = (req) => ({ timeOut: req.timeOut, sessionId: 0x5678n });
  const info = await client.connect();
  assert.equal(info.newSession, true);
  assert.equal(info.sessionId, 0x5678n);
  const last = await waitFor(async () => {
    const c = await server.connections.next();
    return c.connectRequest!.sessionId === 0n ? c : undefined;
  });
  assert.deepEqual(last.connectRequest!.passwd, Buffer.alloc(16));
  await teardown(server, client);
});

test('AUTHFAILED puts the client in the terminal authFailed state', async () => {
  const { server, client, conn } = await setup();
  const failed = nextEvent(client, 'authFailed');
  const p = client.addAuth('bogus', 'x');
  await conn.nextRequest();
  conn.reply(-4, 0, Err.AUTHFAILED);
  await assert.rejects(p, (e: ZooKeeperError) => e.code === Err.AUTHFAILED);
  await failed;
  assert.equal(client.state, 'authFailed');
  await assert.rejects(client.getData('/a'), (e: ZooKeeperError) => e.code === Err.AUTHFAILED);
  await teardown(server, client);
});

test('a server that never answers the handshake is abandoned after timeout/hosts, then retried', async () => {
  const server = await new FakeZooKeeper().start();
  server.onConnect = (req, n) => (n === 0 ? 'silent' : { timeOut: req.timeOut, sessionId: 0x99n });
  const client = new ZooKeeperClient({ connectString: server.connectString, sessionTimeoutMs: 600 });
  const t0 = Date.now();
  const info = await client.connect({ timeoutMs: 5000 });
  assert.equal(info.sessionId, 0x99n);
  assert.ok(Date.now() - t0 >= 500, 'waited for the connect timeout');
  await teardown(server, client);
});

test('connect({timeoutMs}) rejects with CONNECTIONLOSS when no server answers', async () => {
  const server = await new FakeZooKeeper().start();
  server.onConnect = () => 'close';
  const client = new ZooKeeperClient({ connectString: server.connectString, sessionTimeoutMs: 1000 });
  await assert.rejects(client.connect({ timeoutMs: 300 }), (e: ZooKeeperError) => e.code === Err.CONNECTIONLOSS);
  await client.close();
  await server.stop();
  assert.equal(client.state, 'closed');
});

test('close() sends closeSession and fails later calls with SESSIONEXPIRED', async () => {
  const { server, client, conn } = await setup();
  const closing = client.close();
  const r = await conn.nextRequest();
  assert.equal(r.type, OpCode.closeSession);
  conn.reply(r.xid, 10, 0);
  await closing;
  assert.equal(client.state, 'closed');
  await assert.rejects(client.exists('/a'), (e: ZooKeeperError) => e.code === Err.SESSIONEXPIRED);
  await client.close();
  await server.stop();
});
