// ControlledShutdown (key 7, v3), broker to controller: move this broker's leaderships away before
// it stops. Only the active controller answers (else NOT_CONTROLLER); the answer lists the
// partitions the broker still leads (empty = it may stop).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function controlledShutdownHandler(b: Broker): Handler {
  return async (req: Msg) => {
    const controller = b.controller;
    if (!controller?.isActive) return { errorCode: ErrorCode.NOT_CONTROLLER, remainingPartitions: [] };
    const r = await controller.controlledShutdown(req.brokerId, req.brokerEpoch);
    return {
      errorCode: r.errorCode,
      remainingPartitions: r.remaining.map((tp) => ({ topicName: tp.topic, partitionIndex: tp.partition })),
    };
  };
}
