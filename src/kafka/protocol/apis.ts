// The API registry: every API key this broker knows, with its request and response message built
// once from the declarations. Handlers, the connection layer and ApiVersions all read from here,
// so adding a version range to a declaration is the one change that advertises it.

import { Message, type MessageDecl } from './schema.js';
import { AlterConfigsRequest, AlterConfigsResponse } from './messages/alterConfigs.js';
import { AlterPartitionRequest, AlterPartitionResponse } from './messages/alterPartition.js';
import { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse } from './messages/alterPartitionReassignments.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './messages/apiVersions.js';
import { ControlledShutdownRequest, ControlledShutdownResponse } from './messages/controlledShutdown.js';
import { CreatePartitionsRequest, CreatePartitionsResponse } from './messages/createPartitions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './messages/createTopics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './messages/deleteGroups.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from './messages/deleteRecords.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './messages/deleteTopics.js';
import { DescribeClusterRequest, DescribeClusterResponse } from './messages/describeCluster.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './messages/describeConfigs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './messages/describeGroups.js';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from './messages/describeLogDirs.js';
import { DescribeProducersRequest, DescribeProducersResponse } from './messages/describeProducers.js';
import { ElectLeadersRequest, ElectLeadersResponse } from './messages/electLeaders.js';
import { FetchRequest, FetchResponse } from './messages/fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './messages/findCoordinator.js';
import { HeartbeatRequest, HeartbeatResponse } from './messages/heartbeat.js';
import { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from './messages/incrementalAlterConfigs.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './messages/initProducerId.js';
import { JoinGroupRequest, JoinGroupResponse } from './messages/joinGroup.js';
import { LeaderAndIsrRequest, LeaderAndIsrResponse } from './messages/leaderAndIsr.js';
import { LeaveGroupRequest, LeaveGroupResponse } from './messages/leaveGroup.js';
import { ListGroupsRequest, ListGroupsResponse } from './messages/listGroups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './messages/listOffsets.js';
import { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse } from './messages/listPartitionReassignments.js';
import { MetadataRequest, MetadataResponse } from './messages/metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './messages/offsetCommit.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from './messages/offsetDelete.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './messages/offsetFetch.js';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from './messages/offsetForLeaderEpoch.js';
import { ProduceRequest, ProduceResponse } from './messages/produce.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from './messages/saslAuthenticate.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from './messages/saslHandshake.js';
import { StopReplicaRequest, StopReplicaResponse } from './messages/stopReplica.js';
import { SyncGroupRequest, SyncGroupResponse } from './messages/syncGroup.js';
import { UpdateMetadataRequest, UpdateMetadataResponse } from './messages/updateMetadata.js';

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  LeaderAndIsr: 4,
  StopReplica: 5,
  UpdateMetadata: 6,
  ControlledShutdown: 7,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  DescribeLogDirs: 35,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  ElectLeaders: 43,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  AlterPartition: 56,
  DescribeCluster: 60,
  DescribeProducers: 61,
} as const;

export type ApiName = keyof typeof ApiKey;

export interface ApiDef {
  key: number;
  name: string;
  request: Message;
  response: Message;
}

const pairs: readonly (readonly [MessageDecl, MessageDecl])[] = [
  [ProduceRequest, ProduceResponse],
  [FetchRequest, FetchResponse],
  [ListOffsetsRequest, ListOffsetsResponse],
  [MetadataRequest, MetadataResponse],
  [LeaderAndIsrRequest, LeaderAndIsrResponse],
  [StopReplicaRequest, StopReplicaResponse],
  [UpdateMetadataRequest, UpdateMetadataResponse],
  [ControlledShutdownRequest, ControlledShutdownResponse],
  [OffsetCommitRequest, OffsetCommitResponse],
  [OffsetFetchRequest, OffsetFetchResponse],
  [FindCoordinatorRequest, FindCoordinatorResponse],
  [JoinGroupRequest, JoinGroupResponse],
  [HeartbeatRequest, HeartbeatResponse],
  [LeaveGroupRequest, LeaveGroupResponse],
  [SyncGroupRequest, SyncGroupResponse],
  [DescribeGroupsRequest, DescribeGroupsResponse],
  [ListGroupsRequest, ListGroupsResponse],
  [SaslHandshakeRequest, SaslHandshakeResponse],
  [ApiVersionsRequest, ApiVersionsResponse],
  [CreateTopicsRequest, CreateTopicsResponse],
  [DeleteTopicsRequest, DeleteTopicsResponse],
  [DeleteRecordsRequest, DeleteRecordsResponse],
  [InitProducerIdRequest, InitProducerIdResponse],
  [OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse],
  [DescribeConfigsRequest, DescribeConfigsResponse],
  [AlterConfigsRequest, AlterConfigsResponse],
  [DescribeLogDirsRequest, DescribeLogDirsResponse],
  [SaslAuthenticateRequest, SaslAuthenticateResponse],
  [CreatePartitionsRequest, CreatePartitionsResponse],
  [DeleteGroupsRequest, DeleteGroupsResponse],
  [ElectLeadersRequest, ElectLeadersResponse],
  [IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse],
  [AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse],
  [ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse],
  [OffsetDeleteRequest, OffsetDeleteResponse],
  [AlterPartitionRequest, AlterPartitionResponse],
  [DescribeClusterRequest, DescribeClusterResponse],
  [DescribeProducersRequest, DescribeProducersResponse],
];

const byKey = new Map<number, ApiDef>();
for (const [req, res] of pairs) {
  // The declarations must agree with each other: same key, same versions, same flexible range.
  if (req.apiKey !== res.apiKey || req.validVersions !== res.validVersions) {
    throw new Error(`${req.name} and ${res.name} disagree on key or versions`);
  }
  const name = req.name.slice(0, -'Request'.length);
  byKey.set(req.apiKey, { key: req.apiKey, name, request: new Message(req), response: new Message(res) });
}

export function apiDef(key: number): ApiDef | undefined {
  return byKey.get(key);
}

/** Every known API, by key. */
export function allApis(): readonly ApiDef[] {
  return [...byKey.values()].sort((a, b) => a.key - b.key);
}
