// Session expiry in tick-sized buckets (ZooKeeper's SessionTrackerImpl + ExpiryQueue). Pure:
// callers pass the current time; `expire(now)` returns the sessions whose deadline passed.

import { JavaRandom } from '../../util/javaRandom.js';

export interface SessionInfo {
  readonly id: bigint;
  timeoutMs: number;
  /** Bucket (ms) the session currently sits in. */
  expiresAt: number;
  /** Set once a closeSession txn is queued: no further requests are accepted. */
  closing: boolean;
  /** A local session (localSessionsEnabled): known to this member only, expired here without a txn. */
  local?: boolean;
}

export class SessionTracker {
  readonly sessions = new Map<bigint, SessionInfo>();
  private readonly buckets = new Map<number, Set<SessionInfo>>();
  /** Local sessions' expiry buckets, apart from the global ones: learners expire only these. */
  private readonly localBuckets = new Map<number, Set<SessionInfo>>();
  /** How many tracked sessions are local. */
  localCount = 0;
  private nextSessionId: bigint;

  constructor(
    private readonly tickMs: number,
    serverId: number,
    nowMs: number,
  ) {
    this.nextSessionId = initialSessionId(nowMs, serverId);
  }

  private roundUp(t: number): number {
    return (Math.floor(t / this.tickMs) + 1) * this.tickMs;
  }

  newSessionId(): bigint {
    return this.nextSessionId++;
  }

  /** Adds (or re-adds, on recovery) a session. */
  add(id: bigint, timeoutMs: number, nowMs: number): SessionInfo {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, timeoutMs, expiresAt: 0, closing: false };
      this.sessions.set(id, s);
    }
    s.timeoutMs = timeoutMs;
    this.touchInfo(s, nowMs);
    return s;
  }

  /** Adds a new local session (localSessions.ts). */
  addLocal(id: bigint, timeoutMs: number, nowMs: number): SessionInfo {
    const s: SessionInfo = { id, timeoutMs, expiresAt: 0, closing: false, local: true };
    this.sessions.set(id, s);
    this.localCount++;
    this.touchInfo(s, nowMs);
    return s;
  }

  /** A local session becomes global (its createSession is on its way): the global expiry takes it over. */
  makeGlobal(s: SessionInfo, nowMs: number): void {
    if (!s.local) return;
    this.localBuckets.get(s.expiresAt)?.delete(s);
    s.local = false;
    s.expiresAt = 0;
    this.localCount--;
    this.touchInfo(s, nowMs);
  }

  /** Returns false if the session is unknown or closing. */
  touch(id: bigint, nowMs: number): boolean {
    const s = this.sessions.get(id);
    if (!s || s.closing) return false;
    this.touchInfo(s, nowMs);
    return true;
  }

  private touchInfo(s: SessionInfo, nowMs: number): void {
    const at = this.roundUp(nowMs + s.timeoutMs);
    if (at === s.expiresAt) return;
    const buckets = s.local ? this.localBuckets : this.buckets;
    if (s.expiresAt) buckets.get(s.expiresAt)?.delete(s);
    s.expiresAt = at;
    let b = buckets.get(at);
    if (!b) {
      b = new Set();
      buckets.set(at, b);
    }
    b.add(s);
  }

  setClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s) s.closing = true;
  }

  remove(id: bigint): void {
    const s = this.sessions.get(id);
    if (!s) return;
    if (s.local) {
      this.localBuckets.get(s.expiresAt)?.delete(s);
      this.localCount--;
    } else {
      this.buckets.get(s.expiresAt)?.delete(s);
    }
    this.sessions.delete(id);
  }

  isActive(id: bigint): boolean {
    const s = this.sessions.get(id);
    return s !== undefined && !s.closing;
  }

  /** Sessions whose bucket time is <= now; they are marked closing. */
  expire(nowMs: number): SessionInfo[] {
    return expireBuckets(this.buckets, nowMs);
  }

  /** Local sessions whose bucket time is <= now; they are marked closing. */
  expireLocal(nowMs: number): SessionInfo[] {
    return this.localBuckets.size === 0 ? [] : expireBuckets(this.localBuckets, nowMs);
  }
}

function expireBuckets(buckets: Map<number, Set<SessionInfo>>, nowMs: number): SessionInfo[] {
  const out: SessionInfo[] = [];
  for (const [at, b] of buckets) {
    if (at > nowMs) continue;
    for (const s of b) {
      if (!s.closing) {
        s.closing = true;
        out.push(s);
      }
    }
    buckets.delete(at);
  }
  return out;
}

/** ZooKeeper's scheme: the top byte is the server id, then the creation time in ms. */
export function initialSessionId(nowMs: number, serverId: number): bigint {
  const t = BigInt.asUintN(64, BigInt(nowMs) << 24n) >> 8n;
  return BigInt.asIntN(64, t | (BigInt(serverId) << 56n));
}

/** The password ZooKeeper derives for a session id: Random(id ^ 0xB3415C00).nextBytes(16). */
export function sessionPassword(id: bigint): Buffer {
  const out = Buffer.alloc(16);
  new JavaRandom(id ^ 0xb3415c00n).nextBytes(out);
  return out;
}
