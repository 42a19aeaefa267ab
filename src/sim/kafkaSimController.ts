// The controller shell of the Kafka simulator: what controller.ts does around the real
// ControllerCore, bound to the ZooKeeper model (kafkaSimZk.ts) and the simulated network. It runs
// for /controller, reads the whole state on failover (core.initialize), reacts to /brokers/ids
// changes (core.brokersChanged), answers AlterPartition and ControlledShutdown, makes every write
// an epoch-fenced conditional one (a lost version re-decides through core.stateRefreshed) and sends
// LeaderAndIsr / UpdateMetadata / StopReplica through a per-broker FIFO channel that resends until
// acknowledged (ControllerChannelManager). A fenced write or a lost session resigns.

import { ErrorCode } from '../kafka/protocol/errors.js';
import type { ControllerCore } from '../kafka/controller/decisions.js';
import type { ControllerNotification, ControllerWrite, Decision, TopicSnapshot } from '../kafka/controller/coreTypes.js';
import type { PartitionState } from '../kafka/zk/layout.js';
import type { SimZk, ZkLease } from './kafkaSimZk.js';
import { LIMITS, type SimMsg, TOPIC, TOPIC_ID } from './kafkaSimTypes.js';

/** What the broker hosting this controller gives it. */
export interface ControllerEnv {
  readonly brokerId: number;
  readonly zk: SimZk;
  readonly partitions: number;
  readonly assignment: (p: number) => number[];
  now(): number;
  /** The broker's current ZooKeeper session (may be newer than the one the lease was won with). */
  session(): number | undefined;
  send(to: number, msg: SimMsg): void;
  makeCore(controllerEpoch: number): ControllerCore;
  stats: { failovers: number; fencedWrites: number; controllerWrites: number };
  trace(line: string): void;
}

type Pending =
  | { kind: 'alter'; msg: SimMsg & { t: 'alterPartition' }; from: number }
  | { kind: 'shutdown'; from: number; brokerEpoch: number };

class ControllerMoved extends Error {}

const CHANNEL_RETRY_MS = 150;

export class SimController {
  lease: ZkLease | undefined;
  /** The session /controller was won with (a newer broker session means the lease is stale). */
  leaseSession: number | undefined;
  core: ControllerCore | undefined;
  private brokersSeen = -1;
  private readonly channel = new Map<number, { queue: SimMsg[]; sentAtMs: number | undefined }>();
  private readonly events: Pending[] = [];
  private nextReqId = 1;

  constructor(private readonly env: ControllerEnv) {}

  get active(): boolean {
    return this.core !== undefined;
  }

  resign(why: string): void {
    if (!this.lease) return;
    this.env.trace(`b${this.env.brokerId} resigns controller epoch ${this.lease.epoch}: ${why}`);
    this.lease = undefined;
    this.leaseSession = undefined;
    this.core = undefined;
    this.channel.clear();
    this.events.length = 0;
  }

  /** A broker request: answered at once when not the controller, else queued for the event loop. */
  request(from: number, msg: SimMsg): void {
    if (!this.core) {
      if (msg.t === 'alterPartition') {
        const result = { errorCode: ErrorCode.NOT_CONTROLLER, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
        this.env.send(from, { t: 'alterPartitionResp', partition: msg.partition, proposal: msg.proposal, result });
      } else if (msg.t === 'controlledShutdown') {
        this.env.send(from, { t: 'controlledShutdownResp', errorCode: ErrorCode.NOT_CONTROLLER, remaining: -1 });
      }
      return;
    }
    if (this.events.length >= LIMITS.controllerEventsMax) return; // dropped: the broker retries
    if (msg.t === 'alterPartition') this.events.push({ kind: 'alter', msg, from });
    else if (msg.t === 'controlledShutdown') this.events.push({ kind: 'shutdown', from, brokerEpoch: msg.brokerEpoch });
  }

  controlAcked(from: number, reqId: number): void {
    const ch = this.channel.get(from);
    const head = ch?.queue[0];
    if (!ch || !head || !('reqId' in head) || head.reqId !== reqId) return;
    ch.queue.shift();
    ch.sentAtMs = undefined;
    this.pump(from);
  }

  /**
   * One turn of the controller's event thread, run when the broker can reach ZooKeeper: the
   * /controller and /brokers/ids watches, then queued broker requests, then the election.
   * `watches` false: a zombie whose expiry has not reached the event thread yet — it only works
   * off queued requests, with its old lease (the epoch fence must stop it).
   */
  turn(watches = true): void {
    const { zk } = this.env;
    const session = this.env.session();
    if (session === undefined) return;
    try {
      if (watches && this.core && zk.controller?.session !== this.leaseSession) this.resign('/controller changed');
      if (watches && this.core && zk.brokersVersion !== this.brokersSeen) {
        this.brokersSeen = zk.brokersVersion;
        const live = zk.liveBrokers();
        // A bounced or gone broker's queued requests are for an incarnation that no longer exists.
        for (const [id, epoch] of this.core.liveBrokers) if (live.get(id) !== epoch) this.channel.delete(id);
        this.execute(this.core.brokersChanged(live));
      }
      while (this.core && this.events.length > 0) this.handle(this.events.shift()!);
    } catch (e) {
      if (!(e instanceof ControllerMoved)) throw e;
      this.env.stats.fencedWrites++;
      this.resign(e.message);
    }
    if (watches && !this.core && !zk.controller) this.failover(session);
    for (const to of this.channel.keys()) this.pump(to);
  }

  private failover(session: number): void {
    const { zk, env } = { zk: this.env.zk, env: this.env };
    const lease = zk.tryElect(env.brokerId, session);
    if (!lease) return;
    env.stats.failovers++;
    env.trace(`b${env.brokerId} elected controller epoch ${lease.epoch}`);
    this.lease = lease;
    this.leaseSession = session;
    const core = env.makeCore(lease.epoch);
    this.core = core;
    this.brokersSeen = zk.brokersVersion;
    const partitions = new Map<number, number[]>();
    const states = new Map<number, { state: PartitionState; zkVersion: number }>();
    for (let p = 0; p < env.partitions; p++) {
      partitions.set(p, env.assignment(p));
      const s = zk.readState(p);
      if (s) states.set(p, s);
    }
    const snap: TopicSnapshot = { topicId: TOPIC_ID, partitions, states };
    try {
      this.execute(core.initialize(zk.liveBrokers(), new Map([[TOPIC, snap]])));
    } catch (e) {
      if (!(e instanceof ControllerMoved)) throw e;
      env.stats.fencedWrites++;
      this.resign(e.message);
    }
  }

  private handle(ev: Pending): void {
    const core = this.core!;
    if (ev.kind === 'shutdown') {
      const { errorCode, decision } = core.controlledShutdown(ev.from, ev.brokerEpoch);
      if (errorCode === ErrorCode.NONE) this.execute(decision);
      const remaining = errorCode === ErrorCode.NONE ? (this.core?.leadershipsOf(ev.from).length ?? -1) : -1;
      this.env.send(ev.from, { t: 'controlledShutdownResp', errorCode, remaining });
      return;
    }
    const m = ev.msg;
    const item = {
      topic: TOPIC,
      partition: m.partition,
      leaderEpoch: m.proposal.leaderEpoch,
      newIsr: [...m.proposal.isr],
      newIsrEpochs: m.newIsrEpochs,
      leaderRecoveryState: 0,
      partitionEpoch: m.proposal.partitionEpoch,
    };
    const { errorCode, outcomes } = core.alterPartition(m.brokerId, m.brokerEpoch, [item]);
    let result = { errorCode, leaderEpoch: -1, isr: [] as number[], partitionEpoch: -1 };
    const announce: ControllerNotification[] = [];
    const o = outcomes[0];
    if (errorCode === ErrorCode.NONE && o) {
      if (o.errorCode !== ErrorCode.NONE) result = { ...result, errorCode: o.errorCode };
      else if (!o.write)
        result = { errorCode: ErrorCode.NONE, leaderEpoch: o.state!.leaderEpoch, isr: o.state!.isr, partitionEpoch: o.state!.zkVersion };
      else {
        const v = this.tryUpdate(o.write, announce);
        if (v === undefined) result = { ...result, errorCode: ErrorCode.INVALID_UPDATE_VERSION };
        else result = { errorCode: ErrorCode.NONE, leaderEpoch: o.state!.leaderEpoch, isr: [...o.state!.isr], partitionEpoch: v };
      }
    }
    this.deliver(announce);
    this.env.send(ev.from, { t: 'alterPartitionResp', partition: m.partition, proposal: m.proposal, result });
  }

  /** A conditional write outside the core's own decisions (controller.ts tryUpdate). */
  private tryUpdate(w: ControllerWrite & { kind: 'updateState' }, announce: ControllerNotification[]): number | undefined {
    const r = this.writeState(w);
    if (r.ok) {
      announce.push(...this.core!.stateWritten(w.topic, w.partition, w.state, r.version, this.how(w)));
      return r.version;
    }
    this.execute(this.core!.stateRefreshed(w.topic, w.partition, this.env.zk.readState(w.partition)));
    return undefined;
  }

  private writeState(w: ControllerWrite & { kind: 'createState' | 'updateState' }): { ok: true; version: number } | { ok: false } {
    const session = this.env.session();
    const lease = this.lease!;
    this.env.stats.controllerWrites++;
    const r =
      session === undefined
        ? ({ ok: false, why: 'expired' } as const)
        : w.kind === 'createState'
          ? this.env.zk.createState(session, lease.epochZkVersion, w.partition, w.state)
          : this.env.zk.updateState(session, lease.epochZkVersion, w.partition, w.state, w.expectedZkVersion);
    if (r.ok) return r;
    if (r.why === 'moved' || r.why === 'expired') throw new ControllerMoved(`write fenced (${r.why})`);
    return { ok: false };
  }

  private how(w: ControllerWrite): { isNew?: boolean; metadataOnly?: boolean; skipBrokers?: number[] } {
    if (w.kind === 'createState') return { isNew: true };
    if (w.kind !== 'updateState') return {};
    return { ...(w.metadataOnly ? { metadataOnly: true } : {}), ...(w.skipBrokers ? { skipBrokers: w.skipBrokers } : {}) };
  }

  /** controller.ts execute: notifications first, then the writes; what they announce goes out at the end. */
  private execute(decision: Decision, depth = 0, pending?: ControllerNotification[]): void {
    const core = this.core;
    if (!core) return;
    if (decision.controllerMoved) throw new ControllerMoved('a partition state carries a newer controller epoch');
    this.deliver(decision.notifications);
    const out = pending ?? [];
    for (const w of decision.writes) {
      if (this.core !== core) return;
      if (w.kind !== 'createState' && w.kind !== 'updateState') continue; // no deletions in the simulation
      const r = this.writeState(w);
      if (r.ok) {
        out.push(...core.stateWritten(w.topic, w.partition, w.state, r.version, this.how(w)));
        continue;
      }
      if (depth >= LIMITS.conflictRetriesMax) throw new Error(`partition state kept changing under the controller (${w.kind})`);
      this.execute(core.stateRefreshed(w.topic, w.partition, this.env.zk.readState(w.partition)), depth + 1, out);
    }
    if (!pending) this.deliver(out);
  }

  private deliver(notifications: readonly ControllerNotification[]): void {
    const core = this.core;
    if (!core || !this.lease) return;
    const live = core.liveBrokers;
    for (const n of notifications) {
      const base = (to: number) => ({
        controllerId: this.env.brokerId,
        controllerEpoch: this.lease!.epoch,
        brokerEpoch: live.get(to) ?? -1,
        reqId: this.nextReqId++,
      });
      if (n.kind === 'leaderAndIsr') {
        const skip = new Set(n.skipBrokers ?? []);
        const targets = (n.brokers ?? n.state.replicas.filter((r) => live.has(r))).filter((b) => !skip.has(b));
        for (const to of targets) {
          const state = { ...n.state, isr: [...n.state.isr], replicas: [...n.state.replicas] };
          this.enqueue(to, { ...base(to), t: 'leaderAndIsr', partition: n.partition, state });
        }
      } else if (n.kind === 'stopReplica') {
        for (const to of n.replicas) if (live.has(to)) this.enqueue(to, { ...base(to), t: 'stopReplica', partition: n.partition });
      } else {
        const liveIds = [...live.keys()];
        for (const to of n.brokers ?? liveIds) if (live.has(to)) this.enqueue(to, { ...base(to), t: 'updateMetadata', live: liveIds });
      }
    }
  }

  private enqueue(to: number, msg: SimMsg): void {
    let ch = this.channel.get(to);
    if (!ch) {
      ch = { queue: [], sentAtMs: undefined };
      this.channel.set(to, ch);
    }
    if (ch.queue.length >= LIMITS.channelQueueMax) throw new Error(`controller channel to broker ${to} over ${LIMITS.channelQueueMax}`);
    ch.queue.push(msg);
    this.pump(to);
  }

  /** Sends the head of a broker's queue, again when it has gone unacknowledged too long. */
  private pump(to: number): void {
    const ch = this.channel.get(to);
    const head = ch?.queue[0];
    if (!ch || !head) return;
    const now = this.env.now();
    if (ch.sentAtMs !== undefined && now - ch.sentAtMs < CHANNEL_RETRY_MS) return;
    ch.sentAtMs = now;
    this.env.send(to, head);
  }
}
