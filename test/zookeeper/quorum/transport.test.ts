// The quorum codec (every Msg variant, malformed input) and the TCP peer transport on loopback:
// full mesh on both ports, FIFO under load with large proposals, restarts, cut/heal, frame and
// output limits, and hostile hellos.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import {
  decodeHello,
  decodeMsg,
  encodeHello,
  encodeMsg,
  MSG_TABLE,
  QUORUM_PROTOCOL_VERSION,
  QuorumCodecError,
  HELLO_BYTES,
  type Channel,
} from '../../../src/zookeeper/quorum/codec.js';
import { PeerTransport, type PeerAddress, type PeerTransportOptions } from '../../../src/zookeeper/quorum/transport.js';
import { makeZxid, type Msg } from '../../../src/zookeeper/quorum/types.js';
import { FrameDecoder } from '../../../src/zookeeper/protocol/framing.js';
import { freePort, waitFor } from '../../helpers/net.js';

const B = (s: string): Buffer => Buffer.from(s);

const SAMPLES: Msg[] = [
  { t: 'vote', state: 'looking', vote: { leader: 3, zxid: makeZxid(2, 17), epoch: 2 }, round: 5 },
  { t: 'vote', state: 'observing', vote: { leader: 1, zxid: -1, epoch: 0 }, round: Number.MAX_SAFE_INTEGER },
  { t: 'vote', state: 'leading', vote: { leader: 2, zxid: 5, epoch: 1 }, round: 3, config: { version: makeZxid(1, 4), data: B('cfg') } },
  { t: 'learnerinfo', acceptedEpoch: 7, observer: false },
  { t: 'learnerinfo', acceptedEpoch: 0, observer: true },
  { t: 'leaderinfo', epoch: 0xffff },
  { t: 'ackepoch', currentEpoch: 6, lastZxid: -1 },
  { t: 'diff', zxid: makeZxid(3, 0) },
  { t: 'trunc', zxid: makeZxid(0x7fff, 0xffffffff) },
  { t: 'snap', zxid: 42, data: B('snapshot bytes') },
  { t: 'snap', zxid: 43 },
  { t: 'snap', zxid: 44, data: Buffer.alloc(0) },
  { t: 'proposal', txn: { zxid: makeZxid(1, 1), data: B('txn') } },
  { t: 'proposal', txn: { zxid: 0, data: Buffer.alloc(0) } },
  { t: 'commit', zxid: makeZxid(1, 1) },
  { t: 'inform', txn: { zxid: makeZxid(5, 9), data: Buffer.alloc(3000, 7) } },
  { t: 'newleader', zxid: makeZxid(4, 0) },
  { t: 'ack', zxid: 0 },
  { t: 'uptodate', zxid: 99 },
  { t: 'ping' },
  { t: 'request', data: B('create /x') },
  { t: 'sync', id: 123456789012 },
  { t: 'host', data: B('touch') },
];

test('codec: every Msg variant round-trips with its type byte', () => {
  const covered = new Set(SAMPLES.map((m) => m.t));
  for (const t of Object.keys(MSG_TABLE)) assert.ok(covered.has(t as Msg['t']), `no sample for '${t}'`);
  for (const m of SAMPLES) {
    const enc = encodeMsg(m);
    assert.equal(enc[0], MSG_TABLE[m.t][0], m.t);
    const dec = decodeMsg(enc);
    assert.deepEqual(dec, m);
    assert.deepEqual(encodeMsg(dec), enc);
  }
  // Plain Uint8Array payloads encode like Buffers; decoded payloads are copies, not views.
  const u8 = new Uint8Array([1, 2, 3]);
  const enc = encodeMsg({ t: 'proposal', txn: { zxid: 5, data: u8 } });
  assert.deepEqual(enc, encodeMsg({ t: 'proposal', txn: { zxid: 5, data: Buffer.from(u8) } }));
  const dec = decodeMsg(enc) as Extract<Msg, { t: 'proposal' }>;
  enc.fill(0);
  assert.deepEqual([...dec.txn.data], [1, 2, 3]);
  assert.ok(!('data' in decodeMsg(encodeMsg({ t: 'snap', zxid: 1 }))), 'absent snapshot stays absent');
  // Type bytes are unique.
  const codes = Object.values(MSG_TABLE).map(([c]) => c);
  assert.equal(new Set(codes).size, codes.length);
});

test('codec: malformed input is a QuorumCodecError', () => {
  const bad = (buf: Buffer, what: string, re?: RegExp): void => {
    assert.throws(
      () => decodeMsg(buf),
      (e: unknown) => e instanceof QuorumCodecError && (!re || re.test(e.message)),
      what,
    );
  };
  bad(Buffer.alloc(0), 'empty', /empty/);
  for (const code of [0, 6, 99, 255]) bad(Buffer.from([code, 0, 0, 0, 0]), `type ${code}`, /unknown quorum message type byte/);
  for (const m of SAMPLES) {
    const enc = encodeMsg(m);
    for (let n = 1; n < enc.length; n++) bad(enc.subarray(0, n), `${m.t} truncated to ${n}`, /malformed|truncated/);
    bad(Buffer.concat([enc, Buffer.from([0])]), `${m.t} + trailing byte`, /trailing/);
  }
  const vote = encodeMsg(SAMPLES[0]!);
  vote.writeInt32BE(7, 1);
  bad(vote, 'unknown peer state', /peer state 7/);
  const nullData = Buffer.from([MSG_TABLE.proposal[0], 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
  bad(nullData, 'null txn data', /null payload/);
  const negLen = Buffer.from([MSG_TABLE.request[0], 0xff, 0xff, 0xff, 0xfb]);
  bad(negLen, 'negative length', /negative/);
  const huge = Buffer.from([MSG_TABLE.request[0], 0x7f, 0xff, 0xff, 0xff, 1, 2]);
  bad(huge, 'length beyond the frame', /truncated/);

  const hello = { version: QUORUM_PROTOCOL_VERSION, peerId: 3, channel: 'election' as Channel };
  const h = encodeHello(hello);
  assert.equal(h.length, HELLO_BYTES);
  assert.deepEqual(decodeHello(h), hello);
  const badMagic = Buffer.from(h);
  badMagic[0] = 0;
  assert.throws(() => decodeHello(badMagic), /magic/);
  const badChannel = Buffer.from(h);
  badChannel.writeInt32BE(5, 16);
  assert.throws(() => decodeHello(badChannel), /channel/);
  assert.throws(() => decodeHello(h.subarray(0, 19)), /hello is 19 bytes/);
});

// ---- transport harness

interface LogLine {
  level: number;
  msg: string;
  peer?: number;
  [k: string]: unknown;
}

interface Node {
  id: number;
  t: PeerTransport;
  got: { from: number; msg: Msg }[];
  disconnects: number[];
  /** onConnected calls, as `channel:peer`. */
  connects: string[];
  logs: LogLine[];
}

async function addresses(ids: number[]): Promise<PeerAddress[]> {
  const ports = new Set<number>();
  while (ports.size < 2 * ids.length) ports.add(await freePort());
  const p = [...ports];
  return ids.map((id, i) => ({ id, host: '127.0.0.1', quorumPort: p[2 * i]!, electionPort: p[2 * i + 1]! }));
}

interface NodeSpec {
  id: number;
  /** Which members this node knows (default: all of them). */
  peers?: (all: PeerAddress[]) => PeerAddress[];
  over?: Partial<PeerTransportOptions>;
}

/**
 * Starts the nodes on fresh free ports. A free port can be taken by another process between
 * freePort() and listen(); then everything started is closed and it tries again on new ports.
 */
async function cluster(ids: number[], specs: NodeSpec[] = ids.map((id) => ({ id }))): Promise<{ addrs: PeerAddress[]; nodes: Node[] }> {
  for (let attempt = 1; ; attempt++) {
    const addrs = await addresses(ids);
    const nodes: Node[] = [];
    try {
      for (const s of specs) nodes.push(await startNode(s.id, s.peers ? s.peers(addrs) : addrs, s.over));
      return { addrs, nodes };
    } catch (e) {
      await closeAll(nodes);
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

async function startNode(id: number, peers: PeerAddress[], over: Partial<PeerTransportOptions> = {}): Promise<Node> {
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const node: Node = { id, t: undefined as unknown as PeerTransport, got: [], disconnects: [], connects: [], logs };
  node.t = new PeerTransport({
    myId: id,
    peers,
    frameBytesMax: 1 << 20,
    outputBytesMax: 8 << 20,
    reconnectMs: 30,
    handshakeTimeoutMs: 2000,
    log,
    onMessage: (from, msg) => void node.got.push({ from, msg }),
    onDisconnected: (peer) => void node.disconnects.push(peer),
    onConnected: (peer, channel) => void node.connects.push(`${channel}:${peer}`),
    ...over,
  });
  await node.t.start();
  return node;
}

function meshUp(nodes: Node[], ids: number[] = nodes.map((n) => n.id)): boolean {
  return nodes.every((n) => ids.every((p) => p === n.id || (n.t.isConnected(p, 'quorum') && n.t.isConnected(p, 'election'))));
}

async function waitMesh(nodes: Node[], ids?: number[]): Promise<void> {
  await waitFor(
    () => meshUp(nodes, ids),
    5000,
    () => 'full mesh',
  );
}

function count(xs: number[], v: number): number {
  return xs.filter((x) => x === v).length;
}

function warned(n: Node, re: RegExp, peer: number): boolean {
  return n.logs.some((l) => l.level >= 40 && re.test(l.msg) && l.peer === peer);
}

/** A raw TCP client standing in for a peer (or for something hostile). */
class Raw {
  readonly received: Buffer[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => this.received.push(d));
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static connect(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new Raw(s));
      });
    });
  }

  /** Connects and says hello as `peerId`; resolves once the transport answered with its hello. */
  static async peer(port: number, peerId: number, channel: Channel): Promise<Raw> {
    const r = await Raw.connect(port);
    r.socket.write(frame(encodeHello({ version: QUORUM_PROTOCOL_VERSION, peerId, channel })));
    await waitFor(
      () => r.frames().length >= 1,
      3000,
      () => `hello reply to raw peer ${peerId}`,
    );
    return r;
  }

  frames(): Buffer[] {
    const d = new FrameDecoder(64 << 20);
    for (const c of this.received) d.push(c);
    const out: Buffer[] = [];
    for (let f = d.next(); f; f = d.next()) out.push(f);
    return out;
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(
      () => this.closed,
      3000,
      () => `${what}: connection closed by the transport`,
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

async function closeAll(nodes: Node[], raws: Raw[] = []): Promise<void> {
  for (const r of raws) r.destroy();
  await Promise.all(nodes.map((n) => n.t.close()));
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function assertNoErrors(nodes: Node[]): void {
  for (const n of nodes) {
    const errs = n.logs.filter((l) => l.level >= 50);
    assert.deepEqual(errs, [], `node ${n.id} logged errors`);
  }
}

// ---- transport tests

/** Node 2 does not know the raw peer 9 (only node 1 does). */
const knownTo12 = (all: PeerAddress[]): PeerAddress[] => all.filter((a) => a.id !== 9);

test('transport: full mesh on both ports, messages both ways, FIFO with large proposals', async () => {
  const { nodes } = await cluster([1, 2, 3]);
  try {
    await waitMesh(nodes);
    // Every node to every other, on both port kinds.
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        a.t.send(b.id, { t: 'ping' });
        a.t.send(b.id, { t: 'vote', state: 'looking', vote: { leader: a.id, zxid: 0, epoch: 0 }, round: 1 });
      }
    }
    await waitFor(
      () => nodes.every((n) => n.got.length === 4),
      3000,
      () => 'one ping and one vote from each peer',
    );
    for (const n of nodes) {
      for (const p of nodes) {
        if (p === n) continue;
        assert.equal(n.got.filter((g) => g.from === p.id && g.msg.t === 'ping').length, 1);
        assert.equal(n.got.filter((g) => g.from === p.id && g.msg.t === 'vote').length, 1);
      }
      n.got.length = 0;
    }

    // Load: 3 -> 1 (dialer to acceptor) and 1 -> 3 (acceptor to dialer) on the quorum port,
    // 2 <-> 1 votes on the election port, all at once, in batches across event-loop turns.
    const N = 3000;
    const BIG = 300 * 1024;
    const quorumMsg = (i: number): Msg =>
      i % 300 === 0 ? { t: 'proposal', txn: { zxid: i, data: Buffer.alloc(BIG, i & 0xff) } } : { t: 'commit', zxid: i };
    const voteMsg = (i: number, from: number): Msg => ({
      t: 'vote',
      state: 'looking',
      vote: { leader: from, zxid: i, epoch: 1 },
      round: i,
    });
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    for (let i = 0; i < N; i++) {
      n3.t.send(1, quorumMsg(i));
      n1.t.send(3, quorumMsg(i));
      n2.t.send(1, voteMsg(i, 2));
      n1.t.send(2, voteMsg(i, 1));
      if (i % 250 === 249) await turn();
    }
    await waitFor(
      () => n1.got.length === 2 * N && n3.got.length === N && n2.got.length === N,
      10_000,
      () => `all messages (${n1.got.length}, ${n2.got.length}, ${n3.got.length})`,
    );
    const check = (n: Node, from: number, kind: 'quorum' | 'vote'): void => {
      const seq = n.got.filter((g) => g.from === from).map((g) => g.msg);
      assert.equal(seq.length, N);
      seq.forEach((m, i) => {
        if (kind === 'vote') {
          assert.ok(m.t === 'vote' && m.round === i && m.vote.leader === from, `vote ${i} from ${from}`);
        } else if (i % 300 === 0) {
          assert.ok(m.t === 'proposal' && m.txn.zxid === i && m.txn.data.length === BIG, `proposal ${i}`);
          if (m.t === 'proposal')
            assert.ok(
              m.txn.data.every((b) => b === (i & 0xff)),
              `proposal ${i} bytes`,
            );
        } else {
          assert.ok(m.t === 'commit' && m.zxid === i, `commit ${i} from ${from} arrived as ${JSON.stringify(m)}`);
        }
      });
    };
    check(n1, 3, 'quorum');
    check(n3, 1, 'quorum');
    check(n1, 2, 'vote');
    check(n2, 1, 'vote');
    for (const n of nodes) assert.deepEqual(n.disconnects, []);
    assertNoErrors(nodes);
  } finally {
    await closeAll(nodes);
  }
});

test('transport: a restarted peer is reconnected; the others see one disconnect', async () => {
  const { addrs, nodes } = await cluster([1, 2, 3]);
  try {
    await waitMesh(nodes);
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    await n2.t.close();
    assert.deepEqual(n2.disconnects, [], 'closing a transport does not report its own links');
    await waitFor(
      () => count(n1.disconnects, 2) === 1 && count(n3.disconnects, 2) === 1,
      3000,
      () => 'disconnect of 2 seen by 1 and 3',
    );
    // Sends to a peer that is down are dropped, not queued.
    n1.t.send(2, { t: 'commit', zxid: 1 });
    assert.equal(n1.t.stats.dropped, 1);

    const before1 = n1.connects.length;
    const n2b = await startNode(2, addrs);
    nodes[1] = n2b;
    await waitMesh(nodes);
    // Both ends hear of each link that came up (a core re-sends what the down link dropped).
    assert.deepEqual(n1.connects.slice(before1).sort(), ['election:2', 'quorum:2']);
    assert.deepEqual([...n2b.connects].sort(), ['election:1', 'election:3', 'quorum:1', 'quorum:3']);
    for (const a of nodes) for (const b of nodes) if (a !== b) a.t.send(b.id, { t: 'ack', zxid: a.id * 10 + b.id });
    await waitFor(
      () => nodes.every((n) => n.got.length === 2),
      3000,
      () => 'acks after restart',
    );
    assert.deepEqual(n1.disconnects, [2]);
    assert.deepEqual(n3.disconnects, [2]);
    assert.deepEqual(n2b.disconnects, []);
    assertNoErrors(nodes);
  } finally {
    await closeAll(nodes);
  }
});

test('transport: cut and heal, one peer and all peers', async () => {
  const { nodes } = await cluster([1, 2, 3]);
  try {
    await waitMesh(nodes);
    const [n1, n2, n3] = nodes as [Node, Node, Node];

    // Acceptor side cuts: 3 keeps dialing and is refused, which is not a disconnect.
    n1.t.cut(3);
    assert.ok(!n1.t.isConnected(3, 'quorum') && !n1.t.isConnected(3, 'election'));
    assert.deepEqual(n1.disconnects, [3], 'cut reports the quorum link once, election link never');
    await waitFor(
      () => count(n3.disconnects, 1) === 1,
      3000,
      () => '3 sees the cut',
    );
    const refusedBefore = n1.t.stats.rejected;
    await waitFor(
      () => n1.t.stats.rejected >= refusedBefore + 4,
      3000,
      () => 'redials refused while cut',
    );
    assert.ok(!n3.t.isConnected(1));
    n3.t.send(1, { t: 'commit', zxid: 777 });
    assert.deepEqual(n1.disconnects, [3]);
    assert.deepEqual(n3.disconnects, [1]);
    n1.t.heal(3);
    await waitMesh(nodes);
    n3.t.send(1, { t: 'commit', zxid: 778 });
    await waitFor(
      () => n1.got.some((g) => g.msg.t === 'commit' && g.msg.zxid === 778),
      3000,
      () => 'message after heal',
    );
    assert.ok(!n1.got.some((g) => g.msg.t === 'commit' && g.msg.zxid === 777), 'sent while cut: dropped');

    // Dialer side cuts: it stops dialing; heal dials at once.
    n3.t.cut(1);
    await waitFor(
      () => count(n1.disconnects, 3) === 2 && count(n3.disconnects, 1) === 2,
      3000,
      () => 'dialer-side cut seen by both',
    );
    n3.t.heal(1);
    await waitMesh(nodes);

    // cutAll isolates a node from everyone; healAll rejoins it.
    n2.t.cutAll();
    assert.deepEqual([...n2.disconnects].sort(), [1, 3]);
    await waitFor(
      () => count(n1.disconnects, 2) === 1 && count(n3.disconnects, 2) === 1,
      3000,
      () => 'isolation seen by 1 and 3',
    );
    assert.ok(meshUp([n1, n3], [1, 3]), '1 and 3 stay connected');
    n2.t.healAll();
    await waitMesh(nodes);
    n2.t.send(1, { t: 'ping' });
    n2.t.send(3, { t: 'ping' });
    await waitFor(
      () => n1.got.some((g) => g.from === 2) && n3.got.some((g) => g.from === 2),
      3000,
      () => 'pings after healAll',
    );
    assert.deepEqual([...n2.disconnects].sort(), [1, 3]);
    assert.equal(n1.disconnects.length, 3);
    assert.equal(n3.disconnects.length, 3);
    assertNoErrors(nodes);
  } finally {
    await closeAll(nodes);
  }
});

test('transport: an oversize frame closes only that connection', async () => {
  const max = 64 * 1024;
  const over = { frameBytesMax: max, outputBytesMax: 4 * max };
  const { addrs, nodes } = await cluster(
    [1, 2, 9],
    [
      { id: 1, over },
      { id: 2, over, peers: knownTo12 },
    ],
  );
  const [n1, n2] = nodes as [Node, Node];
  const raws: Raw[] = [];
  try {
    await waitMesh([n1, n2]);
    const q = await Raw.peer(addrs[0]!.quorumPort, 9, 'quorum');
    const e = await Raw.peer(addrs[0]!.electionPort, 9, 'election');
    raws.push(q, e);
    assert.ok(n1.t.isConnected(9, 'quorum') && n1.t.isConnected(9, 'election'));
    // A valid message first, then a length prefix over the limit.
    q.socket.write(frame(encodeMsg({ t: 'ack', zxid: 5 })));
    const head = Buffer.alloc(4);
    head.writeInt32BE(max + 1);
    q.socket.write(Buffer.concat([head, Buffer.alloc(100)]));
    await q.waitClosed('oversize frame');
    assert.deepEqual(n1.got, [{ from: 9, msg: { t: 'ack', zxid: 5 } }]);
    assert.deepEqual(n1.disconnects, [9]);
    assert.ok(warned(n1, /frameBytesMax/, 9), 'warning names the peer');
    assert.ok(!e.closed && n1.t.isConnected(9, 'election'), 'the election link to the same peer survives');
    assert.ok(meshUp([n1, n2]), 'other peers unaffected');

    // The sender refuses to send a frame over its own limit: it closes that link (the core
    // learns through onDisconnected) and the election link stays.
    n1.t.send(2, { t: 'proposal', txn: { zxid: 1, data: Buffer.alloc(max + 1) } });
    assert.deepEqual(n1.disconnects, [9, 2]);
    assert.ok(n1.t.isConnected(2, 'election'));
    await waitFor(
      () => n2.disconnects.length === 1,
      3000,
      () => '2 sees the link close',
    );
    await waitMesh([n1, n2]);
    n1.t.send(2, { t: 'commit', zxid: 2 });
    await waitFor(
      () => n2.got.length === 1,
      3000,
      () => 'message after redial',
    );
  } finally {
    await closeAll([n1, n2], raws);
  }
});

test('transport: a peer that does not read is closed as too slow', async () => {
  const over = { frameBytesMax: 256 * 1024, outputBytesMax: 512 * 1024 };
  const { addrs, nodes } = await cluster(
    [1, 2, 9],
    [
      { id: 1, over },
      { id: 2, peers: knownTo12 },
    ],
  );
  const [n1, n2] = nodes as [Node, Node];
  const raws: Raw[] = [];
  try {
    await waitMesh([n1, n2]);
    const q = await Raw.peer(addrs[0]!.quorumPort, 9, 'quorum');
    raws.push(q);
    q.socket.pause();
    const big: Msg = { t: 'proposal', txn: { zxid: 1, data: Buffer.alloc(200 * 1024, 1) } };
    let sent = 0;
    while (n1.disconnects.length === 0 && sent < 2000) {
      n1.t.send(9, big);
      sent++;
      await turn();
    }
    assert.deepEqual(n1.disconnects, [9], `not closed after ${sent} proposals`);
    assert.equal(n1.t.stats.tooSlow, 1);
    assert.ok(warned(n1, /not reading/, 9));
    assert.ok(!n1.t.isConnected(9));
    q.socket.resume();
    await q.waitClosed('too slow');
    assert.ok(meshUp([n1, n2]));
    n1.t.send(2, { t: 'ping' });
    await waitFor(
      () => n2.got.length === 1,
      3000,
      () => 'ping to a reading peer',
    );
  } finally {
    await closeAll([n1, n2], raws);
  }
});

test('transport: garbage and unknown hellos are refused without harm', async () => {
  const { addrs, nodes } = await cluster(
    [1, 2, 9],
    [
      { id: 1, over: { handshakeTimeoutMs: 200 } },
      { id: 2, peers: knownTo12 },
    ],
  );
  const [n1, n2] = nodes as [Node, Node];
  const raws: Raw[] = [];
  try {
    await waitMesh([n1, n2]);
    const port = addrs[0]!.quorumPort;
    const hello = (peerId: number, channel: Channel = 'quorum', version = QUORUM_PROTOCOL_VERSION): Buffer =>
      frame(encodeHello({ version, peerId, channel }));
    const badMagic = hello(9);
    badMagic.writeInt32BE(0x12345678, 4);
    const cases: [string, Buffer, number][] = [
      ['http request', B('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), port],
      ['unknown id', hello(42), port],
      ['my own id', hello(1), port],
      ['protocol version', hello(9, 'quorum', 99), port],
      ['wrong port', hello(9, 'election'), port],
      ['bad magic', badMagic, port],
      ['lower id asking to be dialed (while linked)', hello(1), addrs[1]!.quorumPort],
      ['zero length', Buffer.alloc(4), addrs[0]!.electionPort],
    ];
    const rejected1 = n1.t.stats.rejected;
    for (const [what, bytes, p] of cases) {
      const r = await Raw.connect(p);
      raws.push(r);
      r.socket.write(bytes);
      await r.waitClosed(what);
      assert.deepEqual(r.received, [], `${what}: no hello reply`);
    }
    assert.equal(n1.t.stats.rejected - rejected1, cases.length - 1);
    assert.equal(n2.t.stats.rejected, 0);
    assert.equal(n2.t.stats.dialRequests, 1, 'a hello from a lower id asks to be dialed; the link to it is up already');

    // A hello that never completes is dropped at the handshake deadline.
    const slow = await Raw.connect(port);
    raws.push(slow);
    slow.socket.write(Buffer.from([0, 0, 0]));
    await slow.waitClosed('incomplete hello');

    // A valid hello followed by a message of unknown type: the link comes up, then is closed.
    const bad = await Raw.peer(port, 9, 'quorum');
    raws.push(bad);
    assert.equal(bad.frames().length, 1);
    const { host, quorumPort, electionPort } = addrs[0]!;
    assert.deepEqual(decodeHello(bad.frames()[0]!), {
      version: QUORUM_PROTOCOL_VERSION,
      peerId: 1,
      channel: 'quorum',
      address: { host, quorumPort, electionPort },
    });
    bad.socket.write(frame(Buffer.from([200, 1, 2, 3])));
    await bad.waitClosed('unknown message type');
    assert.deepEqual(n1.disconnects, [9]);
    assert.ok(warned(n1, /malformed/, 9));
    // A vote on the quorum port is refused too.
    const wrong = await Raw.peer(port, 9, 'quorum');
    raws.push(wrong);
    wrong.socket.write(frame(encodeMsg({ t: 'vote', state: 'looking', vote: { leader: 9, zxid: 0, epoch: 0 }, round: 1 })));
    await wrong.waitClosed('vote on the quorum port');
    assert.deepEqual(n1.disconnects, [9, 9]);
    assert.deepEqual(n1.got, []);

    // The real peers never noticed.
    assert.ok(meshUp([n1, n2]));
    assert.deepEqual(n2.disconnects, []);
    n2.t.send(1, { t: 'ping' });
    await waitFor(
      () => n1.got.length === 1,
      3000,
      () => 'ping after the garbage',
    );
    assertNoErrors([n1, n2]);
  } finally {
    await closeAll([n1, n2], raws);
  }
});

test('transport: a peer that starts after a higher one asks it to dial at once, not at its next redial', async () => {
  // Node 3 starts alone: its dials to 1 and 2 fail, and it would not try again for a minute.
  const slow = { redialFirstMs: 60_000, reconnectMs: 60_000 };
  const addrs = await addresses([1, 2, 3]);
  const nodes: Node[] = [];
  try {
    const n3 = await startNode(3, addrs, slow);
    nodes.push(n3);
    await waitFor(
      () => n3.t.stats.dialFailures === 4,
      5000,
      () => 'the first dials of node 3 fail',
    );
    // Nodes 1 and 2 start: their hellos to node 3 ask it to dial them now.
    nodes.push(await startNode(1, addrs, slow), await startNode(2, addrs, slow));
    await waitMesh(nodes);
    assert.equal(n3.t.stats.dialFailures, 4, 'no redial was needed');
    assert.equal(n3.t.stats.dialRequests, 4);
    assertNoErrors(nodes);
    for (const n of nodes)
      assert.deepEqual(
        n.logs.filter((l) => l.level >= 40),
        [],
        `node ${n.id} warned`,
      );
  } finally {
    await closeAll(nodes);
  }
});

test('transport: a new connection from a peer replaces its old one', async () => {
  const { addrs, nodes } = await cluster([1, 9], [{ id: 1 }]);
  const [n1] = nodes as [Node];
  const raws: Raw[] = [];
  try {
    const a = await Raw.peer(addrs[0]!.quorumPort, 9, 'quorum');
    raws.push(a);
    a.socket.write(frame(encodeMsg({ t: 'commit', zxid: 1 })));
    await waitFor(
      () => n1.got.length === 1,
      3000,
      () => 'message on the first connection',
    );
    const b = await Raw.peer(addrs[0]!.quorumPort, 9, 'quorum');
    raws.push(b);
    await a.waitClosed('replaced connection');
    assert.deepEqual(n1.disconnects, [9]);
    n1.t.send(9, { t: 'commit', zxid: 2 });
    await waitFor(
      () => b.frames().length === 2,
      3000,
      () => 'message on the new connection',
    );
    assert.deepEqual(decodeMsg(b.frames()[1]!), { t: 'commit', zxid: 2 });
    // An unencodable message throws to the caller and leaves the stream intact.
    assert.throws(() => n1.t.send(9, { t: 'bogus' } as unknown as Msg), QuorumCodecError);
    n1.t.send(9, { t: 'commit', zxid: 3 });
    await waitFor(
      () => b.frames().length === 3,
      3000,
      () => 'message after the unencodable one',
    );
    assert.deepEqual(decodeMsg(b.frames()[2]!), { t: 'commit', zxid: 3 });
  } finally {
    await closeAll([n1], raws);
  }
});

test('transport: start fails cleanly when a port is taken', async () => {
  const addrs = await addresses([1, 2]);
  const blocker = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(addrs[0]!.electionPort, '127.0.0.1', () => resolve());
  });
  try {
    const t = new PeerTransport({
      myId: 1,
      peers: addrs,
      frameBytesMax: 1024,
      outputBytesMax: 1024,
      reconnectMs: 50,
      log: pino({ level: 'silent' }),
      onMessage: () => {},
      onDisconnected: () => {},
    });
    await assert.rejects(t.start(), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
    // Its quorum listener was closed again: the port can be bound.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(addrs[0]!.quorumPort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await t.close();
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
  assert.throws(
    () =>
      new PeerTransport({
        myId: 5,
        peers: addrs,
        frameBytesMax: 10,
        outputBytesMax: 10,
        reconnectMs: 1,
        log: pino({ level: 'silent' }),
        onMessage: () => {},
        onDisconnected: () => {},
      }),
    /my id 5/,
  );
});

test('transport: members missing from a configuration are learnt from their hellos and from addPeer', async () => {
  // 3 knows nobody, 2 knows 3, 1 knows everyone; started in that order, so every hello that
  // reaches a member comes from one it does not know: a higher id dialing it, or a lower one
  // asking to be dialed (then it dials the address the hello gave).
  const { nodes } = await cluster(
    [1, 2, 3],
    [{ id: 3, peers: (all) => all.filter((a) => a.id === 3) }, { id: 2, peers: (all) => all.filter((a) => a.id >= 2) }, { id: 1 }],
  );
  const later: Node[] = [];
  try {
    await waitMesh(nodes);
    nodes[0]!.t.send(1, { t: 'ping' });
    await waitFor(
      () => nodes[2]!.got.some((g) => g.from === 3 && g.msg.t === 'ping'),
      5000,
      () => 'a message from a learnt peer',
    );
    // addPeer: 4 is started knowing only itself; 1 learns of it from a configuration and asks it to dial.
    const [a4] = await addresses([4]);
    later.push(await startNode(4, [a4!]));
    assert.equal(later[0]!.t.isConnected(1), false);
    nodes[2]!.t.addPeer(a4!);
    await waitFor(
      () => nodes[2]!.t.isConnected(4, 'quorum') && nodes[2]!.t.isConnected(4, 'election') && later[0]!.t.isConnected(1),
      5000,
      () => 'links to the added peer',
    );
  } finally {
    await closeAll([...nodes, ...later]);
  }
});
