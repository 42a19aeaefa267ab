// OffsetDelete (key 47). Removes committed offsets of partitions a group no longer consumes.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const OffsetDeleteRequest: MessageDecl = {
  name: 'OffsetDeleteRequest',
  apiKey: 47,
  type: 'request',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'groupId', type: 'string' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'partitions', type: arrayOf(struct([{ name: 'partitionIndex', type: 'int32' }])) },
        ]),
      ),
    },
  ],
};

export const OffsetDeleteResponse: MessageDecl = {
  name: 'OffsetDeleteResponse',
  apiKey: 47,
  type: 'response',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16' },
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
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
