// AlterConfigs (key 33). Replaces the whole config set of a resource (IncrementalAlterConfigs edits
// it).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const AlterConfigsRequest: MessageDecl = {
  name: 'AlterConfigsRequest',
  apiKey: 33,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'resources',
      type: arrayOf(
        struct([
          { name: 'resourceType', type: 'int8' },
          { name: 'resourceName', type: 'string' },
          {
            name: 'configs',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string' },
                { name: 'value', type: 'string', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
    { name: 'validateOnly', type: 'bool' },
  ],
};

export const AlterConfigsResponse: MessageDecl = {
  name: 'AlterConfigsResponse',
  apiKey: 33,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'responses',
      type: arrayOf(
        struct([
          { name: 'errorCode', type: 'int16' },
          { name: 'errorMessage', type: 'string', nullable: '0+' },
          { name: 'resourceType', type: 'int8' },
          { name: 'resourceName', type: 'string' },
        ]),
      ),
    },
  ],
};
