// Request dispatch of the ZooKeeperServer core (zkserver.ts): decodes each request frame of an
// established connection and sends it on its way (auth and SASL answered at once, reads queued
// behind earlier writes, writes prepped into txns and submitted to the sync stage, or forwarded
// to the leader on an ensemble learner), as ZooKeeperServer.processPacket and PrepRequestProcessor.

import { Err, OpCode } from '../protocol/constants.js';
import { JuteError, JuteReader } from '../protocol/jute.js';
import { AuthPacket, GetSASLRequest, ReconfigRequest, RequestHeader, type IdT } from '../protocol/records.js';
import type { ReconfigArgs } from '../quorum/reconfig.js';
import { addAuthId, authenticate } from './acl.js';
import { KeeperError, type PrepContext } from './prep.js';
import { decodeRequest, type Decoded } from './requests.js';
import type { SessionTracker } from './sessions.js';
import { READ_ONLY_REFUSED_OPS } from './readOnly.js';
import type { Txn } from './txn.js';
import type { ClientConn, Pending, ZooKeeperServer } from './zkserver.js';

export class RequestDispatcher {
  private readonly reader = new JuteReader(Buffer.alloc(0));
  private readonly prepCtx: RequestPrepContext;

  constructor(private readonly server: ZooKeeperServer) {
    this.prepCtx = new RequestPrepContext(server.sessions);
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
    this.server.stats.packetsReceived++;
    c.stats.packetsReceived++;
    c.stats.lastCxid = xid;
    // Auth and SASL are handled before the session is touched (ZooKeeperServer.processPacket).
    if (op === OpCode.auth) return this.handleAuth(c, xid, r);
    if (op === OpCode.sasl) return this.handleSasl(c, xid, r);
    const refusal = this.server.saslAuth.refusal(c.authIds);
    if (refusal !== 0) {
      // enforce.auth / sessionRequireClientSASLAuth: answered like an auth packet (zxid 0, no
      // body), then the connection is closed; the session is left to expire.
      const p = this.server.pending(c, xid, OpCode.auth, undefined, false);
      p.err = refusal;
      p.closeAfter = true;
      if (c.queue[0] === p) this.server.drain(c);
      return true;
    }
    // A request for a session that is closing (closeSession queued, or expired) is dropped
    // without a reply and without a zxid, as ZooKeeper drops it (MissingSessionException).
    if (!this.server.sessions.touch(c.sessionId, this.server.now()) && !this.server.localSessions?.isRemote(c)) return true;
    // Local sessions are not the leader's to expire: not reported.
    if (this.server.leaderLink && this.server.localSessions?.isLocal(c.sessionId) !== true) this.server.touchedSinceReport.add(c.sessionId);
    if (this.server.readOnly && (READ_ONLY_REFUSED_OPS.has(op) || op === OpCode.closeSession)) return this.readOnlyAnswer(c, xid, op);
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
        if (!this.server.opts.reconfigEnabled) err = Err.RECONFIGDISABLED;
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
    const p = this.server.pending(c, xid, op, decoded, isWrite || (err !== 0 && err !== Err.UNIMPLEMENTED && txnOnError));
    if (err === Err.UNIMPLEMENTED) p.closeAfter = true;
    if (this.server.localSessions?.handle(c, p, op)) return true;
    if (this.server.leaderLink && p.isWrite) {
      // Ensemble learner: the leader preps it; the commit (or the sync barrier) completes it.
      if (op === OpCode.closeSession) p.closeAfter = true;
      if (op === OpCode.sync) {
        p.result = { err: 0, path: (decoded as { path?: string } | undefined)?.path ?? '', stat: undefined, multi: undefined };
        this.server.leaderLink.sync(c, p);
      } else {
        this.server.leaderLink.forwardWrite(c, frame);
      }
      return true;
    }
    if (p.isWrite && op !== OpCode.sync && this.server.sync.unavailableReason !== undefined) {
      // Storage failed: writes are refused without taking a zxid; reads go on.
      p.isWrite = false;
      p.err = Err.NOTREADONLY;
      if (c.queue[0] === p) this.server.drain(c);
      return true;
    }

    if (err !== 0 && p.isWrite) {
      // A write that could not be decoded still takes a zxid, as ZooKeeper logs an ErrorTxn.
      const txn = this.server.prep.prepareRaw(OpCode.error, { kind: 'error', op: OpCode.error, err }, c.sessionId, xid, this.server.now());
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
    if (c.queue[0] === p) this.server.drain(c);
    return true;
  }

  /**
   * Read-only mode: state changes get NOTREADONLY unread (ReadOnlyRequestProcessor); a local
   * session's closeSession ends it here, without a txn.
   */
  private readOnlyAnswer(c: ClientConn, xid: number, op: number): boolean {
    const p = this.server.pending(c, xid, op, undefined, false);
    if (op === OpCode.closeSession) {
      this.server.readOnly?.closeByClient(c, p);
      return true;
    }
    p.err = Err.NOTREADONLY;
    if (c.queue[0] === p) this.server.drain(c);
    return true;
  }

  private submitWrite(c: ClientConn, p: Pending, d: Decoded, xid: number): void {
    const ctx = this.prepContext(c, xid, p.refusal);
    if (d.cls === 'sync') {
      // A null path is echoed as null: the ustring codec writes it with length -1.
      p.result = { err: 0, path: d.path as string, stat: undefined, multi: undefined };
      // Completes even after a storage failure: no write before it will ever be acknowledged.
      this.server.sync.submit(null, () => {
        p.done = true;
        this.server.drain(c);
      });
      return;
    }
    let txn: Txn;
    if (d.cls === 'closeSession') {
      if (!this.server.sessions.isActive(c.sessionId)) {
        txn = this.server.prep.prepareRaw(
          OpCode.error,
          { kind: 'error', op: OpCode.error, err: Err.SESSIONEXPIRED },
          c.sessionId,
          xid,
          ctx.time,
        );
      } else {
        this.server.sessions.setClosing(c.sessionId);
        const paths2Delete = this.server.prep.ephemeralsForClose(c.sessionId);
        txn = this.server.prep.prepareRaw(
          OpCode.closeSession,
          { kind: 'closeSession', op: OpCode.closeSession, paths2Delete },
          c.sessionId,
          xid,
          ctx.time,
        );
      }
      p.closeAfter = true;
    } else if (d.cls === 'multi') {
      txn = this.server.prep.prepareMulti(d.ops, ctx);
    } else if (d.cls === 'write') {
      txn = this.server.prep.prepareWrite(d.w, ctx);
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
      if (!this.server.reconfigPrep) throw new KeeperError(Err.UNIMPLEMENTED);
      // The configuration's version is the zxid this txn takes (prepareRaw hands out the next one).
      const data = this.server.reconfigPrep.prepare(args, c.authIds, this.server.prep.lastZxid + 1);
      const body = { kind: 'setData', op: OpCode.setData, path: '/zookeeper/config', data, version: -1 } as const;
      return this.server.prep.prepareRaw(OpCode.reconfig, body, c.sessionId, xid, ctx.time);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      return this.server.prep.prepareRaw(OpCode.error, { kind: 'error', op: OpCode.error, err: e.code }, c.sessionId, xid, ctx.time);
    }
  }

  private submitTxn(c: ClientConn, p: Pending, txn: Txn): void {
    this.server.sync.submit(txn, (err) => {
      if (err) {
        this.server.abandon(c);
        return;
      }
      p.result = this.server.applyTxn(txn);
      p.done = true;
      this.server.drain(c);
    });
  }

  /** The context of the request being prepped: one object, refilled per request (prep keeps none of it). */
  private prepContext(c: ClientConn, xid: number, refusal = 0): PrepContext {
    const ctx = this.prepCtx;
    ctx.refusal = refusal;
    ctx.sessionId = c.sessionId;
    ctx.cxid = xid;
    ctx.auth = c.authIds;
    ctx.time = this.server.now();
    ctx.remoteLocal = this.server.localSessions?.isRemote(c) === true;
    return ctx;
  }

  /** Returns false (close without a reply) if the AuthPacket is malformed, as ZooKeeper does. */
  private handleAuth(c: ClientConn, xid: number, r: JuteReader): boolean {
    let ids: IdT[] | number;
    try {
      const pkt = AuthPacket.decode(r);
      ids = authenticate(pkt.scheme, pkt.auth, this.server.opts.superDigest, c.remoteAddress);
    } catch {
      return false;
    }
    // Auth is answered in order with the connection's other replies: kazoo matches the reply
    // against its pending queue, so strict ordering is the safe choice.
    const p = this.server.pending(c, xid, OpCode.auth, undefined, false);
    if (typeof ids === 'number') {
      p.err = ids;
      p.closeAfter = true;
    } else {
      for (const id of ids) {
        addAuthId(c.authIds, id);
      }
    }
    if (c.queue[0] === p) this.server.drain(c);
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
    if (token === null && this.server.opts.sasl?.users !== undefined) return false;
    const step = this.server.saslAuth.step(c, token, c.remoteAddress);
    const p = this.server.pending(c, xid, OpCode.sasl, undefined, false);
    p.err = step.err;
    p.saslToken = step.token;
    p.closeAfter = step.close;
    for (const id of step.ids) addAuthId(c.authIds, id);
    if (c.queue[0] === p) this.server.drain(c);
    return true;
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
