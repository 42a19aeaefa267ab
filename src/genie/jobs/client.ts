// A typed client of the Job Service HTTP API (docs/API.md), on Node's global fetch.
//
//   const jobs = new JobsClient('http://127.0.0.1:8081');
//   const { id } = await jobs.submit({ type: 'email.send', payload: { to: 'a@example.com' } });
//   for await (const e of jobs.stream(id)) console.log(e.type);   // ends after a terminal state

import type { JobState, JobSubmission } from './events.js';
import type { JobStats, HistoryEvent } from './store.js';
import type { JobView } from './view.js';

export interface SubmitResult {
  id: string;
  state: JobState;
  /** True when an earlier submission had this id (HTTP 200, nothing published). */
  duplicate: boolean;
}

export type BatchItemResult = SubmitResult | { error: { code: string; message: string; field?: string } };

export interface ListParams {
  state?: JobState | JobState[];
  type?: string;
  since?: string;
  until?: string;
  q?: string;
  orderingKey?: string;
  limit?: number;
  cursor?: string;
}

export interface JobList {
  jobs: JobView[];
  nextCursor: string | null;
}

export interface RedriveResult {
  redriven: { id: string; attempt: number }[];
  skipped: { id: string; reason: string }[];
}

/** A non-2xx answer: the HTTP status and the API's error code, message and field. */
export class JobsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'JobsApiError';
  }
}

export interface JobsClientOptions {
  /** Extra headers on every request (e.g. authorization added by a proxy). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export class JobsClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly opts: JobsClientOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.fetchFn(this.base + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...this.opts.headers,
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
      throw new JobsApiError(res.status, e?.code ?? 'http_error', e?.message ?? (text.slice(0, 200) || res.statusText), e?.field);
    }
    return parsed as T;
  }

  submit(job: JobSubmission, opts: { idempotencyKey?: string; traceparent?: string } = {}): Promise<SubmitResult> {
    const headers: Record<string, string> = {};
    if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts.traceparent !== undefined) headers.traceparent = opts.traceparent;
    return this.call('POST', '/api/jobs', job, headers);
  }

  async submitBatch(jobs: JobSubmission[]): Promise<BatchItemResult[]> {
    return (await this.call<{ jobs: BatchItemResult[] }>('POST', '/api/jobs/batch', { jobs })).jobs;
  }

  get(id: string): Promise<JobView> {
    return this.call('GET', `/api/jobs/${encodeURIComponent(id)}`);
  }

  list(params: ListParams = {}): Promise<JobList> {
    return this.call('GET', `/api/jobs${query(params)}`);
  }

  /** Dead jobs (state filter is implied). */
  dlq(params: Omit<ListParams, 'state'> = {}): Promise<JobList> {
    return this.call('GET', `/api/dlq${query(params)}`);
  }

  cancel(id: string, reason?: string): Promise<{ id: string; state: JobState; cancelRequested: true }> {
    return this.call('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`, reason !== undefined ? { reason } : undefined);
  }

  retry(id: string): Promise<{ id: string; state: 'queued'; attempt: number }> {
    return this.call('POST', `/api/jobs/${encodeURIComponent(id)}/retry`);
  }

  redrive(req: { ids?: string[]; type?: string; limit?: number } = {}): Promise<RedriveResult> {
    return this.call('POST', '/api/dlq/redrive', req);
  }

  async events(id: string): Promise<HistoryEvent[]> {
    return (await this.call<{ events: HistoryEvent[] }>('GET', `/api/jobs/${encodeURIComponent(id)}/events`)).events;
  }

  stats(): Promise<JobStats & { malformedRecords: number }> {
    return this.call('GET', '/api/stats');
  }

  /**
   * The job's events as they happen (history first); ends when the job reaches a terminal state
   * or `signal` aborts. Pass `lastEventId` (`<partition>-<offset>`) to resume after an event.
   */
  async *stream(id: string, opts: { signal?: AbortSignal; lastEventId?: string } = {}): AsyncGenerator<HistoryEvent> {
    const res = await this.fetchFn(`${this.base}/api/jobs/${encodeURIComponent(id)}/stream`, {
      headers: { accept: 'text/event-stream', ...this.opts.headers, ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!res.ok || !res.body) {
      const text = await res.text();
      let e: { code?: string; message?: string } | undefined;
      try {
        e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        e = undefined;
      }
      throw new JobsApiError(res.status, e?.code ?? 'http_error', e?.message ?? res.statusText);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = message
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data !== '') yield JSON.parse(data) as HistoryEvent;
          cut = buffer.indexOf('\n\n');
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}

function query(params: ListParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
