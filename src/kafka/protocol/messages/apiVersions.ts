// ApiVersions (key 18). Its response always goes out with response header v0 (KIP-511): the
// client cannot know yet whether the broker understands tagged fields.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const ApiVersionsRequest: MessageDecl = {
  name: 'ApiVersionsRequest',
  apiKey: 18,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'clientSoftwareName', type: 'string', versions: '3+' },
    { name: 'clientSoftwareVersion', type: 'string', versions: '3+' },
  ],
};

export const ApiVersionsResponse: MessageDecl = {
  name: 'ApiVersionsResponse',
  apiKey: 18,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'errorCode', type: 'int16' },
    {
      name: 'apiKeys',
      type: arrayOf(
        struct([
          { name: 'apiKey', type: 'int16' },
          { name: 'minVersion', type: 'int16' },
          { name: 'maxVersion', type: 'int16' },
        ]),
      ),
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'supportedFeatures',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'minVersion', type: 'int16' },
          { name: 'maxVersion', type: 'int16' },
        ]),
      ),
      versions: '3+',
      tag: 0,
      taggedVersions: '3+',
    },
    { name: 'finalizedFeaturesEpoch', type: 'int64', versions: '3+', tag: 1, taggedVersions: '3+', default: -1 },
    {
      name: 'finalizedFeatures',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          { name: 'maxVersionLevel', type: 'int16' },
          { name: 'minVersionLevel', type: 'int16' },
        ]),
      ),
      versions: '3+',
      tag: 2,
      taggedVersions: '3+',
    },
    { name: 'zkMigrationReady', type: 'bool', versions: '3+', tag: 3, taggedVersions: '3+', default: false },
  ],
};
