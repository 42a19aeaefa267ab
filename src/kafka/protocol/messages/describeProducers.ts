// DescribeProducers (key 61). Active producer state per partition, for transaction tooling
// (KIP-664).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DescribeProducersRequest: MessageDecl = {
  name: 'DescribeProducersRequest',
  apiKey: 61,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'partitionIndexes', type: arrayOf('int32') },
        ]),
      ),
    },
  ],
};

export const DescribeProducersResponse: MessageDecl = {
  name: 'DescribeProducersResponse',
  apiKey: 61,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'errorCode', type: 'int16' },
                { name: 'errorMessage', type: 'string', nullable: '0+', default: null },
                {
                  name: 'activeProducers',
                  type: arrayOf(
                    struct([
                      { name: 'producerId', type: 'int64' },
                      { name: 'producerEpoch', type: 'int32' },
                      { name: 'lastSequence', type: 'int32', default: -1 },
                      { name: 'lastTimestamp', type: 'int64', default: -1 },
                      { name: 'coordinatorEpoch', type: 'int32' },
                      { name: 'currentTxnStartOffset', type: 'int64', default: -1 },
                    ]),
                  ),
                },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
