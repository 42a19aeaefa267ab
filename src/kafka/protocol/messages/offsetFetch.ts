// OffsetFetch (key 9). v8+ batches several groups per request, so the whole layout moves under a
// Groups array.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const OffsetFetchRequest: MessageDecl = {
  name: 'OffsetFetchRequest',
  apiKey: 9,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string', versions: '0-7' },
          { name: 'partitionIndexes', type: arrayOf('int32'), versions: '0-7' },
        ]),
      ),
      versions: '0-7',
      nullable: '2-7',
    },
    {
      name: 'groups',
      type: arrayOf(
        struct([
          { name: 'groupId', type: 'string', versions: '8+' },
          { name: 'memberId', type: 'string', versions: '9+', nullable: '9+', default: null },
          { name: 'memberEpoch', type: 'int32', versions: '9+', default: -1 },
          {
            name: 'topics',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string', versions: '8+' },
                { name: 'partitionIndexes', type: arrayOf('int32'), versions: '8+' },
              ]),
            ),
            versions: '8+',
            nullable: '8+',
          },
        ]),
      ),
      versions: '8+',
    },
    { name: 'requireStable', type: 'bool', versions: '7+' },
  ],
};

export const OffsetFetchResponse: MessageDecl = {
  name: 'OffsetFetchResponse',
  apiKey: 9,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string', versions: '0-7' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32', versions: '0-7' },
                { name: 'committedOffset', type: 'int64', versions: '0-7' },
                { name: 'committedLeaderEpoch', type: 'int32', versions: '5-7', default: -1 },
                { name: 'metadata', type: 'string', versions: '0-7', nullable: '0-7' },
                { name: 'errorCode', type: 'int16', versions: '0-7' },
              ]),
            ),
            versions: '0-7',
          },
        ]),
      ),
      versions: '0-7',
    },
    { name: 'errorCode', type: 'int16', versions: '2-7' },
    {
      name: 'groups',
      type: arrayOf(
        struct([
          { name: 'groupId', type: 'string', versions: '8+' },
          {
            name: 'topics',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string', versions: '8+' },
                {
                  name: 'partitions',
                  type: arrayOf(
                    struct([
                      { name: 'partitionIndex', type: 'int32', versions: '8+' },
                      { name: 'committedOffset', type: 'int64', versions: '8+' },
                      { name: 'committedLeaderEpoch', type: 'int32', versions: '8+', default: -1 },
                      { name: 'metadata', type: 'string', versions: '8+', nullable: '8+' },
                      { name: 'errorCode', type: 'int16', versions: '8+' },
                    ]),
                  ),
                  versions: '8+',
                },
              ]),
            ),
            versions: '8+',
          },
          { name: 'errorCode', type: 'int16', versions: '8+' },
        ]),
      ),
      versions: '8+',
    },
  ],
};
