// AlterPartition (key 56). Leader to controller: propose a new ISR (KIP-497); v2+ names topics by
// id.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const AlterPartitionRequest: MessageDecl = {
  name: 'AlterPartitionRequest',
  apiKey: 56,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '0+',
  fields: [
    { name: 'brokerId', type: 'int32' },
    { name: 'brokerEpoch', type: 'int64', default: -1 },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '0-1' },
          { name: 'topicId', type: 'uuid', versions: '2+' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'leaderEpoch', type: 'int32' },
                { name: 'newIsr', type: arrayOf('int32'), versions: '0-2' },
                {
                  name: 'newIsrWithEpochs',
                  type: arrayOf(
                    struct([
                      { name: 'brokerId', type: 'int32', versions: '3+' },
                      { name: 'brokerEpoch', type: 'int64', versions: '3+', default: -1 },
                    ]),
                  ),
                  versions: '3+',
                },
                { name: 'leaderRecoveryState', type: 'int8', versions: '1+' },
                { name: 'partitionEpoch', type: 'int32' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const AlterPartitionResponse: MessageDecl = {
  name: 'AlterPartitionResponse',
  apiKey: 56,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string', versions: '0-1' },
          { name: 'topicId', type: 'uuid', versions: '2+' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'errorCode', type: 'int16' },
                { name: 'leaderId', type: 'int32' },
                { name: 'leaderEpoch', type: 'int32' },
                { name: 'isr', type: arrayOf('int32') },
                { name: 'leaderRecoveryState', type: 'int8', versions: '1+' },
                { name: 'partitionEpoch', type: 'int32' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
