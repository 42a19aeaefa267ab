// JoinGroup (key 11). The response carries member metadata only to the leader, which runs the
// assignment.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const JoinGroupRequest: MessageDecl = {
  name: 'JoinGroupRequest',
  apiKey: 11,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'groupId', type: 'string' },
    { name: 'sessionTimeoutMs', type: 'int32' },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string' },
    { name: 'groupInstanceId', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'protocolType', type: 'string' },
    {
      name: 'protocols',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'metadata', type: 'bytes' },
        ]),
      ),
    },
    { name: 'reason', type: 'string', versions: '8+', nullable: '8+', default: null },
  ],
};

export const JoinGroupResponse: MessageDecl = {
  name: 'JoinGroupResponse',
  apiKey: 11,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'errorCode', type: 'int16' },
    { name: 'generationId', type: 'int32', default: -1 },
    { name: 'protocolType', type: 'string', versions: '7+', nullable: '7+', default: null },
    { name: 'protocolName', type: 'string', nullable: '7+' },
    { name: 'leader', type: 'string' },
    { name: 'skipAssignment', type: 'bool', versions: '9+' },
    { name: 'memberId', type: 'string' },
    {
      name: 'members',
      type: arrayOf(
        struct([
          { name: 'memberId', type: 'string' },
          { name: 'groupInstanceId', type: 'string', versions: '5+', nullable: '5+', default: null },
          { name: 'metadata', type: 'bytes' },
        ]),
      ),
    },
  ],
};
