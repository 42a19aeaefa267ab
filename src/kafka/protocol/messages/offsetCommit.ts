// OffsetCommit (key 8). Group commits; the per-partition timestamp exists only in v1 and the
// retention time only in v2-v4.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const OffsetCommitRequest: MessageDecl = {
  name: 'OffsetCommitRequest',
  apiKey: 8,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '8+',
  fields: [
    { name: 'groupId', type: 'string' },
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '1+' },
    { name: 'groupInstanceId', type: 'string', versions: '7+', nullable: '7+', default: null },
    { name: 'retentionTimeMs', type: 'int64', versions: '2-4', default: -1 },
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
                { name: 'committedOffset', type: 'int64' },
                { name: 'committedLeaderEpoch', type: 'int32', versions: '6+', default: -1 },
                { name: 'commitTimestamp', type: 'int64', versions: '1', default: -1 },
                { name: 'committedMetadata', type: 'string', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const OffsetCommitResponse: MessageDecl = {
  name: 'OffsetCommitResponse',
  apiKey: 8,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '8+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
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
