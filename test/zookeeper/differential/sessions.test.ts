// Differential: the handshake, session re-attach and expiry answers, closeSession, and requests
// pipelined behind the ConnectRequest, against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, OpCode } from './harness.js';
import { B } from './bodies.js';
import { connectFrame, requestFrame } from '../../helpers/rawClient.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start();
});
after(async () => {
  await pair?.stop();
});

test('handshake with and without the readOnly byte; timeout negotiation; passwords', async () => {
  await pair.check('handshake', async (t) => {
    const c = await t.connect('no readOnly byte');
    await t.begin(c);
    await t.connect('readOnly false', { readOnly: false });
    await t.connect('readOnly true', { readOnly: true });
    await t.connect('timeout below min', { timeOut: 1 });
    await t.connect('timeout 0', { timeOut: 0 });
    await t.connect('timeout negative', { timeOut: -5 });
    await t.connect('timeout above max', { timeOut: 1_000_000 });
    await t.connect('timeout in range', { timeOut: 12_345 });
    await t.connect('protocolVersion 1', { protocolVersion: 1 });
    await t.connect('empty passwd', { passwd: Buffer.alloc(0) });
    await t.connect('null passwd', { passwd: null });
    await t.connect('long passwd', { passwd: Buffer.alloc(40, 7) });
    await t.call(c, 'getEphemerals still works', OpCode.getEphemerals, B.ephemerals('/'));
  });
});

test('reconnect: wrong password, unknown session, closed session get timeOut 0 / sessionId 0', async () => {
  await pair.check('reconnect-refused', async (t) => {
    const c = await t.connect('first');
    await t.begin(c);
    const bad = Buffer.from(c.passwd);
    bad[0] = bad[0]! ^ 0xff;
    const w = await t.connect('wrong password', { sessionId: c.sessionId, passwd: bad });
    await t.closedByServer(w, 'wrong password connection closed');
    const w2 = await t.connect('wrong password with readOnly byte', { sessionId: c.sessionId, passwd: bad, readOnly: false });
    await t.closedByServer(w2, 'closed');
    const w3 = await t.connect('short password', { sessionId: c.sessionId, passwd: c.passwd.subarray(0, 8) });
    await t.closedByServer(w3, 'closed');
    const u = await t.connect('unknown session', { sessionId: c.sessionId + 12345n, passwd: c.passwd });
    await t.closedByServer(u, 'unknown session closed');
    // (Whether `c` survived the wrong-password attempts differs: see the next test.)
    const id = c.sessionId;
    const pw = Buffer.from(c.passwd);
    const again = await t.connect('re-attach with the right password', { sessionId: id, passwd: pw });
    await t.closedByServer(c, 'original connection closed by now');
    await t.close(again, 'closeSession');
    const r = await t.connect('reconnect after close', { sessionId: id, passwd: pw });
    await t.closedByServer(r, 'closed');
    const f = await t.connect('lastZxidSeen in the future', { lastZxidSeen: 2 ** 40 });
    await t.closedByServer(f, 'closed');
  });
});

// A deliberate difference (docs/COMPATIBILITY.md): ZooKeeper closes the connection that holds a
// session as soon as another connection asks for that session id, before it checks the
// password, so anyone who knows a session id can disconnect its owner. We close the old
// connection only once the new one has proved the password.
test('a reconnect with a wrong password: 3.8 drops the owner connection, we keep it', async () => {
  const { apache, ours } = await pair.transcripts('wrong-password-kick', async (t) => {
    const c = await t.connect('owner');
    await t.begin(c);
    const bad = Buffer.from(c.passwd);
    bad[0] = bad[0]! ^ 0xff;
    const w = await t.connect('wrong password', { sessionId: c.sessionId, passwd: bad });
    await t.closedByServer(w, 'refused');
    await t.state(c, 'owner connection');
  });
  assert.deepEqual(apache.at(-1), { label: 'owner connection', state: 'closed' });
  assert.deepEqual(ours.at(-1), { label: 'owner connection', state: 'open' });
});

test('re-attach with a valid session keeps ephemerals and closes the old connection', async () => {
  await pair.check('reattach', async (t) => {
    const c = await t.connect('first');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create ephemeral', OpCode.create, B.create(`${p}/e`, 'x', 1));
    await t.call(c, 'exists watch', OpCode.exists, B.exists(`${p}/w`, true));
    const r = await t.connect('re-attach', { sessionId: c.sessionId, passwd: c.passwd, lastZxidSeen: 1, timeOut: 20_000 });
    await t.closedByServer(c, 'old connection closed');
    await t.call(r, 'getEphemerals after re-attach', OpCode.getEphemerals, B.ephemerals('/'));
    await t.call(r, 'ephemeral still there', OpCode.exists, B.exists(`${p}/e`));
    await t.call(r, 'create w (old watch is gone with the connection)', OpCode.create, B.create(`${p}/w`));
    await t.events(r, 'events on new connection');
    const r2 = await t.connect('re-attach again with readOnly byte', { sessionId: c.sessionId, passwd: c.passwd, readOnly: false });
    await t.closedByServer(r, 'second connection closed');
    await t.close(r2, 'closeSession');
    const o = await t.connect('observer');
    await t.call(o, 'ephemeral gone', OpCode.exists, B.exists(`${p}/e`));
    await t.close(o, 'close observer');
  });
});

test('requests pipelined behind the ConnectRequest are answered after the handshake', async () => {
  await pair.check('pipelined-handshake', async (t) => {
    const c0 = await t.connect('setup');
    await t.begin(c0);
    const p = t.prefix;
    await t.call(c0, 'create prefix', OpCode.create, B.create(p, 'x'));
    await t.close(c0, 'close setup');
    // Connect, auth, getData and a write in one TCP write, without waiting for the response.
    const { RawClient } = await import('../../helpers/rawClient.js');
    const c = await RawClient.open(t.side.server.host, t.side.server.port);
    t.clients.push(c);
    c.sendRaw(
      Buffer.concat([
        connectFrame({ timeOut: 30_000 }),
        requestFrame(-4, OpCode.auth, B.auth('digest', 'u:p')),
        requestFrame(1, OpCode.getData, B.getData(p)),
        requestFrame(2, OpCode.create, B.create(`${p}/e`, '', 1)),
        requestFrame(3, OpCode.getChildren, B.getChildren(p)),
      ]),
    );
    await c.waitUntil(() => c.connectResponse !== undefined, 5_000, 'connect response');
    if (c.connectResponse)
      t.sessions.push({ id: c.connectResponse.sessionId, passwd: Buffer.from(c.connectResponse.passwd!), closed: false, client: c });
    t.note('connect', t.describeConnect(c));
    for (const [label, op] of [
      ['auth', OpCode.auth],
      ['getData', OpCode.getData],
      ['create', OpCode.create],
      ['getChildren', OpCode.getChildren],
    ] as const) {
      const r = await c.nextReply();
      t.note(label, r ? t.describeReply(op, r) : 'none');
    }
    await t.close(c, 'close');
  });
});

test('closeSession: reply, close, ephemerals gone', async () => {
  await pair.check('close-session', async (t) => {
    const c = await t.connect('first');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create ephemeral', OpCode.create, B.create(`${p}/e`, '', 1));
    await t.close(c, 'closeSession');
    const o = await t.connect('observer');
    await t.call(o, 'ephemeral gone', OpCode.exists, B.exists(`${p}/e`));
    await t.call(o, 'prefix stat', OpCode.exists, B.exists(p));
    await t.close(o, 'close observer');
  });
});

// Requests pipelined behind a closeSession race with it in ZooKeeper: they are dropped, or fail
// with a zxid, or (rarely) one is answered before the close, and now and then the closeSession
// itself goes unanswered. We always answer the closeSession and drop what follows (no reply, no
// zxid), one of ZooKeeper's outcomes. Neither server ever applies them.
test('requests pipelined after closeSession are never applied', async () => {
  const { apache, ours } = await pair.transcripts('after-close', async (t) => {
    const c = await t.connect('first');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    c.send(c.xid(), OpCode.closeSession);
    c.send(c.xid(), OpCode.exists, B.exists(p));
    c.send(c.xid(), OpCode.create, B.create(`${p}/after`));
    const r = await c.nextReply();
    t.note('closeSession reply', r ? { xid: r.xid, err: r.err } : 'none');
    await t.closedByServer(c, 'closed after closeSession');
    t.note('replies after the closeSession reply', c.pendingReplies.length);
    t.sessions.find((s) => s.client === c)!.closed = true;
    const o = await t.connect('observer');
    await t.call(o, 'after was not created', OpCode.exists, B.exists(`${p}/after`));
  });
  for (const tr of [apache, ours]) {
    assert.deepEqual(
      tr.find((e) => e.label === 'closed after closeSession'),
      { label: 'closed after closeSession', closedByServer: true },
    );
    assert.equal(tr.find((e) => e.label === 'after was not created')?.err, 'NONODE(-101)');
  }
  // ZooKeeper occasionally closes without even answering the closeSession here; we always answer.
  assert.deepEqual(
    ours.find((e) => e.label === 'closeSession reply'),
    { label: 'closeSession reply', value: { xid: 2, err: 0 } },
  );
  assert.equal(ours.find((e) => e.label === 'replies after the closeSession reply')?.value, 0);
});
