// A seeded simulation of a ZooKeeper-mode Kafka cluster built from the real pure cores: the
// ControllerCore (controller/decisions.ts) on whichever broker holds /controller, the LeaderCore
// (replication/leaderCore.ts) on every leader, the truncation rules (replication/truncation.ts) on
// every follower, against a ZooKeeper model (kafkaSimZk.ts). Clock, network (delays, drops,
// reordering, partitions between brokers and between a broker and ZooKeeper), disks (a lossy crash
// loses what was not flushed) and faults come from one seed, so `new KafkaSim({ seed })` replays
// a run exactly. Every step is checked: at most one leader per (partition, leader epoch), the ISR
// in a state znode holds its leader, replicas agree on every offset below their high watermark;
// after healing, every acknowledged (acks=all, min.insync.replicas=2) record is on the leader
// below its HW. A violation throws SimViolation naming the seed, with the last steps of the trace.
// Fault model: crashes that keep the page cache, session expiries, partitions and slow followers
// come in any number and combination; a crash that loses unflushed data is the one failure that
// acks=all with min.insync.replicas=2 tolerates, so it strikes a healthy cluster only (full ISRs,
// not the controller) and nothing else fails until that broker has fetched back what is committed.

import { ControllerCore } from '../kafka/controller/decisions.js';
import { LeaderCore } from '../kafka/replication/leaderCore.js';
import type { PartitionState } from '../kafka/zk/layout.js';
import { Random } from './random.js';
import { SimBroker } from './kafkaSimBroker.js';
import { SimController } from './kafkaSimController.js';
import { type Entry, LIMITS, type SimMsg } from './kafkaSimTypes.js';
import { SimZk } from './kafkaSimZk.js';

export class SimViolation extends Error {}

export interface KafkaSimOptions {
  seed: number;
  /** 3 to 5. */
  brokers?: number;
  partitions?: number;
  /** Per-step probability of a fault (each kind is drawn from it). */
  faultRate?: number;
  /** Probability a message between nodes is lost. */
  dropRate?: number;
  /** acks=all produces per simulated second. */
  producesPerSecond?: number;
  /** The leader core (tests swap in a deliberately broken one to prove the checks bite). */
  makeLeaderCore?: (brokerId: number, replicaLagTimeMaxMs: number) => LeaderCore;
  /** Trace lines kept for a violation's report. */
  traceLinesMax?: number;
  /** The controller core (same). */
  makeControllerCore?: (controllerEpoch: number) => ControllerCore;
}

type Event =
  | { at: number; seq: number; kind: 'deliver'; from: number; to: number; fromBoot: number; toBoot: number; msg: SimMsg }
  | { at: number; seq: number; kind: 'tick'; node: number; boot: number }
  | { at: number; seq: number; kind: 'flush'; node: number; boot: number }
  | { at: number; seq: number; kind: 'zkTick' };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The producer's node id (its links are never cut). */
const CLIENT = 0;
const TICK_MS = 20;
const ZK_TICK_MS = 50;
const SESSION_TIMEOUT_MS = 300;
const TRACE_LINES_MAX = 40;

export class KafkaSim {
  readonly rng: Random;
  now = 0;
  private seq = 0;
  private events: Event[] = [];
  readonly zk: SimZk;
  /** Index = broker id (slot 0 unused: the client). */
  readonly brokers: SimBroker[] = [];
  private readonly controllers: SimController[] = [];
  readonly partitions: number;
  private readonly cut = new Set<string>();
  private readonly cutFromZk = new Set<number>();
  /** A broker that lost unflushed data and has not rejoined every ISR (no other fault meanwhile). */
  private lossy: number | undefined;
  private lossyEpoch = -1;
  /** Deposed-but-unaware controllers: until when a broker's expiry has not reached its controller. */
  private readonly zombieUntil = new Map<number, number>();
  /** The agreed history per partition: entries below some replica's HW. */
  readonly committed: Entry[][] = [];
  readonly acknowledged: { partition: number; offset: number; id: string }[] = [];
  private readonly zkLeaderOfEpoch = new Map<string, number>();
  private readonly brokerLeaderOfEpoch = new Map<string, number>();
  private readonly trail: string[] = [];
  private produceSerial = 0;
  readonly stats = {
    steps: 0,
    crashes: 0,
    lossyCrashes: 0,
    restarts: 0,
    expiries: 0,
    shutdowns: 0,
    partitions: 0,
    slow: 0,
    failovers: 0,
    fencedWrites: 0,
    controllerWrites: 0,
    produced: 0,
  };

  constructor(readonly opts: KafkaSimOptions) {
    this.rng = new Random(opts.seed);
    const n = opts.brokers ?? 3;
    this.partitions = opts.partitions ?? 2;
    this.zk = new SimZk(SESSION_TIMEOUT_MS, (p, s) => this.onStateWritten(p, s));
    for (let p = 0; p < this.partitions; p++) this.committed.push([]);
    for (let id = 1; id <= n; id++) {
      this.brokers[id] = new SimBroker(id, this.partitions, {
        now: () => this.now,
        send: (from, to, msg) => this.transmit(from, to, msg),
        makeLeaderCore: opts.makeLeaderCore ?? ((b, lag) => new LeaderCore(b, lag)),
        onLeader: (p, e, b) => this.onLeader(p, e, b),
        onAck: (p, o, rid, b) => this.onAck(p, o, rid, b),
        onHighWatermark: (p, b) => this.verifyBelowHw(p, b),
        trace: (line) => this.trace(line),
      });
      this.controllers[id] = this.newController(id);
      this.startTimers(id);
    }
    this.schedule({ at: ZK_TICK_MS, kind: 'zkTick' });
  }

  /** Replicas of a partition: RF 3 over the brokers, starting at a different broker per partition. */
  assignment(p: number): number[] {
    const n = this.brokers.length - 1;
    return [0, 1, 2].map((i) => ((p + i) % n) + 1);
  }

  private newController(id: number): SimController {
    return new SimController({
      brokerId: id,
      zk: this.zk,
      partitions: this.partitions,
      assignment: (p) => this.assignment(p),
      now: () => this.now,
      session: () => this.brokers[id]!.session,
      send: (to, msg) => this.transmit(id, to, msg),
      makeCore: this.opts.makeControllerCore ?? ((epoch) => new ControllerCore({ controllerEpoch: epoch })),
      stats: this.stats,
      trace: (line) => this.trace(line),
    });
  }

  private startTimers(id: number): void {
    const boot = this.brokers[id]!.boot;
    this.schedule({ at: this.now + this.rng.int(1, TICK_MS), kind: 'tick', node: id, boot });
    this.schedule({ at: this.now + this.rng.int(20, 300), kind: 'flush', node: id, boot });
  }

  private fail(why: string): never {
    throw new SimViolation(`seed ${this.opts.seed} at t=${this.now} ms: ${why}\n  last steps:\n    ${this.trail.join('\n    ')}`);
  }

  private trace(line: string): void {
    this.trail.push(`t=${this.now} ${line}`);
    if (this.trail.length > (this.opts.traceLinesMax ?? TRACE_LINES_MAX)) this.trail.shift();
  }

  private schedule(e: DistributiveOmit<Event, 'seq'>): void {
    if (this.events.length >= LIMITS.eventsMax) throw new Error(`simulator event queue over ${LIMITS.eventsMax}`);
    const ev = { ...e, seq: ++this.seq } as Event;
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.events[mid]!;
      if (m.at < ev.at || (m.at === ev.at && m.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, ev);
  }

  // ---------------------------------------------------------------- network

  private linkKey(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  private reachable(a: number, b: number): boolean {
    return a === CLIENT || b === CLIENT || a === b || !this.cut.has(this.linkKey(a, b));
  }

  /** Independent random delays: messages on a link may overtake each other; some are lost. */
  private transmit(from: number, to: number, msg: SimMsg): void {
    if (!this.reachable(from, to) || this.rng.chance(this.opts.dropRate ?? 0.01)) return;
    const fromBoot = from === CLIENT ? 0 : this.brokers[from]!.boot;
    const toBoot = this.brokers[to]!.boot;
    this.schedule({ at: this.now + this.rng.int(1, 8), kind: 'deliver', from, to, fromBoot, toBoot, msg });
  }

  private deliver(e: Event & { kind: 'deliver' }): void {
    const b = this.brokers[e.to]!;
    if (!b.up || b.boot !== e.toBoot || !this.reachable(e.from, e.to)) return;
    if (e.from !== CLIENT && this.brokers[e.from]!.boot !== e.fromBoot) return; // its connection died with it
    const m = e.msg;
    switch (m.t) {
      case 'leaderAndIsr':
      case 'updateMetadata':
      case 'stopReplica':
        b.onControl(e.from, m);
        return;
      case 'controlAck':
        this.controllers[e.to]!.controlAcked(e.from, m.reqId);
        return;
      case 'offsetForEpoch':
        b.onOffsetForEpoch(e.from, m);
        return;
      case 'offsetForEpochResp':
        b.onOffsetForEpochResp(m);
        return;
      case 'fetch':
        b.onFetch(e.from, m);
        return;
      case 'fetchResp':
        b.onFetchResp(m);
        return;
      case 'alterPartition':
      case 'controlledShutdown':
        this.controllers[e.to]!.request(e.from, m);
        return;
      case 'alterPartitionResp':
        b.onAlterResp(m);
        return;
      case 'controlledShutdownResp':
        if (!b.shutdown) return;
        if ((m.errorCode === 0 && m.remaining === 0) || --b.shutdown.attemptsLeft <= 0) this.finishShutdown(b);
        return;
      case 'produce':
        b.onProduce(m.partition, m.id);
        return;
    }
  }

  // ---------------------------------------------------------------- brokers

  private brokerTick(b: SimBroker): void {
    const ctl = this.controllers[b.id]!;
    if (!this.cutFromZk.has(b.id)) {
      if (b.session === undefined) b.session = this.zk.createSession(b.id, this.now);
      else if (!this.zk.heartbeat(b.session, this.now)) {
        this.trace(`b${b.id} learns its session expired`);
        // Sometimes the expiry reaches the controller's event thread late: a zombie with the old lease.
        if (ctl.active && this.rng.chance(0.5)) this.zombieUntil.set(b.id, this.now + this.rng.int(10, 200));
        b.session = this.zk.createSession(b.id, this.now);
        b.registered = false;
      }
      if (!b.registered) {
        const epoch = this.zk.register(b.id, b.session);
        if (epoch !== undefined) {
          b.registered = true;
          b.brokerEpoch = epoch;
          this.trace(`b${b.id} registered, epoch ${epoch}`);
        }
      }
      const zombie = (this.zombieUntil.get(b.id) ?? 0) > this.now;
      if (!zombie && ctl.active && ctl.leaseSession !== b.session) ctl.resign('session expired');
      if (b.registered || zombie) ctl.turn(!zombie);
    }
    const slowGapMs = this.rng.int(200, 700);
    b.tick(slowGapMs);
  }

  crash(id: number, lossy: boolean): void {
    const b = this.brokers[id]!;
    if (!b.up) return;
    this.trace(`b${id} crashes${lossy ? ', losing unflushed data' : ''}`);
    if (lossy) {
      this.stats.lossyCrashes++;
      this.lossy = id;
      this.lossyEpoch = b.brokerEpoch;
    }
    this.stats.crashes++;
    b.crash(lossy);
    this.controllers[id] = this.newController(id);
    this.zombieUntil.delete(id);
  }

  restart(id: number): void {
    const b = this.brokers[id]!;
    if (b.up) return;
    this.stats.restarts++;
    this.trace(`b${id} restarts`);
    b.up = true;
    b.boot++;
    b.slowUntilMs = 0;
    this.startTimers(id);
  }

  private finishShutdown(b: SimBroker): void {
    this.trace(`b${b.id} finishes controlled shutdown`);
    b.flush();
    if (b.session !== undefined) this.zk.expire(b.session); // closing the session drops its ephemerals at once
    this.crash(b.id, false);
  }

  // ---------------------------------------------------------------- invariants

  private onStateWritten(p: number, s: PartitionState): void {
    this.trace(`zk p${p} leader ${s.leader} epoch ${s.leaderEpoch} isr [${s.isr}] (controller epoch ${s.controllerEpoch})`);
    if (s.leader >= 0 && !s.isr.includes(s.leader)) this.fail(`p${p}: state znode ISR [${s.isr}] lacks its leader ${s.leader}`);
    const key = `${p}:${s.leaderEpoch}`;
    const prev = this.zkLeaderOfEpoch.get(key);
    if (prev !== undefined && prev !== s.leader)
      this.fail(`p${p}: leader epoch ${s.leaderEpoch} written with leader ${prev} and ${s.leader}`);
    this.zkLeaderOfEpoch.set(key, s.leader);
  }

  private onLeader(p: number, epoch: number, broker: number): void {
    const key = `${p}:${epoch}`;
    const prev = this.brokerLeaderOfEpoch.get(key);
    if (prev !== undefined && prev !== broker) this.fail(`p${p}: two leaders in leader epoch ${epoch}: ${prev} and ${broker}`);
    this.brokerLeaderOfEpoch.set(key, broker);
  }

  /** Entries below a replica's HW must be the agreed history (which they extend when new). */
  private verifyBelowHw(p: number, id: number): void {
    const r = this.brokers[id]!.replicas[p]!;
    const agreed = this.committed[p]!;
    for (; r.verified < r.hw; r.verified++) {
      const o = r.verified;
      const mine = r.log[o]!;
      const g = agreed[o];
      if (!g) {
        agreed.push(mine);
        continue;
      }
      if (g.id !== mine.id || g.epoch !== mine.epoch) {
        this.fail(`p${p}: broker ${id} has ${mine.id}@${mine.epoch} at offset ${o} below its HW ${r.hw}; agreed: ${g.id}@${g.epoch}`);
      }
    }
  }

  private onAck(p: number, offset: number, id: string, broker: number): void {
    if (this.committed[p]![offset]?.id !== id) this.fail(`p${p}: broker ${broker} acknowledged ${id} at ${offset}, not agreed there`);
    this.acknowledged.push({ partition: p, offset, id });
  }

  // ---------------------------------------------------------------- running

  /** Processes events up to `until` (simulated ms), injecting faults and produces at random. */
  runUntil(until: number, faults = true, produces = true): void {
    let nextProduce = this.now;
    const gap = 1000 / (this.opts.producesPerSecond ?? 150);
    while (this.now < until) {
      const e = this.events[0];
      if (!e || e.at > until) {
        this.now = until;
        break;
      }
      this.events.shift();
      this.now = Math.max(this.now, e.at);
      this.stats.steps++;
      this.step(e);
      while (produces && nextProduce <= this.now) {
        this.produce();
        nextProduce += gap * (0.5 + this.rng.next());
      }
      if (faults) this.maybeFault();
    }
  }

  private step(e: Event): void {
    if (e.kind === 'zkTick') {
      for (const s of this.zk.expireIdle(this.now)) this.trace(`zk expires session ${s}`);
      this.schedule({ at: this.now + ZK_TICK_MS, kind: 'zkTick' });
      return;
    }
    if (e.kind === 'deliver') {
      this.deliver(e);
      return;
    }
    const b = this.brokers[e.node]!;
    if (!b.up || b.boot !== e.boot) return;
    if (e.kind === 'flush') {
      b.flush();
      this.schedule({ at: this.now + this.rng.int(20, 300), kind: 'flush', node: b.id, boot: b.boot });
      return;
    }
    this.brokerTick(b);
    this.schedule({ at: this.now + TICK_MS, kind: 'tick', node: b.id, boot: b.boot });
  }

  /** An acks=all produce, usually to the leader the metadata names, sometimes to any broker. */
  private produce(): void {
    const p = this.rng.int(0, this.partitions - 1);
    const leader = this.zk.readState(p)?.state.leader ?? -1;
    const to = leader > 0 && this.rng.chance(0.8) ? leader : this.rng.int(1, this.brokers.length - 1);
    this.stats.produced++;
    this.transmit(CLIENT, to, { t: 'produce', partition: p, id: `r${++this.produceSerial}` });
  }

  private upIds(): number[] {
    return this.brokers.filter((b) => b?.up).map((b) => b.id);
  }

  private maybeFault(): void {
    const r = this.rng;
    const rate = this.opts.faultRate ?? 0.004;
    if (!r.chance(rate)) return;
    const ids = this.brokers.filter((b) => b).map((b) => b.id);
    if (this.lossy !== undefined) {
      // One disk-loss failure at a time: nothing else fails until the broker is back in every ISR.
      const id = this.lossy;
      if (!this.brokers[id]!.up) this.restart(id);
      else if (this.recovered(id)) this.lossy = undefined;
      return;
    }
    const kind = r.int(0, 11);
    const up = this.upIds();
    const down = ids.filter((id) => !this.brokers[id]!.up);
    if (kind <= 1 && up.length > 0) this.crash(r.pick(up), false);
    else if (kind === 2) {
      const id = r.pick(ids);
      if (this.mayLoseData(id)) this.crash(id, true);
    } else if (kind <= 4 && down.length > 0) this.restart(r.pick(down));
    else if (kind === 5) {
      const b = this.brokers[r.pick(ids)]!;
      if (b.up && b.registered && !b.shutdown) {
        this.stats.shutdowns++;
        this.trace(`b${b.id} starts a controlled shutdown`);
        b.shutdown = { attemptsLeft: 3, sentAtMs: -Infinity };
      }
    } else if (kind === 6 || kind === 7) {
      // Session expiry: of any broker, or of the controller's (a forced controller failover).
      const target = kind === 7 ? this.zk.controller?.session : this.brokers[r.pick(ids)]!.session;
      if (target !== undefined) {
        this.stats.expiries++;
        this.trace(`zk expires session ${target} (fault)`);
        this.zk.expire(target);
      }
    } else if (kind === 8) {
      const group = new Set(ids.filter(() => r.chance(0.5)));
      this.stats.partitions++;
      this.trace(`network partition [${[...group]}] | [${ids.filter((i) => !group.has(i))}]`);
      for (const a of ids) for (const b of ids) if (a < b && group.has(a) !== group.has(b)) this.cut.add(this.linkKey(a, b));
    } else if (kind === 9) {
      const id = r.pick(ids);
      this.stats.partitions++;
      this.trace(`b${id} cut from ZooKeeper`);
      this.cutFromZk.add(id);
    } else if (kind === 10) this.heal();
    else {
      const b = this.brokers[r.pick(ids)]!;
      this.stats.slow++;
      b.slowUntilMs = this.now + r.int(300, 2000);
      this.trace(`b${b.id} is slow until ${b.slowUntilMs}`);
    }
  }

  /**
   * A disk-loss crash is only one failure when everything else is healthy and every ISR is full.
   * Not of the controller: a controller failover would then read the returning broker as the live
   * leader it was (ZooKeeper mode has no unclean-shutdown marker, KIP-966) — a second failure.
   */
  private mayLoseData(id: number): boolean {
    if (this.cut.size > 0 || this.cutFromZk.size > 0 || this.zk.controller?.broker === id) return false;
    for (const b of this.brokers) if (b && (!b.up || !b.registered || b.shutdown)) return false;
    for (let p = 0; p < this.partitions; p++) if ((this.zk.readState(p)?.state.isr.length ?? 0) < this.assignment(p).length) return false;
    return true;
  }

  /**
   * The disk-loss failure is over once the broker is back under a new registration and has fetched
   * every committed record again from the current leaders (until then the controller may still count
   * its old incarnation in an ISR).
   */
  private recovered(id: number): boolean {
    const b = this.brokers[id]!;
    if (!b.up || !b.registered || b.brokerEpoch <= this.lossyEpoch) return false;
    for (let p = 0; p < this.partitions; p++) {
      if (!this.assignment(p).includes(id)) continue;
      const s = this.zk.readState(p)?.state;
      if (!s || s.leader < 0 || s.leader === id || !s.isr.includes(id)) return false;
      const leader = this.brokers[s.leader]!.replicas[p]!;
      const mine = b.replicas[p]!;
      if (mine.follow?.leaderEpoch !== s.leaderEpoch || !leader.core || mine.leo < leader.hw) return false;
    }
    return true;
  }

  heal(): void {
    this.trace('heal');
    this.cut.clear();
    this.cutFromZk.clear();
  }

  /** Heals everything, restarts every broker and runs without faults or produces until the cluster is quiet. */
  settle(maxMs = 30_000): void {
    this.heal();
    for (const b of this.brokers) {
      if (!b) continue;
      b.slowUntilMs = 0;
      if (!b.up) this.restart(b.id);
    }
    const deadline = this.now + maxMs;
    while (this.now < deadline) {
      // A controlled shutdown under way when healing began may still take its broker down.
      for (const b of this.brokers) if (b && !b.up) this.restart(b.id);
      this.runUntil(this.now + 200, false, false);
      if (this.quiet()) return;
    }
    this.fail(`no quiescence ${maxMs} ms after healing: ${this.describe()}`);
  }

  /** Every partition led by a live broker at the znode's epoch, full ISR, every replica at the leader's end and HW. */
  private quiet(): boolean {
    for (let p = 0; p < this.partitions; p++) {
      const s = this.zk.readState(p)?.state;
      if (!s || s.leader < 0 || s.isr.length !== this.assignment(p).length) return false;
      const l = this.brokers[s.leader]!;
      const lr = l.replicas[p]!;
      if (!l.up || !lr.core || lr.state?.leaderEpoch !== s.leaderEpoch || lr.hw !== lr.leo) return false;
      for (const id of this.assignment(p)) {
        const r = this.brokers[id]!.replicas[p]!;
        if (r.leo !== lr.leo || r.hw !== lr.hw) return false;
      }
    }
    return true;
  }

  /** After settle(): every acknowledged record is on its partition's leader, below its HW, and every replica agrees. */
  checkConverged(): void {
    for (const a of this.acknowledged) {
      const leader = this.zk.readState(a.partition)!.state.leader;
      const r = this.brokers[leader]!.replicas[a.partition]!;
      if (r.log[a.offset]?.id !== a.id || a.offset >= r.hw) {
        this.fail(`acknowledged ${a.id} (p${a.partition}@${a.offset}) lost: leader ${leader} has ${r.log[a.offset]?.id} there, HW ${r.hw}`);
      }
    }
    for (let p = 0; p < this.partitions; p++) for (const id of this.assignment(p)) this.verifyBelowHw(p, id);
  }

  describe(): string {
    const parts = [];
    for (let p = 0; p < this.partitions; p++) {
      const s = this.zk.readState(p)?.state;
      const reps = this.assignment(p).map((id) => {
        const r = this.brokers[id]!.replicas[p]!;
        return `${id}${this.brokers[id]!.up ? '' : '(down)'}:leo ${r.leo} hw ${r.hw}${r.core ? ' L' : ''}${r.follow ? ` f${r.follow.phase[0]}` : ''}`;
      });
      parts.push(`p${p} leader ${s?.leader} epoch ${s?.leaderEpoch} isr [${s?.isr}] {${reps.join(', ')}}`);
    }
    return `${parts.join('; ')} controller ${this.zk.controller?.broker}`;
  }
}
