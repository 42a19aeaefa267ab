// ControlledShutdown (key 7). Broker to controller: move leadership away before shutting down.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ControlledShutdownRequest: MessageDecl = {
  name: 'ControlledShutdownRequest',
  apiKey: 7,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    { name: 'brokerId', type: 'int32' },
    { name: 'brokerEpoch', type: 'int64', versions: '2+', default: -1 },
  ],
};

export const ControlledShutdownResponse: MessageDecl = {
  name: 'ControlledShutdownResponse',
  apiKey: 7,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    { name: 'errorCode', type: 'int16' },
    {
      name: 'remainingPartitions',
      type: arrayOf(
        struct([
          { name: 'topicName', type: 'string' },
          { name: 'partitionIndex', type: 'int32' },
        ]),
      ),
    },
  ],
};
