// The no-loss checker of the cluster fault tests. Producers record every message they sent and
// whether the broker acknowledged it; afterwards one fresh consumer reads every partition from the
// start. Kafka's promise with acks=all, min.insync.replicas >= 2 and idempotence is checked here:
// every acknowledged message is read exactly once, on the partition it was written to; no message
// is read twice (unacknowledged ones may be missing: the producer never heard back); nothing is
// read that nobody sent; and each producer's messages on a partition keep the order it sent them.

export interface SentMessage {
  /** Unique across the run (the record's value). */
  readonly id: string;
  readonly producer: string;
  /** Position in that producer's sending order (per producer, increasing). */
  readonly seq: number;
  readonly partition: number;
  readonly acked: boolean;
}

export interface ReadMessage {
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
}

export interface HistoryVerdict {
  /** Acknowledged, never read. */
  lost: string[];
  /** Read more than once (any message). */
  duplicated: string[];
  /** Read, never sent. */
  unknown: string[];
  /** Read on another partition than the one it was sent to. */
  misplaced: string[];
  /** Read before a message its producer sent earlier to the same partition. */
  reordered: string[];
  acked: number;
  read: number;
}

export function checkHistory(sent: readonly SentMessage[], read: readonly ReadMessage[]): HistoryVerdict {
  const byId = new Map<string, SentMessage>();
  for (const s of sent) {
    if (byId.has(s.id)) throw new Error(`message id ${s.id} was sent twice: ids must be unique`);
    byId.set(s.id, s);
  }
  const v: HistoryVerdict = { lost: [], duplicated: [], unknown: [], misplaced: [], reordered: [], acked: 0, read: read.length };
  const seen = new Set<string>();
  const ordered = [...read].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  /** producer \0 partition -> highest seq read so far */
  const lastSeq = new Map<string, number>();
  for (const r of ordered) {
    if (seen.has(r.id)) {
      v.duplicated.push(r.id);
      continue;
    }
    seen.add(r.id);
    const s = byId.get(r.id);
    if (!s) {
      v.unknown.push(r.id);
      continue;
    }
    if (s.partition !== r.partition) {
      v.misplaced.push(`${r.id} (sent to ${s.partition}, read from ${r.partition})`);
      continue;
    }
    const key = `${s.producer}\u0000${s.partition}`;
    const prev = lastSeq.get(key);
    if (prev !== undefined && s.seq < prev) v.reordered.push(`${r.id} (seq ${s.seq} after ${prev})`);
    else lastSeq.set(key, s.seq);
  }
  for (const s of sent) {
    if (!s.acked) continue;
    v.acked++;
    if (!seen.has(s.id)) v.lost.push(s.id);
  }
  return v;
}

/** True when the verdict shows no violation. */
export function historyHolds(v: HistoryVerdict): boolean {
  return v.lost.length + v.duplicated.length + v.unknown.length + v.misplaced.length + v.reordered.length === 0;
}
