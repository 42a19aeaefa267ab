// An in-memory LogSource for the evaluator tests: no sqlite, entries straight from arrays.

import {
  type Direction,
  type LogSource,
  matchesLabels,
  type StoredEntry,
  type StreamRef,
} from '../../../../src/genie/logs/store/evaluate.js';
import type { LabelMatcher } from '../../../../src/genie/logs/store/logql.js';

/** A LogSource over arrays, to drive the evaluator without sqlite. */
export class ArraySource implements LogSource {
  constructor(
    private readonly streamList: StreamRef[],
    private readonly rows: StoredEntry[],
  ) {}
  streams(matchers: readonly LabelMatcher[]): StreamRef[] {
    return this.streamList.filter((s) => matchesLabels(matchers, s.labels));
  }
  *entries(ids: readonly number[], from: bigint, to: bigint, direction: Direction): Iterable<StoredEntry> {
    const rows = this.rows
      .filter((r) => ids.includes(r.streamId) && r.tsNs >= from && r.tsNs < to)
      .sort((a, b) => (a.tsNs < b.tsNs ? -1 : 1));
    yield* direction === 'forward' ? rows : rows.reverse();
  }
}
