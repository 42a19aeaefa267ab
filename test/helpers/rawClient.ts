// A minimal raw-protocol ZooKeeper test client built on our protocol codecs (not on the client
// library). It connects with a configurable ConnectRequest, sends arbitrary (xid, op, body) or
// arbitrary bytes, and records every frame the server sends exactly as received, with the
// decoded ReplyHeader, so tests can compare servers byte for byte.

import { connect, type Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../../src/zookeeper/protocol/jute.js';
import { decodeConnectResponse, encodeConnectRequest, type ConnectResponse } from '../../src/zookeeper/protocol/connect.js';
import { FrameDecoder } from '../../src/zookeeper/protocol/framing.js';
import { MultiHeader, ReplyHeader, WatcherEvent } from '../../src/zookeeper/protocol/records.js';
import { encodeToBuffer, type Codec } from '../../src/zookeeper/protocol/schema.js';
import { OpCode, Xid } from '../../src/zookeeper/protocol/constants.js';

export interface ReplyFrame {
  /** The frame body exactly as received (without the 4-byte length prefix). */
  raw: Buffer;
  xid: number;
  zxid: number;
  err: number;
  /** Bytes after the 16-byte ReplyHeader. */
  body: Buffer;
}

export interface Notification extends ReplyFrame {
  type: number;
  state: number;
  path: string;
}

export interface ConnectOptions {
  protocolVersion?: number;
  lastZxidSeen?: number;
  timeOut?: number;
  sessionId?: bigint;
  /** Defaults to 16 zero bytes. */
  passwd?: Buffer | null;
  /** undefined (the default) omits the trailing readOnly byte, as node-zookeeper-client does. */
  readOnly?: boolean;
  /** Deadline for the connect response. */
  timeoutMs?: number;
}

const DEFAULT_WAIT_MS = 5_000;

/** Encodes a record body with one of our codecs. */
export function enc<T>(codec: Codec<T>, v: T): Buffer {
  return encodeToBuffer(codec, v);
}

/** A MultiOperationRecord: each op is (type, encoded sub-request); the terminator is appended. */
export function encodeMulti(ops: readonly { type: number; body: Buffer }[]): Buffer {
  const w = new JuteWriter(256);
  for (const op of ops) {
    MultiHeader.encode(w, { type: op.type, done: false, err: -1 });
    w.raw(op.body);
  }
  MultiHeader.encode(w, { type: -1, done: true, err: -1 });
  return w.toBuffer();
}

/** A ConnectRequest frame (length prefix included). */
export function connectFrame(o: ConnectOptions = {}): Buffer {
  const w = new JuteWriter(64);
  const at = w.beginFrame();
  encodeConnectRequest(w, {
    protocolVersion: o.protocolVersion ?? 0,
    lastZxidSeen: o.lastZxidSeen ?? 0,
    timeOut: o.timeOut ?? 30_000,
    sessionId: o.sessionId ?? 0n,
    passwd: o.passwd === undefined ? Buffer.alloc(16) : o.passwd,
    readOnly: o.readOnly,
  });
  w.endFrame(at);
  return w.toBuffer();
}

/** A request frame (length prefix included): RequestHeader{xid, op} + body. */
export function requestFrame(xid: number, op: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(12 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(xid, 4);
  out.writeInt32BE(op, 8);
  body.copy(out, 12);
  return out;
}

export class RawClient {
  readonly socket: Socket;
  /** Every frame received, in order (the connect response first, if any). */
  readonly frames: Buffer[] = [];
  /** Non-notification replies not yet taken by reply(). */
  private readonly unread: ReplyFrame[] = [];
  /** All notifications (xid -1), in arrival order. */
  readonly notifications: Notification[] = [];
  connectResponse: ConnectResponse | undefined;
  /** The connect response frame body exactly as received. */
  connectResponseRaw: Buffer | undefined;
  closed = false;
  /** Set if the server sent bytes that were not a valid frame. */
  protocolError: Error | undefined;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private expectConnectResponse: boolean;
  private readonly waiters = new Set<() => void>();
  private readonly closedPromise: Promise<void>;
  private nextXid = 1;

  private constructor(socket: Socket, expectConnectResponse: boolean) {
    this.socket = socket;
    this.expectConnectResponse = expectConnectResponse;
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Opens a TCP connection and sends nothing (for raw handshakes and fuzzing). */
  static open(host: string, port: number, expectConnectResponse = true): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const onErr = (e: Error): void => reject(e);
      s.once('error', onErr);
      s.once('connect', () => {
        s.off('error', onErr);
        resolve(new RawClient(s, expectConnectResponse));
      });
    });
  }

  /** Opens a connection, sends a ConnectRequest and waits for the response (or the close). */
  static async connect(host: string, port: number, o: ConnectOptions = {}): Promise<RawClient> {
    const c = await RawClient.open(host, port);
    c.sendRaw(connectFrame(o));
    await c.waitUntil(() => c.connectResponseRaw !== undefined || c.closed, o.timeoutMs ?? DEFAULT_WAIT_MS, 'connect response');
    return c;
  }

  get sessionId(): bigint {
    return this.connectResponse?.sessionId ?? 0n;
  }

  get passwd(): Buffer {
    return this.connectResponse?.passwd ?? Buffer.alloc(16);
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    try {
      for (;;) {
        const f = this.decoder.next();
        if (f === undefined) break;
        const raw = Buffer.from(f);
        this.frames.push(raw);
        if (this.expectConnectResponse) {
          this.expectConnectResponse = false;
          this.connectResponseRaw = raw;
          this.connectResponse = decodeConnectResponse(new JuteReader(raw));
          continue;
        }
        const r = new JuteReader(raw);
        const h = ReplyHeader.decode(r);
        const frame: ReplyFrame = { raw, xid: h.xid, zxid: h.zxid, err: h.err, body: raw.subarray(16) };
        if (h.xid === Xid.notification) {
          const ev = WatcherEvent.decode(r);
          this.notifications.push({ ...frame, type: ev.type, state: ev.state, path: ev.path });
        } else {
          this.unread.push(frame);
        }
      }
    } catch (e) {
      this.protocolError = e as Error;
      this.socket.destroy();
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Waits until cond() holds (re-checked on every received frame and on close). */
  waitUntil(cond: () => boolean, timeoutMs: number = DEFAULT_WAIT_MS, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  sendRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends RequestHeader{xid, op} + body without waiting. */
  send(xid: number, op: number, body: Buffer = Buffer.alloc(0)): void {
    this.sendRaw(requestFrame(xid, op, body));
  }

  /** Allocates the next normal xid (1, 2, ...). */
  xid(): number {
    return this.nextXid++;
  }

  /** Takes the first unread reply with this xid, waiting for it. Rejects if the socket closes first. */
  async reply(xid: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReplyFrame> {
    const find = (): number => this.unread.findIndex((f) => f.xid === xid);
    await this.waitUntil(() => find() !== -1 || this.closed, timeoutMs, `reply to xid ${xid}`);
    const i = find();
    if (i === -1) throw new Error(`connection closed before the reply to xid ${xid}`);
    return this.unread.splice(i, 1)[0]!;
  }

  /**
   * The next reply in arrival order, whatever its xid (replies are FIFO, so it answers the oldest
   * request still waiting), or undefined if the connection closed first.
   */
  async nextReply(timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReplyFrame | undefined> {
    await this.waitUntil(() => this.unread.length > 0 || this.closed, timeoutMs, 'next reply');
    return this.unread.shift();
  }

  /** The reply for xid, or undefined if the connection closed without one. */
  async replyOrClose(xid: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<ReplyFrame | undefined> {
    const find = (): number => this.unread.findIndex((f) => f.xid === xid);
    await this.waitUntil(() => find() !== -1 || this.closed, timeoutMs, `reply to xid ${xid} or close`);
    const i = find();
    return i === -1 ? undefined : this.unread.splice(i, 1)[0]!;
  }

  /** Sends one request with a fresh xid (or the given one) and waits for its reply. */
  async call(op: number, body: Buffer = Buffer.alloc(0), xid?: number): Promise<ReplyFrame> {
    const x = xid ?? this.xid();
    this.send(x, op, body);
    return this.reply(x);
  }

  /** Replies received but not taken yet. */
  get pendingReplies(): readonly ReplyFrame[] {
    return this.unread;
  }

  /** Waits until at least n notifications have arrived. */
  async waitNotifications(n: number, timeoutMs: number = DEFAULT_WAIT_MS): Promise<Notification[]> {
    await this.waitUntil(() => this.notifications.length >= n, timeoutMs, `${n} notifications (have ${this.notifications.length})`);
    return this.notifications.slice(0, n);
  }

  /** Resolves true once the server has closed the connection, false at the deadline. */
  async waitClosed(timeoutMs: number = DEFAULT_WAIT_MS): Promise<boolean> {
    if (this.closed) return true;
    try {
      await this.waitUntil(() => this.closed, timeoutMs, 'close');
      return true;
    } catch {
      return false;
    }
  }

  /** A ping round trip: everything sent before it has been answered when it resolves. */
  async ping(): Promise<ReplyFrame> {
    this.send(Xid.ping, OpCode.ping);
    return this.reply(Xid.ping);
  }

  /** Closes our side at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends closeSession and waits for the reply and the server's close. */
  async closeSession(): Promise<ReplyFrame | undefined> {
    if (this.closed) return undefined;
    const x = this.xid();
    this.send(x, OpCode.closeSession);
    const r = await this.replyOrClose(x);
    await this.waitClosed();
    this.destroy();
    return r;
  }

  get closedSignal(): Promise<void> {
    return this.closedPromise;
  }
}
