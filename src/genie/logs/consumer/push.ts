// Pushing one batch to Loki's push API: the decision rules (pure) and the HTTP call (fetch).
// Loki's own clients (Promtail, the Docker driver) retry 429 and 5xx with capped exponential
// backoff and drop a batch Loki answered 400; so do we, except that we retry forever while
// running, because the batch's records are not committed and the stream is paused behind it.

import { encodePush, type LokiStream, type PushEncoding } from '../lokiPush.js';
import type { BackoffPolicy } from '../../../util/backoff.js';

export { type BackoffPolicy, backoffMs } from '../../../util/backoff.js';

export type PushOutcome =
  | { kind: 'accepted'; status: number }
  | { kind: 'rejected'; status: number; reason: string }
  | { kind: 'retry'; status: number | undefined; reason: string };

/**
 * 2xx: accepted. 400 (bad labels, too old, line too long) and 413 (body too large): this batch
 * will never be accepted. 429, 5xx, other 4xx (a proxy or a wrong tenant; a configuration fix
 * brings Loki back, and data must not be lost meanwhile) and network errors: retry.
 */
export function classifyStatus(status: number, body: string): PushOutcome {
  const reason = body.trim().slice(0, 500);
  if (status >= 200 && status < 300) return { kind: 'accepted', status };
  if (status === 400 || status === 413) return { kind: 'rejected', status, reason: reason || `HTTP ${status}` };
  return { kind: 'retry', status, reason: reason || `HTTP ${status}` };
}

export const backoffDefaults: BackoffPolicy = { backoffMsMin: 500, backoffMsMax: 5 * 60_000 };

export interface PushTarget {
  /** Base URL of Loki (or anything speaking its push API), without the path. */
  lokiUrl: string;
  encoding: PushEncoding;
  /** X-Scope-OrgID: Loki's tenant in multi-tenant mode. */
  tenant?: string;
  /** Per request. */
  timeoutMs: number;
}

export const PUSH_PATH = '/loki/api/v1/push';

/** The full push URL of a base URL (a trailing slash or an already-given push path is tolerated). */
export function pushUrl(lokiUrl: string): string {
  const base = lokiUrl.replace(/\/+$/, '');
  return base.endsWith(PUSH_PATH) ? base : `${base}${PUSH_PATH}`;
}

/** One POST; never throws (a network error is a `retry` outcome). */
export async function pushOnce(target: PushTarget, streams: readonly LokiStream[]): Promise<PushOutcome> {
  const { body, contentType } = encodePush(streams, target.encoding);
  const headers: Record<string, string> = { 'content-type': contentType, 'user-agent': 'clustergenie-log-consumer' };
  if (target.tenant) headers['x-scope-orgid'] = target.tenant;
  try {
    const res = await fetch(pushUrl(target.lokiUrl), {
      method: 'POST',
      headers,
      body: new Uint8Array(body), // a copy typed as fetch wants it (Buffer may share a pooled ArrayBufferLike)
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const text = await res.text().catch(() => '');
    return classifyStatus(res.status, text);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const reason = err.cause?.code ?? err.cause?.message ?? err.message;
    return { kind: 'retry', status: undefined, reason: `network: ${reason}` };
  }
}
