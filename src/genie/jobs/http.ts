// The Job Service's HTTP API (fastify 5): routes, error mapping and the per-job event stream.
// docs/API.md documents it; openapi.ts is the machine-readable contract and supplies the query
// and path schemas used here.
//
// Errors are always JSON {error: {code, message, field?}}: a client's mistake is a 4xx (malformed
// JSON 400, body too large 413, unknown route 404, a method the path does not serve 405 with an
// Allow header), never a 5xx; 503 means Kafka or ZooKeeper did not answer and nothing was published.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../../util/log.js';
import { JOB_LIMITS, type JobState, JobValidationError, specFromSubmission } from './events.js';
import { cancelReasonCharsMax, idParamsSchema, jobsOpenApi, listQuerySchema, redriveJobsMax } from './openapi.js';
import { registerScheduleRoutes } from './schedulesApi.js';
import { type JobService, ServiceError } from './service.js';
import { type FoldedEvent, type HistoryEvent, type ListFilters, StoreQueryError } from './store.js';
import { isTerminal, type JobView } from './view.js';

export interface JobsHttpOptions {
  host?: string;
  port?: number;
  logger?: Logger;
  /** Comment lines on idle streams, so proxies and clients keep them open. */
  streamHeartbeatMs?: number;
  /** Bytes a slow stream client may leave unread before the stream is ended (it resumes with Last-Event-ID). */
  streamBufferBytesMax?: number;
}

/** A single job's body: the payload limit plus room for the other fields. */
export const jobBodyBytesMax = JOB_LIMITS.payloadBytesMax + 64 * 1024;
/** A batch's body: many small jobs, not batchJobsMax jobs of the largest payload. */
export const batchBodyBytesMax = 16 * 1024 * 1024;
/** Events buffered for a stream while its history is being written. */
const streamPendingEventsMax = 10_000;
/**
 * Characters of one path parameter the router passes on. fastify's default (100) answered 414 to
 * valid ids of 101-200 characters; this is past Node's 16 KiB header limit, so every id that
 * reaches the server meets the id schema instead (400 when too long).
 */
const pathParamCharsMax = 16 * 1024;

interface ListQuery {
  state?: string;
  type?: string;
  since?: string;
  until?: string;
  q?: string;
  orderingKey?: string;
  limit?: number;
  cursor?: string;
}
type IdParams = { id: string };

function errorBody(code: string, message: string, field?: string) {
  return { error: { code, message, ...(field !== undefined ? { field } : {}) } };
}

function invalid(field: string, message: string): ServiceError {
  return new ServiceError(400, 'invalid', `${field}: ${message}`, field);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch of an RFC 3339 date-time (the OpenAPI `date-time` format), or
 * undefined. Stricter than Date.parse (no other layouts), and it takes what Date.parse does not:
 * lower-case t/z, years before 100, a leap second (read as the next second).
 */
export function parseDateTime(s: string): number | undefined {
  const m = RFC3339_RE.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (daysInMonth === undefined || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  return d.getTime() - offsetMinutes * 60_000;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function isoOf(field: string, s: string): string {
  const t = parseDateTime(s);
  if (t === undefined) throw invalid(field, 'must be an RFC 3339 date-time such as 2026-12-07T05:00:00Z');
  return new Date(t).toISOString();
}

/**
 * The API's cursor is `<createdAt ms>.<job id>`, the position after which a page starts, so any
 * value of that shape is meaningful and the schema can say which values are valid. The store's own
 * cursor is the same pair as base64url JSON; these translate between the two.
 */
export function storeCursorOf(apiCursor: string): string {
  const dot = apiCursor.indexOf('.');
  const ms = Number(apiCursor.slice(0, dot));
  if (dot < 1 || !/^[0-9]{1,15}$/.test(apiCursor.slice(0, dot)) || !Number.isSafeInteger(ms)) {
    throw new StoreQueryError('cursor', 'must be <createdAt in ms>.<job id> as nextCursor gave it');
  }
  return Buffer.from(JSON.stringify([ms, apiCursor.slice(dot + 1)])).toString('base64url');
}

export function apiCursorOf(storeCursor: string | null): string | null {
  if (storeCursor === null) return null;
  const [ms, id] = JSON.parse(Buffer.from(storeCursor, 'base64url').toString('utf8')) as [number, string];
  return `${ms}.${id}`;
}

function filtersOf(q: ListQuery): ListFilters {
  const f: ListFilters = {};
  if (q.state !== undefined) f.state = q.state.split(',') as JobState[];
  if (q.type !== undefined) f.type = q.type;
  if (q.since !== undefined) f.since = isoOf('since', q.since);
  if (q.until !== undefined) f.until = isoOf('until', q.until);
  if (q.q !== undefined) f.q = q.q;
  if (q.orderingKey !== undefined) f.orderingKey = q.orderingKey;
  if (q.limit !== undefined) f.limit = q.limit;
  if (q.cursor !== undefined) f.cursor = storeCursorOf(q.cursor);
  return f;
}

function listPage(page: { jobs: JobView[]; nextCursor: string | null }) {
  return { jobs: page.jobs, nextCursor: apiCursorOf(page.nextCursor) };
}

/**
 * A submission with its runAt checked as RFC 3339 and written as Date.parse reads it; the other
 * fields are left to specFromSubmission. `prefix` names the item in a batch.
 */
function normalizedSubmission(body: unknown, prefix = ''): unknown {
  if (!isPlainObject(body) || typeof body.runAt !== 'string') return body;
  return { ...body, runAt: isoOf(`${prefix}runAt`, body.runAt) };
}

/** Every item of a batch checked before any is published: the first invalid one fails the batch. */
function checkedBatch(jobs: unknown, nowMs: number): unknown[] {
  if (!Array.isArray(jobs)) throw invalid('jobs', 'must be an array of job submissions');
  if (jobs.length === 0 || jobs.length > JOB_LIMITS.batchJobsMax)
    throw invalid('jobs', `must hold 1 to ${JOB_LIMITS.batchJobsMax} submissions`);
  return jobs.map((item, index) => {
    const normalized = normalizedSubmission(item, `jobs.${index}.`);
    try {
      specFromSubmission(normalized, nowMs, 'batch-item');
    } catch (e) {
      if (!(e instanceof JobValidationError)) throw e;
      throw invalid(`jobs.${index}.${e.field}`, e.message.slice(e.field.length + 2));
    }
    return normalized;
  });
}

/** Each documented path as a matcher, with the methods it serves (HEAD too where GET is: fastify answers it). */
const documentedPaths = Object.entries(jobsOpenApi.paths).map(([path, operations]) => {
  const methods = Object.keys(operations).map((m) => m.toUpperCase());
  if (methods.includes('GET')) methods.push('HEAD');
  const pattern = path.replaceAll('.', '\\.').replace(/\{\w+\}/g, '[^/]+');
  return { matches: new RegExp(`^${pattern}$`), allow: methods.join(', ') };
});

/** The Allow header of a documented path, or undefined for a path the API does not have. */
export function allowedMethods(urlPath: string): string | undefined {
  return documentedPaths.find((p) => p.matches.test(urlPath))?.allow;
}

/** fastify's own client errors, by code, as ours. */
function clientError(err: FastifyError): { status: number; body: ReturnType<typeof errorBody> } | undefined {
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0]!;
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = missing ?? (v.instancePath.replace(/^\//, '').replaceAll('/', '.') || (err.validationContext ?? 'request'));
    return { status: 400, body: errorBody('invalid', `${field}: ${v.message ?? 'is invalid'}`, field) };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: errorBody(
          'too_large',
          `request body is larger than this route accepts (a job's payload may be at most ${JOB_LIMITS.payloadBytesMax} bytes serialized)`,
        ),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: errorBody('unsupported_media_type', 'send the body as application/json') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('bad_json', 'the body is empty; send a JSON object') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: errorBody('bad_json', 'the body is not valid JSON') };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: errorBody('invalid', 'the URL path is not valid (malformed percent-encoding)') };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: errorBody('too_long', `a path parameter is longer than ${pathParamCharsMax} characters`) };
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = err instanceof SyntaxError ? 'bad_json' : 'bad_request';
    return { status, body: errorBody(code, err instanceof SyntaxError ? `the body is not valid JSON: ${err.message}` : err.message) };
  }
  return undefined;
}

export function buildJobsApp(service: JobService, opts: JobsHttpOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: jobBodyBytesMax,
    forceCloseConnections: true,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: pathParamCharsMax },
    // Errors the router meets before any route (a bad percent-escape, an overlong parameter), as ours.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      const known = clientError(err);
      return known ? reply.code(known.status).send(known.body) : reply.code(500).send(errorBody('internal', 'internal error'));
    },
  });
  const openStreams = new Set<() => void>();
  // JSON only: a text body would otherwise reach the handlers as a string. An empty JSON body is
  // no body (POST .../cancel with a content-type and nothing else), judged by each route.
  app.removeContentTypeParser('text/plain');
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') done(null, undefined);
    else json(req, body as string, done);
  });

  // A method the path does not serve is 405 with the methods it does, before any body is read
  // (fastify would answer 404, or 400 for a QUERY without a content type).
  app.addHook('onRequest', async (req, reply) => {
    if (!req.is404) return;
    const allow = allowedMethods(req.url.split('?')[0]!);
    if (allow === undefined) return;
    return reply
      .code(405)
      .header('allow', allow)
      .send(errorBody('method_not_allowed', `${req.method} is not served here; the methods are ${allow}`));
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof ServiceError) return reply.code(err.status).send(errorBody(err.code, err.message, err.field));
    if (err instanceof StoreQueryError) return reply.code(400).send(errorBody('invalid', err.message, err.field));
    const known = clientError(err);
    if (known) return reply.code(known.status).send(known.body);
    opts.logger?.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));
  // GET /metrics and the request-duration hook.
  service.metrics.instrument(app);

  app.post('/api/jobs', async (req, reply) => {
    const key = req.headers['idempotency-key'];
    const traceparent = req.headers.traceparent;
    const r = await service.submit(normalizedSubmission(req.body), {
      ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
      ...(typeof traceparent === 'string' ? { traceparent } : {}),
    });
    return reply.code(r.status).send({ id: r.id, state: r.state, duplicate: r.duplicate });
  });

  app.post('/api/jobs/batch', { bodyLimit: batchBodyBytesMax }, async (req, reply) => {
    const body = req.body;
    if (!isPlainObject(body)) throw invalid('body', 'must be {"jobs": [...]}');
    for (const k of Object.keys(body)) if (k !== 'jobs') throw invalid(k, 'is not a batch option');
    const jobs = checkedBatch(body.jobs, Date.now());
    const traceparent = req.headers.traceparent;
    const items = await service.submitBatch(jobs, typeof traceparent === 'string' ? { traceparent } : {});
    return reply.code(202).send({ jobs: items.map((i) => ('error' in i ? i : { id: i.id, state: i.state, duplicate: i.duplicate })) });
  });

  app.get<{ Querystring: ListQuery }>('/api/jobs', { schema: { querystring: listQuerySchema } }, async (req) =>
    listPage(service.list(filtersOf(req.query))),
  );

  app.get<{ Params: IdParams }>('/api/jobs/:id', { schema: { params: idParamsSchema } }, async (req) => service.get(req.params.id));

  app.get<{ Params: IdParams }>('/api/jobs/:id/events', { schema: { params: idParamsSchema } }, async (req) => ({
    events: service.history(req.params.id),
  }));

  app.get<{ Params: IdParams }>('/api/jobs/:id/stream', { schema: { params: idParamsSchema } }, async (req, reply) => {
    streamJob(service, req, reply, openStreams, opts);
    return reply;
  });

  app.post<{ Params: IdParams }>('/api/jobs/:id/cancel', { schema: { params: idParamsSchema } }, async (req, reply) => {
    const body = req.body;
    let reason: string | undefined;
    if (body !== undefined) {
      if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object such as {"reason": "..."}, or empty');
      for (const k of Object.keys(body)) if (k !== 'reason') throw invalid(k, 'is not a cancel option');
      if (body.reason !== undefined) {
        if (typeof body.reason !== 'string' || body.reason.length > cancelReasonCharsMax) {
          throw invalid('reason', `must be a string of at most ${cancelReasonCharsMax} characters`);
        }
        if (body.reason !== '') reason = body.reason;
      }
    }
    return reply.code(202).send(await service.cancel(req.params.id, reason));
  });

  app.post<{ Params: IdParams }>('/api/jobs/:id/retry', { schema: { params: idParamsSchema } }, async (req, reply) =>
    reply.code(202).send(await service.retry(req.params.id)),
  );

  app.get<{ Querystring: ListQuery }>('/api/dlq', { schema: { querystring: listQuerySchema } }, async (req) =>
    listPage(service.list({ ...filtersOf(req.query), state: ['dead'] })),
  );

  app.post('/api/dlq/redrive', async (req, reply) => {
    // No body is {}: the newest dead jobs of any type.
    const body = req.body === undefined ? {} : req.body;
    if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object, or empty');
    for (const k of Object.keys(body)) if (!['ids', 'type', 'limit'].includes(k)) throw invalid(k, 'is not a redrive option');
    if (body.ids !== undefined && (!Array.isArray(body.ids) || body.ids.some((i) => typeof i !== 'string'))) {
      throw invalid('ids', 'must be an array of job ids');
    }
    if (body.type !== undefined && typeof body.type !== 'string') throw invalid('type', 'must be a string');
    if (body.limit !== undefined && !Number.isInteger(body.limit)) throw invalid('limit', `must be an integer from 1 to ${redriveJobsMax}`);
    const r = await service.redrive({
      ...(body.ids !== undefined ? { ids: body.ids as string[] } : {}),
      ...(body.type !== undefined ? { type: body.type as string } : {}),
      ...(body.limit !== undefined ? { limit: body.limit as number } : {}),
    });
    return reply.code(202).send(r);
  });

  app.get('/api/stats', async () => service.stats());

  registerScheduleRoutes(app, () => service.zookeeper);

  app.get('/healthz', async (_req, reply) => {
    const h = service.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  app.get('/openapi.json', async () => jobsOpenApi);

  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });
  return app;
}

function historyOf(f: FoldedEvent): HistoryEvent {
  const attempt = 'attempt' in f.event && typeof f.event.attempt === 'number' ? f.event.attempt : null;
  return { partition: f.pos.partition, offset: f.pos.offset, type: f.event.type, at: f.event.at, attempt, event: f.event };
}

/** `<partition>-<offset>` of a Last-Event-ID header. */
function parseEventId(v: unknown): { partition: number; offset: number } | undefined {
  const m = typeof v === 'string' ? /^(\d+)-(\d+)$/.exec(v) : null;
  return m ? { partition: Number(m[1]), offset: Number(m[2]) } : undefined;
}

/** History, then live events, as server-sent events; ends after the job reaches a terminal state. */
function streamJob(
  service: JobService,
  req: FastifyRequest<{ Params: IdParams }>,
  reply: FastifyReply,
  openStreams: Set<() => void>,
  opts: JobsHttpOptions,
): void {
  const id = req.params.id;
  service.get(id); // 404 before the stream starts
  const pending: FoldedEvent[] = [];
  let ended = false;
  let write: (f: FoldedEvent) => void = (f) => {
    if (pending.length < streamPendingEventsMax) pending.push(f);
  };
  const unsubscribe = service.subscribe(id, (f) => write(f)); // 503 past the limits, before the stream starts
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  const bufferMax = opts.streamBufferBytesMax ?? 1024 * 1024;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    openStreams.delete(end);
    res.end();
  };
  openStreams.add(end);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), opts.streamHeartbeatMs ?? 15_000);
  heartbeat.unref();
  // The response's close (not the request's, which may end once its body is read) means the client left.
  res.on('close', end);
  res.on('error', end);

  // Sent positions, so an event both in the history and delivered live goes out once.
  const sentUpTo = new Map<number, number>();
  const resume = parseEventId(req.headers['last-event-id']);
  if (resume) sentUpTo.set(resume.partition, resume.offset);
  const send = (h: HistoryEvent): void => {
    if (ended || h.offset <= (sentUpTo.get(h.partition) ?? -1)) return;
    sentUpTo.set(h.partition, h.offset);
    res.write(`id: ${h.partition}-${h.offset}\nevent: ${h.type}\ndata: ${JSON.stringify(h)}\n\n`);
    // A client that does not read is cut off rather than buffered without bound; it resumes with Last-Event-ID.
    if (res.writableLength > bufferMax) end();
  };
  for (const h of service.history(id)) send(h);
  for (const f of pending.splice(0)) send(historyOf(f));
  write = (f) => {
    send(historyOf(f));
    if (isTerminal(f.view.state)) end();
  };
  if (isTerminal(service.get(id).state)) end();
}

/** Starts the API on host:port (port 0 picks a free one); returns its base URL. */
export async function startJobsHttp(service: JobService, opts: JobsHttpOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildJobsApp(service, opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 8081 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 8081);
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
