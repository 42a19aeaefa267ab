// The embedded Loki-compatible log store's HTTP shell: Loki's push, query, label, series and tail
// endpoints over fastify, answering in Loki's shapes (JSON bodies; plain-text errors, as Loki's).
// The LogQL work is in evaluate.ts, the data in storage.ts; this file binds them to HTTP, the
// clock, the retention timer and the /metrics registry.

import websocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { createLogger, type Logger } from '../../../util/log.js';
import { lokiLabelNamePattern } from '../logEvent.js';
import { decodePush, formatLabels, type LokiStream, PushBodyError, PushBodyTooLargeError } from '../lokiPush.js';
import { type MetricResult, runMetricQuery } from './aggregate.js';
import {
  defaultEvalLimits,
  type EvalLimits,
  formatSampleValue,
  type Labels,
  nsToSeconds,
  QueryLimitError,
  runLogQuery,
} from './evaluate.js';
import { type LabelMatcher, LogQLError, parseLogQL, type Query } from './logql.js';
import { many, one, ParamError, type Params, parseLimit, parseRangeParams, parseTime } from './params.js';
import { LogStorage, StreamLimitError, type SweepResult } from './storage.js';
import { TailHub } from './tail.js';

export interface LogStoreOptions {
  host?: string;
  /** 3100 as Loki; 0 = any free port. */
  port?: number;
  /** A directory for logs.db, or ':memory:'. */
  dataDir: string;
  /** Entries older than this are swept (default 7 days). */
  retentionMs?: number;
  /** Stored line bytes kept; the oldest entries go first (default 1 GiB). */
  retentionBytesMax?: number;
  logger?: Logger;
  /** A push body larger than this is 413 (default 16 MiB). */
  pushBytesMax?: number;
  /** A push body after gzip/snappy is at most this (default 64 MiB). */
  decodedPushBytesMax?: number;
  /** Loki's max_line_size (default 256 KiB). */
  lineBytesMax?: number;
  /** Loki's max_entries_limit_per_query (default 5000). */
  queryEntriesMax?: number;
  /** Loki's max_query_series (default 500). */
  seriesMax?: number;
  /** Entries one query may read (default 2,000,000). */
  scanEntriesMax?: number;
  /** Distinct streams kept (default 10,000). */
  streamsMax?: number;
  /** How often retention runs (default 60 s). */
  sweepIntervalMs?: number;
  /** Concurrent tail sockets (default 64). */
  tailClientsMax?: number;
}

export interface LogStore {
  url: string;
  port: number;
  /** Runs retention now (the timer also does); returns what it removed. */
  sweep(): SweepResult;
  close(): Promise<void>;
}

/** Loki's limits on a stream's labels (max_label_names_per_series, max_label_value_length, max_label_name_length). */
const labelNamesMax = 30;
const labelValueCharsMax = 2048;
const labelNameCharsMax = 1024;
/** Problems listed in one 400 answer; the rest are counted. */
const pushErrorsShownMax = 10;

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

function labelProblem(labels: Labels): string | undefined {
  const names = Object.keys(labels);
  if (names.length === 0) return 'a stream needs at least one label';
  if (names.length > labelNamesMax) return `entry has ${names.length} label names; limit: ${labelNamesMax}`;
  for (const n of names) {
    if (!lokiLabelNamePattern.test(n) || n.length > labelNameCharsMax) return `invalid label name ${JSON.stringify(n)}`;
    if (labels[n]!.length > labelValueCharsMax) return `label ${n} value is longer than ${labelValueCharsMax} characters`;
  }
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function makeMetrics(registry: Registry) {
  return {
    linesReceived: new Counter({
      name: 'loki_distributor_lines_received_total',
      help: 'Log lines received in pushes',
      registers: [registry],
    }),
    bytesReceived: new Counter({
      name: 'loki_distributor_bytes_received_total',
      help: 'Line bytes received in pushes',
      registers: [registry],
    }),
    discardedSamples: new Counter({
      name: 'loki_discarded_samples_total',
      help: 'Log lines refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'clustergenie_logstore_push_requests_total',
      help: 'Push requests, by body format and status',
      labelNames: ['format', 'status'],
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'clustergenie_logstore_duplicate_entries_total',
      help: 'Pushed entries already stored (same stream, ts, line)',
      registers: [registry],
    }),
    queries: new Counter({
      name: 'clustergenie_logstore_queries_total',
      help: 'Queries answered, by endpoint and outcome',
      labelNames: ['endpoint', 'status'],
      registers: [registry],
    }),
    retained: new Counter({
      name: 'clustergenie_logstore_retention_deleted_entries_total',
      help: 'Entries removed by retention',
      labelNames: ['reason'],
      registers: [registry],
    }),
    streams: new Gauge({ name: 'loki_ingester_memory_streams', help: 'Streams stored', registers: [registry] }),
    storedBytes: new Gauge({ name: 'clustergenie_logstore_stored_bytes', help: 'Line bytes stored', registers: [registry] }),
    storedEntries: new Gauge({ name: 'clustergenie_logstore_stored_entries', help: 'Entries stored', registers: [registry] }),
  };
}

export async function startLogStore(opts: LogStoreOptions): Promise<LogStore> {
  const log = opts.logger ?? createLogger('log-store');
  const pushBytesMax = opts.pushBytesMax ?? 16 * 1024 * 1024;
  const decodedPushBytesMax = opts.decodedPushBytesMax ?? 64 * 1024 * 1024;
  const lineBytesMax = opts.lineBytesMax ?? 256 * 1024;
  const queryEntriesMax = opts.queryEntriesMax ?? 5000;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3600 * 1000;
  const retentionBytesMax = opts.retentionBytesMax ?? 1024 * 1024 * 1024;
  const limits: EvalLimits = {
    scanEntriesMax: opts.scanEntriesMax ?? defaultEvalLimits.scanEntriesMax,
    seriesMax: opts.seriesMax ?? defaultEvalLimits.seriesMax,
  };
  const storage = new LogStorage({ dataDir: opts.dataDir, ...(opts.streamsMax !== undefined ? { streamsMax: opts.streamsMax } : {}) });
  const registry = new Registry();
  const metrics = makeMetrics(registry);
  const tail = new TailHub(log, opts.tailClientsMax ?? 64);
  const refreshGauges = (): void => {
    metrics.streams.set(storage.streamCount);
    metrics.storedBytes.set(storage.bytes);
    metrics.storedEntries.set(storage.entryCount);
  };
  refreshGauges();

  const sweep = (): SweepResult => {
    const r = storage.sweep(nowNs() - BigInt(retentionMs) * 1_000_000n, retentionBytesMax);
    if (r.deletedByAge > 0) metrics.retained.inc({ reason: 'age' }, r.deletedByAge);
    if (r.deletedBySize > 0) metrics.retained.inc({ reason: 'size' }, r.deletedBySize);
    if (r.deletedByAge + r.deletedBySize > 0) log.info({ ...r }, 'retention removed entries');
    refreshGauges();
    return r;
  };

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: pushBytesMax, forceCloseConnections: true });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  // Every body arrives as bytes: push decodes by Content-Type itself (snappy protobuf when it is
  // not JSON, as Loki), and fastify must not refuse a type it does not know.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const text = (reply: FastifyReply, status: number, message: string): FastifyReply =>
    reply.code(status).header('content-type', 'text/plain; charset=utf-8').send(`${message}\n`);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const endpoint = req.routeOptions.url ?? 'unknown';
    if (err instanceof LogQLError || err instanceof ParamError || err instanceof QueryLimitError) {
      metrics.queries.inc({ endpoint, status: '400' });
      return text(reply, 400, err.message);
    }
    if (err instanceof HttpError) return text(reply, err.status, err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return text(reply, 413, `request body too large: limit ${pushBytesMax} bytes`);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return text(reply, status, err.message);
    log.error({ err, url: req.url }, 'request failed');
    return text(reply, 500, 'internal error');
  });

  // --- push --------------------------------------------------------------------------------

  const push = async (
    req: { body: unknown; headers: Record<string, string | string[] | undefined> },
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentType = String(req.headers['content-type'] ?? '');
    const encoding = String(req.headers['content-encoding'] ?? '');
    let streams: LokiStream[];
    try {
      streams = decodePush(body, contentType, encoding, decodedPushBytesMax);
    } catch (e) {
      if (e instanceof PushBodyTooLargeError) return text(reply, 413, e.message);
      if (e instanceof PushBodyError) return text(reply, 400, e.message);
      throw e;
    }
    const problems: string[] = [];
    let problemCount = 0;
    const problem = (reason: string, lines: number, message: string): void => {
      metrics.discardedSamples.inc({ reason }, lines);
      problemCount++;
      if (problems.length < pushErrorsShownMax) problems.push(message);
    };
    const valid: { labels: Labels; entries: { tsNs: bigint; line: string }[] }[] = [];
    let lines = 0;
    let bytes = 0;
    for (const s of streams) {
      lines += s.entries.length;
      const why = labelProblem(s.labels);
      if (why) {
        problem('invalid_labels', s.entries.length, `error at stream ${formatLabels(s.labels)}: ${why}`);
        continue;
      }
      const entries: { tsNs: bigint; line: string }[] = [];
      for (const e of s.entries) {
        const size = Buffer.byteLength(e.line);
        bytes += size;
        if (size > lineBytesMax) {
          problem(
            'line_too_long',
            1,
            `Max entry size '${lineBytesMax}' bytes exceeded for stream '${formatLabels(s.labels)}' while adding an entry with length '${size}' bytes`,
          );
        } else entries.push({ tsNs: e.tsNs, line: e.line });
      }
      if (entries.length > 0) valid.push({ labels: s.labels, entries });
    }
    metrics.linesReceived.inc(lines);
    metrics.bytesReceived.inc(bytes);
    if (valid.length > 0) {
      let result: ReturnType<LogStorage['append']>;
      try {
        result = storage.append(valid);
      } catch (e) {
        if (e instanceof StreamLimitError) {
          metrics.discardedSamples.inc(
            { reason: 'stream_limit' },
            valid.reduce((n, s) => n + s.entries.length, 0),
          );
          return text(reply, 429, e.message);
        }
        throw e;
      }
      metrics.duplicates.inc(result.duplicates);
      refreshGauges();
      tail.publish(result.inserted);
    }
    if (problemCount > 0) {
      const more = problemCount > problems.length ? `\n(and ${problemCount - problems.length} more)` : '';
      return text(reply, 400, problems.join('\n') + more);
    }
    return reply.code(204).send();
  };
  const countedPush: typeof push = async (req, reply) => {
    await push(req, reply);
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    metrics.pushes.inc({ format: type === 'application/json' ? 'json' : 'protobuf', status: String(reply.statusCode) });
    return reply;
  };
  app.post('/loki/api/v1/push', countedPush);
  app.post('/api/prom/push', countedPush);

  // --- queries -------------------------------------------------------------------------------

  /** Query string merged with a urlencoded POST body, as Loki accepts both. */
  const paramsOf = (req: { query: unknown; body: unknown; headers: Record<string, string | string[] | undefined> }): Params => {
    const p: Params = { ...(req.query as Params) };
    if (Buffer.isBuffer(req.body) && req.body.length > 0) {
      for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) {
        const prev = p[k];
        p[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
    }
    return p;
  };

  const queryOf = (p: Params): Query => {
    const q = one(p, 'query');
    if (q === undefined || q === '') throw new ParamError('query parameter is required');
    return parseLogQL(q);
  };

  const stats = (entries: number, bytes: number, startedMs: number) => {
    const execTime = (performance.now() - startedMs) / 1000;
    return {
      summary: {
        bytesProcessedPerSecond: execTime > 0 ? Math.round(bytes / execTime) : 0,
        linesProcessedPerSecond: execTime > 0 ? Math.round(entries / execTime) : 0,
        totalBytesProcessed: bytes,
        totalLinesProcessed: entries,
        execTime,
        queueTime: 0,
        subqueries: 1,
        totalEntriesReturned: 0,
      },
    };
  };

  const matrixBody = (r: MetricResult, started: number) => {
    const result =
      r.value.kind === 'scalar'
        ? [{ metric: {}, values: r.stepsNs.map((t) => [nsToSeconds(t), formatSampleValue((r.value as { value: number }).value)]) }]
        : r.value.series.map((s) => ({
            metric: s.labels,
            values: r.stepsNs.flatMap((t, i) => (Number.isNaN(s.values[i]!) ? [] : [[nsToSeconds(t), formatSampleValue(s.values[i]!)]])),
          }));
    return { status: 'success', data: { resultType: 'matrix', result, stats: stats(r.scannedEntries, r.scannedBytes, started) } };
  };

  const queryRange = async (req: Parameters<typeof paramsOf>[0]) => {
    const started = performance.now();
    const p = paramsOf(req);
    const q = queryOf(p);
    const rp = parseRangeParams(p, nowNs(), queryEntriesMax);
    if (q.kind === 'log') {
      // Loki's range is [start, end): end itself is not included.
      const r = runLogQuery(q, storage, { startNs: rp.startNs, endNs: rp.endNs, limit: rp.limit, direction: rp.direction }, limits);
      metrics.queries.inc({ endpoint: 'query_range', status: '200' });
      const s = stats(r.scannedEntries, r.scannedBytes, started);
      s.summary.totalEntriesReturned = r.streams.reduce((n, x) => n + x.values.length, 0);
      return {
        status: 'success',
        data: { resultType: 'streams', result: r.streams.map((x) => ({ stream: x.labels, values: x.values })), stats: s },
      };
    }
    const r = runMetricQuery(q, storage, { startNs: rp.startNs, endNs: rp.endNs, stepNs: rp.stepNs }, limits);
    metrics.queries.inc({ endpoint: 'query_range', status: '200' });
    return matrixBody(r, started);
  };
  app.get('/loki/api/v1/query_range', queryRange);
  app.post('/loki/api/v1/query_range', queryRange);

  const instant = async (req: Parameters<typeof paramsOf>[0]) => {
    const started = performance.now();
    const p = paramsOf(req);
    const q = queryOf(p);
    const t = parseTime(one(p, 'time'), nowNs(), 'time');
    parseLimit(one(p, 'limit'), queryEntriesMax);
    if (q.kind === 'log')
      throw new ParamError('log queries are not supported as an instant query type, please change your query to a range query type');
    const r = runMetricQuery(q, storage, { startNs: t, endNs: t, stepNs: 0n }, limits);
    metrics.queries.inc({ endpoint: 'query', status: '200' });
    const st = stats(r.scannedEntries, r.scannedBytes, started);
    if (r.value.kind === 'scalar') {
      return { status: 'success', data: { resultType: 'scalar', result: [nsToSeconds(t), formatSampleValue(r.value.value)], stats: st } };
    }
    const result = r.value.series
      .filter((s) => !Number.isNaN(s.values[0]!))
      .map((s) => ({ metric: s.labels, value: [nsToSeconds(t), formatSampleValue(s.values[0]!)] }));
    return { status: 'success', data: { resultType: 'vector', result, stats: st } };
  };
  app.get('/loki/api/v1/query', instant);
  app.post('/loki/api/v1/query', instant);

  /** start/end for label and series lookups: Loki's default is the last 6 hours. */
  const lookupRange = (p: Params): [bigint, bigint] => {
    const end = parseTime(one(p, 'end'), nowNs(), 'end');
    return [parseTime(one(p, 'start'), end - 6n * 3_600_000_000_000n, 'start'), end];
  };
  const selectorOf = (text: string): LabelMatcher[] => {
    const q = parseLogQL(text);
    if (q.kind !== 'log') throw new ParamError(`a stream selector is needed, not ${JSON.stringify(text)}`);
    return q.matchers;
  };

  const labels = async (req: Parameters<typeof paramsOf>[0]) => {
    const p = paramsOf(req);
    const [from, to] = lookupRange(p);
    const q = one(p, 'query');
    metrics.queries.inc({ endpoint: 'labels', status: '200' });
    return { status: 'success', data: storage.labelNames(from, to, q ? selectorOf(q) : undefined) };
  };
  app.get('/loki/api/v1/labels', labels);
  app.post('/loki/api/v1/labels', labels);
  app.get('/loki/api/v1/label', labels);

  const labelValues = async (req: Parameters<typeof paramsOf>[0] & { params: unknown }) => {
    const p = paramsOf(req);
    const name = (req.params as { name: string }).name;
    const [from, to] = lookupRange(p);
    const q = one(p, 'query');
    metrics.queries.inc({ endpoint: 'label_values', status: '200' });
    return { status: 'success', data: storage.labelValues(name, from, to, q ? selectorOf(q) : undefined) };
  };
  app.get('/loki/api/v1/label/:name/values', labelValues);
  app.post('/loki/api/v1/label/:name/values', labelValues);

  const series = async (req: Parameters<typeof paramsOf>[0]) => {
    const p = paramsOf(req);
    const [from, to] = lookupRange(p);
    const sets = [...many(p, 'match[]'), ...many(p, 'match')].map(selectorOf);
    const found = storage.seriesIn(from, to, sets);
    if (found.length > limits.seriesMax) throw new QueryLimitError(`maximum of series (${limits.seriesMax}) reached for a single query`);
    metrics.queries.inc({ endpoint: 'series', status: '200' });
    return { status: 'success', data: found };
  };
  app.get('/loki/api/v1/series', series);
  app.post('/loki/api/v1/series', series);

  // Grafana's query editor asks this for the size of what a query would read.
  app.get('/loki/api/v1/index/stats', async (req) => {
    const p = paramsOf(req);
    const [from, to] = lookupRange(p);
    const st = storage.stats(selectorOf(one(p, 'query') ?? ''), from, to);
    metrics.queries.inc({ endpoint: 'index_stats', status: '200' });
    return { streams: st.streams, chunks: st.streams, entries: st.entries, bytes: st.bytes };
  });

  // --- tail ----------------------------------------------------------------------------------

  app.get('/loki/api/v1/tail', { websocket: true }, (socket, req) => {
    const p = req.query as Params;
    try {
      const q = queryOf(p);
      if (q.kind !== 'log') throw new ParamError('tail needs a log query, not a metric query');
      const limit = parseLimit(one(p, 'limit'), queryEntriesMax);
      const now = nowNs();
      const start = parseTime(one(p, 'start'), now - 3_600_000_000_000n, 'start');
      const backlog = runLogQuery(q, storage, { startNs: start, endNs: now + 1n, limit, direction: 'backward' }, limits);
      tail.add(socket, q, backlog.streams);
    } catch (e) {
      if (e instanceof LogQLError || e instanceof ParamError || e instanceof QueryLimitError) {
        socket.close(1008, e.message.slice(0, 120));
        return;
      }
      log.error({ err: e }, 'tail failed');
      socket.close(1011, 'internal error');
    }
  });

  // --- operations ------------------------------------------------------------------------------

  app.get('/ready', async (_req, reply) => text(reply, 200, 'ready'));
  app.get('/loki/api/v1/status/buildinfo', async () => ({
    version: '2.9.10',
    revision: 'clustergenie',
    branch: 'HEAD',
    buildUser: 'clustergenie',
    buildDate: '',
    goVersion: 'go1.21.13',
  }));
  app.get('/metrics', async (_req, reply) => {
    refreshGauges();
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });

  const host = opts.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: opts.port ?? 3100 });
  } catch (e) {
    storage.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 3100);
  sweep();
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (e) {
      log.error({ err: e }, 'retention sweep failed');
    }
  }, opts.sweepIntervalMs ?? 60_000);
  timer.unref();
  log.info({ host, port, dataDir: opts.dataDir }, 'log store listening');
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    sweep,
    close: () => {
      closing ??= (async () => {
        clearInterval(timer);
        tail.closeAll();
        await app.close();
        storage.close();
      })();
      return closing;
    },
  };
}
