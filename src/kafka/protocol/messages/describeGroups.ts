// DescribeGroups (key 15). Member metadata and assignments are opaque bytes owned by the client's
// protocol.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DescribeGroupsRequest: MessageDecl = {
  name: 'DescribeGroupsRequest',
  apiKey: 15,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    { name: 'groups', type: arrayOf('string') },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '3+' },
  ],
};

export const DescribeGroupsResponse: MessageDecl = {
  name: 'DescribeGroupsResponse',
  apiKey: 15,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'groups',
      type: arrayOf(
        struct([
          { name: 'errorCode', type: 'int16' },
          { name: 'groupId', type: 'string' },
          { name: 'groupState', type: 'string' },
          { name: 'protocolType', type: 'string' },
          { name: 'protocolData', type: 'string' },
          {
            name: 'members',
            type: arrayOf(
              struct([
                { name: 'memberId', type: 'string' },
                { name: 'groupInstanceId', type: 'string', versions: '4+', nullable: '4+', default: null },
                { name: 'clientId', type: 'string' },
                { name: 'clientHost', type: 'string' },
                { name: 'memberMetadata', type: 'bytes' },
                { name: 'memberAssignment', type: 'bytes' },
              ]),
            ),
          },
          { name: 'authorizedOperations', type: 'int32', versions: '3+', default: -2147483648 },
        ]),
      ),
    },
  ],
};
