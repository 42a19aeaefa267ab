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
}

export class SessionTracker {
  readonly sessions = new Map<bigint, SessionInfo>();
  private readonly buckets = new Map<number, Set<SessionInfo>>();
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
    if (s.expiresAt) this.buckets.get(s.expiresAt)?.delete(s);
    s.expiresAt = at;
    let b = this.buckets.get(at);
    if (!b) {
      b = new Set();
      this.buckets.set(at, b);
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
    this.buckets.get(s.expiresAt)?.delete(s);
    this.sessions.delete(id);
  }

  isActive(id: bigint): boolean {
    const s = this.sessions.get(id);
    return s !== undefined && !s.closing;
  }

  /** Sessions whose bucket time is <= now; they are marked closing. */
  expire(nowMs: number): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const [at, b] of this.buckets) {
      if (at > nowMs) continue;
      for (const s of b) {
        if (!s.closing) {
          s.closing = true;
          out.push(s);
        }
      }
      this.buckets.delete(at);
    }
    return out;
  }
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
