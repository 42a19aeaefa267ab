// The ZooKeeper of the Kafka simulator (kafkaSim.ts): a linearizable store reduced to what the
// controller and brokers use — sessions that expire, the ephemeral /brokers/ids/<id> (broker epoch =
// the registration's czxid), the ephemeral /controller with /controller_epoch and its version, and
// partition state znodes with versions. Every operation is atomic at the instant the simulator
// calls it; the network model decides whether a node can reach ZooKeeper at all.

import type { PartitionState } from '../kafka/zk/layout.js';

export interface ZkSession {
  readonly id: number;
  readonly broker: number;
  lastSeenMs: number;
  expired: boolean;
}

/** What a controller holds after winning /controller: the epoch and /controller_epoch's version. */
export interface ZkLease {
  readonly epoch: number;
  readonly epochZkVersion: number;
}

/** An epoch-fenced write's outcome (ControllerMovedError / SESSIONEXPIRED / BADVERSION / NODEEXISTS / NONODE). */
export type ZkWriteResult = { ok: true; version: number } | { ok: false; why: 'moved' | 'expired' | 'badversion' | 'exists' | 'nonode' };

export class SimZk {
  private zxid = 0;
  private nextSession = 1;
  readonly sessions = new Map<number, ZkSession>();
  /** /brokers/ids/<id>: broker epoch and owning session. */
  readonly brokers = new Map<number, { epoch: number; session: number }>();
  controller: { broker: number; session: number } | undefined;
  controllerEpoch = 0;
  controllerEpochVersion = 0;
  readonly states = new Map<number, { state: PartitionState; version: number }>();
  /** Bumped on every change of /brokers/ids: what a child watch would report. */
  brokersVersion = 0;
  /** Bumped on every change of /controller: what a data watch would report. */
  controllerVersion = 0;

  constructor(
    readonly sessionTimeoutMs: number,
    /** Called on every successful partition state write (the simulator checks its invariants there). */
    private readonly onStateWritten: (partition: number, state: PartitionState, version: number) => void,
  ) {}

  createSession(broker: number, nowMs: number): number {
    const id = this.nextSession++;
    this.sessions.set(id, { id, broker, lastSeenMs: nowMs, expired: false });
    return id;
  }

  /** A ping from the session's owner: false when the session has expired (the owner must start over). */
  heartbeat(session: number, nowMs: number): boolean {
    const s = this.sessions.get(session);
    if (!s || s.expired) return false;
    s.lastSeenMs = nowMs;
    return true;
  }

  isLive(session: number): boolean {
    const s = this.sessions.get(session);
    return s !== undefined && !s.expired;
  }

  /** Ends a session now (timeout, or a closed client): its ephemerals go. */
  expire(session: number): void {
    const s = this.sessions.get(session);
    if (!s || s.expired) return;
    s.expired = true;
    for (const [id, b] of this.brokers) {
      if (b.session === session) {
        this.brokers.delete(id);
        this.brokersVersion++;
      }
    }
    if (this.controller?.session === session) {
      this.controller = undefined;
      this.controllerVersion++;
    }
  }

  /** ZooKeeper's session timer. Returns the sessions it expired. */
  expireIdle(nowMs: number): number[] {
    const out: number[] = [];
    for (const s of this.sessions.values()) {
      if (!s.expired && nowMs - s.lastSeenMs > this.sessionTimeoutMs) {
        this.expire(s.id);
        out.push(s.id);
      }
    }
    // Expired sessions are forgotten (bounded map).
    for (const [id, s] of this.sessions) if (s.expired) this.sessions.delete(id);
    return out;
  }

  /** Creates /brokers/ids/<id>; undefined when the node exists (an earlier session still holds it). */
  register(broker: number, session: number): number | undefined {
    if (!this.isLive(session)) return undefined;
    const cur = this.brokers.get(broker);
    if (cur) return cur.session === session ? cur.epoch : undefined;
    const epoch = ++this.zxid;
    this.brokers.set(broker, { epoch, session });
    this.brokersVersion++;
    return epoch;
  }

  /** Kafka's registerControllerAndIncrementControllerEpoch: create /controller, bump the epoch. */
  tryElect(broker: number, session: number): ZkLease | undefined {
    if (!this.isLive(session) || this.controller) return undefined;
    this.controller = { broker, session };
    this.controllerVersion++;
    this.controllerEpoch++;
    this.controllerEpochVersion++;
    return { epoch: this.controllerEpoch, epochZkVersion: this.controllerEpochVersion };
  }

  private fence(session: number, epochZkVersion: number): ZkWriteResult | undefined {
    if (!this.isLive(session)) return { ok: false, why: 'expired' };
    if (epochZkVersion !== this.controllerEpochVersion) return { ok: false, why: 'moved' };
    return undefined;
  }

  /** multi(check /controller_epoch version, create state znode). */
  createState(session: number, epochZkVersion: number, partition: number, state: PartitionState): ZkWriteResult {
    const refused = this.fence(session, epochZkVersion);
    if (refused) return refused;
    if (this.states.has(partition)) return { ok: false, why: 'exists' };
    this.zxid++;
    this.states.set(partition, { state: copyState(state), version: 0 });
    this.onStateWritten(partition, state, 0);
    return { ok: true, version: 0 };
  }

  /** multi(check /controller_epoch version, setData state znode at expectedVersion). */
  updateState(session: number, epochZkVersion: number, partition: number, state: PartitionState, expectedVersion: number): ZkWriteResult {
    const refused = this.fence(session, epochZkVersion);
    if (refused) return refused;
    const cur = this.states.get(partition);
    if (!cur) return { ok: false, why: 'nonode' };
    if (cur.version !== expectedVersion) return { ok: false, why: 'badversion' };
    this.zxid++;
    const version = cur.version + 1;
    this.states.set(partition, { state: copyState(state), version });
    this.onStateWritten(partition, state, version);
    return { ok: true, version };
  }

  readState(partition: number): { state: PartitionState; zkVersion: number } | null {
    const cur = this.states.get(partition);
    return cur ? { state: copyState(cur.state), zkVersion: cur.version } : null;
  }

  liveBrokers(): Map<number, number> {
    return new Map([...this.brokers].map(([id, b]) => [id, b.epoch]));
  }
}

export function copyState(s: PartitionState): PartitionState {
  return { ...s, isr: [...s.isr] };
}
