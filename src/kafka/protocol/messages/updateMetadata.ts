// UpdateMetadata (key 6). Controller to broker: the cluster metadata a broker serves to clients.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

// Kafka's common struct UpdateMetadataPartitionState.
const UpdateMetadataPartitionState = struct([
  { name: 'topicName', type: 'string', versions: '0-4' },
  { name: 'partitionIndex', type: 'int32' },
  { name: 'controllerEpoch', type: 'int32' },
  { name: 'leader', type: 'int32' },
  { name: 'leaderEpoch', type: 'int32' },
  { name: 'isr', type: arrayOf('int32') },
  { name: 'zkVersion', type: 'int32' },
  { name: 'replicas', type: arrayOf('int32') },
  { name: 'offlineReplicas', type: arrayOf('int32'), versions: '4+' },
]);

export const UpdateMetadataRequest: MessageDecl = {
  name: 'UpdateMetadataRequest',
  apiKey: 6,
  type: 'request',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [
    { name: 'controllerId', type: 'int32' },
    { name: 'isKRaftController', type: 'bool', versions: '8+' },
    { name: 'type', type: 'int8', versions: '8+', tag: 0, taggedVersions: '8+' },
    { name: 'controllerEpoch', type: 'int32' },
    { name: 'brokerEpoch', type: 'int64', versions: '5+', default: -1 },
    { name: 'ungroupedPartitionStates', type: arrayOf(UpdateMetadataPartitionState), versions: '0-4' },
    {
      name: 'topicStates',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '5+' },
          { name: 'topicId', type: 'uuid', versions: '7+' },
          { name: 'partitionStates', type: arrayOf(UpdateMetadataPartitionState), versions: '5+' },
        ]),
      ),
      versions: '5+',
    },
    {
      name: 'liveBrokers',
      type: arrayOf(
        struct([
          { name: 'id', type: 'int32' },
          { name: 'v0Host', type: 'string', versions: '0' },
          { name: 'v0Port', type: 'int32', versions: '0' },
          {
            name: 'endpoints',
            type: arrayOf(
              struct([
                { name: 'port', type: 'int32', versions: '1+' },
                { name: 'host', type: 'string', versions: '1+' },
                { name: 'listener', type: 'string', versions: '3+' },
                { name: 'securityProtocol', type: 'int16', versions: '1+' },
              ]),
            ),
            versions: '1+',
          },
          { name: 'rack', type: 'string', versions: '2+', nullable: '0+' },
        ]),
      ),
    },
  ],
};

export const UpdateMetadataResponse: MessageDecl = {
  name: 'UpdateMetadataResponse',
  apiKey: 6,
  type: 'response',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [{ name: 'errorCode', type: 'int16' }],
};
