// The controller's notifications turned into the requests Kafka's ControllerBrokerRequestBatch
// sends: LeaderAndIsr v7 to the replicas of changed partitions, UpdateMetadata v8 to every live
// broker, StopReplica v4 to replicas being stopped or deleted. Pure: the caller passes the
// cluster it knows and sends what comes back, in order, per broker.

import { ZERO_UUID, type Msg } from '../protocol/schema.js';
import { type ControllerNotification, type LeaderAndIsrState, LEADER_DURING_DELETE, type TopicPartition } from './decisions.js';

export const LEADER_AND_ISR_VERSION = 7;
export const UPDATE_METADATA_VERSION = 8;
export const STOP_REPLICA_VERSION = 4;

/** LeaderAndIsr Type (v5+). */
export const LEADER_AND_ISR_INCREMENTAL = 0;
export const LEADER_AND_ISR_FULL = 1;

/** Kafka's SecurityProtocol ids as UpdateMetadata carries them. */
export const SECURITY_PROTOCOL_IDS: Readonly<Record<string, number>> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

export interface LiveBrokerInfo {
  id: number;
  /** Broker epoch (czxid of its registration). */
  epoch: number;
  endpoints: readonly { listener: string; host: string; port: number; securityProtocol: string }[];
  rack: string | null;
}

export interface BatchContext {
  controllerId: number;
  controllerEpoch: number;
  /** Live brokers (shutting-down ones included), by id. */
  brokers: ReadonlyMap<number, LiveBrokerInfo>;
  /** The listener brokers talk to each other on (inter.broker.listener.name). */
  interBrokerListener: string;
  state(topic: string, partition: number): LeaderAndIsrState | undefined;
  topicId(topic: string): string | undefined;
  allPartitions(): TopicPartition[];
}

export interface OutboundRequest {
  brokerId: number;
  apiKey: 4 | 5 | 6;
  version: number;
  body: Msg;
}

/** The endpoint other brokers dial: the inter-broker listener's, else the first. */
export function interBrokerEndpoint(b: LiveBrokerInfo, listener: string): { host: string; port: number } | undefined {
  return b.endpoints.find((e) => e.listener === listener) ?? b.endpoints[0];
}

interface UmEntry {
  topic: string;
  state: LeaderAndIsrState;
  partition: number;
  deleting: boolean;
}

/**
 * Requests for `notifications`, in the order each broker must get them: LeaderAndIsr, then
 * UpdateMetadata, then StopReplica (as sendRequestsToBrokers does). Notifications for brokers that
 * are not live are dropped (a returning broker gets a full picture when it starts).
 */
export function buildRequests(ctx: BatchContext, notifications: readonly ControllerNotification[]): OutboundRequest[] {
  const li = new Map<number, { full: boolean; parts: Map<string, Extract<ControllerNotification, { kind: 'leaderAndIsr' }>> }>();
  /** Per broker: partitions (last word wins) or 'all'. Presence = the broker gets an UpdateMetadata. */
  const um = new Map<number, { all: boolean; parts: Map<string, UmEntry> }>();
  const stops = new Map<number, Map<string, { topic: string; partition: number; leaderEpoch: number; deletePartition: boolean }>>();
  const live = [...ctx.brokers.keys()].sort((a, b) => a - b);
  const umFor = (id: number) => {
    let e = um.get(id);
    if (!e) {
      e = { all: false, parts: new Map() };
      um.set(id, e);
    }
    return e;
  };
  const addUm = (targets: readonly number[], entries: readonly UmEntry[]): void => {
    for (const id of targets) {
      if (!ctx.brokers.has(id)) continue;
      const e = umFor(id);
      for (const x of entries) e.parts.set(`${x.topic}\u0000${x.partition}`, x);
    }
  };
  for (const n of notifications) {
    switch (n.kind) {
      case 'leaderAndIsr': {
        const targets = (n.brokers ?? n.state.replicas).filter((r) => ctx.brokers.has(r) && !(n.skipBrokers ?? []).includes(r));
        for (const id of targets) {
          let e = li.get(id);
          if (!e) {
            e = { full: false, parts: new Map() };
            li.set(id, e);
          }
          if (n.full) e.full = true;
          e.parts.set(`${n.topic}\u0000${n.partition}`, n);
        }
        // Every broker's cache learns the change with it (addUpdateMetadataRequestForBrokers).
        addUm(live, [{ topic: n.topic, partition: n.partition, state: n.state, deleting: false }]);
        break;
      }
      case 'metadataChange': {
        const targets = n.brokers ?? live;
        if (n.partitions === 'all') {
          for (const id of targets) if (ctx.brokers.has(id)) umFor(id).all = true;
          break;
        }
        const entries: UmEntry[] = [];
        for (const tp of n.partitions ?? []) {
          const s = ctx.state(tp.topic, tp.partition);
          if (n.deleting) {
            // LeaderAndIsr.duringDelete: leader -2, initial epochs, the ISR kept.
            const base = s ?? { leader: -1, leaderEpoch: 0, isr: [], replicas: [], zkVersion: 0, controllerEpoch: ctx.controllerEpoch };
            const state = { ...base, leader: LEADER_DURING_DELETE, leaderEpoch: 0, zkVersion: 0, leaderRecoveryState: 0 };
            entries.push({ topic: tp.topic, partition: tp.partition, state, deleting: true });
          } else if (s) {
            entries.push({ topic: tp.topic, partition: tp.partition, state: s, deleting: false });
          }
        }
        for (const id of targets) if (ctx.brokers.has(id)) umFor(id);
        addUm(targets, entries);
        break;
      }
      case 'stopReplica': {
        for (const id of n.replicas) {
          if (!ctx.brokers.has(id)) continue;
          let e = stops.get(id);
          if (!e) {
            e = new Map();
            stops.set(id, e);
          }
          e.set(`${n.topic}\u0000${n.partition}`, {
            topic: n.topic,
            partition: n.partition,
            leaderEpoch: n.leaderEpoch,
            deletePartition: n.deletePartition,
          });
        }
        break;
      }
    }
  }

  const out: OutboundRequest[] = [];
  for (const id of live) {
    const broker = ctx.brokers.get(id)!;
    const l = li.get(id);
    if (l)
      out.push({
        brokerId: id,
        apiKey: 4,
        version: LEADER_AND_ISR_VERSION,
        body: leaderAndIsrBody(ctx, broker, l.full, [...l.parts.values()]),
      });
    const u = um.get(id);
    if (u) {
      let entries = [...u.parts.values()];
      if (u.all) {
        // Every partition as the controller has it now, plus what this batch deletes.
        const named = new Set(entries.filter((e) => e.deleting).map((e) => `${e.topic}\u0000${e.partition}`));
        const current: UmEntry[] = [];
        for (const tp of ctx.allPartitions()) {
          const s = ctx.state(tp.topic, tp.partition);
          if (s && !named.has(`${tp.topic}\u0000${tp.partition}`)) current.push({ ...tp, state: s, deleting: false });
        }
        entries = [...current, ...entries.filter((e) => e.deleting)];
      }
      out.push({ brokerId: id, apiKey: 6, version: UPDATE_METADATA_VERSION, body: updateMetadataBody(ctx, broker, entries) });
    }
    const s = stops.get(id);
    if (s) out.push({ brokerId: id, apiKey: 5, version: STOP_REPLICA_VERSION, body: stopReplicaBody(ctx, broker, [...s.values()]) });
  }
  return out;
}

function groupByTopic<T extends { topic: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of items) {
    const list = m.get(x.topic);
    if (list) list.push(x);
    else m.set(x.topic, [x]);
  }
  return m;
}

function leaderAndIsrBody(
  ctx: BatchContext,
  target: LiveBrokerInfo,
  full: boolean,
  parts: readonly Extract<ControllerNotification, { kind: 'leaderAndIsr' }>[],
): Msg {
  const leaders = new Set<number>();
  const topicStates: Msg[] = [];
  for (const [topic, list] of groupByTopic(parts)) {
    topicStates.push({
      topicName: topic,
      topicId: list[0]!.topicId ?? ctx.topicId(topic) ?? ZERO_UUID,
      partitionStates: list
        .sort((a, b) => a.partition - b.partition)
        .map((n) => {
          if (n.state.leader >= 0) leaders.add(n.state.leader);
          return {
            partitionIndex: n.partition,
            controllerEpoch: n.state.controllerEpoch,
            leader: n.state.leader,
            leaderEpoch: n.state.leaderEpoch,
            isr: n.state.isr,
            partitionEpoch: n.state.zkVersion,
            replicas: n.state.replicas,
            addingReplicas: n.state.addingReplicas ?? [],
            removingReplicas: n.state.removingReplicas ?? [],
            isNew: n.isNew === true,
            leaderRecoveryState: n.state.leaderRecoveryState,
          };
        }),
    });
  }
  const liveLeaders: Msg[] = [];
  for (const id of [...leaders].sort((a, b) => a - b)) {
    const b = ctx.brokers.get(id);
    const e = b && interBrokerEndpoint(b, ctx.interBrokerListener);
    if (e) liveLeaders.push({ brokerId: id, hostName: e.host, port: e.port });
  }
  return {
    controllerId: ctx.controllerId,
    isKRaftController: false,
    controllerEpoch: ctx.controllerEpoch,
    brokerEpoch: target.epoch,
    type: full ? LEADER_AND_ISR_FULL : LEADER_AND_ISR_INCREMENTAL,
    topicStates,
    liveLeaders,
  };
}

function updateMetadataBody(ctx: BatchContext, target: LiveBrokerInfo, entries: readonly UmEntry[]): Msg {
  const liveIds = new Set(ctx.brokers.keys());
  const topicStates: Msg[] = [];
  for (const [topic, list] of groupByTopic(entries)) {
    topicStates.push({
      topicName: topic,
      topicId: ctx.topicId(topic) ?? ZERO_UUID,
      partitionStates: list
        .sort((a, b) => a.partition - b.partition)
        .map((e) => ({
          partitionIndex: e.partition,
          controllerEpoch: e.state.controllerEpoch,
          leader: e.state.leader,
          leaderEpoch: e.state.leaderEpoch,
          isr: e.state.isr,
          zkVersion: e.state.zkVersion,
          replicas: e.state.replicas,
          offlineReplicas: e.state.replicas.filter((r) => !liveIds.has(r)),
        })),
    });
  }
  const liveBrokers = [...ctx.brokers.values()]
    .sort((a, b) => a.id - b.id)
    .map((b) => ({
      id: b.id,
      endpoints: b.endpoints.map((e) => ({
        port: e.port,
        host: e.host,
        listener: e.listener,
        securityProtocol: SECURITY_PROTOCOL_IDS[e.securityProtocol] ?? 0,
      })),
      rack: b.rack,
    }));
  return {
    controllerId: ctx.controllerId,
    isKRaftController: false,
    controllerEpoch: ctx.controllerEpoch,
    brokerEpoch: target.epoch,
    topicStates,
    liveBrokers,
  };
}

function stopReplicaBody(
  ctx: BatchContext,
  target: LiveBrokerInfo,
  parts: readonly { topic: string; partition: number; leaderEpoch: number; deletePartition: boolean }[],
): Msg {
  return {
    controllerId: ctx.controllerId,
    isKRaftController: false,
    controllerEpoch: ctx.controllerEpoch,
    brokerEpoch: target.epoch,
    topicStates: [...groupByTopic(parts)].map(([topic, list]) => ({
      topicName: topic,
      partitionStates: list
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({ partitionIndex: p.partition, leaderEpoch: p.leaderEpoch, deletePartition: p.deletePartition })),
    })),
  };
}
