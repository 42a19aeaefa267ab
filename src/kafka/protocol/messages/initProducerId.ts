// InitProducerId (key 22). Allocates or bumps a producer id; v3+ lets a producer pass its current
// id and epoch.

import type { MessageDecl } from '../schema.js';

export const InitProducerIdRequest: MessageDecl = {
  name: 'InitProducerIdRequest',
  apiKey: 22,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    { name: 'transactionalId', type: 'string', nullable: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
};

export const InitProducerIdResponse: MessageDecl = {
  name: 'InitProducerIdResponse',
  apiKey: 22,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16' },
    { name: 'producerId', type: 'int64', default: -1 },
    { name: 'producerEpoch', type: 'int16' },
  ],
};
