// LeaderAndIsr (key 4). Controller to broker: become leader or follower of these partitions. Before
// v2 partition states are flat; from v2 grouped by topic.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

// Kafka's common struct LeaderAndIsrPartitionState.
const LeaderAndIsrPartitionState = struct([
  { name: 'topicName', type: 'string', versions: '0-1' },
  { name: 'partitionIndex', type: 'int32' },
  { name: 'controllerEpoch', type: 'int32' },
  { name: 'leader', type: 'int32' },
  { name: 'leaderEpoch', type: 'int32' },
  { name: 'isr', type: arrayOf('int32') },
  { name: 'partitionEpoch', type: 'int32' },
  { name: 'replicas', type: arrayOf('int32') },
  { name: 'addingReplicas', type: arrayOf('int32'), versions: '3+' },
  { name: 'removingReplicas', type: arrayOf('int32'), versions: '3+' },
  { name: 'isNew', type: 'bool', versions: '1+' },
  { name: 'leaderRecoveryState', type: 'int8', versions: '6+' },
]);

// Kafka's common struct LeaderAndIsrPartitionError.
const LeaderAndIsrPartitionError = struct([
  { name: 'topicName', type: 'string', versions: '0-4' },
  { name: 'partitionIndex', type: 'int32' },
  { name: 'errorCode', type: 'int16' },
]);

export const LeaderAndIsrRequest: MessageDecl = {
  name: 'LeaderAndIsrRequest',
  apiKey: 4,
  type: 'request',
  validVersions: '0-7',
  flexibleVersions: '4+',
  fields: [
    { name: 'controllerId', type: 'int32' },
    { name: 'isKRaftController', type: 'bool', versions: '7+' },
    { name: 'controllerEpoch', type: 'int32' },
    { name: 'brokerEpoch', type: 'int64', versions: '2+', default: -1 },
    { name: 'type', type: 'int8', versions: '5+' },
    { name: 'ungroupedPartitionStates', type: arrayOf(LeaderAndIsrPartitionState), versions: '0-1' },
    {
      name: 'topicStates',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '2+' },
          { name: 'topicId', type: 'uuid', versions: '5+' },
          { name: 'partitionStates', type: arrayOf(LeaderAndIsrPartitionState), versions: '2+' },
        ]),
      ),
      versions: '2+',
    },
    {
      name: 'liveLeaders',
      type: arrayOf(
        struct([
          { name: 'brokerId', type: 'int32' },
          { name: 'hostName', type: 'string' },
          { name: 'port', type: 'int32' },
        ]),
      ),
    },
  ],
};

export const LeaderAndIsrResponse: MessageDecl = {
  name: 'LeaderAndIsrResponse',
  apiKey: 4,
  type: 'response',
  validVersions: '0-7',
  flexibleVersions: '4+',
  fields: [
    { name: 'errorCode', type: 'int16' },
    { name: 'partitionErrors', type: arrayOf(LeaderAndIsrPartitionError), versions: '0-4' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topicId', type: 'uuid', versions: '5+' },
          { name: 'partitionErrors', type: arrayOf(LeaderAndIsrPartitionError), versions: '5+' },
        ]),
      ),
      versions: '5+',
    },
  ],
};
