// Produce (key 0). Each partition is validated and appended on its own; an error in one does
// not fail the others. acks=0 gets no response, and an error then closes the connection so the
// client refreshes its metadata (as Apache Kafka does).

import { ErrorCode } from '../../protocol/errors.js';
import type { Msg } from '../../protocol/schema.js';
import type { Broker } from '../broker.js';
import type { Handler } from '../requests.js';

export function produceHandler(b: Broker): Handler {
  return (req: Msg, ctx) => {
    const acks = req.acks as number;
    const responses: Msg[] = [];
    let anyError = false;
    const invalidAcks = acks !== 0 && acks !== 1 && acks !== -1;
    for (const t of req.topicData as Msg[]) {
      const partitionResponses: Msg[] = [];
      for (const pd of t.partitionData as Msg[]) {
        const r = invalidAcks
          ? { errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }
          : req.transactionalId != null
            ? { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }
            : b.replicas.appendToLeader(t.name, pd.index, pd.records, { acks, allowZstd: ctx.version >= 7 });
        if (r.errorCode !== ErrorCode.NONE) anyError = true;
        partitionResponses.push({
          index: pd.index,
          errorCode: r.errorCode,
          baseOffset: r.baseOffset,
          logAppendTimeMs: r.logAppendTimeMs,
          logStartOffset: r.logStartOffset,
          recordErrors: [],
          errorMessage: 'errorMessage' in r ? (r.errorMessage ?? null) : null,
        });
      }
      responses.push({ name: t.name, partitionResponses });
    }
    if (acks === 0) {
      if (anyError) ctx.conn.close();
      return null;
    }
    return { responses, throttleTimeMs: 0 };
  };
}
