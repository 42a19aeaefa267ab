// Fetch (key 1). Sessions (KIP-227) and topic ids (v13+) change the request shape; records are
// passed through unparsed.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const FetchRequest: MessageDecl = {
  name: 'FetchRequest',
  apiKey: 1,
  type: 'request',
  validVersions: '0-17',
  flexibleVersions: '12+',
  fields: [
    {
      name: 'clusterId',
      type: 'string',
      versions: '12+',
      nullable: '12+',
      tag: 0,
      taggedVersions: '12+',
      default: null,
    },
    { name: 'replicaId', type: 'int32', versions: '0-14', default: -1 },
    {
      name: 'replicaState',
      type: struct([
        { name: 'replicaId', type: 'int32', versions: '15+', default: -1 },
        { name: 'replicaEpoch', type: 'int64', versions: '15+', default: -1 },
      ]),
      versions: '15+',
      tag: 1,
      taggedVersions: '15+',
    },
    { name: 'maxWaitMs', type: 'int32' },
    { name: 'minBytes', type: 'int32' },
    { name: 'maxBytes', type: 'int32', versions: '3+', default: 2147483647 },
    { name: 'isolationLevel', type: 'int8', versions: '4+' },
    { name: 'sessionId', type: 'int32', versions: '7+' },
    { name: 'sessionEpoch', type: 'int32', versions: '7+', default: -1 },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string', versions: '0-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partition', type: 'int32' },
                { name: 'currentLeaderEpoch', type: 'int32', versions: '9+', default: -1 },
                { name: 'fetchOffset', type: 'int64' },
                { name: 'lastFetchedEpoch', type: 'int32', versions: '12+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                { name: 'partitionMaxBytes', type: 'int32' },
                { name: 'replicaDirectoryId', type: 'uuid', versions: '17+', tag: 0, taggedVersions: '17+' },
              ]),
            ),
          },
        ]),
      ),
    },
    {
      name: 'forgottenTopicsData',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string', versions: '7-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          { name: 'partitions', type: arrayOf('int32'), versions: '7+' },
        ]),
      ),
      versions: '7+',
    },
    { name: 'rackId', type: 'string', versions: '11+' },
  ],
};

export const FetchResponse: MessageDecl = {
  name: 'FetchResponse',
  apiKey: 1,
  type: 'response',
  validVersions: '0-17',
  flexibleVersions: '12+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '7+' },
    { name: 'sessionId', type: 'int32', versions: '7+' },
    {
      name: 'responses',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string', versions: '0-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'errorCode', type: 'int16' },
                { name: 'highWatermark', type: 'int64' },
                { name: 'lastStableOffset', type: 'int64', versions: '4+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                {
                  name: 'divergingEpoch',
                  type: struct([
                    { name: 'epoch', type: 'int32', versions: '12+', default: -1 },
                    { name: 'endOffset', type: 'int64', versions: '12+', default: -1 },
                  ]),
                  versions: '12+',
                  tag: 0,
                  taggedVersions: '12+',
                },
                {
                  name: 'currentLeader',
                  type: struct([
                    { name: 'leaderId', type: 'int32', versions: '12+', default: -1 },
                    { name: 'leaderEpoch', type: 'int32', versions: '12+', default: -1 },
                  ]),
                  versions: '12+',
                  tag: 1,
                  taggedVersions: '12+',
                },
                {
                  name: 'snapshotId',
                  type: struct([
                    { name: 'endOffset', type: 'int64', default: -1 },
                    { name: 'epoch', type: 'int32', default: -1 },
                  ]),
                  versions: '12+',
                  tag: 2,
                  taggedVersions: '12+',
                },
                {
                  name: 'abortedTransactions',
                  type: arrayOf(
                    struct([
                      { name: 'producerId', type: 'int64', versions: '4+' },
                      { name: 'firstOffset', type: 'int64', versions: '4+' },
                    ]),
                  ),
                  versions: '4+',
                  nullable: '4+',
                },
                { name: 'preferredReadReplica', type: 'int32', versions: '11+', default: -1 },
                { name: 'records', type: 'records', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
    {
      name: 'nodeEndpoints',
      type: arrayOf(
        struct([
          { name: 'nodeId', type: 'int32', versions: '16+' },
          { name: 'host', type: 'string', versions: '16+' },
          { name: 'port', type: 'int32', versions: '16+' },
          { name: 'rack', type: 'string', versions: '16+', nullable: '16+', default: null },
        ]),
      ),
      versions: '16+',
      tag: 0,
      taggedVersions: '16+',
    },
  ],
};
