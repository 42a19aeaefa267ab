// ListOffsets (key 2). v0 asks for up to MaxNumOffsets offsets; from v1 one offset per partition
// (timestamps -1 latest, -2 earliest).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ListOffsetsRequest: MessageDecl = {
  name: 'ListOffsetsRequest',
  apiKey: 2,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'replicaId', type: 'int32' },
    { name: 'isolationLevel', type: 'int8', versions: '2+' },
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
                { name: 'currentLeaderEpoch', type: 'int32', versions: '4+', default: -1 },
                { name: 'timestamp', type: 'int64' },
                { name: 'maxNumOffsets', type: 'int32', versions: '0', default: 1 },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const ListOffsetsResponse: MessageDecl = {
  name: 'ListOffsetsResponse',
  apiKey: 2,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
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
                { name: 'oldStyleOffsets', type: arrayOf('int64'), versions: '0' },
                { name: 'timestamp', type: 'int64', versions: '1+', default: -1 },
                { name: 'offset', type: 'int64', versions: '1+', default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: '4+', default: -1 },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
