// DeleteRecords (key 21). Moves the log start offset forward; -1 means up to the high watermark.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DeleteRecordsRequest: MessageDecl = {
  name: 'DeleteRecordsRequest',
  apiKey: 21,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'offset', type: 'int64' },
              ]),
            ),
          },
        ]),
      ),
    },
    { name: 'timeoutMs', type: 'int32' },
  ],
};

export const DeleteRecordsResponse: MessageDecl = {
  name: 'DeleteRecordsResponse',
  apiKey: 21,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'name', type: 'string' },
          {
            name: 'partitions',
            type: arrayOf(
              struct([
                { name: 'partitionIndex', type: 'int32' },
                { name: 'lowWatermark', type: 'int64' },
                { name: 'errorCode', type: 'int16' },
              ]),
            ),
          },
        ]),
      ),
    },
  ],
};
