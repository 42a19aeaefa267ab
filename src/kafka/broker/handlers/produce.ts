// Produce (key 0). Each partition is validated and appended on its own; an error in one does
// not fail the others. acks=0 gets no response, and an error then closes the connection so the
// client refreshes its metadata (as Apache Kafka does). acks=all answers once the high watermark
// covers every appended partition (the produce purgatory), or at timeoutMs with REQUEST_TIMED_OUT;
// when every partition is already covered (one replica) it answers at once, as acks=1 does.

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { ParkedPartition } from '../../replication/producePurgatory.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function produceHandler(b: Broker): Handler {
  return (req: Msg, ctx) => {
    const acks = req.acks as number;
    const responses: Msg[] = [];
    let anyError = false;
    // Allocated only when an acks=all partition must wait (never with one replica).
    let parked: ParkedPartition[] | undefined;
    let parkedOut: Msg[] | undefined;
    const invalidAcks = acks !== 0 && acks !== 1 && acks !== -1;
    for (const t of req.topicData as Msg[]) {
      const partitionResponses: Msg[] = [];
      for (const pd of t.partitionData as Msg[]) {
        const r = invalidAcks
          ? { errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }
          : req.transactionalId != null
            ? { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }
            : b.replicas.appendToLeader(t.name, pd.index, pd.records, { acks, allowZstd: ctx.version >= 7 });
        // The replica manager knows only what it hosts; the cluster's view decides between the two.
        if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) r.errorCode = b.metadata.notHostedError(t.name, pd.index);
        if (r.errorCode !== ErrorCode.NONE) anyError = true;
        const out: Msg = {
          index: pd.index,
          errorCode: r.errorCode,
          baseOffset: r.baseOffset,
          logAppendTimeMs: r.logAppendTimeMs,
          logStartOffset: r.logStartOffset,
          recordErrors: [],
          errorMessage: 'errorMessage' in r ? (r.errorMessage ?? null) : null,
        };
        partitionResponses.push(out);
        if (acks === -1 && r.errorCode === ErrorCode.NONE && 'hosted' in r && r.hosted !== undefined && r.lastOffset !== undefined) {
          const requiredOffset = r.lastOffset + 1;
          const verdict = b.replicas.produceVerdictNow(r.hosted, requiredOffset);
          if (verdict === undefined) {
            if (parked === undefined || parkedOut === undefined) {
              parked = [];
              parkedOut = [];
            }
            parked.push({ key: r.hosted.key, requiredOffset, errorCode: undefined });
            parkedOut.push(out);
          } else out.errorCode = verdict;
        }
      }
      responses.push({ name: t.name, partitionResponses });
    }
    if (acks === 0) {
      if (anyError) ctx.conn.close();
      return null;
    }
    if (parked === undefined) return { responses, throttleTimeMs: 0 };
    const outs = parkedOut as Msg[];
    return b.replicas.producePurgatory.park(parked, req.timeoutMs as number).then((done) => {
      done.forEach((p, i) => {
        (outs[i] as Msg).errorCode = p.errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
      });
      return { responses, throttleTimeMs: 0 };
    });
  };
}
