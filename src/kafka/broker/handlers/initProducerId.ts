// InitProducerId (key 22) for idempotent producers: a fresh producer id from this broker's
// block of /latest_producer_id_block, epoch 0. A producer that passes its current id and epoch
// (v3+) after a fatal sequence error gets its epoch bumped. Transactional ids need the
// transaction coordinator, a later issue.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

const EPOCH_MAX = 32767;

export function initProducerIdHandler(b: Broker): Handler {
  return async (req: Msg) => {
    if (req.transactionalId != null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
    const pid = req.producerId as number | undefined;
    const epoch = req.producerEpoch as number | undefined;
    if (pid !== undefined && pid >= 0 && epoch !== undefined && epoch >= 0 && epoch < EPOCH_MAX - 1) {
      return { throttleTimeMs: 0, errorCode: 0, producerId: pid, producerEpoch: epoch + 1 };
    }
    try {
      const id = await b.producerIds.nextId();
      return { throttleTimeMs: 0, errorCode: 0, producerId: id, producerEpoch: 0 };
    } catch (err) {
      b.logger.warn({ err: String(err) }, 'could not allocate a producer id');
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
  };
}
