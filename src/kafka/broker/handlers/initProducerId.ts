// InitProducerId (key 22) for idempotent producers: a fresh producer id from this broker's
// block of /latest_producer_id_block, epoch 0, whatever id and epoch the request carries (v3+):
// as in Kafka, only a transactional id keeps its producer id and has its epoch bumped; an
// idempotent producer bumps its epoch itself. (@platformatic/kafka 1.35 sends id 0, epoch 0 for a
// new producer; bumping that would hand every such producer the same id.) Transactional ids need
// the transaction coordinator, a later issue.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function initProducerIdHandler(b: Broker): Handler {
  return async (req: Msg) => {
    if (req.transactionalId != null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
    const pid = (req.producerId as number | undefined) ?? -1;
    const epoch = (req.producerEpoch as number | undefined) ?? -1;
    if ((pid === -1) !== (epoch === -1)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
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
