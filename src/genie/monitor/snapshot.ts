// What one collection round saw: the input of the rules core and of the metrics. A section left
// undefined means "could not be read this round" (not "empty"): the rules then neither raise nor
// resolve the alerts that depend on it.

/** One configured ZooKeeper member's mntr figures, or why there are none. */
export interface ZkMemberSnapshot {
  /** host:port as configured (the alert label `member`). */
  member: string;
  /** Answered mntr with a server state (serving). */
  up: boolean;
  /**
   * It answered, but not with figures (mntr not in its 4lw whitelist, or a reply we cannot read):
   * neither up nor down for the rules.
   */
  unknown?: boolean;
  error?: string;
  serverState?: string;
  avgLatencyMs?: number;
  maxLatencyMs?: number;
  outstandingRequests?: number;
  approximateDataSize?: number;
  znodeCount?: number;
  fsyncThresholdExceedCount?: number;
  syncedFollowers?: number;
  quorumSize?: number;
}

export interface ZkSnapshot {
  members: ZkMemberSnapshot[];
}

/** One partition as ZooKeeper holds it (/brokers/topics/<t> and .../partitions/<p>/state). */
export interface PartitionSnapshot {
  topic: string;
  partition: number;
  /** Assigned replicas, preferred leader first. */
  replicas: number[];
  isr: number[];
  /** -1 when there is none. */
  leader: number;
  /** The topic's min.insync.replicas override from /config/topics/<t>, if any. */
  minIsr?: number;
}

export interface KafkaSnapshot {
  /** Registered brokers (/brokers/ids). */
  brokers: number[];
  /** Broker id in /controller, undefined when there is none. */
  controller: number | undefined;
  /**
   * Each broker's own idea of the controller, where the collector could ask the brokers
   * (Metadata's controller id); absent when not collected.
   */
  controllerViews?: { broker: number; controller: number }[];
  partitions: PartitionSnapshot[];
}

/** Log start and end offsets of every partition (ListOffsets earliest/latest). */
export interface OffsetsSnapshot {
  partitions: { topic: string; partition: number; oldest: number; current: number }[];
}

export interface GroupSnapshot {
  group: string;
  state: string;
  members: number;
  /** Committed offsets; lag = end offset - committed when both are known. */
  offsets: { topic: string; partition: number; committed: number; lag: number | undefined }[];
}

export interface DiskSnapshot {
  path: string;
  freeBytes: number;
  sizeBytes: number;
}

/**
 * One watched ZooKeeper data dir's transaction logs: the `version-2/log.<first zxid hex>` files of
 * its dataLogDir (or dataDir when the logs live there).
 */
export interface ZkTxnLogSnapshot {
  /** The directory as configured (the alert label `path`). */
  path: string;
  /** Sum of the log files' sizes (ZooKeeper preallocates them in preAllocSize steps, 64 MiB by default). */
  bytes: number;
  files: number;
  /**
   * The first zxid of the oldest log file (from its name), undefined without log files. It moves
   * up only when something deletes old logs: autopurge, or `zkCleanup.sh` run by hand or cron.
   */
  oldestZxid: number | undefined;
}

/** Counter totals from the Job Service's /metrics (summed over job types). */
export interface JobsSnapshot {
  submittedTotal: number;
  failedTotal: number;
  deadTotal: number;
}

export interface Snapshot {
  atMs: number;
  zk?: ZkSnapshot;
  kafka?: KafkaSnapshot;
  offsets?: OffsetsSnapshot;
  groups?: GroupSnapshot[];
  disks?: DiskSnapshot[];
  zkLogs?: ZkTxnLogSnapshot[];
  jobs?: JobsSnapshot;
}
