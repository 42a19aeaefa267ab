// Produce (key 0). Records travel as an opaque record-set slice; acks 0 means the broker sends no
// response at all.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ProduceRequest: MessageDecl = {
  name: 'ProduceRequest',
  apiKey: 0,
  type: 'request',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullable: '3+', default: null },
    { name: 'acks', type: 'int16' },
    { name: 'timeoutMs', type: 'int32' },
    {
      name: 'topicData',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitionData',
            type: arrayOf(
              struct([
                { name: 'index', type: 'int32' },
                { name: 'records', type: 'records', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const ProduceResponse: MessageDecl = {
  name: 'ProduceResponse',
  apiKey: 0,
  type: 'response',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    {
      name: 'responses',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitionResponses',
            type: arrayOf(
              struct([
                { name: 'index', type: 'int32' },
                { name: 'errorCode', type: 'int16' },
                { name: 'baseOffset', type: 'int64' },
                { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                {
                  name: 'recordErrors',
                  type: arrayOf(
                    struct([
                      { name: 'batchIndex', type: 'int32', versions: '8+' },
                      { name: 'batchIndexErrorMessage', type: 'string', versions: '8+', nullable: '8+', default: null },
                    ]),
                  ),
                  versions: '8+',
                },
                { name: 'errorMessage', type: 'string', versions: '8+', nullable: '8+', default: null },
                {
                  name: 'currentLeader',
                  type: struct([
                    { name: 'leaderId', type: 'int32', versions: '10+', default: -1 },
                    { name: 'leaderEpoch', type: 'int32', versions: '10+', default: -1 },
                  ]),
                  versions: '10+',
                  tag: 0,
                  taggedVersions: '10+',
                },
              ]),
            ),
          },
        ]),
      ),
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'nodeEndpoints',
      type: arrayOf(
        struct([
          { name: 'nodeId', type: 'int32', versions: '10+' },
          { name: 'host', type: 'string', versions: '10+' },
          { name: 'port', type: 'int32', versions: '10+' },
          { name: 'rack', type: 'string', versions: '10+', nullable: '10+', default: null },
        ]),
      ),
      versions: '10+',
      tag: 0,
      taggedVersions: '10+',
    },
  ],
};
