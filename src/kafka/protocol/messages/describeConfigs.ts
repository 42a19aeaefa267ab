// DescribeConfigs (key 32). A null key list asks for every config of the resource.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DescribeConfigsRequest: MessageDecl = {
  name: 'DescribeConfigsRequest',
  apiKey: 32,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    {
      name: 'resources',
      type: arrayOf(
        struct([
          { name: 'resourceType', type: 'int8' },
          { name: 'resourceName', type: 'string' },
          { name: 'configurationKeys', type: arrayOf('string'), nullable: '0+' },
        ]),
      ),
    },
    { name: 'includeSynonyms', type: 'bool', versions: '1+' },
    { name: 'includeDocumentation', type: 'bool', versions: '3+' },
  ],
};

export const DescribeConfigsResponse: MessageDecl = {
  name: 'DescribeConfigsResponse',
  apiKey: 32,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'results',
      type: arrayOf(
        struct([
          { name: 'errorCode', type: 'int16' },
          { name: 'errorMessage', type: 'string', nullable: '0+' },
          { name: 'resourceType', type: 'int8' },
          { name: 'resourceName', type: 'string' },
          {
            name: 'configs',
            type: arrayOf(
              struct([
                { name: 'name', type: 'string' },
                { name: 'value', type: 'string', nullable: '0+' },
                { name: 'readOnly', type: 'bool' },
                { name: 'isDefault', type: 'bool', versions: '0' },
                { name: 'configSource', type: 'int8', versions: '1+', default: -1 },
                { name: 'isSensitive', type: 'bool' },
                {
                  name: 'synonyms',
                  type: arrayOf(
                    struct([
                      { name: 'name', type: 'string', versions: '1+' },
                      { name: 'value', type: 'string', versions: '1+', nullable: '0+' },
                      { name: 'source', type: 'int8', versions: '1+' },
                    ]),
                  ),
                  versions: '1+',
                },
                { name: 'configType', type: 'int8', versions: '3+' },
                { name: 'documentation', type: 'string', versions: '3+', nullable: '0+' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
