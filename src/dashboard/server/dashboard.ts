// The dashboard server's wiring: one ZooKeeper session, one Kafka Admin/Consumer/Producer, ONE
// refresh loop building the view (collectors.ts → view.ts) every refreshMs whatever the number of
// open tabs, fanned out over SSE (sse.ts); the detail and write endpoints (zkRoutes.ts,
// kafkaRoutes.ts, proxy.ts); the page shell and vendor modules (page.ts); the write guard and
// headers (security.ts).

import { createReadStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import Fastify, { type FastifyError } from 'fastify';
import { bootstrapServers, clientBase } from '../../genie/kafka.js';
import { parseMembers } from '../../genie/monitor/collect.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { packageVersion } from '../../util/version.js';
import { ZooKeeperClient } from '../../zookeeper/client/client.js';
import type { DashboardInfo, DashboardView } from '../api.js';
import { AlertFeed, collectRound, counting, RequestCounter } from './collectors.js';
import { toApiError } from './errors.js';
import { SharedReads } from './sharedReads.js';
import { kafkaRoutes } from './kafkaRoutes.js';
import { TailHub } from './messages.js';
import { importMapSha256, indexHtml, vendorFiles } from './page.js';
import { proxyRoutes } from './proxy.js';
import { checkListenOptions, contentSecurityPolicy, isWrite, writeRefusal } from './security.js';
import { SseHub, type SseStream } from './sse.js';
import { buildView, emptyMemory, type ViewMemory, viewChanged } from './view.js';
import { ScalingFeed } from './workers.js';
import { WatchHub, zkRoutes } from './zkRoutes.js';

export interface DashboardOptions {
  /** ZooKeeper connect string host:port,... */
  zookeeper: string;
  /** Kafka host:port,... */
  bootstrapServers: string;
  /** Job Service base URL (http://127.0.0.1:8081). */
  jobsUrl?: string;
  /** Log store / Loki base URL (http://127.0.0.1:3100). */
  logsUrl?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3000; 0 = any free port. */
  port?: number;
  /** Required for writes when host is not loopback (the dashboard refuses to start without one then). */
  token?: string;
  /** View refresh period, default 1000. */
  refreshMs?: number;
  /** Compiled page dir; default: ../ui next to this module. */
  uiDir?: string;
  logger?: Logger;
  /** Live SSE streams served at once (default 200). */
  streamsMax?: number;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
  /** Refresh rounds run and the requests they sent (tests check the per-tab cost with these). */
  stats(): { rounds: number; zkRequests: number; adminRequests: number; streams: number; tailLoops: number; watchedPaths: number };
}

/** A JSON body larger than this is 413 (the import route allows more). */
export const jsonBodyBytesMax = 2 * 1024 * 1024;
/** A round section slower than this counts as failed this round. */
export const sectionTimeoutMs = 5000;
/** The view is re-sent at least this often even when unchanged (the charts move). */
export const viewResendMs = 5000;

function trimUrl(u: string | undefined): string | undefined {
  return u === undefined || u === '' ? undefined : u.replace(/\/+$/, '');
}

export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const host = o.host ?? '127.0.0.1';
  checkListenOptions({ host, token: o.token });
  const token = o.token === '' ? undefined : o.token;
  const log = o.logger ?? silentLogger;
  const refreshMs = Math.max(100, o.refreshMs ?? 1000);
  const jobsUrl = trimUrl(o.jobsUrl);
  const logsUrl = trimUrl(o.logsUrl);
  const members = parseMembers(o.zookeeper);
  const uiDir = o.uiDir ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'ui');

  const zk = new ZooKeeperClient({ connectString: o.zookeeper, sessionTimeoutMs: 15_000 });
  zk.on('expired', () => void zk.connect().catch(() => undefined));
  let stopped = false;
  void zk.connect().catch((e) => {
    if (!stopped) log.warn({ err: e }, 'dashboard: ZooKeeper connect failed');
  });
  const kafka = { clientId: 'clustergenie-dashboard', bootstrapBrokers: bootstrapServers(o.bootstrapServers) };
  const base = { ...clientBase(kafka), retries: 2, retryDelay: 200, timeout: 10_000 };
  const admin = new Admin(base);
  // The raw Fetch needs no group; the id only satisfies the client's options (never joined). A
  // broker answers one connection's requests in order, so the long-polling readers (alerts, tails)
  // get their own clients and never hold up a page read.
  const fetcher = () =>
    new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...base, groupId: `clustergenie-dashboard-${process.pid}-${Date.now()}` });
  const consumer = fetcher();
  const alertsConsumer = fetcher();
  const scalingConsumer = fetcher();
  const tailConsumer = fetcher();
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ ...base, acks: -1, autocreateTopics: false });
  const closeClients = () =>
    Promise.allSettled([
      zk.close(),
      admin.close(),
      consumer.close(true),
      alertsConsumer.close(true),
      scalingConsumer.close(true),
      tailConsumer.close(true),
      producer.close(),
    ]);

  // Requests of completed rounds only (a round in flight counts into `inRound` until it ends), so
  // per-round figures read between rounds never include half a round.
  const counter = new RequestCounter();
  const inRound = new RequestCounter();
  const countedZk = counting(zk, () => inRound.zk++);
  const countedAdmin = counting(admin, () => inRound.admin++);
  const alerts = new AlertFeed(alertsConsumer, admin);
  alerts.start();
  const scaling = new ScalingFeed(scalingConsumer, admin);
  scaling.start();
  const hub = new SseHub(o.streamsMax);
  const tails = new TailHub(tailConsumer, admin, (topic, e) => log.debug({ err: e, topic }, 'dashboard: tail read failed'));
  const watches = new WatchHub(zk, (path, e) => log.debug({ err: e, path }, 'dashboard: watch failed'));

  let view: DashboardView | undefined;
  let sentAtMs = 0;
  let memory: ViewMemory = emptyMemory();
  let rounds = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const viewStreams = new Set<SseStream>();

  const round = async (): Promise<void> => {
    inRound.zk = 0;
    inRound.admin = 0;
    try {
      const r = await collectRound({
        members,
        zk: countedZk,
        admin: countedAdmin,
        ...(jobsUrl ? { jobsUrl } : {}),
        alerts,
        scaling,
        sectionTimeoutMs,
      });
      const next = buildView(r, memory);
      memory = next.memory;
      counter.zk += inRound.zk;
      counter.admin += inRound.admin;
      rounds++;
      const changed = viewChanged(view, next.view);
      view = next.view;
      if (changed || Date.now() - sentAtMs >= viewResendMs) {
        sentAtMs = Date.now();
        const text = `event: view\ndata: ${JSON.stringify(view)}\n\n`;
        for (const s of viewStreams) s.write(text);
      }
    } catch (e) {
      log.warn({ err: e }, 'dashboard: refresh round failed');
    }
  };
  const loop = (): void => {
    if (stopped) return;
    const started = Date.now();
    running = round().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, Math.max(0, refreshMs - (Date.now() - started)));
    });
  };

  const app = Fastify({ logger: false, bodyLimit: jsonBodyBytesMax, forceCloseConnections: true });
  // JSON bodies, an empty one allowed (a DELETE sent with the page's usual content-type).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  const csp = contentSecurityPolicy(importMapSha256);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', csp);
    reply.header('x-frame-options', 'DENY');
    if (isWrite(req.method)) {
      const refusal = writeRefusal(req.headers, token);
      if (refusal) return reply.code(403).send(refusal);
    }
  });
  app.setErrorHandler((e: FastifyError, req, reply) => {
    const { status, body } = toApiError(e);
    if (status >= 500) log.warn({ err: e, url: req.url }, 'dashboard: request failed');
    void reply.code(status).type('application/json').send(body);
  });

  app.get('/api/view', async (_req, reply) => {
    if (!view) return reply.code(503).send({ error: 'the first view is still being built; retry in a second', code: 'UNAVAILABLE' });
    return view;
  });
  app.get('/api/view/stream', async (req, reply) => {
    const s = hub.open(req, reply);
    if (!s) return reply;
    viewStreams.add(s);
    s.onClose(() => viewStreams.delete(s));
    if (view) s.send('view', view);
    return reply;
  });
  app.get('/api/info', async (): Promise<DashboardInfo> => {
    const info: DashboardInfo = {
      version: packageVersion(),
      tokenRequired: token !== undefined,
      zookeeper: o.zookeeper,
      bootstrapServers: o.bootstrapServers,
      rounds,
      zkRequests: counter.zk,
      adminRequests: counter.admin,
      streams: hub.size,
    };
    if (jobsUrl) info.jobsUrl = jobsUrl;
    if (logsUrl) info.logsUrl = logsUrl;
    return info;
  });
  zkRoutes(app, zk, hub, watches);
  kafkaRoutes(app, { admin, consumer, producer, tails, hub, view: () => view, shared: new SharedReads(refreshMs) });
  proxyRoutes(app, { jobsUrl, logsUrl, hub });

  const vendor = vendorFiles();
  app.get('/vendor/:file', async (req, reply) => {
    const v = vendor[(req.params as { file: string }).file];
    if (!v) return reply.code(404).send({ error: 'no such vendor file', code: 'NOT_FOUND' });
    return reply.type(v.type).header('cache-control', 'public, max-age=3600').send(createReadStream(v.file));
  });
  if (existsSync(uiDir)) {
    await app.register(fastifyStatic, { root: uiDir, prefix: '/ui/', decorateReply: false, index: false });
  } else log.warn({ uiDir }, 'dashboard: the page is not built (npm run build); /ui/ answers 404');
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    if (req.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/ui/') && !path.startsWith('/vendor/')) {
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(indexHtml);
    }
    return reply.code(404).send({ error: `no route ${req.method} ${path}`, code: 'NOT_FOUND' });
  });

  try {
    await app.listen({ host, port: o.port ?? 3000 });
  } catch (e) {
    alerts.stop();
    scaling.stop();
    hub.close();
    await closeClients();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 3000);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url }, 'dashboard listening');
  loop();

  return {
    url,
    stats: () => ({
      rounds,
      zkRequests: counter.zk,
      adminRequests: counter.admin,
      streams: hub.size,
      tailLoops: tails.loops,
      watchedPaths: watches.size,
    }),
    async close() {
      stopped = true;
      clearTimeout(timer);
      alerts.stop();
      scaling.stop();
      tails.close();
      hub.close();
      await app.close();
      // A round in flight is abandoned: its clients close under it and its view is never sent.
      void running?.catch(() => undefined);
      await closeClients();
    },
  };
}
