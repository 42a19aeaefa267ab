// Read-only mode of an ensemble member (readonlymode.enabled), as Apache ZooKeeper 3.8's
// QuorumPeer runs its ReadOnlyZooKeeperServer: a member that has been LOOKING for a grace period
// (max(2 s, tickTime)) decides it is partitioned and serves clients that allow read-only sessions
// from its last committed state; the moment its election ends (a leader is found) the read-only
// server stops and its clients are disconnected, so they reconnect to a read-write server.
//
// The decision is pure (ReadOnlyClock: role changes and ticks in, enter/leave out); ReadOnlyMode
// carries it out on the member's ZooKeeperServer and shell. What is refused while read-only is in
// server/readOnly.ts; the sessions of a read-only period are local sessions (server/localSessions.ts),
// as Apache's read-only server keeps them in a LearnerSessionTracker of its own.

import type { Logger } from '../../util/log.js';
import { LocalSessions } from '../server/localSessions.js';
import type { ZooKeeperServerShell } from '../server/server.js';
import type { PeerState } from './types.js';

/** Apache's lower bound on the grace period before a LOOKING member serves read-only. */
export const READ_ONLY_GRACE_MIN_MS = 2000;
/** Local sessions one member holds at once while read-only; further clients are refused. */
export const READ_ONLY_LOCAL_SESSIONS_MAX = 60_000;

/** QuorumPeer: sleep(Math.max(2000, tickTime)) before the read-only server starts. */
export function readOnlyGraceMs(tickTimeMs: number): number {
  return Math.max(READ_ONLY_GRACE_MIN_MS, tickTimeMs);
}

/** When to serve read-only: LOOKING for graceMs without a break. Pure; the caller passes the time. */
export class ReadOnlyClock {
  private lookingSince: number | undefined;
  active = false;

  constructor(readonly graceMs: number) {}

  /** Every role output of the core. Returns 'leave' if the read-only period ends with it. */
  onRole(state: PeerState, now: number): 'leave' | undefined {
    const wasActive = this.active;
    this.active = false;
    // A new LOOKING starts a new grace period (each pass of Apache's LOOKING case does).
    this.lookingSince = state === 'looking' ? now : undefined;
    return wasActive ? 'leave' : undefined;
  }

  /** Returns 'enter' once the grace period has passed while still LOOKING. */
  tick(now: number): 'enter' | undefined {
    if (this.active || this.lookingSince === undefined || now - this.lookingSince < this.graceMs) return undefined;
    this.active = true;
    return 'enter';
  }
}

export class ReadOnlyMode {
  readonly clock: ReadOnlyClock;

  constructor(
    private readonly shell: ZooKeeperServerShell,
    private readonly log: Logger,
    graceMs: number,
    private readonly localSessionsMax = READ_ONLY_LOCAL_SESSIONS_MAX,
  ) {
    this.clock = new ReadOnlyClock(graceMs);
  }

  get active(): boolean {
    return this.clock.active;
  }

  /** Call before the member acts on a role change: a read-only period ends first. */
  onRole(state: PeerState, now: number): void {
    if (this.clock.onRole(state, now) === 'leave') this.leave(state);
  }

  tick(now: number): void {
    if (this.clock.tick(now) === 'enter') this.enter();
    else if (this.clock.active) this.expireLocalSessions(now);
  }

  private enter(): void {
    const zk = this.shell.core;
    // Writes never reach these sessions (NOTREADONLY first), so there is nothing to upgrade.
    zk.readOnly = new LocalSessions(zk, zk.opts.serverId, { upgradingEnabled: false, sessionsMax: this.localSessionsMax });
    zk.serving = true;
    this.shell.mode = 'read-only';
    this.log.info(
      { zxid: `0x${zk.lastZxid.toString(16)}`, graceMs: this.clock.graceMs },
      'Read-only server started: no quorum; serving read-only clients from the last committed state',
    );
  }

  /** The quorum is back (or the member stops): local sessions end and every client reconnects. */
  private leave(state: PeerState): void {
    const zk = this.shell.core;
    const ro = zk.readOnly;
    zk.readOnly = undefined;
    zk.serving = false;
    this.shell.mode = 'looking';
    for (const c of [...zk.conns]) {
      zk.removeConnection(c);
      c.close(true);
    }
    const dropped = ro?.dropAll() ?? 0;
    this.log.info({ state, localSessions: dropped }, 'Read-only server stopped: election over; clients reconnect');
  }

  /** Local sessions whose clients went quiet past their timeout end here (nobody else tracks them). */
  private expireLocalSessions(now: number): void {
    this.shell.core.readOnly?.expire(now);
  }
}
