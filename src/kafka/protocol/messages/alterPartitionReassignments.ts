// AlterPartitionReassignments (key 45, KIP-455): move partitions to new replica sets, or cancel
// a move with a null replica list. Answered by the controller.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const AlterPartitionReassignmentsRequest: MessageDecl = {
  name: 'AlterPartitionReassignmentsRequest',
  apiKey: 45,
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
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'replicas', type: arrayOf('int32'), nullable: '0+', default: null },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};

export const AlterPartitionReassignmentsResponse: MessageDecl = {
  name: 'AlterPartitionReassignmentsResponse',
  apiKey: 45,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16' },
    { name: 'errorMessage', type: 'string', nullable: '0+' },
    {
      name: 'responses',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'errorCode', type: 'int16' },
                { name: 'errorMessage', type: 'string', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
