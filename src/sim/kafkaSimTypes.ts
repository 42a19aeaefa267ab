// Messages and limits of the Kafka simulator (kafkaSim.ts). Messages are the requests and answers
// the real brokers exchange (LeaderAndIsr, UpdateMetadata, StopReplica, Fetch, OffsetForLeaderEpoch,
// AlterPartition, ControlledShutdown, Produce), reduced to the fields the cores read.

import type { LeaderAndIsrState } from '../kafka/controller/coreTypes.js';
import type { AlterPartitionResult, IsrProposal } from '../kafka/replication/leaderCore.js';

export const TOPIC = 'events';
export const TOPIC_ID = 'sim-topic-id';
/** min.insync.replicas of the topic: acks=all needs two replicas. */
export const MIN_INSYNC = 2;

/** One record as a log holds it. */
export interface Entry {
  readonly epoch: number;
  readonly id: string;
}

/** Controller-to-broker requests carry the fencing fields Kafka checks (controlEpochs.ts). */
interface ControlBase {
  controllerId: number;
  controllerEpoch: number;
  /** The target's broker epoch as the controller knows it (-1 unknown). */
  brokerEpoch: number;
  reqId: number;
}

export type SimMsg =
  | (ControlBase & { t: 'leaderAndIsr'; partition: number; state: LeaderAndIsrState })
  | (ControlBase & { t: 'updateMetadata'; live: number[] })
  | (ControlBase & { t: 'stopReplica'; partition: number })
  | { t: 'controlAck'; reqId: number }
  | { t: 'offsetForEpoch'; partition: number; currentLeaderEpoch: number; leaderEpoch: number; seq: number }
  | { t: 'offsetForEpochResp'; partition: number; errorCode: number; leaderEpoch: number; endOffset: number; seq: number }
  | { t: 'fetch'; partition: number; currentLeaderEpoch: number; fetchOffset: number; lastFetchedEpoch: number; seq: number }
  | {
      t: 'fetchResp';
      partition: number;
      seq: number;
      errorCode: number;
      fetchOffset: number;
      entries: Entry[];
      highWatermark: number;
      leaderEndOffset: number;
      diverging?: { epoch: number; endOffset: number };
    }
  | {
      t: 'alterPartition';
      brokerId: number;
      brokerEpoch: number;
      partition: number;
      proposal: IsrProposal;
      newIsrEpochs: number[];
    }
  | { t: 'alterPartitionResp'; partition: number; proposal: IsrProposal; result: AlterPartitionResult }
  | { t: 'controlledShutdown'; brokerId: number; brokerEpoch: number }
  | { t: 'controlledShutdownResp'; errorCode: number; remaining: number }
  | { t: 'produce'; partition: number; id: string };

/** Bounds (named, as the house rules ask). */
export const LIMITS = {
  /** Requests queued per broker on the controller's channel. */
  channelQueueMax: 10_000,
  /** Broker requests (AlterPartition, ControlledShutdown) queued at the controller. */
  controllerEventsMax: 1_000,
  /** acks=all produces parked per partition on a leader. */
  purgatoryMax: 256,
  /** Records per fetch response. */
  fetchRecordsMax: 50,
  /** Re-decisions after conflicting state writes within one controller event. */
  conflictRetriesMax: 20,
  /** Events the simulator may hold in its queue. */
  eventsMax: 200_000,
} as const;
