// OffsetForLeaderEpoch (key 23). Followers and clients ask where a leader epoch ended, to detect
// log divergence.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const OffsetForLeaderEpochRequest: MessageDecl = {
  name: 'OffsetForLeaderEpochRequest',
  apiKey: 23,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'replicaId', type: 'int32', versions: '3+', default: -2 },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partition', type: 'int32' },
                { name: 'currentLeaderEpoch', type: 'int32', versions: '2+', default: -1 },
                { name: 'leaderEpoch', type: 'int32' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const OffsetForLeaderEpochResponse: MessageDecl = {
  name: 'OffsetForLeaderEpochResponse',
  apiKey: 23,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'errorCode', type: 'int16' },
                { name: 'partition', type: 'int32' },
                { name: 'leaderEpoch', type: 'int32', versions: '1+', default: -1 },
                { name: 'endOffset', type: 'int64', default: -1 },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
