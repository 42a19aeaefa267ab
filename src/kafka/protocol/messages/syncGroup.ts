// SyncGroup (key 14). The leader sends every assignment; each member receives only its own.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const SyncGroupRequest: MessageDecl = {
  name: 'SyncGroupRequest',
  apiKey: 14,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string' },
    { name: 'generationId', type: 'int32' },
    { name: 'memberId', type: 'string' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullable: '5+', default: null },
    {
      name: 'assignments',
      type: arrayOf(
        struct([
          { name: 'memberId', type: 'string' },
          { name: 'assignment', type: 'bytes' },
        ]),
      ),
    },
  ],
};

export const SyncGroupResponse: MessageDecl = {
  name: 'SyncGroupResponse',
  apiKey: 14,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16' },
    { name: 'protocolType', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'assignment', type: 'bytes' },
  ],
};
