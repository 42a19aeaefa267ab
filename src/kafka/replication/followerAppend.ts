// What a follower does with the batches a leader sends it, before and after the log append: keep
// whole batches only (a fetch may end in a partial one), check each batch's CRC as Kafka's follower
// append does, and keep producer state for the idempotent batches so that, once this replica leads,
// a producer's retry of a batch it already has is still answered as a duplicate.

import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  baseOffsetOf,
  batchSize,
  lastOffsetOf,
  maxTimestampOf,
  readInt64,
  recordsCountOf,
} from '../protocol/batchHeader.js';
import { crc32c } from '../protocol/records.js';
import type { ProducerStateManager } from '../storage/producerState.js';

/**
 * The whole batches at the start of `records` (a view, no copy), each CRC-checked.
 * Throws when a batch is corrupt or not of magic 2.
 */
export function verifyFollowerBatches(records: Buffer): Buffer {
  let p = 0;
  while (p + BATCH_HEADER_BYTES <= records.length) {
    const size = LOG_OVERHEAD + records.readInt32BE(p + BATCH.batchLength);
    if (size < BATCH_HEADER_BYTES) throw new Error(`bad record batch length ${size} at byte ${p}`);
    if (p + size > records.length) break;
    if (records.readInt8(p + BATCH.magic) !== 2) throw new Error(`batch at offset ${baseOffsetOf(records, p)} is not magic 2`);
    const crc = records.readUInt32BE(p + BATCH.crc);
    if (crc32c(records, p + BATCH.attributes, p + size) !== crc)
      throw new Error(`CRC mismatch in batch at offset ${baseOffsetOf(records, p)}`);
    p += size;
  }
  return p === records.length ? records : records.subarray(0, p);
}

/** Records the idempotent batches of `chunk` whose last offset is >= minLastOffset in the producer state. */
export function recordFollowerBatches(chunk: Buffer, producers: ProducerStateManager, minLastOffset = -1): number {
  let next = minLastOffset;
  for (let p = 0; p + BATCH_HEADER_BYTES <= chunk.length; p += batchSize(chunk, p)) {
    const last = lastOffsetOf(chunk, p);
    if (last >= minLastOffset) {
      const attributes = chunk.readInt16BE(p + BATCH.attributes);
      const producerId = readInt64(chunk, p + BATCH.producerId);
      if (producerId >= 0 && (attributes & ATTR_CONTROL) === 0) {
        producers.recordAppend(
          {
            producerId,
            producerEpoch: chunk.readInt16BE(p + BATCH.producerEpoch),
            baseSequence: chunk.readInt32BE(p + BATCH.baseSequence),
            lastOffsetDelta: chunk.readInt32BE(p + BATCH.lastOffsetDelta),
            recordsCount: recordsCountOf(chunk, p),
            maxTimestamp: maxTimestampOf(chunk, p),
            transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
          },
          baseOffsetOf(chunk, p),
          last,
        );
      }
    }
    next = Math.max(next, last + 1);
  }
  return next;
}
