// CreateTopics (key 19). Either a partition count and replication factor, or an explicit assignment
// (then both are -1).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const CreateTopicsRequest: MessageDecl = {
  name: 'CreateTopicsRequest',
  apiKey: 19,
  type: 'request',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'numPartitions', type: 'int32' },
          { name: 'replicationFactor', type: 'int16' },
          {
            name: 'assignments',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'brokerIds', type: arrayOf('int32') },
              ]),
            ),
          },
          {
            name: 'configs',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string' },
                { name: 'value', type: 'string', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
    { name: 'timeoutMs', type: 'int32', default: 60000 },
    { name: 'validateOnly', type: 'bool', versions: '1+' },
  ],
};

export const CreateTopicsResponse: MessageDecl = {
  name: 'CreateTopicsResponse',
  apiKey: 19,
  type: 'response',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'topicId', type: 'uuid', versions: '7+' },
          { name: 'errorCode', type: 'int16' },
          { name: 'errorMessage', type: 'string', versions: '1+', nullable: '0+' },
          { name: 'topicConfigErrorCode', type: 'int16', versions: '5+', tag: 0, taggedVersions: '5+' },
          { name: 'numPartitions', type: 'int32', versions: '5+', default: -1 },
          { name: 'replicationFactor', type: 'int16', versions: '5+', default: -1 },
          {
            name: 'configs',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string', versions: '5+' },
                { name: 'value', type: 'string', versions: '5+', nullable: '5+' },
                { name: 'readOnly', type: 'bool', versions: '5+' },
                { name: 'configSource', type: 'int8', versions: '5+', default: -1 },
                { name: 'isSensitive', type: 'bool', versions: '5+' },
              ]),
            ),
            versions: '5+',
            nullable: '5+',
          },
        ]),
      ),
    },
  ],
};
