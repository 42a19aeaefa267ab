// Differential harness: runs one scenario (a sequence of raw requests) against Apache ZooKeeper
// 3.8 and against ours, records a transcript of every reply and notification on each side, and
// compares the transcripts. Bodies are compared byte for byte after normalising only what must
// differ between two servers: session ids (mapped to the scenario's session index), passwords,
// ctime/mtime, and absolute zxids (made relative to the zxid observed when the scenario starts).
// A body is decoded with its record codec, checked to re-encode to exactly the received bytes,
// normalised and re-encoded; anything that does not round-trip is compared as raw hex.

import assert from 'node:assert/strict';
import { startApacheZooKeeper, type ServerHandle, type StartServerOptions } from '../../helpers/apacheZk.js';
import { startOurZooKeeper } from '../../helpers/ourZk.js';
import { RawClient, type ConnectOptions, type ReplyFrame } from '../../helpers/rawClient.js';
import { JuteReader } from '../../../src/zookeeper/protocol/jute.js';
import { ReplyWriter } from '../../../src/zookeeper/server/replyWriter.js';
import { Err, errName, OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { ConnectResponseBase } from '../../../src/zookeeper/protocol/records.js';
import {
  Create2Response,
  CreateResponse,
  ErrorResponse,
  GetACLResponse,
  GetAllChildrenNumberResponse,
  GetChildren2Response,
  GetChildrenResponse,
  GetDataResponse,
  GetEphemeralsResponse,
  MultiHeader,
  StatResponse,
  SyncResponse,
  WatcherEvent,
  WhoAmIResponse,
  SetSASLResponse,
  type StatT,
} from '../../../src/zookeeper/protocol/records.js';
import type { Codec } from '../../../src/zookeeper/protocol/schema.js';

export type SideName = 'apache' | 'ours';

export interface Side {
  name: SideName;
  server: ServerHandle;
}

/** One line of a transcript; compared with deepStrictEqual across the two servers. */
export type Entry = Record<string, unknown> & { label: string };

interface SessionRec {
  id: bigint;
  passwd: Buffer;
  closed: boolean;
  client: RawClient | undefined;
}

/** What a scenario sees: the same API on both servers. */
export class Ctx {
  readonly transcript: Entry[] = [];
  readonly clients: RawClient[] = [];
  /** Sessions created in this scenario, in creation order (index + 1 is their normalised id). */
  readonly sessions: SessionRec[] = [];
  base = 0;

  constructor(
    readonly side: Side,
    /** Unique path prefix for this scenario, e.g. `/d07-creates`. */
    readonly prefix: string,
  ) {}

  get name(): SideName {
    return this.side.name;
  }

  /** Relative zxid: 0 stays 0, zxids from before the scenario become 'pre', negatives stay. */
  rel(z: number): number | string {
    if (z <= 0) return z;
    if (z <= this.base) return 'pre';
    return z - this.base;
  }

  sid(id: bigint): number | string {
    if (id === 0n) return 0;
    const i = this.sessions.findIndex((s) => s.id === id);
    return i === -1 ? `unknown:${id === -1n ? -1 : 'x'}` : `s${i + 1}`;
  }

  /** Session id as a number for re-encoding: 0, the session's index + 1, or -999 if unknown. */
  sidNum(id: bigint): bigint {
    if (id === 0n) return 0n;
    const i = this.sessions.findIndex((s) => s.id === id);
    return i === -1 ? -999n : BigInt(i + 1);
  }

  /** Opens a session (or tries to: a refused connect is recorded too). */
  async connect(label: string, o: ConnectOptions = {}): Promise<RawClient> {
    const c = await RawClient.connect(this.side.server.host, this.side.server.port, { timeOut: 30_000, ...o });
    this.clients.push(c);
    const resp = c.connectResponse;
    if (resp && resp.sessionId !== 0n) {
      const known = this.sessions.find((s) => s.id === resp.sessionId);
      if (known) known.client = c;
      else this.sessions.push({ id: resp.sessionId, passwd: Buffer.from(resp.passwd ?? Buffer.alloc(0)), closed: false, client: c });
    }
    this.transcript.push({ label, ...this.describeConnect(c) });
    return c;
  }

  /** The scenario's base zxid: everything after it is compared relative to it. */
  async begin(c: RawClient): Promise<void> {
    const r = await c.ping();
    this.base = r.zxid;
  }

  describeConnect(c: RawClient): Record<string, unknown> {
    const raw = c.connectResponseRaw;
    if (!raw) return { connectResponse: 'none', closed: c.closed };
    const r = new JuteReader(raw);
    const base = ConnectResponseBase.decode(r);
    const readOnly = r.remaining >= 1 ? raw[raw.length - 1] : 'absent';
    return {
      length: raw.length,
      protocolVersion: base.protocolVersion,
      timeOut: base.timeOut,
      sessionId: this.sid(base.sessionId),
      passwdLength: base.passwd === null ? -1 : base.passwd.length,
      passwdZero: base.passwd?.every((b) => b === 0) === true,
      readOnly,
      trailing: r.remaining > 1 ? r.remaining - 1 : 0,
    };
  }

  /** Sends a request, waits for its reply (or the close), records and returns it. */
  async call(c: RawClient, label: string, op: number, body: Buffer = Buffer.alloc(0), xid?: number): Promise<ReplyFrame | undefined> {
    const x = xid ?? c.xid();
    c.send(x, op, body);
    // Replies are FIFO: the next one answers this request, whatever xid it carries.
    const r = await c.nextReply();
    this.transcript.push({ label, ...(r ? this.describeReply(op, r) : { reply: 'none', closed: true }) });
    return r;
  }

  /** Sends several requests back to back (pipelined), then records their replies in order. */
  async pipeline(
    c: RawClient,
    label: string,
    reqs: readonly { op: number; body?: Buffer; xid?: number }[],
  ): Promise<(ReplyFrame | undefined)[]> {
    const xids = reqs.map((q) => q.xid ?? c.xid());
    reqs.forEach((q, i) => {
      c.send(xids[i]!, q.op, q.body ?? Buffer.alloc(0));
    });
    const out: (ReplyFrame | undefined)[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const r = await c.nextReply();
      this.transcript.push({ label: `${label}[${i}]`, ...(r ? this.describeReply(reqs[i]!.op, r) : { reply: 'none', closed: true }) });
      out.push(r);
    }
    return out;
  }

  describeReply(op: number, r: ReplyFrame): Record<string, unknown> {
    return { xid: r.xid, zxid: this.rel(r.zxid), err: errLabel(r.err), body: normalizeBody(this, op, r.body) };
  }

  /** Records whether the connection is still open (a ping answers) or closed by the server. */
  async state(c: RawClient, label: string): Promise<'open' | 'closed'> {
    let state: 'open' | 'closed' = 'closed';
    if (!c.closed) {
      c.send(-2, OpCode.ping);
      const r = await c.replyOrClose(-2);
      state = r ? 'open' : 'closed';
    }
    this.transcript.push({ label, state });
    return state;
  }

  /** Waits for the server to close the connection (with a deadline) and records it. */
  async closedByServer(c: RawClient, label: string, timeoutMs = 5_000): Promise<void> {
    const closed = await c.waitClosed(timeoutMs);
    this.transcript.push({ label, closedByServer: closed });
  }

  /**
   * Records the notifications this connection received since the last call. A ping round trip
   * first makes sure every notification queued before now has arrived.
   */
  async events(c: RawClient, label: string, sorted = false): Promise<void> {
    if (!c.closed) {
      c.send(-2, OpCode.ping);
      await c.replyOrClose(-2);
    }
    const evs = c.notifications.splice(0, c.notifications.length);
    const out = evs.map((e) => {
      const r = new JuteReader(e.body);
      const ev = WatcherEvent.decode(r);
      return { xid: e.xid, zxid: this.rel(e.zxid), err: e.err, type: ev.type, state: ev.state, path: ev.path, extra: r.remaining };
    });
    // `sorted` when one txn fires several events on one connection in an order ZooKeeper leaves
    // to hash-set iteration (a session's ephemerals, setWatches lists).
    if (sorted) out.sort((a, b) => a.path.localeCompare(b.path) || a.type - b.type);
    this.transcript.push({ label, events: out });
  }

  /** Records an arbitrary value (it must be equal on both servers). */
  note(label: string, value: unknown): void {
    this.transcript.push({ label, value });
  }

  /** Closes the session held by c with closeSession, recording the reply. */
  async close(c: RawClient, label: string): Promise<void> {
    const x = c.xid();
    c.send(x, OpCode.closeSession);
    const r = await c.replyOrClose(x);
    const closed = await c.waitClosed();
    const s = this.sessions.find((s) => s.client === c);
    if (s && r && r.err === 0) s.closed = true;
    this.transcript.push({ label, ...(r ? this.describeReply(OpCode.closeSession, r) : { reply: 'none' }), closedByServer: closed });
    c.destroy();
  }

  /** Ends every session the scenario left open so no expiry fires during a later scenario. */
  async cleanup(): Promise<void> {
    for (const s of this.sessions) {
      if (s.closed) continue;
      let c = s.client && !s.client.closed ? s.client : undefined;
      if (!c) {
        c = await RawClient.connect(this.side.server.host, this.side.server.port, {
          sessionId: s.id,
          passwd: s.passwd,
          timeOut: 30_000,
        }).catch(() => undefined);
        if (c) this.clients.push(c);
      }
      if (c && !c.closed && c.connectResponse && c.connectResponse.sessionId === s.id) {
        await c.closeSession().catch(() => undefined);
      }
      s.closed = true;
    }
    for (const c of this.clients) c.destroy();
  }
}

function errLabel(err: number): string {
  return err === 0 ? 'OK' : `${errName(err)}(${err})`;
}

// ------------------------------------------------------------------------ body normalisation

function normStat(ctx: Ctx, s: StatT): StatT {
  return {
    ...s,
    czxid: numRel(ctx, s.czxid),
    mzxid: numRel(ctx, s.mzxid),
    pzxid: numRel(ctx, s.pzxid),
    ctime: s.ctime === 0 ? 0 : 1,
    mtime: s.mtime === 0 ? 0 : 1,
    ephemeralOwner: ctx.sidNum(s.ephemeralOwner),
  };
}

/** Zxids in bodies must stay numbers to re-encode: pre-scenario zxids become -7. */
function numRel(ctx: Ctx, z: number): number {
  const r = ctx.rel(z);
  return typeof r === 'number' ? r : -7;
}

/**
 * Reads strings as ZooKeeper writes them (CESU-8: a surrogate pair as two 3-byte sequences), so
 * that decoding and re-encoding with ReplyWriter gives back the exact bytes.
 */
class CesuReader extends JuteReader {
  override ustring(): string | null {
    const start = this.pos;
    const len = this.buf.readInt32BE(start);
    if (len < 0 || start + 4 + len > this.end) return super.ustring();
    const bytes = this.buf.subarray(start + 4, start + 4 + len);
    if (!bytes.includes(0xed)) return super.ustring();
    let out = '';
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i]!;
      if (b === 0xed && i + 2 < bytes.length && (bytes[i + 1]! & 0xe0) === 0xa0) {
        out += String.fromCharCode(0xd000 | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f));
        i += 3;
      } else {
        const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
        out += bytes.subarray(i, i + n).toString('utf8');
        i += n;
      }
    }
    this.pos = start + 4 + len;
    return out;
  }
}

function roundTrip<T>(codec: Codec<T>, body: Buffer): T | undefined {
  try {
    const r = new CesuReader(body);
    const v = codec.decode(r);
    if (r.remaining !== 0) return undefined;
    const w = new ReplyWriter(256);
    codec.encode(w, v);
    if (!w.toBuffer().equals(body)) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

function reencode<T>(codec: Codec<T>, v: T): string {
  const w = new ReplyWriter(256);
  codec.encode(w, v);
  return w.toBuffer().toString('hex');
}

type BodyNorm<T> = [Codec<T>, (ctx: Ctx, v: T) => T];

const sortStrings = (a: string[]): string[] => [...a].sort();

// biome-ignore lint/suspicious/noExplicitAny: one table of codecs for records of different types
const BODY: Record<number, BodyNorm<any>> = {
  [OpCode.create]: [CreateResponse, (_c, v) => v],
  [OpCode.create2]: [Create2Response, (c, v) => ({ ...v, stat: normStat(c, v.stat) })],
  [OpCode.createContainer]: [Create2Response, (c, v) => ({ ...v, stat: normStat(c, v.stat) })],
  [OpCode.createTTL]: [Create2Response, (c, v) => ({ ...v, stat: normStat(c, v.stat) })],
  [OpCode.exists]: [StatResponse, (c, v) => ({ stat: normStat(c, v.stat) })],
  [OpCode.setData]: [StatResponse, (c, v) => ({ stat: normStat(c, v.stat) })],
  [OpCode.setACL]: [StatResponse, (c, v) => ({ stat: normStat(c, v.stat) })],
  [OpCode.getData]: [GetDataResponse, (c, v) => ({ ...v, stat: normStat(c, v.stat) })],
  [OpCode.getACL]: [GetACLResponse, (c, v) => ({ ...v, stat: normStat(c, v.stat) })],
  [OpCode.getChildren]: [GetChildrenResponse, (_c, v) => ({ children: sortStrings(v.children) })],
  [OpCode.getChildren2]: [GetChildren2Response, (c, v) => ({ children: sortStrings(v.children), stat: normStat(c, v.stat) })],
  [OpCode.sync]: [SyncResponse, (_c, v) => v],
  [OpCode.addWatch]: [ErrorResponse, (_c, v) => v],
  [OpCode.getEphemerals]: [GetEphemeralsResponse, (_c, v) => ({ ephemerals: sortStrings(v.ephemerals) })],
  [OpCode.getAllChildrenNumber]: [GetAllChildrenNumberResponse, (_c, v) => v],
  [OpCode.whoAmI]: [WhoAmIResponse, (_c, v) => v],
  [OpCode.sasl]: [SetSASLResponse, (_c, v) => v],
};

/** A multi/multiRead response: one entry per result, each checked and normalised. */
function normalizeMulti(ctx: Ctx, body: Buffer): unknown[] | string {
  const r = new CesuReader(body);
  const out: unknown[] = [];
  try {
    for (;;) {
      const hStart = r.pos;
      const h = MultiHeader.decode(r);
      const header = body.subarray(hStart, r.pos).toString('hex');
      if (h.done) {
        out.push({ done: true, header });
        break;
      }
      const start = r.pos;
      // biome-ignore lint/suspicious/noExplicitAny: the codec and normalizer are picked per reply type below
      let codec: Codec<any> | undefined;
      // biome-ignore lint/suspicious/noExplicitAny: as above, paired with the codec
      let norm: ((ctx: Ctx, v: any) => any) | undefined;
      switch (h.type) {
        case -1:
          codec = ErrorResponse;
          norm = (_c, v) => v;
          break;
        case OpCode.create:
        case OpCode.create2:
        case OpCode.setData:
        case OpCode.getData:
        case OpCode.getChildren:
          [codec, norm] = BODY[h.type]!;
          break;
        default:
          codec = undefined; // delete, check: no body
      }
      if (!codec) {
        out.push({ type: h.type, err: h.err, header });
        continue;
      }
      const v = codec.decode(r);
      const raw = body.subarray(start, r.pos);
      const w = new ReplyWriter(256);
      codec.encode(w, v);
      if (!w.toBuffer().equals(raw)) return `RAW:${body.toString('hex')}`;
      out.push({ type: h.type, err: h.err, header, body: reencode(codec, norm!(ctx, v)) });
    }
    if (r.remaining !== 0) out.push({ trailing: body.subarray(r.pos).toString('hex') });
  } catch {
    return `RAW:${body.toString('hex')}`;
  }
  return out;
}

export function normalizeBody(ctx: Ctx, op: number, body: Buffer): unknown {
  if (body.length === 0) return '';
  if (op === OpCode.multi || op === OpCode.multiRead) return normalizeMulti(ctx, body);
  const entry = BODY[op];
  if (!entry) return `RAW:${body.toString('hex')}`;
  const [codec, norm] = entry;
  const v = roundTrip(codec, body);
  if (v === undefined) return `RAW:${body.toString('hex')}`;
  return reencode(codec, norm(ctx, v));
}

// ------------------------------------------------------------------------ the pair

export type Scenario = (ctx: Ctx) => Promise<void>;

export interface PairOptions {
  /** zoo.cfg lines for both servers. */
  extraConfig?: Record<string, string>;
  /** -D system properties for both servers (our server reads zookeeper.* ones too). */
  sysProps?: Record<string, string>;
}

export class Pair {
  private seq = 0;
  private constructor(
    readonly apache: ServerHandle,
    readonly ours: ServerHandle,
  ) {}

  static async start(o: PairOptions = {}): Promise<Pair> {
    const opts: StartServerOptions = { extraConfig: o.extraConfig, sysProps: o.sysProps };
    const [a, b] = await Promise.allSettled([startApacheZooKeeper(opts), startOurZooKeeper(opts)]);
    if (a.status === 'rejected' || b.status === 'rejected') {
      if (a.status === 'fulfilled') await a.value.stop();
      if (b.status === 'fulfilled') await b.value.stop();
      throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
    }
    return new Pair(a.value, b.value);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.apache.stop(), this.ours.stop()]);
  }

  /** Runs the scenario on both servers (concurrently) and returns both transcripts. */
  async transcripts(name: string, scenario: Scenario): Promise<{ apache: Entry[]; ours: Entry[] }> {
    const prefix = `/d${String(++this.seq).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}`;
    const runOn = async (side: Side): Promise<Entry[]> => {
      const ctx = new Ctx(side, prefix);
      try {
        await scenario(ctx);
      } catch (e) {
        (e as Error).message = `[${side.name}] ${(e as Error).message}\ntranscript so far:\n${show(ctx.transcript)}`;
        throw e;
      } finally {
        await ctx.cleanup();
      }
      return ctx.transcript;
    };
    // allSettled: a failure on one side must not leave the other still running into the next test.
    const [a, o] = await Promise.allSettled([runOn({ name: 'apache', server: this.apache }), runOn({ name: 'ours', server: this.ours })]);
    if (a.status === 'rejected') throw a.reason;
    if (o.status === 'rejected') throw o.reason;
    return { apache: a.value, ours: o.value };
  }

  /** Runs the scenario on both servers and asserts the transcripts are equal. */
  async check(name: string, scenario: Scenario): Promise<Entry[]> {
    const { apache, ours } = await this.transcripts(name, scenario);
    assertSameTranscript(apache, ours);
    return apache;
  }
}

export function show(t: Entry[]): string {
  return t.map((e) => JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).join('\n');
}

export function assertSameTranscript(apache: Entry[], ours: Entry[]): void {
  const n = Math.max(apache.length, ours.length);
  for (let i = 0; i < n; i++) {
    const a = apache[i];
    const o = ours[i];
    try {
      assert.deepStrictEqual(o, a);
    } catch {
      assert.fail(
        `transcripts differ at entry ${i} (${a?.label ?? o?.label}):\n  apache: ${a ? show([a]) : '(none)'}\n  ours:   ${o ? show([o]) : '(none)'}\n` +
          `apache transcript:\n${show(apache)}\nours:\n${show(ours)}`,
      );
    }
  }
}

export { Err, OpCode };
