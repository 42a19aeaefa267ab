// Local sessions (zoo.cfg localSessionsEnabled, ensembles only), as ZooKeeper 3.8's
// LocalSessionTracker, LearnerSessionTracker, LeaderSessionTracker and
// QuorumZooKeeperServer.checkUpgradeSession behave:
// - every new session is local to the member it connects to: no createSession txn, not
//   replicated, expired and closed by that member alone without a txn; a client that moves to
//   another member (or finds its member re-elected) gets SESSIONEXPIRED;
// - a local session's create/create2/multi holding an ephemeral create first becomes global
//   (a createSession txn, with the session's timeout, ahead of the write) when
//   localSessionsUpgradingEnabled, and fails with EPHEMERALONLOCALSESSION otherwise: it still
//   goes to the leader, whose prep refuses the ephemeral create (an ErrorTxn, or that op's error
//   in a multi) and the client's reply names EPHEMERALONLOCALSESSION (FinalRequestProcessor);
// - the leader accepts forwarded writes of sessions it does not know when their id's top byte
//   names another member (that member's local sessions), but never lets them own ephemerals
//   (prep's checkGlobalSession: SESSIONEXPIRED).
// With localSessionsEnabled=false (the default) ZooKeeperServer has no LocalSessions at all.
//
// Read-only mode uses the same mechanism, as 3.8's ReadOnlyZooKeeperServer tracks its sessions
// in a LearnerSessionTracker of its own: quorum/readOnly.ts gives the member a LocalSessions for
// each read-only period (ZooKeeperServer.readOnly, bounded by `sessionsMax`) and drops all of
// its sessions when the period ends. No write of those sessions gets this far (NOTREADONLY).

import { CreateMode, Err, OpCode } from '../protocol/constants.js';
import type { TxnResult } from './datatree.js';
import type { PrepStage, WriteOp } from './prep.js';
import type { SyncStage } from './pipeline.js';
import type { Decoded } from './requests.js';
import type { SessionTracker } from './sessions.js';
import type { Txn } from './txn.js';
import type { ClientConn, LeaderLink, Pending } from './zkserver.js';

/** What LocalSessions needs of the ZooKeeperServer it serves. */
export interface LocalSessionHost {
  readonly sessions: SessionTracker;
  readonly sessionConns: Map<bigint, ClientConn>;
  readonly now: () => number;
  readonly prep: PrepStage;
  readonly sync: SyncStage;
  readonly leaderLink: LeaderLink | undefined;
  applyTxn(txn: Txn): TxnResult;
  drain(c: ClientConn): void;
}

/** The member id in a session id's top byte (LeaderSessionTracker.getServerIdFromSessionId, a signed shift). */
export function serverIdOfSession(id: bigint): number {
  return Number(BigInt.asIntN(64, id) >> 56n);
}

function isEphemeralCreate(w: WriteOp): boolean {
  if (w.op !== OpCode.create && w.op !== OpCode.create2) return false;
  const flags = w.req.flags;
  return flags === CreateMode.EPHEMERAL || flags === CreateMode.EPHEMERAL_SEQUENTIAL;
}

/** checkUpgradeSession's test: only create, create2 and a multi with an ephemeral create/create2 need a global session. */
export function needsGlobalSession(op: number, d: Decoded | undefined): boolean {
  if (!d) return false;
  if (op === OpCode.multi && d.cls === 'multi') return d.ops.some(isEphemeralCreate);
  if ((op === OpCode.create || op === OpCode.create2) && d.cls === 'write') return isEphemeralCreate(d.w);
  return false;
}

const OK_RESULT: TxnResult = { err: 0, path: '', stat: undefined, multi: undefined };

export interface LocalSessionOptions {
  /** localSessionsUpgradingEnabled: an ephemeral create makes the session global instead of failing. */
  readonly upgradingEnabled: boolean;
  /** Local sessions held at once; a client beyond it is refused (read-only mode's limit). */
  readonly sessionsMax?: number;
}

export class LocalSessions {
  /** Leader: stand-ins for other members' local sessions (ensemble.ts makes one per forwarded write). */
  private readonly remoteStandIns = new WeakSet<ClientConn>();
  readonly upgradingEnabled: boolean;
  readonly sessionsMax: number;

  constructor(
    private readonly host: LocalSessionHost,
    readonly myId: number,
    opts: LocalSessionOptions,
  ) {
    this.upgradingEnabled = opts.upgradingEnabled;
    this.sessionsMax = opts.sessionsMax ?? Number.POSITIVE_INFINITY;
  }

  isLocal(id: bigint): boolean {
    return this.host.sessions.sessions.get(id)?.local === true;
  }

  /** How many local sessions this member holds. */
  get size(): number {
    return this.host.sessions.localCount;
  }

  /** A new session: local, known to this member only. False (refuse the client) at sessionsMax. */
  create(id: bigint, timeoutMs: number): boolean {
    if (this.host.sessions.localCount >= this.sessionsMax) return false;
    this.host.sessions.addLocal(id, timeoutMs, this.host.now());
    return true;
  }

  /**
   * Leader: whether a forwarded write of a session it does not track is accepted
   * (LeaderSessionTracker.checkSession): only if the id is not one of its own.
   */
  acceptsUnknown(id: bigint): boolean {
    return serverIdOfSession(id) !== this.myId;
  }

  /** Leader: marks a forwarded write's stand-in as another member's local session. */
  admitRemote(c: ClientConn): void {
    this.remoteStandIns.add(c);
  }

  isRemote(c: ClientConn): boolean {
    return this.remoteStandIns.has(c);
  }

  /**
   * Called for each request of the connection before it is prepped or forwarded. Returns true
   * if the request was handled here (a local close); on an upgrade the createSession goes out
   * first, and a refused ephemeral is marked (Pending.refusal); both then take their usual way.
   */
  handle(c: ClientConn, p: Pending, op: number): boolean {
    if (!p.isWrite || this.remoteStandIns.has(c)) return false;
    const s = this.host.sessions.sessions.get(c.sessionId);
    if (!s?.local) return false;
    if (op === OpCode.closeSession) {
      this.closeByClient(c, p);
      return true;
    }
    if (!needsGlobalSession(op, p.decoded)) return false;
    if (!this.upgradingEnabled) {
      // Apache's checkUpgradeSession sets the error on the request, which goes on to prep.
      p.refusal = Err.EPHEMERALONLOCALSESSION;
      return false;
    }
    this.upgrade(c.sessionId, s.timeoutMs);
    return false;
  }

  /** The session becomes global: a createSession txn with its timeout, ordered before the write that needs it. */
  private upgrade(id: bigint, timeoutMs: number): void {
    const h = this.host;
    const s = h.sessions.sessions.get(id);
    if (!s) return;
    // Global from now on here: its touches go to the leader, whose tracker expires it.
    h.sessions.makeGlobal(s, h.now());
    if (h.leaderLink) {
      h.leaderLink.forwardCreateSession(id, timeoutMs);
      return;
    }
    const txn = h.prep.prepareRaw(
      OpCode.createSession,
      { kind: 'createSession', op: OpCode.createSession, timeOut: timeoutMs },
      id,
      0,
      h.now(),
    );
    h.sync.submit(txn, (err) => {
      // A failed proposal fails the write behind it too (the connection is abandoned there).
      if (!err) h.applyTxn(txn);
    });
  }

  /** The client's closeSession: no txn; answered OK, then the connection closes. */
  closeByClient(c: ClientConn, p: Pending): void {
    this.end(c.sessionId, c);
    p.result = OK_RESULT;
    p.done = true;
    p.closeAfter = true;
    this.host.drain(c);
  }

  /** Forgets a local session and closes its connection (unless that is `keep`, which closes after its reply). */
  private end(id: bigint, keep?: ClientConn): void {
    const h = this.host;
    h.sessions.remove(id);
    const conn = h.sessionConns.get(id);
    if (!conn) return;
    h.sessionConns.delete(id);
    if (conn !== keep) conn.close(false);
  }

  /** Expires local sessions whose deadline passed (every member does its own, each tick). */
  expire(nowMs: number): void {
    for (const s of this.host.sessions.expireLocal(nowMs)) this.end(s.id);
  }

  /** Expires one local session now (test clusters); false if `id` is not a local session here. */
  expireNow(id: bigint): boolean {
    if (!this.isLocal(id)) return false;
    this.end(id);
    return true;
  }

  /**
   * A role change or the end of a read-only period: local sessions belong to the old server
   * instance (Apache builds new trackers). Returns how many were dropped.
   */
  dropAll(): number {
    if (this.host.sessions.localCount === 0) return 0;
    const ids: bigint[] = [];
    for (const s of this.host.sessions.sessions.values()) if (s.local) ids.push(s.id);
    for (const id of ids) this.end(id);
    return ids.length;
  }
}
