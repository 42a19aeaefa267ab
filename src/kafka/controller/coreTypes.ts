// What the controller core takes in and puts out: ZooKeeper writes to make, notifications that
// become LeaderAndIsr / UpdateMetadata / StopReplica requests (requestBatch.ts), and the shapes of
// the brokers' requests it answers. Types only (plus Kafka's delete sentinels).

import type { PartitionState } from '../zk/layout.js';

export interface LeaderAndIsrState extends PartitionState {
  replicas: number[];
  /** zkVersion of the state znode (the partition epoch). */
  zkVersion: number;
  /** While the partition is reassigned (LeaderAndIsr AddingReplicas / RemovingReplicas). */
  addingReplicas?: number[];
  removingReplicas?: number[];
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export type ControllerWrite =
  | { kind: 'createState'; topic: string; partition: number; state: PartitionState }
  | {
      kind: 'updateState';
      topic: string;
      partition: number;
      state: PartitionState;
      expectedZkVersion: number;
      /** An ISR change through AlterPartition: brokers hear of it by UpdateMetadata only (Kafka 3.9). */
      metadataOnly?: boolean;
      /** Replicas not to send LeaderAndIsr to (a broker shutting down that was told StopReplica). */
      skipBrokers?: number[];
    }
  | { kind: 'deleteTopic'; topic: string }
  | { kind: 'removeDeletionMarker'; topic: string };

export type ControllerNotification =
  | {
      kind: 'leaderAndIsr';
      topic: string;
      topicId: string | undefined;
      partition: number;
      state: LeaderAndIsrState;
      /** The partition was just created (LeaderAndIsr IsNew). */
      isNew?: boolean;
      /** Send only to these brokers (default: every live replica). */
      brokers?: number[];
      /** Replicas left out (default: none). */
      skipBrokers?: number[];
      /** Part of a full LeaderAndIsr (Type 1: controller failover, broker startup). */
      full?: boolean;
    }
  | {
      kind: 'stopReplica';
      topic: string;
      partition: number;
      deletePartition: boolean;
      replicas: number[];
      /** -2 during deletion (Kafka's EpochDuringDelete), else the current leader epoch. */
      leaderEpoch: number;
    }
  /**
   * UpdateMetadata: `partitions` (default none; 'all' = every partition), to `brokers` (default
   * every live broker). `deleting`: the partitions go out with leader -2 (LeaderDuringDelete).
   */
  | { kind: 'metadataChange'; partitions?: TopicPartition[] | 'all'; brokers?: number[]; deleting?: boolean };

/** Kafka's LeaderDuringDelete / EpochDuringDelete. */
export const LEADER_DURING_DELETE = -2;
export const EPOCH_DURING_DELETE = -2;

/** One partition of an AlterPartition request, topic resolved. */
export interface AlterPartitionItem {
  topic: string;
  partition: number;
  leaderEpoch: number;
  newIsr: number[];
  /** v3: the broker epoch each ISR member had when the leader saw it (-1 unknown). */
  newIsrEpochs?: number[];
  leaderRecoveryState: number;
  partitionEpoch: number;
}

export interface AlterPartitionOutcome {
  topic: string;
  partition: number;
  errorCode: number;
  /** The state to answer with (error NONE); its zkVersion is filled in by the write's result. */
  state?: LeaderAndIsrState;
  /** The write that carries the change (absent when nothing changes or on error). */
  write?: ControllerWrite & { kind: 'updateState' };
}

export interface ElectionOutcome {
  topic: string;
  partition: number;
  errorCode: number;
  write?: ControllerWrite & { kind: 'updateState' };
}

/** Notifications are delivered first (and awaited), then the writes are made in order. */
export interface Decision {
  notifications: ControllerNotification[];
  writes: ControllerWrite[];
  /** A state znode carries a newer controller epoch: another controller exists; resign. */
  controllerMoved?: boolean;
}

export interface TopicSnapshot {
  topicId: string | undefined;
  partitions: ReadonlyMap<number, readonly number[]>;
  /** Existing state znodes (partitions without one are new). */
  states: ReadonlyMap<number, { state: PartitionState; zkVersion: number }>;
  /** Reassignments in progress (the topic znode's adding_replicas / removing_replicas). */
  adding?: ReadonlyMap<number, readonly number[]>;
  removing?: ReadonlyMap<number, readonly number[]>;
}
