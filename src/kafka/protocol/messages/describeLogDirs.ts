// DescribeLogDirs (key 35). A null topic list describes every partition in each log directory.

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DescribeLogDirsRequest: MessageDecl = {
  name: 'DescribeLogDirsRequest',
  apiKey: 35,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'topics',
      type: arrayOf(
        struct([
          { name: 'topic', type: 'string' },
          { name: 'partitions', type: arrayOf('int32') },
        ]),
      ),
      nullable: '0+',
    },
  ],
};

export const DescribeLogDirsResponse: MessageDecl = {
  name: 'DescribeLogDirsResponse',
  apiKey: 35,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16', versions: '3+' },
    {
      name: 'results',
      type: arrayOf(
        struct([
          { name: 'errorCode', type: 'int16' },
          { name: 'logDir', type: 'string' },
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
                      { name: 'partitionSize', type: 'int64' },
                      { name: 'offsetLag', type: 'int64' },
                      { name: 'isFutureKey', type: 'bool' },
                    ]),
                  ),
                },
              ]),
            ),
          },
          { name: 'totalBytes', type: 'int64', versions: '4+', default: -1 },
          { name: 'usableBytes', type: 'int64', versions: '4+', default: -1 },
        ]),
      ),
    },
  ],
};
