import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JuteReader, JuteWriter, JuteError } from '../../src/zookeeper/protocol/jute.js';
import { FrameDecoder, FrameTooLargeError } from '../../src/zookeeper/protocol/framing.js';
import { CreateRequest, Stat, ReplyHeader, MultiHeader } from '../../src/zookeeper/protocol/records.js';
import { encodeToBuffer, decodeFromBuffer, record, vector } from '../../src/zookeeper/protocol/schema.js';
import { decodeConnectRequest, encodeConnectResponse } from '../../src/zookeeper/protocol/connect.js';
import { sessionPassword, initialSessionId } from '../../src/zookeeper/server/sessions.js';

test('jute primitives encode big-endian with -1 for null buffers and strings', () => {
  const w = new JuteWriter(4);
  w.int(-2);
  w.longN(0x100000002);
  w.long(-1n);
  w.bool(true);
  w.buffer(null);
  w.buffer(Buffer.from('ab'));
  w.ustring(null);
  w.ustring('é');
  assert.equal(
    w.toBuffer().toString('hex'),
    'fffffffe' + '0000000100000002' + 'ffffffffffffffff' + '01' + 'ffffffff' + '000000026162' + 'ffffffff' + '00000002c3a9',
  );
  const r = new JuteReader(w.toBuffer());
  assert.equal(r.int(), -2);
  assert.equal(r.longN(), 0x100000002);
  assert.equal(r.long(), -1n);
  assert.equal(r.bool(), true);
  assert.equal(r.buffer(), null);
  assert.deepEqual(r.buffer(), Buffer.from('ab'));
  assert.equal(r.ustring(), null);
  assert.equal(r.ustring(), 'é');
  assert.equal(r.remaining, 0);
});

test('negative longs held as numbers round-trip', () => {
  const w = new JuteWriter();
  w.longN(-1);
  w.longN(-5000000000);
  const r = new JuteReader(w.toBuffer());
  assert.equal(r.longN(), -1);
  assert.equal(r.longN(), -5000000000);
});

test('records round-trip through generated codecs in wire order', () => {
  const req = {
    path: '/a/b',
    data: Buffer.from([1, 2, 3]),
    acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
    flags: 3,
  };
  const buf = encodeToBuffer(CreateRequest, req);
  assert.equal(
    buf.toString('hex'),
    '000000042f612f62' + '00000003010203' + '00000001' + '0000001f' + '00000005776f726c64' + '00000006616e796f6e65' + '00000003',
  );
  assert.deepEqual(decodeFromBuffer(CreateRequest, buf), req);
  const stat = {
    czxid: 1,
    mzxid: 2,
    ctime: 3,
    mtime: 4,
    version: 5,
    cversion: -1,
    aversion: 7,
    ephemeralOwner: -0x8000000000000000n,
    dataLength: 9,
    numChildren: 10,
    pzxid: 11,
  };
  const sbuf = encodeToBuffer(Stat, stat);
  assert.equal(sbuf.length, 68);
  assert.deepEqual(decodeFromBuffer(Stat, sbuf), stat);
  assert.equal(encodeToBuffer(ReplyHeader, { xid: -1, zxid: -1, err: 0 }).toString('hex'), 'ffffffffffffffffffffffff00000000');
  assert.equal(encodeToBuffer(MultiHeader, { type: -1, done: true, err: -1 }).toString('hex'), 'ffffffff01ffffffff');
});

test('a codec compiles on first use; methods taken off it before then work too', () => {
  const Inner = record('LazyInner', [['n', 'int']] as const);
  const Outer = record('LazyOuter', [
    ['s', 'ustring'],
    ['xs', vector(Inner)],
  ] as const);
  const { encode, decode } = Outer; // detached before anything was compiled
  const stubs = [Outer.encode, Outer.decode];
  const w = new JuteWriter();
  encode(w, { s: 'a', xs: [{ n: 1 }, { n: 2 }] });
  assert.equal(w.toBuffer().toString('hex'), '0000000161' + '00000002' + '00000001' + '00000002');
  assert.notEqual(Outer.encode, stubs[0], 'the first call put the compiled encoder in place');
  assert.deepEqual(decode(new JuteReader(w.toBuffer())), { s: 'a', xs: [{ n: 1 }, { n: 2 }] });
  assert.deepEqual(decodeFromBuffer(Outer, w.toBuffer()), { s: 'a', xs: [{ n: 1 }, { n: 2 }] });
  assert.equal(Outer.decode.name, 'decode_LazyOuter');
  assert.equal(Inner.decode.name, 'decode_LazyInner', 'nested codecs compile when first reached');
});

test('truncated records and lying vector lengths are rejected, not over-read', () => {
  const buf = encodeToBuffer(CreateRequest, { path: '/x', data: null, acl: [], flags: 0 });
  assert.throws(() => decodeFromBuffer(CreateRequest, buf.subarray(0, buf.length - 1)), JuteError);
  const lying = Buffer.from('000000022f78' + 'ffffffff' + '7fffffff', 'hex');
  assert.throws(() => decodeFromBuffer(CreateRequest, lying), /vector length/);
  const negative = Buffer.from('fffffff0', 'hex');
  assert.throws(() => new JuteReader(negative).ustring(), /negative string length/);
});

test('frame decoder splits, joins and refuses oversized frames before buffering them', () => {
  const d = new FrameDecoder(16);
  d.push(Buffer.from('00000003616263000000', 'hex'));
  assert.deepEqual(d.next(), Buffer.from('abc'));
  assert.equal(d.next(), undefined);
  d.push(Buffer.from('01', 'hex'));
  assert.equal(d.next(), undefined);
  d.push(Buffer.from('7a', 'hex'));
  assert.deepEqual(d.next(), Buffer.from('z'));
  d.push(Buffer.from('00000011', 'hex'));
  assert.throws(() => d.next(), FrameTooLargeError);
  const neg = new FrameDecoder(16);
  neg.push(Buffer.from('ffffffff', 'hex'));
  assert.throws(() => neg.next(), FrameTooLargeError);
});

test('connect request readOnly byte is optional and echoed only when present', () => {
  // protocolVersion, lastZxidSeen, timeOut (30000), sessionId, passwd length 16, passwd
  const base = ['00000000', '0000000000000000', '00007530', '0000000000000000', '00000010', '00'.repeat(16)].join('');
  const without = decodeConnectRequest(new JuteReader(Buffer.from(base, 'hex')));
  assert.equal(without.readOnly, undefined);
  const withByte = decodeConnectRequest(new JuteReader(Buffer.from(`${base}00`, 'hex')));
  assert.equal(withByte.readOnly, false);
  const w = new JuteWriter();
  encodeConnectResponse(w, { protocolVersion: 0, timeOut: 30000, sessionId: 1n, passwd: Buffer.alloc(16), readOnly: undefined });
  assert.equal(w.pos, 36);
  w.reset();
  encodeConnectResponse(w, { protocolVersion: 0, timeOut: 30000, sessionId: 1n, passwd: Buffer.alloc(16), readOnly: false });
  assert.equal(w.pos, 37);
});

test('session passwords match java.util.Random(id ^ 0xB3415C00).nextBytes(16)', () => {
  // Expected values printed by a Java program using java.util.Random on this machine.
  assert.equal(sessionPassword(72057594037927936n).toString('hex'), 'f22acd4a97e69d6d20a49bb638eadb38');
  assert.equal(sessionPassword(-1n).toString('hex'), '20f62cb5648dc2d771471c8a2486a9ee');
  assert.equal(sessionPassword(1234567890123n).toString('hex'), '40b51d0074cd652e16c884a0cf746290');
});

test('session ids carry the server id in the top byte', () => {
  const id = initialSessionId(1_700_000_000_000, 3);
  assert.equal(id >> 56n, 3n);
  assert.notEqual(id & 0xffffffffffffffn, 0n);
});
