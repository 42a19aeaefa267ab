// Binary encoding of the consensus core's messages (types.ts `Msg`) for the TCP shell
// (transport.ts). Every variant is declared once in MSG_TABLE: a type byte and a jute field
// list; encoders and decoders are compiled from it by protocol/schema.ts. A message body is
// the type byte followed by the fields (the transport adds the 4-byte length prefix).
//
// Type bytes follow Apache ZooKeeper's Leader packet types where a variant corresponds
// (REQUEST=1, PROPOSAL=2, ... ACKEPOCH=18), so traces read familiarly; the wire itself is ours,
// not Apache's (learnerinfo carries an observer flag instead of FOLLOWERINFO/OBSERVERINFO, and
// the election notification is our own record). zxids, epochs and ids are jute longs held as
// numbers ('longN'); payloads are jute buffers, copied out of the frame on decode (the core
// keeps txns in its committed log, and a view would pin the whole socket chunk).
//
// Every connection opens with a hello frame in each direction (HELLO below): magic, protocol
// version, the sender's peer id, the channel the connection is for, and where the sender listens.

import { JuteError, JuteReader, JuteWriter } from '../protocol/jute.js';
import { record, type Codec, type FieldList, type RecordOf } from '../protocol/schema.js';
import type { ConfigNote, Msg, PeerState } from './types.js';

export class QuorumCodecError extends JuteError {
  override name = 'QuorumCodecError';
}

export type MsgType = Msg['t'];

// ---- field types the generic schema lacks

/** A constant that takes no bytes on the wire: gives each decoded record its `t` in place. */
function tag<const T extends MsgType>(t: T): Codec<T> {
  return { name: `tag_${t}`, fields: [], encode: () => {}, decode: () => t };
}

/** A required byte payload (jute buffer; null is malformed). Decodes to a copy. */
const bytes: Codec<Uint8Array> = {
  name: 'bytes',
  fields: [],
  encode: (w, v) => w.buffer(v),
  decode: (r) => {
    const b = r.buffer();
    if (b === null) throw new JuteError('null payload where bytes are required');
    return Buffer.from(b);
  },
};

/** An optional byte payload: undefined travels as a null jute buffer (length -1). */
const optBytes: Codec<Uint8Array | undefined> = {
  name: 'optBytes',
  fields: [],
  encode: (w, v) => w.buffer(v),
  decode: (r) => {
    const b = r.buffer();
    return b === null ? undefined : Buffer.from(b);
  },
};

/** ZooKeeper's ServerState ordinals, as its election notifications carry them (an int). */
export const PEER_STATES: readonly PeerState[] = ['looking', 'following', 'leading', 'observing'];
const peerState: Codec<PeerState> = {
  name: 'PeerState',
  fields: [],
  encode: (w, v) => {
    const i = PEER_STATES.indexOf(v);
    if (i < 0) throw new QuorumCodecError(`unknown peer state ${String(v)}`);
    w.int(i);
  },
  decode: (r) => {
    const i = r.int();
    const s = PEER_STATES[i];
    if (s === undefined) throw new JuteError(`unknown peer state ${i}`);
    return s;
  },
};

const QTxn = record('QTxn', [
  ['zxid', 'longN'],
  ['data', bytes],
]);
const Vote = record('Vote', [
  ['leader', 'longN'],
  ['zxid', 'longN'],
  ['epoch', 'longN'],
]);

/** The sender's configuration on a vote, or none: a null buffer, else the bytes then the version. */
const optConfigNote: Codec<ConfigNote | undefined> = {
  name: 'ConfigNote',
  fields: [],
  encode: (w, v) => {
    w.buffer(v?.data);
    if (v) w.longN(v.version);
  },
  decode: (r) => {
    const data = r.buffer();
    return data === null ? undefined : { data: Buffer.from(data), version: r.longN() };
  },
};

// ---- the message table: type byte and fields (wire order) of every Msg variant

export const MSG_TABLE = {
  request: [1, [['data', bytes]]],
  proposal: [2, [['txn', QTxn]]],
  ack: [3, [['zxid', 'longN']]],
  commit: [4, [['zxid', 'longN']]],
  ping: [5, []],
  sync: [7, [['id', 'longN']]],
  inform: [8, [['txn', QTxn]]],
  newleader: [
    10,
    [
      ['zxid', 'longN'],
      ['config', optConfigNote],
    ],
  ],
  learnerinfo: [
    11,
    [
      ['acceptedEpoch', 'longN'],
      ['observer', 'bool'],
    ],
  ],
  uptodate: [12, [['zxid', 'longN']]],
  diff: [13, [['zxid', 'longN']]],
  trunc: [14, [['zxid', 'longN']]],
  snap: [
    15,
    [
      ['zxid', 'longN'],
      ['data', optBytes],
    ],
  ],
  leaderinfo: [17, [['epoch', 'longN']]],
  ackepoch: [
    18,
    [
      ['currentEpoch', 'longN'],
      ['lastZxid', 'longN'],
    ],
  ],
  vote: [
    64,
    [
      ['state', peerState],
      ['vote', Vote],
      ['round', 'longN'],
      ['config', optConfigNote],
    ],
  ],
  host: [65, [['data', bytes]]],
} as const satisfies { [T in MsgType]: readonly [number, FieldList] };

// Compile-time check that each row's fields are exactly its variant's fields, with compatible
// types in both directions (decode result is a Msg; a Msg's fields are accepted by the encoder).
type Table = typeof MSG_TABLE;
type Body<T extends MsgType> = Omit<Extract<Msg, { t: T }>, 't'>;
type Rec<T extends MsgType> = RecordOf<Table[T][1]>;
type Fits<T extends MsgType> = [Rec<T>] extends [Body<T>]
  ? [Body<T>] extends [Partial<Rec<T>>]
    ? [keyof Rec<T>] extends [keyof Body<T>]
      ? [keyof Body<T>] extends [keyof Rec<T>]
        ? true
        : false
      : false
    : false
  : false;
const tableFitsMsg: { [T in MsgType]: Fits<T> } = {} as { [T in MsgType]: true };
void tableFitsMsg;

interface Variant {
  readonly t: MsgType;
  readonly code: number;
  readonly codec: Codec<unknown>;
}

const byType = new Map<MsgType, Variant>();
const byCode: (Variant | undefined)[] = new Array(256).fill(undefined);
for (const t of Object.keys(MSG_TABLE) as MsgType[]) {
  const [code, fields] = MSG_TABLE[t];
  if (byCode[code]) throw new Error(`quorum message type byte ${code} used twice`);
  const v: Variant = { t, code, codec: record(`Msg_${t}`, [['t', tag(t)], ...fields]) };
  byType.set(t, v);
  byCode[code] = v;
}

/** Appends the message body (type byte + fields) to `w`. */
export function encodeMsgInto(w: JuteWriter, msg: Msg): void {
  const v = byType.get(msg.t);
  if (!v) throw new QuorumCodecError(`unknown quorum message type '${String((msg as { t: unknown }).t)}'`);
  w.ensure(1);
  w.buf[w.pos++] = v.code;
  v.codec.encode(w, msg);
}

const scratch = new JuteWriter(4096);

/** The message body (type byte + fields), without a length prefix. */
export function encodeMsg(msg: Msg): Buffer {
  scratch.reset();
  encodeMsgInto(scratch, msg);
  const out = scratch.toBuffer();
  if (scratch.buf.length > 1 << 20) scratch.buf = Buffer.allocUnsafe(4096);
  return out;
}

/** Decodes one message body; throws QuorumCodecError on anything but exactly one message. */
export function decodeMsg(buf: Buffer): Msg {
  if (buf.length === 0) throw new QuorumCodecError('empty quorum message');
  const code = buf[0]!;
  const v = byCode[code];
  if (!v) throw new QuorumCodecError(`unknown quorum message type byte ${code}`);
  const r = new JuteReader(buf, 1);
  let msg: Msg;
  try {
    msg = v.codec.decode(r) as Msg;
  } catch (e) {
    if (e instanceof JuteError) throw new QuorumCodecError(`malformed '${v.t}' message: ${e.message}`);
    throw e;
  }
  if (r.remaining !== 0) throw new QuorumCodecError(`${r.remaining} trailing bytes after '${v.t}' message`);
  // Keep an absent snapshot or configuration absent (the core tests `data === undefined`; this keeps shapes equal).
  if (msg.t === 'snap' && msg.data === undefined) delete msg.data;
  if ((msg.t === 'vote' || msg.t === 'newleader') && msg.config === undefined) delete msg.config;
  return msg;
}

// ---- hello

/** Bumped on any incompatible change to MSG_TABLE or HELLO (2: votes carry a configuration, hellos an address). */
export const QUORUM_PROTOCOL_VERSION = 2;
/** 'CGQP': tells our peers from anything else that connects (an Apache ZooKeeper, a scanner). */
export const HELLO_MAGIC = 0x43475150;
/** A hello frame's body without an address (its shortest); a shorter length prefix is garbage. */
export const HELLO_BYTES = 32;
/** Longest host name a hello may carry (bytes of UTF-8). */
export const HELLO_HOST_BYTES_MAX = 255;
/** A hello frame's longest body; a longer length prefix is garbage. */
export const HELLO_BYTES_MAX = HELLO_BYTES + HELLO_HOST_BYTES_MAX;

export type Channel = 'quorum' | 'election';
const CHANNELS: readonly Channel[] = ['quorum', 'election'];

const HELLO = record('QuorumHello', [
  ['magic', 'int'],
  ['version', 'int'],
  ['peerId', 'longN'],
  ['channel', 'int'],
  ['host', 'ustring'],
  ['quorumPort', 'int'],
  ['electionPort', 'int'],
]);

/** Where the sender listens (as Apache's InitialMessage carries it), so a peer not in our configuration can be reached. */
export interface HelloAddress {
  host: string;
  quorumPort: number;
  electionPort: number;
}

export interface Hello {
  version: number;
  peerId: number;
  channel: Channel;
  address?: HelloAddress;
}

export function encodeHelloInto(w: JuteWriter, h: Hello): void {
  const a = h.address;
  if (a && Buffer.byteLength(a.host) > HELLO_HOST_BYTES_MAX) throw new QuorumCodecError(`host ${a.host} is too long for a hello`);
  HELLO.encode(w, {
    magic: HELLO_MAGIC,
    version: h.version,
    peerId: h.peerId,
    channel: CHANNELS.indexOf(h.channel),
    host: a?.host ?? '',
    quorumPort: a?.quorumPort ?? 0,
    electionPort: a?.electionPort ?? 0,
  });
}

export function encodeHello(h: Hello): Buffer {
  const w = new JuteWriter(HELLO_BYTES_MAX);
  encodeHelloInto(w, h);
  return w.toBuffer();
}

/** Decodes a hello body. The version is returned, not checked, so the caller can name it. */
export function decodeHello(buf: Buffer): Hello {
  if (buf.length < HELLO_BYTES || buf.length > HELLO_BYTES_MAX)
    throw new QuorumCodecError(`hello is ${buf.length} bytes, expected ${HELLO_BYTES} to ${HELLO_BYTES_MAX}`);
  const r = new JuteReader(buf);
  const h = HELLO.decode(r);
  if (h.magic !== HELLO_MAGIC) throw new QuorumCodecError(`bad hello magic 0x${(h.magic >>> 0).toString(16)}`);
  if (r.remaining !== 0) throw new QuorumCodecError(`${r.remaining} trailing bytes after a hello`);
  const channel = CHANNELS[h.channel];
  if (channel === undefined) throw new QuorumCodecError(`unknown channel ${h.channel} in hello`);
  const hello: Hello = { version: h.version, peerId: h.peerId, channel };
  const port = (p: number): boolean => p > 0 && p <= 65535;
  if (h.host && port(h.quorumPort) && port(h.electionPort)) {
    hello.address = { host: h.host, quorumPort: h.quorumPort, electionPort: h.electionPort };
  }
  return hello;
}
