// ListGroups (key 16). v4 filters by state and v5 by group type.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ListGroupsRequest: MessageDecl = {
  name: 'ListGroupsRequest',
  apiKey: 16,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'statesFilter', type: arrayOf('string'), versions: '4+' },
    { name: 'typesFilter', type: arrayOf('string'), versions: '5+' },
  ],
};

export const ListGroupsResponse: MessageDecl = {
  name: 'ListGroupsResponse',
  apiKey: 16,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16' },
    {
      name: 'groups',
      type: arrayOf(
        struct([
          { name: 'groupId', type: 'string' },
          { name: 'protocolType', type: 'string' },
          { name: 'groupState', type: 'string', versions: '4+' },
          { name: 'groupType', type: 'string', versions: '5+' },
        ]),
      ),
    },
  ],
};
