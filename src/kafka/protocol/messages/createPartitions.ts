// CreatePartitions (key 37). Assignments, when given, list the replicas of each new partition only.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const CreatePartitionsRequest: MessageDecl = {
  name: 'CreatePartitionsRequest',
  apiKey: 37,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'count', type: 'int32' },
          {
            name: 'assignments',
            type: arrayOf(struct([{ name: 'brokerIds', type: arrayOf('int32') }])),
            nullable: '0+',
          },
        ]),
      ),
    },
    { name: 'timeoutMs', type: 'int32' },
    { name: 'validateOnly', type: 'bool' },
  ],
};

export const CreatePartitionsResponse: MessageDecl = {
  name: 'CreatePartitionsResponse',
  apiKey: 37,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'results',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'errorCode', type: 'int16' },
          { name: 'errorMessage', type: 'string', nullable: '0+', default: null },
        ]),
      ),
    },
  ],
};
