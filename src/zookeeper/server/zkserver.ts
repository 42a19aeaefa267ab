// The request pipeline of one ZooKeeper server: prep -> sync -> final, per-connection FIFO
// replies, sessions and their expiry. Connections (the socket shell in connection.ts) hand in
// decoded frames; this class never touches sockets, timers or the clock itself: `now()` is
// injected and `tick()` is driven by the shell. This file holds the server's state, the
// handshake, the final stage (applyTxn) and the time-driven work; request frames are dispatched
// in requestDispatch.ts and replies sent in order by replies.ts.

import { OpCode } from '../protocol/constants.js';
import type { JuteWriter } from '../protocol/jute.js';
import type { ConnectRequest, ConnectResponse } from '../protocol/connect.js';
import type { IdT } from '../protocol/records.js';
import type { ReconfigPrep } from '../quorum/reconfigHost.js';
import { DataTree, type TxnResult } from './datatree.js';
import { isTtlOwner, ttlOfOwner } from './ephemeralOwner.js';
import type { ServerOptions } from './options.js';
import { LocalSessions } from './localSessions.js';
import { InMemorySyncStage, type SyncStage } from './pipeline.js';
import { PrepStage, type PrepContext, type PrepOptions } from './prep.js';
import { topNamespace, type QuotaExceeded } from './quota.js';
import { drainReplies } from './replies.js';
import { RequestDispatcher } from './requestDispatch.js';
import type { Decoded } from './requests.js';
import { SessionTracker, sessionPassword } from './sessions.js';
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
  /** Decodes, preps and submits the request frames of established connections. */
  private readonly requests: RequestDispatcher;
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
    this.requests = new RequestDispatcher(this);
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
  abandon(c: ClientConn): void {
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

  /** Queues a request's reply slot in its connection's FIFO (the handshake's and every request's). */
  pending(c: ClientConn, xid: number, op: number, decoded: Decoded | undefined, isWrite: boolean): Pending {
    const p: Pending = { xid, op, decoded, err: 0, closeAfter: false, result: undefined, isWrite, done: false, startMs: this.now() };
    c.queue.push(p);
    return p;
  }

  /**
   * Handles one request frame (after the handshake; requestDispatch.ts). Returns false if the
   * frame was not even a request header, in which case the connection must be closed.
   */
  submit(c: ClientConn, frame: Buffer): boolean {
    return this.requests.submit(c, frame);
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

  /** Sends replies for the head of the connection's queue while they are ready (replies.ts). */
  drain(c: ClientConn): void {
    drainReplies(this, c);
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
