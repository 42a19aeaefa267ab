// Pass-through to the Job Service (/api/jobs..., /api/dlq..., /api/stats, /api/schedules...) and to
// the log store's Loki API (/api/logs/...), streamed both ways (SSE included) and aborted when the
// browser goes away; the log tail is the store's WebSocket turned into `event: log` SSE.

import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import { type LogLine, valueBytesMax } from '../api.js';
import { ApiFailure } from './errors.js';
import type { SseHub } from './sse.js';

/** Upstream answer headers passed on to the browser. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'location', 'retry-after', 'x-total-count', 'link'];
/** Bytes of one tail WebSocket message accepted from the store. */
const tailMessageBytesMax = 16 * 1024 * 1024;

const unavailable = (what: string, why: string) => new ApiFailure(503, 'UNAVAILABLE', `${what} is unavailable: ${why}`);

async function pass(req: FastifyRequest, reply: FastifyReply, base: string | undefined, upstreamPath: string, what: string) {
  if (base === undefined) throw unavailable(what, 'no URL configured (--jobs-url / --logs-url)');
  const qs = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  const ac = new AbortController();
  // The browser went away before the answer was complete (the request's own 'close' fires as soon
  // as its body has been read, so it cannot tell).
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  const headers: Record<string, string> = { accept: String(req.headers.accept ?? '*/*') };
  let body: string | undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined) {
    body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    headers['content-type'] = String(req.headers['content-type'] ?? 'application/json');
  }
  let res: Response;
  try {
    res = await fetch(`${base}${upstreamPath}${qs}`, {
      method: req.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: ac.signal,
    });
  } catch (e) {
    throw unavailable(what, (e as Error).message);
  }
  reply.code(res.status);
  for (const h of PASSED_HEADERS) {
    const v = res.headers.get(h);
    if (v !== null) reply.header(h, v);
  }
  if (res.status >= 400 && !(res.headers.get('content-type') ?? '').includes('json')) {
    // Loki answers errors as plain text: wrapped so the page always gets an ApiError.
    const text = (await res.text()).slice(0, 4096);
    return reply.type('application/json').send({ error: `${what}: ${text}`, code: res.status === 400 ? 'BAD_REQUEST' : 'UPSTREAM' });
  }
  if (!res.body) return reply.send();
  return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
}

/** Loki's tail message → LogLines, each line cut at valueBytesMax (pure). */
export function tailLines(msg: unknown): LogLine[] {
  const out: LogLine[] = [];
  const streams = (msg as { streams?: unknown }).streams;
  if (!Array.isArray(streams)) return out;
  for (const s of streams) {
    const labels = typeof s?.stream === 'object' && s.stream !== null ? (s.stream as Record<string, string>) : {};
    for (const v of Array.isArray(s?.values) ? s.values : []) {
      if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') continue;
      const bytes = Buffer.from(v[1], 'utf8');
      const truncated = bytes.length > valueBytesMax;
      out.push({ ts: v[0], labels, line: truncated ? bytes.subarray(0, valueBytesMax).toString('utf8') : v[1], truncated });
    }
  }
  return out;
}

export function proxyRoutes(app: FastifyInstance, o: { jobsUrl?: string | undefined; logsUrl?: string | undefined; hub: SseHub }): void {
  const jobs = (req: FastifyRequest, reply: FastifyReply) => pass(req, reply, o.jobsUrl, req.url.split('?')[0]!, 'the Job Service');
  for (const prefix of ['/api/jobs', '/api/dlq', '/api/schedules']) {
    app.all(prefix, jobs);
    app.all(`${prefix}/*`, jobs);
  }
  app.get('/api/stats', jobs);

  app.all('/api/logs/query_range', (req, reply) => pass(req, reply, o.logsUrl, '/loki/api/v1/query_range', 'the log store'));
  app.all('/api/logs/query', (req, reply) => pass(req, reply, o.logsUrl, '/loki/api/v1/query', 'the log store'));
  app.get('/api/logs/labels', (req, reply) => pass(req, reply, o.logsUrl, '/loki/api/v1/labels', 'the log store'));
  app.get('/api/logs/label/:name/values', (req, reply) =>
    pass(req, reply, o.logsUrl, `/loki/api/v1/label/${encodeURIComponent((req.params as { name: string }).name)}/values`, 'the log store'),
  );

  app.get('/api/logs/tail', async (req, reply) => {
    if (o.logsUrl === undefined) throw unavailable('the log store', 'no URL configured (--logs-url)');
    const query = (req.query as { query?: string }).query;
    if (typeof query !== 'string' || query === '') throw new ApiFailure(400, 'BAD_REQUEST', 'query is required (a LogQL log query)');
    const s = o.hub.open(req, reply);
    if (!s) return reply;
    const url = `${o.logsUrl.replace(/^http/, 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
    const ws = new WebSocket(url, { maxPayload: tailMessageBytesMax });
    ws.on('message', (data) => {
      try {
        for (const l of tailLines(JSON.parse(String(data)))) s.send('log', l);
      } catch {
        // not JSON: skipped
      }
    });
    ws.on('error', (e) => {
      s.send('error', { error: `log store tail: ${e.message}`, code: 'UNAVAILABLE' });
      s.close();
    });
    ws.on('close', (code, why) => {
      if (!s.closed) s.send('error', { error: `log store closed the tail (${code} ${String(why)})`, code: 'UNAVAILABLE' });
      s.close();
    });
    s.onClose(() => ws.terminate());
    return reply;
  });
}
