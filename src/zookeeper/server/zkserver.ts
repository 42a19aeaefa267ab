// The request pipeline of one ZooKeeper server: prep -> sync -> final, per-connection FIFO
// replies, sessions and their expiry. Connections (the socket shell in connection.ts) hand in
// decoded frames; this class never touches sockets, timers or the clock itself: `now()` is
// injected and `tick()` is driven by the shell.

import { Err, OpCode, opName } from '../protocol/constants.js';
import { JuteError, JuteReader, type JuteWriter } from '../protocol/jute.js';
import type { ConnectRequest, ConnectResponse } from '../protocol/connect.js';
import {
  AuthPacket,
  GetDataResponse,
  GetSASLRequest,
  ReconfigRequest,
  RequestHeader,
  SetSASLResponse,
  type IdT,
} from '../protocol/records.js';
import type { ReconfigArgs } from '../quorum/reconfig.js';
import type { ReconfigPrep } from '../quorum/reconfigHost.js';
import { addAuthId, authenticate } from './acl.js';
import { DataTree, isTtlOwner, ttlOfOwner, type TxnResult } from './datatree.js';
import type { ServerOptions } from './options.js';
import { LocalSessions } from './localSessions.js';
import { InMemorySyncStage, type SyncStage } from './pipeline.js';
import { KeeperError, PrepStage, type PrepContext, type PrepOptions } from './prep.js';
import { topNamespace, type QuotaExceeded } from './quota.js';
import { decodeRequest, encodeWriteResult, executeMultiRead, executeRead, type Decoded } from './requests.js';
import { SessionTracker, sessionPassword } from './sessions.js';
import { READ_ONLY_REFUSED_OPS } from './readOnly.js';
import { ServerStats, type ConnStats } from './stats.js';
import { type MetricsSink, MntrRecorder } from './metricsSink.js';
import type { Txn } from './txn.js';
import { SaslAuthenticator } from './sasl/saslAuth.js';
import type { Watcher } from './watches.js';

/** What the core needs from a client connection. */
export interface ClientConn extends Watcher {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  sessionId: bigint;
  timeoutMs: number;
  established: boolean;
  closed: boolean;
  authIds: IdT[];
  readonly queue: Pending[];
  readonly stats: ConnStats;
  /** Writes one reply frame; returns the body's length in bytes. */
  sendReply(xid: number, zxid: number, err: number, encode?: (w: JuteWriter) => void): number;
  sendConnectResponse(resp: ConnectResponse): void;
  /** Closes after queued output is flushed (or at once if `now`). */
  close(now: boolean): void;
}

/** A request waiting for its reply, in its connection's FIFO. */
export interface Pending {
  xid: number;
  op: number;
  decoded: Decoded | undefined;
  /** Error decided before execution (marshalling, unimplemented). */
  err: number;
  closeAfter: boolean;
  /** For writes: set when the txn has been applied. */
  result: TxnResult | undefined;
  isWrite: boolean;
  done: boolean;
  startMs: number;
  /** SASL: the SetSASLResponse token (null: none). */
  saslToken?: Buffer | null;
  /** A local session's ephemeral create that may not upgrade: the error it is answered with (localSessions.ts). */
  refusal?: number;
}

/**
 * How an ensemble learner reaches its leader: writes, session creation and sync barriers go there
 * instead of through the local prep stage (ZooKeeper's FollowerRequestProcessor); their effects
 * come back as committed txns (applyCommitted).
 */
export interface LeaderLink {
  /** The client's whole request frame, to be prepped by the leader for this session. */
  forwardWrite(c: ClientConn, frame: Buffer): void;
  forwardCreateSession(sessionId: bigint, timeOutMs: number): void;
  /** Completes `p` (p.done + drain) once the leader has committed everything before it. */
  sync(c: ClientConn, p: Pending): void;
}

/** What an ensemble member tells the admin commands (leader, zabstate) about its peer. */
export interface QuorumView {
  /** The leader this member follows or is; undefined while looking. */
  leaderId(): number | undefined;
  /** Apache's QuorumPeer.ZabState, lower case. */
  zabState(): 'election' | 'discovery' | 'synchronization' | 'broadcast';
  /** Log fsyncs slower than fsync.warningthresholdms (the member owns the data directory). */
  fsyncThresholdExceedCount(): number;
}

export class ZooKeeperServer {
  readonly tree = new DataTree();
  prep: PrepStage;
  readonly sessions: SessionTracker;
  readonly stats = new ServerStats();
  /** What mntr prints of the latency summaries; it forwards every event to the provider's sink. */
  readonly mntrMetrics = new MntrRecorder();
  /** Where latencies and counts go: mntr's recorder, which forwards to the metrics provider. */
  get metrics(): MetricsSink {
    return this.mntrMetrics;
  }
  /** Installs the metrics provider's sink (metricsServer.ts). */
  set metrics(sink: MetricsSink) {
    this.mntrMetrics.forward = sink;
  }
  /** Set by an ensemble member. */
  quorumView: QuorumView | undefined;
  readonly conns = new Set<ClientConn>();
  /** Session -> the connection currently holding it. */
  readonly sessionConns = new Map<bigint, ClientConn>();
  private readonly reader = new JuteReader(Buffer.alloc(0));
  private readonly prepCtx: RequestPrepContext;
  readonly startedAtMs: number;
  serving = true;
  /** Sessions whose createSession is applied (and not closed): what a snapshot records. */
  readonly durableSessions = new Map<bigint, number>();
  /** Set on ensemble learners: writes are forwarded, not prepped here. */
  leaderLink: LeaderLink | undefined;
  /** Set on an ensemble leader: preps reconfig requests (quorum/reconfigHost.ts); none on a standalone server. */
  reconfigPrep: ReconfigPrep | undefined;
  /** Set by an ensemble member: told of every applied reconfig txn (its configuration changes). */
  onReconfigApplied: ((txn: Txn) => void) | undefined;
  /** Only the standalone server and the ensemble leader expire sessions. */
  expiresSessions = true;
  /** Learner: sessions that sent something since the last report to the leader (its expiry clock). */
  readonly touchedSinceReport = new Set<bigint>();
  /** Set while an ensemble member serves read-only (quorum/readOnly.ts): the period's local sessions. */
  readOnly: LocalSessions | undefined;
  /** SASL exchanges of the connections (sasl/saslAuth.ts). */
  readonly saslAuth: SaslAuthenticator;
  /** Learner: sessions whose createSession went to the leader, waiting for its commit. */
  private readonly pendingCreates = new Map<bigint, { c: ClientConn; slot: Pending; timeOut: number; readOnly: boolean | undefined }>();
  /** Ensemble members with localSessionsEnabled (localSessions.ts); standalone servers have none. */
  readonly localSessions: LocalSessions | undefined;

  constructor(
    readonly opts: ServerOptions,
    readonly now: () => number = Date.now,
    public sync: SyncStage = new InMemorySyncStage(),
  ) {
    this.prep = new PrepStage(this.tree, this.prepOptions());
    this.saslAuth = new SaslAuthenticator(opts.sasl);
    this.startedAtMs = now();
    this.sessions = new SessionTracker(opts.tickTimeMs, opts.serverId, this.startedAtMs);
    this.prepCtx = new RequestPrepContext(this.sessions);
    if (opts.ensemble && opts.localSessionsEnabled) {
      this.localSessions = new LocalSessions(this, opts.serverId, { upgradingEnabled: opts.localSessionsUpgradingEnabled });
    }
  }

  get lastZxid(): number {
    return this.tree.lastProcessedZxid;
  }

  /**
   * After recovery filled the tree: zxids continue from the last recovered one, and every
   * recovered session gets a full timeout from now to reconnect before it expires.
   */
  restored(sessions: ReadonlyMap<bigint, number>): void {
    this.prep.lastZxid = this.tree.lastProcessedZxid;
    const now = this.now();
    for (const [id, timeoutMs] of sessions) {
      this.durableSessions.set(id, timeoutMs);
      this.sessions.add(id, timeoutMs, now);
    }
  }

  /** A fresh prep stage (new leadership: pending changes of an old role never commit). */
  resetPrep(): void {
    this.prep = new PrepStage(this.tree, this.prepOptions());
  }

  /** Told of each quota limit a write goes past (enforceQuota); the shell logs it. */
  onQuotaExceeded: (q: QuotaExceeded, time: number) => void = () => {};

  private prepOptions(): PrepOptions {
    const o = this.opts;
    return {
      extendedTypesEnabled: o.extendedTypesEnabled,
      skipAcl: o.skipAcl,
      enforceQuota: o.enforceQuota,
      x509Enabled: o.secureClient?.x509ProviderEnabled,
      saslAcl: o.sasl?.aclProvider ?? false,
      onQuotaExceeded: (q, time) => {
        if (q.hard) this.metrics.quotaExceeded?.(topNamespace(q.prefix));
        this.onQuotaExceeded(q, time);
      },
    };
  }

  /** Why writes are refused (storage failure), or undefined. */
  get writeRefusal(): string | undefined {
    return this.leaderLink ? undefined : this.sync.unavailableReason;
  }

  private finishCreate(c: ClientConn, slot: Pending, id: bigint, timeOut: number, readOnly: boolean | undefined): void {
    if (c.closed) return;
    if (this.establish(c, { protocolVersion: 0, timeOut, sessionId: id, passwd: sessionPassword(id), readOnly })) {
      // FinalRequestProcessor records createSession as op SESS, cxid 0, in the latency stats.
      const now = this.now();
      const latency = now - slot.startMs;
      this.stats.recordLatency(latency);
      this.metrics.observe('updatelatency', latency);
      this.stats.packetsSent++;
      c.stats.record('SESS', latency, this.tree.lastProcessedZxid, now);
      c.stats.lastCxid = 0;
    }
    slot.done = true;
    this.drain(c);
  }

  /**
   * Learner: a txn the ensemble committed. Applies it and answers the local request it came from
   * (matched by session and cxid, as ZooKeeper's CommitProcessor does).
   */
  applyCommitted(txn: Txn): void {
    const id = txn.header.clientId;
    const c = this.sessionConns.get(id);
    const res = this.applyTxn(txn);
    if (txn.body.kind === 'createSession') {
      const pc = this.pendingCreates.get(id);
      if (pc) {
        this.pendingCreates.delete(id);
        this.finishCreate(pc.c, pc.slot, id, pc.timeOut, pc.readOnly);
      }
      return;
    }
    if (!c || c.closed) return;
    const p = c.queue.find((q) => q.isWrite && !q.done && q.xid === txn.header.cxid && q.op !== OpCode.sync);
    if (!p) return;
    p.result = res;
    p.done = true;
    this.drain(c);
  }

  /** A write whose durability is unknown: the client must not get an answer it could trust. */
  private abandon(c: ClientConn): void {
    this.removeConnection(c);
    c.close(true);
  }

  get outstandingRequests(): number {
    let n = 0;
    for (const c of this.conns) n += c.queue.length;
    return n;
  }

  addConnection(c: ClientConn): void {
    this.conns.add(c);
  }

  /** The socket closed (or the shell closed it). The session lives on until it expires. */
  removeConnection(c: ClientConn): void {
    if (!this.conns.delete(c)) return;
    c.closed = true;
    this.tree.watches.removeWatcher(c);
    if (c.established && this.sessionConns.get(c.sessionId) === c) this.sessionConns.delete(c.sessionId);
  }

  // ---------------------------------------------------------------- handshake

  negotiateTimeout(requested: number): number {
    return Math.min(Math.max(requested, this.opts.minSessionTimeoutMs), this.opts.maxSessionTimeoutMs);
  }

  /** Handles a ConnectRequest. Returns false if the connection must be closed without reply. */
  connect(c: ClientConn, req: ConnectRequest): boolean {
    // The ConnectRequest counts as a received packet (NIOServerCnxn.readPayload), even if refused.
    this.stats.packetsReceived++;
    c.stats.packetsReceived++;
    if (!this.serving) return false; // no quorum (or stopping): the client should try another server
    if (req.lastZxidSeen > this.tree.lastProcessedZxid) return false; // client has seen our future
    const ro = this.readOnly;
    // A read-only server takes only clients that allow it (Apache: NOT_READ_ONLY_CLIENT), and
    // none of the ensemble's sessions (RENEW_GLOBAL_SESSION_IN_RO_MODE): closed without a reply.
    if (ro && (!req.readOnly || (req.sessionId !== 0n && !ro.isLocal(req.sessionId)))) return false;
    const timeOut = this.negotiateTimeout(req.timeOut);
    const readOnly = req.readOnly === undefined ? undefined : ro !== undefined;
    const slot = this.pending(c, 0, OpCode.createSession, undefined, false);
    if (req.sessionId === 0n && ro) {
      // A local session: no txn, nobody else knows it (it ends with the read-only period).
      const id = this.sessions.newSessionId();
      if (!ro.create(id, timeOut)) return false;
      c.sessionId = id;
      c.timeoutMs = timeOut;
      this.finishCreate(c, slot, id, timeOut, readOnly);
      return true;
    }
    if (req.sessionId === 0n) {
      // A new session needs a createSession txn, which cannot be persisted now.
      if (!this.leaderLink && this.sync.unavailableReason !== undefined) return false;
      const id = this.sessions.newSessionId();
      c.sessionId = id;
      c.timeoutMs = timeOut;
      if (this.localSessions) {
        // A local session: no txn, nothing for the leader.
        this.localSessions.create(id, timeOut);
        this.finishCreate(c, slot, id, timeOut, readOnly);
        return true;
      }
      this.sessions.add(id, timeOut, this.now());
      if (this.leaderLink) {
        slot.isWrite = true;
        this.pendingCreates.set(id, { c, slot, timeOut, readOnly });
        this.leaderLink.forwardCreateSession(id, timeOut);
        return true;
      }
      const txn = this.prep.prepareRaw(
        OpCode.createSession,
        { kind: 'createSession', op: OpCode.createSession, timeOut },
        id,
        0,
        this.now(),
      );
      slot.isWrite = true;
      this.sync.submit(txn, (err) => {
        if (err) {
          this.sessions.remove(id);
          this.abandon(c);
          return;
        }
        this.applyTxn(txn);
        this.finishCreate(c, slot, id, timeOut, readOnly);
      });
      return true;
    }
    const s = this.sessions.sessions.get(req.sessionId);
    const passwdOk = req.passwd?.equals(sessionPassword(req.sessionId)) === true;
    if (!s || s.closing || !passwdOk) {
      c.sendConnectResponse({ protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly });
      this.stats.packetsSent++;
      c.stats.packetsSent++;
      c.queue.length = 0;
      c.close(false);
      return true;
    }
    s.timeoutMs = timeOut;
    this.sessions.touch(req.sessionId, this.now());
    if (this.leaderLink) this.touchedSinceReport.add(req.sessionId);
    c.sessionId = req.sessionId;
    c.timeoutMs = timeOut;
    const old = this.sessionConns.get(req.sessionId);
    if (old && old !== c) {
      this.removeConnection(old);
      old.close(true);
    }
    if (this.establish(c, { protocolVersion: 0, timeOut, sessionId: req.sessionId, passwd: sessionPassword(req.sessionId), readOnly })) {
      this.stats.packetsSent++;
      c.stats.packetsSent++;
    }
    slot.done = true;
    this.drain(c);
    return true;
  }

  /** Returns false if the connection was gone and nothing was sent. */
  private establish(c: ClientConn, resp: ConnectResponse): boolean {
    if (c.closed) return false;
    c.established = true;
    c.stats.establishedMs = this.now();
    this.sessionConns.set(c.sessionId, c);
    c.sendConnectResponse(resp);
    return true;
  }

  // ---------------------------------------------------------------- requests

  private pending(c: ClientConn, xid: number, op: number, decoded: Decoded | undefined, isWrite: boolean): Pending {
    const p: Pending = { xid, op, decoded, err: 0, closeAfter: false, result: undefined, isWrite, done: false, startMs: this.now() };
    c.queue.push(p);
    return p;
  }

  /**
   * Handles one request frame (after the handshake). Returns false if the frame was not even a
   * request header, in which case the connection must be closed.
   */
  submit(c: ClientConn, frame: Buffer): boolean {
    const r = this.reader;
    r.reset(frame);
    let xid: number;
    let op: number;
    try {
      ({ xid, type: op } = RequestHeader.decode(r));
    } catch {
      return false;
    }
    this.stats.packetsReceived++;
    c.stats.packetsReceived++;
    c.stats.lastCxid = xid;
    // Auth and SASL are handled before the session is touched (ZooKeeperServer.processPacket).
    if (op === OpCode.auth) return this.handleAuth(c, xid, r);
    if (op === OpCode.sasl) return this.handleSasl(c, xid, r);
    const refusal = this.saslAuth.refusal(c.authIds);
    if (refusal !== 0) {
      // enforce.auth / sessionRequireClientSASLAuth: answered like an auth packet (zxid 0, no
      // body), then the connection is closed; the session is left to expire.
      const p = this.pending(c, xid, OpCode.auth, undefined, false);
      p.err = refusal;
      p.closeAfter = true;
      if (c.queue[0] === p) this.drain(c);
      return true;
    }
    // A request for a session that is closing (closeSession queued, or expired) is dropped
    // without a reply and without a zxid, as ZooKeeper drops it (MissingSessionException).
    if (!this.sessions.touch(c.sessionId, this.now()) && !this.localSessions?.isRemote(c)) return true;
    // Local sessions are not the leader's to expire: not reported.
    if (this.leaderLink && this.localSessions?.isLocal(c.sessionId) !== true) this.touchedSinceReport.add(c.sessionId);
    if (this.readOnly && (READ_ONLY_REFUSED_OPS.has(op) || op === OpCode.closeSession)) return this.readOnlyAnswer(c, xid, op);
    let decoded: Decoded | undefined;
    let err = 0;
    // Whether a request that fails before prep still takes a zxid (an ErrorTxn), as in ZooKeeper.
    let txnOnError = isWriteOp(op);
    let reconfig: ReconfigArgs | undefined;
    try {
      if (op === OpCode.check || op === OpCode.notification || op === OpCode.createSession) {
        throw new KeeperError(Err.UNIMPLEMENTED);
      }
      if (op === OpCode.reconfig) {
        // ZooKeeper decodes a reconfig before assigning a zxid: a malformed one takes none.
        let args: ReconfigArgs;
        try {
          args = ReconfigRequest.decode(r);
        } catch (e) {
          txnOnError = false;
          throw e;
        }
        // An ensemble learner forwards it to the leader, which preps it; a standalone server
        // preps it as an ErrorTxn UNIMPLEMENTED (a zxid, the connection stays), as ZooKeeper does.
        if (!this.opts.reconfigEnabled) err = Err.RECONFIGDISABLED;
        else reconfig = args;
      } else if (op === OpCode.deleteContainer) {
        // ZooKeeper reads a client's deleteContainer path from the whole packet, request header
        // included, so the path always holds a NUL byte: BADARGUMENTS, as an ErrorTxn.
        err = Err.BADARGUMENTS;
      } else {
        decoded = decodeRequest(op, r);
      }
    } catch (e) {
      if (e instanceof KeeperError) err = e.code;
      else if (e instanceof JuteError) err = Err.MARSHALLINGERROR;
      else throw e;
    }
    const isWrite = (decoded !== undefined && decoded.cls !== 'read' && decoded.cls !== 'multiRead') || reconfig !== undefined;
    const p = this.pending(c, xid, op, decoded, isWrite || (err !== 0 && err !== Err.UNIMPLEMENTED && txnOnError));
    if (err === Err.UNIMPLEMENTED) p.closeAfter = true;
    if (this.localSessions?.handle(c, p, op)) return true;
    if (this.leaderLink && p.isWrite) {
      // Ensemble learner: the leader preps it; the commit (or the sync barrier) completes it.
      if (op === OpCode.closeSession) p.closeAfter = true;
      if (op === OpCode.sync) {
        p.result = { err: 0, path: (decoded as { path?: string } | undefined)?.path ?? '', stat: undefined, multi: undefined };
        this.leaderLink.sync(c, p);
      } else {
        this.leaderLink.forwardWrite(c, frame);
      }
      return true;
    }
    if (p.isWrite && op !== OpCode.sync && this.sync.unavailableReason !== undefined) {
      // Storage failed: writes are refused without taking a zxid; reads go on.
      p.isWrite = false;
      p.err = Err.NOTREADONLY;
      if (c.queue[0] === p) this.drain(c);
      return true;
    }

    if (err !== 0 && p.isWrite) {
      // A write that could not be decoded still takes a zxid, as ZooKeeper logs an ErrorTxn.
      const txn = this.prep.prepareRaw(OpCode.error, { kind: 'error', op: OpCode.error, err }, c.sessionId, xid, this.now());
      this.submitTxn(c, p, txn);
    } else if (err !== 0) {
      p.err = err;
    } else if (decoded && isWrite) {
      this.submitWrite(c, p, decoded, xid);
      return true;
    } else if (reconfig) {
      this.submitTxn(c, p, this.prepareReconfig(c, xid, reconfig));
      return true;
    }
    if (c.queue[0] === p) this.drain(c);
    return true;
  }

  /**
   * Read-only mode: state changes get NOTREADONLY unread (ReadOnlyRequestProcessor); a local
   * session's closeSession ends it here, without a txn.
   */
  private readOnlyAnswer(c: ClientConn, xid: number, op: number): boolean {
    const p = this.pending(c, xid, op, undefined, false);
    if (op === OpCode.closeSession) {
      this.readOnly?.closeByClient(c, p);
      return true;
    }
    p.err = Err.NOTREADONLY;
    if (c.queue[0] === p) this.drain(c);
    return true;
  }

  private submitWrite(c: ClientConn, p: Pending, d: Decoded, xid: number): void {
    const ctx = this.prepContext(c, xid, p.refusal);
    if (d.cls === 'sync') {
      // A null path is echoed as null: the ustring codec writes it with length -1.
      p.result = { err: 0, path: d.path as string, stat: undefined, multi: undefined };
      // Completes even after a storage failure: no write before it will ever be acknowledged.
      this.sync.submit(null, () => {
        p.done = true;
        this.drain(c);
      });
      return;
    }
    let txn: Txn;
    if (d.cls === 'closeSession') {
      if (!this.sessions.isActive(c.sessionId)) {
        txn = this.prep.prepareRaw(OpCode.error, { kind: 'error', op: OpCode.error, err: Err.SESSIONEXPIRED }, c.sessionId, xid, ctx.time);
      } else {
        this.sessions.setClosing(c.sessionId);
        const paths2Delete = this.prep.ephemeralsForClose(c.sessionId);
        txn = this.prep.prepareRaw(
          OpCode.closeSession,
          { kind: 'closeSession', op: OpCode.closeSession, paths2Delete },
          c.sessionId,
          xid,
          ctx.time,
        );
      }
      p.closeAfter = true;
    } else if (d.cls === 'multi') {
      txn = this.prep.prepareMulti(d.ops, ctx);
    } else if (d.cls === 'write') {
      txn = this.prep.prepareWrite(d.w, ctx);
    } else {
      throw new Error(`not a write: ${d.cls}`);
    }
    this.submitTxn(c, p, txn);
  }

  /** Leader: a reconfig becomes a SetDataTxn on /zookeeper/config logged as type reconfig, or an ErrorTxn. */
  private prepareReconfig(c: ClientConn, xid: number, args: ReconfigArgs): Txn {
    const ctx = this.prepContext(c, xid);
    try {
      ctx.checkSession();
      // Standalone: "reconfiguration currently not supported" (PrepRequestProcessor).
      if (!this.reconfigPrep) throw new KeeperError(Err.UNIMPLEMENTED);
      // The configuration's version is the zxid this txn takes (prepareRaw hands out the next one).
      const data = this.reconfigPrep.prepare(args, c.authIds, this.prep.lastZxid + 1);
      const body = { kind: 'setData', op: OpCode.setData, path: '/zookeeper/config', data, version: -1 } as const;
      return this.prep.prepareRaw(OpCode.reconfig, body, c.sessionId, xid, ctx.time);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      return this.prep.prepareRaw(OpCode.error, { kind: 'error', op: OpCode.error, err: e.code }, c.sessionId, xid, ctx.time);
    }
  }

  private submitTxn(c: ClientConn, p: Pending, txn: Txn): void {
    this.sync.submit(txn, (err) => {
      if (err) {
        this.abandon(c);
        return;
      }
      p.result = this.applyTxn(txn);
      p.done = true;
      this.drain(c);
    });
  }

  /** The context of the request being prepped: one object, refilled per request (prep keeps none of it). */
  private prepContext(c: ClientConn, xid: number, refusal = 0): PrepContext {
    const ctx = this.prepCtx;
    ctx.refusal = refusal;
    ctx.sessionId = c.sessionId;
    ctx.cxid = xid;
    ctx.auth = c.authIds;
    ctx.time = this.now();
    ctx.remoteLocal = this.localSessions?.isRemote(c) === true;
    return ctx;
  }

  /** Final stage: apply a committed txn to the tree; session bookkeeping for close txns. */
  applyTxn(txn: Txn): TxnResult {
    const res = this.tree.processTxn(txn);
    this.prep.applied(txn.header.zxid);
    if (txn.header.type === OpCode.reconfig && res.err === 0) this.onReconfigApplied?.(txn);
    if (txn.body.kind === 'createSession') {
      this.durableSessions.set(txn.header.clientId, txn.body.timeOut);
      // In an ensemble every member tracks every session (the leader expires them).
      const s = this.sessions.sessions.get(txn.header.clientId);
      if (!s) this.sessions.add(txn.header.clientId, txn.body.timeOut, this.now());
      else if (s.local) this.sessions.makeGlobal(s, this.now()); // committed global: no longer local (commitSession)
    }
    if (txn.body.kind === 'closeSession') {
      const id = txn.header.clientId;
      this.durableSessions.delete(id);
      this.sessions.remove(id);
      const conn = this.sessionConns.get(id);
      if (conn) {
        this.sessionConns.delete(id);
        // The client's own closeSession gets its reply first; an expired one is just closed.
        if (!conn.queue.some((q) => q.op === OpCode.closeSession)) conn.close(false);
      }
    }
    return res;
  }

  /** Returns false (close without a reply) if the AuthPacket is malformed, as ZooKeeper does. */
  private handleAuth(c: ClientConn, xid: number, r: JuteReader): boolean {
    let ids: IdT[] | number;
    try {
      const pkt = AuthPacket.decode(r);
      ids = authenticate(pkt.scheme, pkt.auth, this.opts.superDigest, c.remoteAddress);
    } catch {
      return false;
    }
    // Auth is answered in order with the connection's other replies: kazoo matches the reply
    // against its pending queue, so strict ordering is the safe choice.
    const p = this.pending(c, xid, OpCode.auth, undefined, false);
    if (typeof ids === 'number') {
      p.err = ids;
      p.closeAfter = true;
    } else {
      for (const id of ids) {
        addAuthId(c.authIds, id);
      }
    }
    if (c.queue[0] === p) this.drain(c);
    return true;
  }

  /**
   * SASL (102), ZooKeeperServer.processSasl: one step of the connection's DIGEST-MD5 exchange
   * (sasl/saslAuth.ts); without a SASL server configured, OK with a null token. A failed exchange
   * is AUTHFAILED and closes the connection; a malformed GetSASLRequest closes it without a reply.
   */
  private handleSasl(c: ClientConn, xid: number, r: JuteReader): boolean {
    let token: Buffer | null;
    try {
      token = GetSASLRequest.decode(r).token;
    } catch {
      return false;
    }
    // A null token makes ZooKeeper's processSasl throw before answering when SASL is configured.
    if (token === null && this.opts.sasl?.users !== undefined) return false;
    const step = this.saslAuth.step(c, token, c.remoteAddress);
    const p = this.pending(c, xid, OpCode.sasl, undefined, false);
    p.err = step.err;
    p.saslToken = step.token;
    p.closeAfter = step.close;
    for (const id of step.ids) addAuthId(c.authIds, id);
    if (c.queue[0] === p) this.drain(c);
    return true;
  }

  /** Sends replies for the head of the connection's queue while they are ready. */
  drain(c: ClientConn): void {
    const q = c.queue;
    while (q.length > 0) {
      const p = q[0]!;
      if (p.op === OpCode.createSession && p.err === 0) {
        // The handshake's slot (a client-sent createSession carries UNIMPLEMENTED instead).
        if (!p.done) return;
        q.shift();
        continue;
      }
      if (p.isWrite && !p.done) return;
      q.shift();
      if (c.closed) continue;
      this.reply(c, p);
      if (p.closeAfter) {
        q.length = 0;
        c.close(false);
        return;
      }
    }
  }

  private reply(c: ClientConn, p: Pending): void {
    let zxid = this.tree.lastProcessedZxid;
    let err = p.err;
    let encode: ((w: JuteWriter) => void) | undefined;
    const d = p.decoded;
    let xid = p.xid;
    if (p.op === OpCode.auth || p.op === OpCode.sasl) {
      // Answered outside the pipeline in ZooKeeper, with zxid 0. Auth success is header only.
      zxid = 0;
      if (p.op === OpCode.sasl) encode = (w) => SetSASLResponse.encode(w, { token: p.saslToken ?? null });
    } else if (err === Err.UNIMPLEMENTED && !p.isWrite) {
      // UnimplementedRequestProcessor replies with the request's zxid, -1 for a request never prepped.
      zxid = -1;
    } else if (p.op === OpCode.ping) {
      // FinalRequestProcessor answers every ping with xid -2, whatever xid it came with.
      xid = -2;
    }
    if (err !== 0 || p.op === OpCode.auth || p.op === OpCode.sasl) {
      // error or auth/sasl: nothing more to compute
    } else if (p.isWrite) {
      const res = p.result!;
      // A multi reports per-op errors with header err 0, unless it never became a multi txn
      // (a malformed MultiOperationRecord is a plain ErrorTxn: MARSHALLINGERROR in the header).
      err = p.op === OpCode.multi && res.multi ? 0 : res.err;
      // FinalRequestProcessor: a refused ephemeral of a local session is answered with the
      // refusal (the leader's ErrorTxn says SESSIONEXPIRED), except a multi's per-op results.
      if (p.refusal !== undefined && !(p.op === OpCode.multi && res.multi)) err = p.refusal;
      if (err === 0 && p.op === OpCode.reconfig) {
        // FinalRequestProcessor: the configuration now in force, with the config node's stat.
        const data = this.tree.table.valueAt(this.tree.find('/zookeeper/config'));
        encode = (w) => GetDataResponse.encode(w, { data, stat: res.stat! });
      } else if (err === 0) encode = (w) => encodeWriteResult(p.op, res, w);
    } else if (d) {
      if (!this.sessions.isActive(c.sessionId) && p.op !== OpCode.ping) {
        err = Err.SESSIONEXPIRED;
      } else {
        const ctx = { tree: this.tree, sessionId: c.sessionId, auth: c.authIds, watcher: c, skipAcl: this.opts.skipAcl };
        if (d.cls === 'multiRead') {
          encode = (w) => executeMultiRead(d.ops, ctx, w);
        } else if (d.cls === 'read') {
          const r = executeRead(d.op, d.body, ctx);
          err = r.err;
          encode = r.encode;
        }
      }
    }
    const now = this.now();
    const latency = now - p.startMs;
    this.stats.recordLatency(latency);
    // FinalRequestProcessor: a request that carried a txn counts as an update, the rest as reads.
    this.metrics.observe(p.isWrite ? 'updatelatency' : 'readlatency', latency);
    this.stats.packetsSent++;
    c.stats.record(opShortName(p.op), latency, zxid, now);
    // processSasl sends its SetSASLResponse body with an error too.
    const bodyBytes = c.sendReply(xid, zxid, err, err === 0 || p.op === OpCode.sasl ? encode : undefined);
    // ServerStats.updateClientResponseSize: the frame length (16-byte ReplyHeader + body).
    this.stats.clientResponse.record(16 + bodyBytes);
  }

  // ---------------------------------------------------------------- time-driven work

  /** Expires one session now (test clusters; a standalone server or the ensemble leader only). */
  expireSession(id: bigint): boolean {
    if (this.localSessions?.expireNow(id)) return true;
    const s = this.sessions.sessions.get(id);
    if (!s || s.closing || !this.expiresSessions) return false;
    s.closing = true;
    this.submitExpiry(id, this.now());
    return true;
  }

  /** The closeSession txn of an expired session (the leader's or a standalone server's SessionTracker). */
  private submitExpiry(id: bigint, now: number): void {
    const paths2Delete = this.prep.ephemeralsForClose(id);
    const txn = this.prep.prepareRaw(OpCode.closeSession, { kind: 'closeSession', op: OpCode.closeSession, paths2Delete }, id, 0, now);
    this.sync.submit(txn, (err) => {
      if (!err) this.applyTxn(txn);
    });
  }

  /** Expires sessions whose deadline passed; called by the shell every tick. */
  tick(): void {
    this.localSessions?.expire(this.now());
    // Expiring a session takes a txn: while storage is failing, sessions are kept.
    if (this.sync.unavailableReason !== undefined || !this.expiresSessions) return;
    const now = this.now();
    for (const s of this.sessions.expire(now)) this.submitExpiry(s.id, now);
  }

  /** ContainerManager: deletes empty used containers and expired TTL nodes. */
  reapContainers(maxCount: number): number {
    if (this.sync.unavailableReason !== undefined || !this.expiresSessions) return 0;
    const now = this.now();
    const candidates: string[] = [];
    for (const path of this.tree.containers) {
      const n = this.tree.get(path);
      if (!n || n.numChildren > 0) continue;
      const neverUsed = n.cversion === 0;
      const maxNever = this.opts.containerMaxNeverUsedIntervalMs;
      if (!neverUsed || (maxNever > 0 && now - n.mtime > maxNever)) candidates.push(path);
    }
    for (const path of this.tree.ttls) {
      const n = this.tree.get(path);
      if (!n || n.numChildren > 0 || !isTtlOwner(n.ephemeralOwner)) continue;
      if (now - n.mtime > ttlOfOwner(n.ephemeralOwner)) candidates.push(path);
    }
    let count = 0;
    for (const path of candidates) {
      if (count >= maxCount) break;
      const ctx: PrepContext = { sessionId: 0n, cxid: 0, auth: [], time: now, checkSession() {} };
      const txn = this.prep.prepareWrite({ op: OpCode.deleteContainer, req: { path } }, ctx);
      if (txn.body.kind === 'error') {
        this.prep.lastZxid--; // nothing to delete after all: do not burn a zxid
        continue;
      }
      this.sync.submit(txn, (err) => {
        if (!err) this.applyTxn(txn);
      });
      count++;
    }
    return count;
  }

  async close(): Promise<void> {
    this.serving = false;
    for (const c of [...this.conns]) {
      this.removeConnection(c);
      c.close(true);
    }
    await this.sync.close();
  }
}

function isWriteOp(op: number): boolean {
  return (
    op === OpCode.create ||
    op === OpCode.create2 ||
    op === OpCode.createContainer ||
    op === OpCode.createTTL ||
    op === OpCode.delete ||
    op === OpCode.setData ||
    op === OpCode.setACL ||
    op === OpCode.multi ||
    op === OpCode.reconfig ||
    op === OpCode.deleteContainer
  );
}

const SHORT: Record<number, string> = {
  [OpCode.ping]: 'PING',
  [OpCode.createSession]: 'SESS',
  [OpCode.multi]: 'MULT',
  [OpCode.multiRead]: 'MLTR',
  [OpCode.create]: 'CREA',
  [OpCode.create2]: 'CREA',
  [OpCode.createTTL]: 'CREA',
  [OpCode.createContainer]: 'CREA',
  [OpCode.delete]: 'DELE',
  [OpCode.setData]: 'SETD',
  [OpCode.reconfig]: 'RECO',
  [OpCode.setACL]: 'SETA',
  [OpCode.closeSession]: 'CLOS',
  [OpCode.sync]: 'SYNC',
  [OpCode.exists]: 'EXIS',
  [OpCode.getData]: 'GETD',
  [OpCode.setWatches]: 'SETW',
  [OpCode.setWatches2]: 'STW2',
  [OpCode.addWatch]: 'ADDW',
  [OpCode.getACL]: 'GETA',
  [OpCode.getChildren]: 'GETC',
  [OpCode.getChildren2]: 'GETC',
  [OpCode.getAllChildrenNumber]: 'GETACN',
  [OpCode.checkWatches]: 'CHKW',
  [OpCode.removeWatches]: 'REMW',
  [OpCode.whoAmI]: 'HOMI',
  [OpCode.getEphemerals]: 'GETE',
};

/** The 4-letter op names ZooKeeper shows as `lop` in `cons`. */
export function opShortName(op: number): string {
  return SHORT[op] ?? opName(op).toUpperCase().slice(0, 4);
}

/** PrepContext of a client request; checkSession asks the session tracker. */
class RequestPrepContext implements PrepContext {
  sessionId = 0n;
  cxid = 0;
  auth: readonly IdT[] = [];
  time = 0;
  /** Another member's local session, whose forwarded write the leader accepts unknown (localSessions.ts). */
  remoteLocal = false;
  /** The request's local-session refusal of ephemerals (Pending.refusal), or 0. */
  refusal = 0;

  constructor(private readonly sessions: SessionTracker) {}

  checkSession(): void {
    if (!this.remoteLocal && !this.sessions.isActive(this.sessionId)) throw new KeeperError(Err.SESSIONEXPIRED);
  }

  checkGlobalSession(): void {
    if (this.refusal !== 0) throw new KeeperError(this.refusal);
    // Another member's local session, or one of ours, is no global session (LeaderSessionTracker).
    const s = this.sessions.sessions.get(this.sessionId);
    if (this.remoteLocal || !s || s.closing || s.local) throw new KeeperError(Err.SESSIONEXPIRED);
  }
}
