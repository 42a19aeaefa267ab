// StopReplica (key 5). Controller to broker: stop (and optionally delete) replicas. v3 carries a
// per-partition leader epoch.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const StopReplicaRequest: MessageDecl = {
  name: 'StopReplicaRequest',
  apiKey: 5,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    { name: 'controllerId', type: 'int32' },
    { name: 'isKRaftController', type: 'bool', versions: '4+' },
    { name: 'controllerEpoch', type: 'int32' },
    { name: 'brokerEpoch', type: 'int64', versions: '1+', default: -1 },
    { name: 'deletePartitions', type: 'bool', versions: '0-2' },
    {
      name: 'ungroupedPartitions',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '0' },
          { name: 'partitionIndex', type: 'int32', versions: '0' },
        ]),
      ),
      versions: '0',
    },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string', versions: '1-2' },
          { name: 'partitionIndexes', type: arrayOf('int32'), versions: '1-2' },
        ]),
      ),
      versions: '1-2',
    },
    {
      name: 'topicStates',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '3+' },
          {
            name: 'partitionStates',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32', versions: '3+' },
                { name: 'leaderEpoch', type: 'int32', versions: '3+', default: -1 },
                { name: 'deletePartition', type: 'bool', versions: '3+' },
              ]),
            ),
            versions: '3+',
          },
        ]),
      ),
      versions: '3+',
    },
  ],
};

export const StopReplicaResponse: MessageDecl = {
  name: 'StopReplicaResponse',
  apiKey: 5,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    { name: 'errorCode', type: 'int16' },
    {
      name: 'partitionErrors',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string' },
          { name: 'partitionIndex', type: 'int32' },
          { name: 'errorCode', type: 'int16' },
        ]),
      ),
    },
  ],
};
