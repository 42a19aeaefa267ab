// DescribeCluster (key 60). The admin client's view of brokers and the controller (KIP-700).

import { arrayOf, type MessageDecl, struct } from '../schema.js';

export const DescribeClusterRequest: MessageDecl = {
  name: 'DescribeClusterRequest',
  apiKey: 60,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'includeClusterAuthorizedOperations', type: 'bool' },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
  ],
};

export const DescribeClusterResponse: MessageDecl = {
  name: 'DescribeClusterResponse',
  apiKey: 60,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32' },
    { name: 'errorCode', type: 'int16' },
    { name: 'errorMessage', type: 'string', nullable: '0+', default: null },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
    { name: 'clusterId', type: 'string' },
    { name: 'controllerId', type: 'int32', default: -1 },
    {
      name: 'brokers',
      type: arrayOf(
        struct([
          { name: 'brokerId', type: 'int32' },
          { name: 'host', type: 'string' },
          { name: 'port', type: 'int32' },
          { name: 'rack', type: 'string', nullable: '0+', default: null },
        ]),
      ),
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', default: -2147483648 },
  ],
};
