// Metadata (key 3). A null topic list (v1+) means every topic; an empty one means none (v0: empty
// means all).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const MetadataRequest: MessageDecl = {
  name: 'MetadataRequest',
  apiKey: 3,
  type: 'request',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topicId', type: 'uuid', versions: '10+' },
          { name: 'name', type: 'string', nullable: '10+' },
        ]),
      ),
      nullable: '1+',
    },
    { name: 'allowAutoTopicCreation', type: 'bool', versions: '4+', default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '8-10' },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: '8+' },
  ],
};

export const MetadataResponse: MessageDecl = {
  name: 'MetadataResponse',
  apiKey: 3,
  type: 'response',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'brokers',
      type: arrayOf(
        struct([
          { name: 'nodeId', type: 'int32' },
          { name: 'host', type: 'string' },
          { name: 'port', type: 'int32' },
          { name: 'rack', type: 'string', versions: '1+', nullable: '1+', default: null },
        ]),
      ),
    },
    { name: 'clusterId', type: 'string', versions: '2+', nullable: '2+', default: null },
    { name: 'controllerId', type: 'int32', versions: '1+', default: -1 },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'errorCode', type: 'int16' },
          { name: 'name', type: 'string', nullable: '12+' },
          { name: 'topicId', type: 'uuid', versions: '10+' },
          { name: 'isInternal', type: 'bool', versions: '1+' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'errorCode', type: 'int16' },
                { name: 'partitionIndex', type: 'int32' },
                { name: 'leaderId', type: 'int32' },
                { name: 'leaderEpoch', type: 'int32', versions: '7+', default: -1 },
                { name: 'replicaNodes', type: arrayOf('int32') },
                { name: 'isrNodes', type: arrayOf('int32') },
                { name: 'offlineReplicas', type: arrayOf('int32'), versions: '5+' },
              ]),
            ),
          },
          { name: 'topicAuthorizedOperations', type: 'int32', versions: '8+', default: -2147483648 },
        ]),
      ),
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '8-10', default: -2147483648 },
  ],
};
