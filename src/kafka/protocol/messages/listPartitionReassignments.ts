// ListPartitionReassignments (key 46, KIP-455): the partitions being moved, with their full
// replica set and the replicas being added and removed. A null topic list asks for all of them.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ListPartitionReassignmentsRequest: MessageDecl = {
  name: 'ListPartitionReassignmentsRequest',
  apiKey: 46,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'timeoutMs', type: 'int32', default: 60000 },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'partitionIndexes', type: arrayOf('int32') },
        ]),
      ),
      nullable: '0+',
      default: null,
    },
  ],
};

export const ListPartitionReassignmentsResponse: MessageDecl = {
  name: 'ListPartitionReassignmentsResponse',
  apiKey: 46,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16' },
    { name: 'errorMessage', type: 'string', nullable: '0+' },
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
                { name: 'replicas', type: arrayOf('int32') },
                { name: 'addingReplicas', type: arrayOf('int32') },
                { name: 'removingReplicas', type: arrayOf('int32') },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
