// Failures → HTTP status and ApiError (pure). ZooKeeper codes keep their names; Kafka failures are
// classified by the error names the client carries (apiId), upstream failures by what the client
// says; anything unknown is a 500 naming what failed.

import { kafkaErrorIds } from '../../genie/kafka.js';
import { ZooKeeperError } from '../../zookeeper/client/errors.js';
import type { ApiError } from '../api.js';

/** A failure that already knows its status and code. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (msg: string): ApiFailure => new ApiFailure(400, 'BAD_REQUEST', msg);
export const notFound = (msg: string): ApiFailure => new ApiFailure(404, 'NOT_FOUND', msg);

const ZK_STATUS: Record<string, number> = {
  NONODE: 404,
  NODEEXISTS: 409,
  BADVERSION: 409,
  NOTEMPTY: 409,
  NOAUTH: 403,
  BADARGUMENTS: 400,
  NOCHILDRENFOREPHEMERALS: 400,
  INVALIDACL: 400,
  CONNECTIONLOSS: 503,
  SESSIONEXPIRED: 503,
  OPERATIONTIMEOUT: 503,
  SESSIONMOVED: 503,
  NOTREADONLY: 503,
};

/** Kafka error names (protocol) → status and code; the first name found in this order wins. */
const KAFKA_STATUS: readonly [name: string, status: number, code: string][] = [
  ['TOPIC_ALREADY_EXISTS', 409, 'EXISTS'],
  ['UNKNOWN_TOPIC_OR_PARTITION', 404, 'NOT_FOUND'],
  ['UNKNOWN_TOPIC_ID', 404, 'NOT_FOUND'],
  ['GROUP_ID_NOT_FOUND', 404, 'NOT_FOUND'],
  ['NON_EMPTY_GROUP', 409, 'GROUP_NOT_EMPTY'],
  ['REBALANCE_IN_PROGRESS', 409, 'GROUP_NOT_EMPTY'],
  ['TOPIC_DELETION_DISABLED', 400, 'BAD_REQUEST'],
  ['POLICY_VIOLATION', 400, 'BAD_REQUEST'],
  ['CLUSTER_AUTHORIZATION_FAILED', 403, 'FORBIDDEN'],
  ['TOPIC_AUTHORIZATION_FAILED', 403, 'FORBIDDEN'],
  ['GROUP_AUTHORIZATION_FAILED', 403, 'FORBIDDEN'],
];

/** Text of an error and the errors it wraps (the Kafka client nests them). */
function fullText(e: unknown, depth = 0): string {
  if (typeof e !== 'object' || e === null || depth > 4) return String(e);
  const own = (e as Error).message ?? '';
  const inner = ((e as { errors?: unknown[] }).errors ?? []).map((x) => fullText(x, depth + 1));
  return [own, ...inner].join('; ');
}

export function toApiError(e: unknown): { status: number; body: ApiError } {
  if (e instanceof ApiFailure) return { status: e.status, body: { error: e.message, code: e.code } };
  if (e instanceof ZooKeeperError) {
    return { status: ZK_STATUS[e.codeName] ?? 500, body: { error: `ZooKeeper: ${e.message}`, code: e.codeName } };
  }
  const status = (e as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      body: { error: (e as Error).message, code: status === 413 ? 'TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST' },
    };
  }
  const text = fullText(e);
  const ids = kafkaErrorIds(e);
  for (const [name, status, code] of KAFKA_STATUS) if (ids.has(name)) return { status, body: { error: `Kafka: ${text}`, code } };
  for (const id of ids) if (id.startsWith('INVALID_')) return { status: 400, body: { error: `Kafka: ${text}`, code: 'BAD_REQUEST' } };
  // Errors without a protocol name (the client's own checks, network failures): by their text.
  if (/already exists/i.test(text)) return { status: 409, body: { error: `Kafka: ${text}`, code: 'EXISTS' } };
  if (/unknown topic|does not exist|UNKNOWN_TOPIC/i.test(text))
    return { status: 404, body: { error: `Kafka: ${text}`, code: 'NOT_FOUND' } };
  if (/non.?empty group|NON_EMPTY_GROUP|rebalance in progress/i.test(text)) {
    return { status: 409, body: { error: `Kafka: ${text}`, code: 'GROUP_NOT_EMPTY' } };
  }
  if (/invalid|INVALID_/i.test(text)) return { status: 400, body: { error: `Kafka: ${text}`, code: 'BAD_REQUEST' } };
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|timed? ?out|connection|socket|fetch failed|closed/i.test(text)) {
    return { status: 503, body: { error: `upstream unavailable: ${text}`, code: 'UNAVAILABLE' } };
  }
  return { status: 500, body: { error: text, code: 'INTERNAL' } };
}
