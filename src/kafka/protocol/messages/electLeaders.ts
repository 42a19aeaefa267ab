// ElectLeaders (key 43). v1+ adds the election type (0 preferred, 1 unclean); a null topic list
// means all partitions.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ElectLeadersRequest: MessageDecl = {
  name: 'ElectLeadersRequest',
  apiKey: 43,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'electionType', type: 'int8', versions: '1+' },
    {
      name: 'topicPartitions',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string' },
          { name: 'partitions', type: arrayOf('int32') },
        ]),
      ),
      nullable: '0+',
    },
    { name: 'timeoutMs', type: 'int32', default: 60000 },
  ],
};

export const ElectLeadersResponse: MessageDecl = {
  name: 'ElectLeadersResponse',
  apiKey: 43,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16', versions: '1+' },
    {
      name: 'replicaElectionResults',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string' },
          {
            name: 'partitionResult',
            type: arrayOf(
              struct([
                { name: 'partitionId', type: 'int32' },
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
