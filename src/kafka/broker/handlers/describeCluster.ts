// DescribeCluster (key 60): brokers, controller and cluster id (Admin.describeCluster).

import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function describeClusterHandler(b: Broker): Handler {
  return (_req: Msg) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: 1,
    clusterId: b.metadata.clusterId ?? '',
    controllerId: b.metadata.controllerId,
    brokers: [...b.metadata.brokers.values()].map((x) => ({ brokerId: x.id, host: x.host, port: x.port, rack: x.rack })),
    clusterAuthorizedOperations: -2147483648,
  });
}
