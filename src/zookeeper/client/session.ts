// The session engine under ZooKeeperClient: one TCP connection at a time to one host of the
// connect string, the handshake, strictly FIFO reply matching, pings, read-timeout detection,
// reconnect with (sessionId, passwd, lastZxidSeen) followed by auth and SetWatches replay, and
// the terminal states (expired, authFailed, closed). Requests are encoded with one JuteWriter
// and leave in one socket write per microtask turn; replies are parsed in place.

import { EventEmitter } from 'node:events';
import { Err, EventType, JUTE_MAXBUFFER_DEFAULT, KeeperState, OpCode, SESSION_PASSWD_BYTES, Xid } from '../protocol/constants.js';
import { decodeConnectResponse, encodeConnectRequest } from '../protocol/connect.js';
import { JuteReader, JuteWriter } from '../protocol/jute.js';
import { AuthPacket, ReplyHeader, RequestHeader, SetWatches, SetWatches2, WatcherEvent } from '../protocol/records.js';
import { Chroot, parseConnectString, type HostPort } from './connectString.js';
import { Connection, type AuthInfo, type ConnectionHandlers, type Pending } from './connection.js';
import { connectionLoss, ZooKeeperError } from './errors.js';
import { Fifo } from '../../util/fifo.js';
import type { ClientEvents, ClientOptions, ClientState, ConnectedInfo, WatchedEvent, Watcher } from './types.js';
import { batchSetWatches, WatchManager } from './watches.js';

/** Java's SET_WATCHES_MAX_LENGTH: paths per SetWatches packet are batched to about this size. */
const SET_WATCHES_BATCH_BYTES = 128 * 1024;
/** Java's MAX_SEND_PING_INTERVAL. */
const PING_INTERVAL_MAX_MS = 10_000;
const RECONNECT_DELAY_BASE_MS = 50;
const WRITER_INITIAL_BYTES = 16 * 1024;
/** After a burst, a writer grown beyond this is replaced so one big request does not pin memory. */
const WRITER_KEEP_BYTES = 1024 * 1024;

const ZERO_PASSWD = Buffer.alloc(SESSION_PASSWD_BYTES);

class ProtocolError extends Error {}

export class ZooKeeperSession extends EventEmitter<ClientEvents> {
  protected readonly chroot: Chroot;
  protected readonly watches = new WatchManager();
  private readonly hosts: HostPort[];
  private hostIndex = -1;
  private readonly requestedTimeoutMs: number;
  private readonly pendingRequestsMax: number;
  private readonly frameBytesMax: number;
  private readonly canBeReadOnly: boolean;
  private readonly reconnectDelayMaxMs: number;
  private readonly closeTimeoutMs: number;

  private _state: ClientState = 'idle';
  private _sessionId = 0n;
  private _passwd: Buffer = ZERO_PASSWD;
  private negotiatedTimeout = 0;
  private lastZxid = 0;
  private xid = 0;
  private readonly authInfos: AuthInfo[] = [];
  private conn: Connection | undefined;
  private readonly waiting = new Fifo<Pending>();
  private userPending = 0;
  private writer = new JuteWriter(WRITER_INITIAL_BYTES);
  private readonly reader = new JuteReader(Buffer.alloc(0));
  private flushScheduled = false;
  private failedAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve(i: ConnectedInfo): void; reject(e: Error): void }[] = [];
  private closing: Promise<void> | undefined;
  private closeResolve: (() => void) | undefined;

  constructor(options: ClientOptions) {
    super();
    const parsed = parseConnectString(options.connectString);
    this.hosts = parsed.hosts;
    if (options.shuffleHosts ?? true) {
      for (let i = this.hosts.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.hosts[i], this.hosts[j]] = [this.hosts[j]!, this.hosts[i]!];
      }
    }
    this.chroot = new Chroot(parsed.chroot);
    this.requestedTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.pendingRequestsMax = options.pendingRequestsMax ?? 10_000;
    this.frameBytesMax = options.frameBytesMax ?? JUTE_MAXBUFFER_DEFAULT;
    this.canBeReadOnly = options.canBeReadOnly ?? false;
    this.reconnectDelayMaxMs = options.reconnectDelayMaxMs ?? 1_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    if (options.sessionId !== undefined) {
      this._sessionId = options.sessionId;
      this._passwd = Buffer.from(options.sessionPassword ?? ZERO_PASSWD);
    }
  }

  // ---- public session view

  get state(): ClientState {
    return this._state;
  }
  /** 0n until the first connection. */
  get sessionId(): bigint {
    return this._sessionId;
  }
  get sessionPassword(): Buffer {
    return Buffer.from(this._passwd);
  }
  /** Negotiated session timeout (0 before the first connection). */
  get negotiatedTimeoutMs(): number {
    return this.negotiatedTimeout;
  }
  get lastZxidSeen(): number {
    return this.lastZxid;
  }
  /** `host:port` of the current established connection, if any. */
  get connectedServer(): string | undefined {
    return this.conn?.established ? this.conn.server : undefined;
  }
  get isConnected(): boolean {
    return this._state === 'connected' || this._state === 'connectedReadOnly';
  }
  /** Requests queued or awaiting a reply. */
  get pendingRequests(): number {
    return this.userPending;
  }

  /**
   * Connect (first time), or start a fresh session after Expired. Resolves once a session is
   * established. With `timeoutMs`, rejects with CONNECTIONLOSS after that long (the client
   * keeps trying in the background until close()).
   */
  connect(opts: { timeoutMs?: number } = {}): Promise<ConnectedInfo> {
    switch (this._state) {
      case 'closed':
        return Promise.reject(this.terminalError(undefined));
      case 'authFailed':
        return Promise.reject(new ZooKeeperError(Err.AUTHFAILED, undefined, 'authentication failed; create a new client'));
      case 'connected':
      case 'connectedReadOnly':
        return Promise.resolve(this.connectedInfo(false));
      case 'expired':
        this._sessionId = 0n;
        this._passwd = ZERO_PASSWD;
        this.negotiatedTimeout = 0;
        this.setState('connecting');
        this.openNext();
        break;
      case 'idle':
        this.setState('connecting');
        this.openNext();
        break;
      case 'connecting':
        break;
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.connectWaiters.push(waiter);
      if (opts.timeoutMs !== undefined) {
        const t = setTimeout(() => {
          const i = this.connectWaiters.indexOf(waiter);
          if (i >= 0) this.connectWaiters.splice(i, 1);
          reject(connectionLoss(undefined, `not connected within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        const settle =
          <A extends unknown[]>(f: (...a: A) => void) =>
          (...a: A) => {
            clearTimeout(t);
            f(...a);
          };
        waiter.resolve = settle(resolve);
        waiter.reject = settle(reject);
      }
    });
  }

  /** Close the session (closeSession, so ephemerals go at once) and the connection. */
  close(): Promise<void> {
    if (this._state === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const c = this.conn;
    if (c?.established && this.isConnected) {
      const timer = setTimeout(() => this.finish('closed', undefined), this.closeTimeoutMs);
      this.enqueue(OpCode.closeSession, undefined, null, () => undefined, true)
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          this.finish('closed', undefined);
        });
    } else {
      this.finish('closed', undefined);
    }
    return this.closing;
  }

  // ---- requests

  /** Queue a request; `handle` turns the reply (err, body reader) into the result or throws. */
  protected submit<T>(
    op: number,
    path: string | undefined,
    body: ((w: JuteWriter) => void) | null,
    handle: (err: number, r: JuteReader) => T,
  ): Promise<T> {
    return this.enqueue(op, path, body, handle, false) as Promise<T>;
  }

  private enqueue(
    op: number,
    path: string | undefined,
    body: ((w: JuteWriter) => void) | null,
    handle: Pending['handle'],
    duringClose: boolean,
  ): Promise<unknown> {
    if (this.isTerminal()) return Promise.reject(this.terminalError(path));
    if (this.closing && !duringClose) return Promise.reject(new ZooKeeperError(Err.SESSIONEXPIRED, path, 'client is closing'));
    if (this.userPending >= this.pendingRequestsMax) {
      return Promise.reject(
        new ZooKeeperError(Err.THROTTLEDOP, path, `pendingRequestsMax (${this.pendingRequestsMax}) requests outstanding`),
      );
    }
    return new Promise((resolve, reject) => {
      this.userPending++;
      let done = false;
      const settle = (): boolean => {
        if (done) return false;
        done = true;
        this.userPending--;
        return true;
      };
      const p: Pending = {
        xid: this.nextXid(),
        op,
        path,
        body,
        handle,
        resolve: (v) => settle() && resolve(v),
        reject: (e) => settle() && reject(e),
        internal: false,
      };
      const c = this.conn;
      if (c?.established && !c.dead) {
        try {
          this.write(c, p);
        } catch (e) {
          p.reject(e as Error);
        }
      } else {
        this.waiting.push(p);
      }
    });
  }

  /** addAuth: remembered for reconnects; resolves on the server's first OK for it. */
  protected sendAuth(scheme: string, auth: Buffer): Promise<void> {
    if (this.isTerminal()) return Promise.reject(this.terminalError(undefined));
    return new Promise((resolve, reject) => {
      const info: AuthInfo = { scheme, auth: Buffer.from(auth), waiters: [{ resolve, reject }] };
      this.authInfos.push(info);
      const c = this.conn;
      if (c?.established && !c.dead) {
        this.writeAuth(c, info);
        this.scheduleFlush();
      }
    });
  }

  private nextXid(): number {
    this.xid = this.xid >= 0x7fffffff ? 1 : this.xid + 1;
    return this.xid;
  }

  /** Encode one request frame into the shared writer; rolls back on failure. */
  private write(c: Connection, p: Pending): void {
    const w = this.writer;
    const start = w.pos;
    try {
      const at = w.beginFrame();
      RequestHeader.encode(w, { xid: p.xid, type: p.op });
      if (p.body) p.body(w);
      w.endFrame(at);
      const len = w.pos - at - 4;
      if (len > this.frameBytesMax) {
        throw new ZooKeeperError(Err.BADARGUMENTS, p.path, `request of ${len} bytes exceeds frameBytesMax ${this.frameBytesMax}`);
      }
    } catch (e) {
      w.pos = start;
      throw e;
    }
    c.sent.push(p);
    this.scheduleFlush();
  }

  private writeAuth(c: Connection, info: AuthInfo): void {
    const w = this.writer;
    const at = w.beginFrame();
    RequestHeader.encode(w, { xid: Xid.auth, type: OpCode.auth });
    AuthPacket.encode(w, { type: 0, scheme: info.scheme, auth: info.auth });
    w.endFrame(at);
    c.auths.push(info);
  }

  private writePing(): void {
    const w = this.writer;
    const at = w.beginFrame();
    RequestHeader.encode(w, { xid: Xid.ping, type: OpCode.ping });
    w.endFrame(at);
  }

  /** Re-arm every watch in the client's tables (batched like the Java client). */
  private writeSetWatches(c: Connection): void {
    if (this.watches.isEmpty) return;
    const all = this.watches.paths();
    const server = (l: string[]): string[] => l.map((p) => this.chroot.toServer(p));
    for (const b of batchSetWatches(all, SET_WATCHES_BATCH_BYTES)) {
      const rel = this.lastZxid;
      const [data, exist, child] = [server(b.data), server(b.exist), server(b.child)];
      const v2 = b.persistent.length > 0 || b.persistentRecursive.length > 0;
      const body = v2
        ? (w: JuteWriter) =>
            SetWatches2.encode(w, {
              relativeZxid: rel,
              dataWatches: data,
              existWatches: exist,
              childWatches: child,
              persistentWatches: server(b.persistent),
              persistentRecursiveWatches: server(b.persistentRecursive),
            })
        : (w: JuteWriter) => SetWatches.encode(w, { relativeZxid: rel, dataWatches: data, existWatches: exist, childWatches: child });
      this.write(c, {
        xid: Xid.setWatches,
        op: v2 ? OpCode.setWatches2 : OpCode.setWatches,
        path: undefined,
        body,
        handle: () => undefined,
        resolve: () => undefined,
        reject: () => undefined,
        internal: true,
      });
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const w = this.writer;
    if (w.pos === 0) return;
    const c = this.conn;
    if (!c || c.dead) {
      w.reset();
      return;
    }
    c.write(w.toBuffer());
    w.reset();
    if (w.buf.length > WRITER_KEEP_BYTES) this.writer = new JuteWriter(WRITER_INITIAL_BYTES);
  };

  // ---- connection lifecycle

  private openNext(): void {
    this.reconnectTimer = undefined;
    if (this.isTerminal() || this.closing) return;
    this.hostIndex = (this.hostIndex + 1) % this.hosts.length;
    const host = this.hosts[this.hostIndex]!;
    const c = new Connection(host, this.frameBytesMax, this.handlers);
    this.conn = c;
    this.writer.reset();
    // Java: connect timeout per host = session timeout / number of hosts.
    const timeout = this.negotiatedTimeout || this.requestedTimeoutMs;
    const connectTimeout = Math.max(100, Math.floor(timeout / this.hosts.length));
    c.timer = setTimeout(() => this.lost(c, `no session within ${connectTimeout} ms`), connectTimeout);
  }

  private readonly handlers: ConnectionHandlers = {
    onConnect: () => {
      const w = this.writer;
      const at = w.beginFrame();
      encodeConnectRequest(w, {
        protocolVersion: 0,
        lastZxidSeen: this.lastZxid,
        timeOut: this.requestedTimeoutMs,
        sessionId: this._sessionId,
        passwd: this._passwd,
        readOnly: this.canBeReadOnly,
      });
      w.endFrame(at);
      this.flush();
    },
    onFrame: (c, f) => this.onFrame(c, f),
    onLost: (c, reason) => this.lost(c, reason),
  };

  private onFrame(c: Connection, frame: Buffer): void {
    const r = this.reader;
    r.reset(frame);
    if (!c.established) {
      this.onConnectResponse(c, r);
      return;
    }
    const h = ReplyHeader.decode(r);
    switch (h.xid) {
      case Xid.ping:
        return;
      case Xid.notification:
        this.onNotification(r);
        return;
      case Xid.auth:
        this.onAuthReply(c, h.err);
        return;
    }
    const p = c.sent.peek();
    if (p === undefined || p.xid !== h.xid) {
      throw new ProtocolError(`reply xid ${h.xid} but the oldest pending request has xid ${p?.xid ?? 'none'}`);
    }
    c.sent.shift();
    if (h.zxid > 0) this.lastZxid = h.zxid;
    let value: unknown;
    try {
      value = p.handle(h.err, r);
    } catch (e) {
      if (e instanceof ZooKeeperError) {
        p.reject(e);
        return;
      }
      p.reject(connectionLoss(p.path, `bad reply: ${(e as Error).message}`));
      throw e;
    }
    p.resolve(value);
  }

  private onConnectResponse(c: Connection, r: JuteReader): void {
    const resp = decodeConnectResponse(r);
    if (resp.timeOut <= 0) {
      this.finish('expired', c);
      return;
    }
    if (c.timer) clearTimeout(c.timer);
    const newSession = this._sessionId !== resp.sessionId;
    this._sessionId = resp.sessionId;
    this._passwd = Buffer.from(resp.passwd ?? ZERO_PASSWD);
    this.negotiatedTimeout = resp.timeOut;
    c.established = true;
    this.failedAttempts = 0;
    // Prime the connection: auth, then watches, then whatever queued while we were away.
    for (const info of this.authInfos) this.writeAuth(c, info);
    this.writeSetWatches(c);
    for (let p = this.waiting.shift(); p !== undefined; p = this.waiting.shift()) {
      try {
        this.write(c, p);
      } catch (e) {
        p.reject(e as Error);
      }
    }
    this.flush();
    this.armTimer(c);
    this.setState(resp.readOnly ? 'connectedReadOnly' : 'connected');
    const info = this.connectedInfo(newSession);
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve(info);
    this.emit('connected', info);
  }

  private connectedInfo(newSession: boolean): ConnectedInfo {
    return {
      sessionId: this._sessionId,
      newSession,
      negotiatedTimeoutMs: this.negotiatedTimeout,
      readOnly: this._state === 'connectedReadOnly',
      server: this.conn?.server ?? '',
    };
  }

  /** Ping after T/3 without sending; drop the connection after 2T/3 without receiving. */
  private armTimer(c: Connection): void {
    if (c.dead) return;
    const t = this.negotiatedTimeout;
    const readTimeout = Math.floor((t * 2) / 3);
    const pingInterval = Math.min(Math.floor(t / 3), PING_INTERVAL_MAX_MS);
    const now = Date.now();
    const deadline = c.lastRecv + readTimeout;
    if (now >= deadline) {
      this.lost(c, `no data from the server for ${now - c.lastRecv} ms (read timeout ${readTimeout} ms)`);
      return;
    }
    let nextPing = c.lastSend + pingInterval;
    if (now >= nextPing) {
      this.writePing();
      this.flush();
      nextPing = now + pingInterval;
    }
    c.timer = setTimeout(() => this.armTimer(c), Math.max(1, Math.min(deadline, nextPing) - now));
  }

  private onNotification(r: JuteReader): void {
    const ev = WatcherEvent.decode(r);
    const path = this.chroot.toClient(ev.path);
    const event: WatchedEvent = { type: ev.type, state: ev.state, path };
    for (const w of this.watches.trigger(ev.type, path)) this.callWatcher(w, event);
  }

  protected callWatcher(w: Watcher, event: WatchedEvent): void {
    try {
      w(event);
    } catch (e) {
      if (this.listenerCount('watcherError') > 0) this.emit('watcherError', e, event);
      else process.emitWarning(`ZooKeeper watcher threw: ${(e as Error)?.stack ?? String(e)}`);
    }
  }

  private onAuthReply(c: Connection, err: number): void {
    const info = c.auths.shift();
    if (err === 0) {
      if (info) {
        const ws = info.waiters;
        info.waiters = [];
        for (const w of ws) w.resolve();
      }
      return;
    }
    // AUTHFAILED: the server closes the connection; the client is done (as in the Java client).
    this.finish('authFailed', c);
  }

  /** A connection ended (error, close, timeout, protocol error). */
  private lost(c: Connection, reason: string): void {
    if (!c.kill()) return;
    if (this.conn === c) {
      this.conn = undefined;
      this.writer.reset();
    }
    const err = this.isTerminal() ? this.terminalError(undefined) : undefined;
    for (const p of c.sent.drain()) {
      if (!p.internal) p.reject(err ?? connectionLoss(p.path, reason));
    }
    if (this.isTerminal() || this.closing) return;
    if (this._state !== 'connecting') this.setState('connecting');
    if (c.established) this.emit('disconnected', { server: c.server, reason });
    if (c.established) {
      this.openNext();
      return;
    }
    this.failedAttempts++;
    let delay = 0;
    if (this.failedAttempts % this.hosts.length === 0) {
      const rounds = this.failedAttempts / this.hosts.length;
      const cap = Math.min(this.reconnectDelayMaxMs, RECONNECT_DELAY_BASE_MS * 2 ** Math.min(rounds - 1, 16));
      delay = Math.floor(cap / 2 + (Math.random() * cap) / 2);
    }
    this.reconnectTimer = setTimeout(() => this.openNext(), delay);
  }

  private isTerminal(): boolean {
    return this._state === 'closed' || this._state === 'expired' || this._state === 'authFailed';
  }

  private terminalError(path: string | undefined): ZooKeeperError {
    switch (this._state) {
      case 'authFailed':
        return new ZooKeeperError(Err.AUTHFAILED, path);
      case 'expired':
        return new ZooKeeperError(Err.SESSIONEXPIRED, path);
      default:
        return new ZooKeeperError(Err.SESSIONEXPIRED, path, 'client is closed');
    }
  }

  /** Enter a terminal state: fail everything outstanding, tell every watcher, emit. */
  private finish(state: 'expired' | 'authFailed' | 'closed', c: Connection | undefined): void {
    if (this.isTerminal()) {
      if (state === 'closed' && this._state !== 'closed') {
        // close() after expiry/auth failure: just record it.
      } else {
        return;
      }
    }
    const wasTerminal = this.isTerminal();
    this.setState(state);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = c ?? this.conn;
    if (conn) this.lost(conn, state);
    if (this.conn) this.lost(this.conn, state);
    const err = this.terminalError(undefined);
    for (let p = this.waiting.shift(); p !== undefined; p = this.waiting.shift()) {
      p.reject(this.terminalError(p.path));
    }
    for (const info of this.authInfos) {
      const ws = info.waiters;
      info.waiters = [];
      for (const w of ws) w.reject(err);
    }
    if (state === 'closed') this.authInfos.length = 0;
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(err);
    if (!wasTerminal) {
      const keeperState = state === 'expired' ? KeeperState.Expired : state === 'authFailed' ? KeeperState.AuthFailed : KeeperState.Closed;
      for (const [w, path] of this.watches.clear()) this.callWatcher(w, { type: EventType.None, state: keeperState, path });
    }
    this.emit(state);
    if (state === 'closed') {
      this.closeResolve?.();
      this.closeResolve = undefined;
    }
  }

  private setState(s: ClientState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }
}
