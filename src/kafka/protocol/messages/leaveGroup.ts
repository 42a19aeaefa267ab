// LeaveGroup (key 13). v3+ removes a batch of members (static members leave by instance id).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const LeaveGroupRequest: MessageDecl = {
  name: 'LeaveGroupRequest',
  apiKey: 13,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string' },
    { name: 'memberId', type: 'string', versions: '0-2' },
    {
      name: 'members',
      type: arrayOf(
        struct([
          { name: 'memberId', type: 'string', versions: '3+' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+', default: null },
          { name: 'reason', type: 'string', versions: '5+', nullable: '5+', default: null },
        ]),
      ),
      versions: '3+',
    },
  ],
};

export const LeaveGroupResponse: MessageDecl = {
  name: 'LeaveGroupResponse',
  apiKey: 13,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16' },
    {
      name: 'members',
      type: arrayOf(
        struct([
          { name: 'memberId', type: 'string', versions: '3+' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+' },
          { name: 'errorCode', type: 'int16', versions: '3+' },
        ]),
      ),
      versions: '3+',
    },
  ],
};
