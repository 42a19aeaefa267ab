// IncrementalAlterConfigs (key 44). Each entry is SET, DELETE, APPEND or SUBTRACT on one config
// key.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const IncrementalAlterConfigsRequest: MessageDecl = {
  name: 'IncrementalAlterConfigsRequest',
  apiKey: 44,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
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
                { name: 'configOperation', type: 'int8' },
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

export const IncrementalAlterConfigsResponse: MessageDecl = {
  name: 'IncrementalAlterConfigsResponse',
  apiKey: 44,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
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
