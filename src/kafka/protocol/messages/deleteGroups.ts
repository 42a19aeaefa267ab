// DeleteGroups (key 42). Deletes empty groups with their committed offsets.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DeleteGroupsRequest: MessageDecl = {
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'groupsNames', type: arrayOf('string') }],
};

export const DeleteGroupsResponse: MessageDecl = {
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'results',
      type: arrayOf(
        struct([
          { name: 'groupId', type: 'string' },
          { name: 'errorCode', type: 'int16' },
        ]),
      ),
    },
  ],
};
