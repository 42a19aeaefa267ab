// DeleteTopics (key 20). v6 names topics by name or by id through a Topics array; earlier versions
// send TopicNames.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DeleteTopicsRequest: MessageDecl = {
  name: 'DeleteTopicsRequest',
  apiKey: 20,
  type: 'request',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string', versions: '6+', nullable: '6+', default: null },
          { name: 'topicId', type: 'uuid', versions: '6+' },
        ]),
      ),
      versions: '6+',
    },
    { name: 'topicNames', type: arrayOf('string'), versions: '0-5' },
    { name: 'timeoutMs', type: 'int32' },
  ],
};

export const DeleteTopicsResponse: MessageDecl = {
  name: 'DeleteTopicsResponse',
  apiKey: 20,
  type: 'response',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'responses',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string', nullable: '6+' },
          { name: 'topicId', type: 'uuid', versions: '6+' },
          { name: 'errorCode', type: 'int16' },
          { name: 'errorMessage', type: 'string', versions: '5+', nullable: '5+', default: null },
        ]),
      ),
    },
  ],
};
