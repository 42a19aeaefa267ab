// The fencing every controller-to-broker request goes through (LeaderAndIsr, UpdateMetadata,
// StopReplica), in Kafka's order: a request for an earlier incarnation of this broker (its epoch,
// when set, below ours: KIP-380) is STALE_BROKER_EPOCH; one from a controller epoch older than the
// highest seen is STALE_CONTROLLER_EPOCH (a deposed controller).

import { ErrorCode } from '../../protocol/errors.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

/**
 * Holds a control request until this broker has registered: before that its own epoch is unknown
 * (-1) and a request meant for its previous incarnation would pass the fencing (Kafka serves no
 * request before registering). The wait ends at registration or when the broker stops.
 */
export function afterRegistration(b: Broker, handler: Handler): Handler {
  return (req, ctx) => (b.brokerEpoch >= 0 ? handler(req, ctx) : b.registered.then(() => handler(req, ctx)));
}

export function controlRequestError(b: Broker, controllerEpoch: number, brokerEpoch: number): number {
  if (brokerEpoch >= 0 && brokerEpoch < b.brokerEpoch) return ErrorCode.STALE_BROKER_EPOCH;
  if (controllerEpoch < b.controllerEpochSeen) return ErrorCode.STALE_CONTROLLER_EPOCH;
  return ErrorCode.NONE;
}
