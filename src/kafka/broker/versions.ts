// The API versions this broker advertises. Ranges are chosen so that every client we promise
// finds what it needs (../shared/reference/kafka.md §5): kafkajs 2.2.4 takes min(its max, ours)
// and never uses flexible versions; @platformatic/kafka 1.x needs flexible versions almost
// everywhere (Metadata 9+, Fetch 12+, FindCoordinator 4, OffsetFetch 8, CreateTopics 7,
// DeleteTopics 6); librdkafka before 2.11 turns its group consumer off unless FindCoordinator,
// JoinGroup, SyncGroup, Heartbeat and LeaveGroup advertise version 0. Produce starts at 0 (see
// below) and Fetch at 4 (record batch v2 only on disk; older clients' message sets are converted).
// Transactions, SASL and ACLs are later issues and are not advertised.

export const ADVERTISED: ReadonlyMap<number, readonly [number, number]> = new Map([
  // Produce from 0: librdkafka before 2.10 compresses gzip, snappy and lz4 only when the broker's Produce
  // range reaches down to 0 (its codec gate); v0-2 bring legacy message sets, which are converted.
  [0, [0, 9]], // Produce
  [1, [4, 13]], // Fetch (13+ addresses topics by id; platformatic 1.35 always sends ids, even as v12's name)
  [2, [0, 7]], // ListOffsets
  [3, [0, 12]], // Metadata
  [8, [0, 8]], // OffsetCommit
  [9, [0, 8]], // OffsetFetch
  [10, [0, 4]], // FindCoordinator
  [11, [0, 9]], // JoinGroup
  [12, [0, 4]], // Heartbeat
  [13, [0, 5]], // LeaveGroup
  [14, [0, 5]], // SyncGroup
  [15, [0, 5]], // DescribeGroups
  [16, [0, 4]], // ListGroups
  [18, [0, 3]], // ApiVersions
  [19, [0, 7]], // CreateTopics
  [20, [0, 6]], // DeleteTopics
  [21, [0, 2]], // DeleteRecords
  [22, [0, 4]], // InitProducerId
  [23, [0, 4]], // OffsetForLeaderEpoch
  [32, [0, 4]], // DescribeConfigs
  [33, [0, 2]], // AlterConfigs
  [35, [0, 4]], // DescribeLogDirs
  [37, [0, 3]], // CreatePartitions
  [42, [0, 2]], // DeleteGroups
  [43, [0, 2]], // ElectLeaders
  [44, [0, 1]], // IncrementalAlterConfigs
  [45, [0, 0]], // AlterPartitionReassignments (as Kafka 3.9; v1 came with 4.0)
  [46, [0, 0]], // ListPartitionReassignments
  [47, [0, 0]], // OffsetDelete
  [60, [0, 1]], // DescribeCluster
  [61, [0, 0]], // DescribeProducers
]);

/**
 * Inter-broker APIs at the versions Apache Kafka 3.9 (IBP 3.9, ZooKeeper mode) sends them. They
 * are served on the listener but never advertised in ApiVersions: clients have no business with
 * them, and the fuzz test walks ADVERTISED (a hostile LeaderAndIsr would be obeyed, as in Kafka
 * without an authorizer).
 */
export const INTER_BROKER: ReadonlyMap<number, readonly [number, number]> = new Map([
  // A 3.9 follower fetches at v17 (replica id in the tagged ReplicaState, KIP-903) and asks offsets
  // at v9, the versions its IBP fixes (it does not negotiate); clients keep the advertised ranges.
  [1, [4, 17]], // Fetch
  [2, [0, 9]], // ListOffsets
  [4, [7, 7]], // LeaderAndIsr
  [5, [4, 4]], // StopReplica
  [6, [8, 8]], // UpdateMetadata
  [7, [3, 3]], // ControlledShutdown
  [56, [2, 3]], // AlterPartition (v2: NewIsr without epochs, as brokers before IBP 3.5 send)
]);

/**
 * The versions of an API key the listener accepts: the advertised range widened by the
 * inter-broker one (a key in both, like Fetch, takes the union).
 */
export function acceptedRange(apiKey: number): readonly [number, number] | undefined {
  const a = ADVERTISED.get(apiKey);
  const i = INTER_BROKER.get(apiKey);
  if (!a || !i) return a ?? i;
  return [Math.min(a[0], i[0]), Math.max(a[1], i[1])];
}
