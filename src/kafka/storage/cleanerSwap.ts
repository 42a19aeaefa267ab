// The file side of swapping a cleaned segment in, Kafka's way: the cleaner writes `<base>.log.cleaned`
// (+ indexes), renames the indexes then the .log to `.swap` (the commit point: a `.log.swap` means the
// cleaned data is complete and durable), retires the old segments, then renames `.swap` to the live
// names. A crash anywhere in between is finished here when the log is opened again.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { BATCH, BATCH_HEADER_BYTES, LOG_OVERHEAD, readInt64 } from '../protocol/batchHeader.js';
import { fsyncDir } from './checkpoint.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, filenamePrefixFromOffset, readFully } from './segment.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

const SWAP_LOG = /^(\d{20})\.log\.swap$/;
const LIVE_LOG = /^(\d{20})\.log$/;

/** Offset after the last whole batch of a segment file (its base offset when it holds none). */
function nextOffsetOfFile(file: string, baseOffset: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const h = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
    let next = baseOffset;
    for (let pos = 0; pos + BATCH_HEADER_BYTES <= size; ) {
      if (readFully(fd, h, BATCH_HEADER_BYTES, pos) < BATCH_HEADER_BYTES) break;
      const len = LOG_OVERHEAD + h.readInt32BE(BATCH.batchLength);
      if (len < BATCH_HEADER_BYTES || pos + len > size) break;
      next = readInt64(h, BATCH.baseOffset) + h.readInt32BE(BATCH.lastOffsetDelta) + 1;
      pos += len;
    }
    return next;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Completes swaps a crash interrupted (called before a partition directory is loaded). For each
 * `<base>.log.swap`: the live segments it replaces (base offsets in [base, its next offset)) go, the
 * swap's own index files are dropped (the segment is opened without them, so its indexes are rebuilt
 * from the data), and the .log.swap becomes `<base>.log`. Leftover `.cleaned` and index `.swap` files
 * belong to a clean that never committed and are removed. Returns the bases whose swap was completed.
 */
export function completeInterruptedSwaps(dir: string): number[] {
  const names = fs.readdirSync(dir);
  const swaps: number[] = [];
  for (const name of names) {
    const m = SWAP_LOG.exec(name);
    if (m) swaps.push(Number(m[1]));
    else if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX)) fs.rmSync(path.join(dir, name), { force: true });
  }
  if (swaps.length === 0) return swaps;
  const live = names.flatMap((n) => {
    const m = LIVE_LOG.exec(n);
    return m ? [Number(m[1])] : [];
  });
  for (const base of swaps) {
    const swapFile = path.join(dir, filenamePrefixFromOffset(base) + LOG_SUFFIX + SWAP_SUFFIX);
    const next = nextOffsetOfFile(swapFile, base);
    for (const old of live) {
      if (old < base || (old >= next && old !== base)) continue;
      const prefix = path.join(dir, filenamePrefixFromOffset(old));
      for (const s of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) fs.rmSync(prefix + s, { force: true });
    }
    fs.renameSync(swapFile, path.join(dir, filenamePrefixFromOffset(base) + LOG_SUFFIX));
  }
  fsyncDir(dir);
  return swaps;
}
