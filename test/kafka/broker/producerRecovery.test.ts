// After a crash the producer-state snapshot is older than the log: the state is rebuilt from the
// snapshot plus the idempotent batches after it, so a retry of a batch written just before the
// crash is still recognized as a duplicate.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rebuildProducerState } from '../../../src/kafka/broker/replicaManager.js';
import { buildBatch } from '../../../src/kafka/protocol/records.js';
import { DEFAULT_LOG_CONFIG } from '../../../src/kafka/storage/logConfig.js';
import { PartitionLog } from '../../../src/kafka/storage/partitionLog.js';
import { ProducerStateManager } from '../../../src/kafka/storage/producerState.js';

const PID = 4000;

function batch(seq: number, n: number): Buffer {
  return buildBatch({
    producerId: PID,
    producerEpoch: 0,
    baseSequence: seq,
    records: Array.from({ length: n }, (_, i) => ({ key: `k${seq + i}`, value: `v${seq + i}` })),
  });
}

test('producer state is rebuilt from the snapshot and the log after it', () => {
  const root = mkdtempSync(join(tmpdir(), 'cg-pstate-'));
  try {
    const open = () => PartitionLog.open({ dir: join(root, 't-0'), topic: 't', partition: 0, config: DEFAULT_LOG_CONFIG, now: Date.now });
    const log = open();
    const before = new ProducerStateManager({ dir: log.dir, producerIdExpirationMs: 86_400_000 });
    // Batch 1 is covered by a snapshot; batches 2 and 3 are written after it (then the "crash").
    let off = 0;
    for (const [seq, n] of [
      [0, 3],
      [3, 2],
      [5, 4],
    ] as const) {
      const b = batch(seq, n);
      const r = log.append(b, 0);
      before.recordAppend(
        {
          producerId: PID,
          producerEpoch: 0,
          baseSequence: seq,
          lastOffsetDelta: n - 1,
          recordsCount: n,
          maxTimestamp: Date.now(),
          transactional: false,
        },
        r.firstOffset,
        r.lastOffset,
      );
      off = r.lastOffset + 1;
      if (seq === 0) before.takeSnapshot(off);
    }
    log.closeWithoutFlush();

    const reopened = open();
    const after = new ProducerStateManager({ dir: reopened.dir, producerIdExpirationMs: 86_400_000 });
    rebuildProducerState(reopened, after);
    const retry = {
      producerId: PID,
      producerEpoch: 0,
      baseSequence: 5,
      lastOffsetDelta: 3,
      recordsCount: 4,
      maxTimestamp: Date.now(),
      transactional: false,
    };
    assert.deepEqual(after.checkBatch(retry), { kind: 'duplicate', firstOffset: 5, lastOffset: 8 });
    const next = { ...retry, baseSequence: 9, lastOffsetDelta: 0, recordsCount: 1 };
    assert.deepEqual(after.checkBatch(next), { kind: 'ok' });
    const gap = { ...retry, baseSequence: 11, lastOffsetDelta: 0, recordsCount: 1 };
    assert.equal(after.checkBatch(gap).kind, 'error');

    // Without the replay, the snapshot alone would take the retry for a new batch out of order.
    const snapshotOnly = new ProducerStateManager({ dir: reopened.dir, producerIdExpirationMs: 86_400_000 });
    snapshotOnly.loadLatestSnapshot(reopened.logEndOffset);
    assert.notEqual(snapshotOnly.checkBatch(retry).kind, 'duplicate');
    assert.equal(off, 9);
    reopened.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
