// The whole log pipeline as processes of this build's CLI, as `clustergenie up` runs it:
// `ship-logs <files>` → a Kafka topic → `log-consumer` → `log-store` on a free port, against any
// bootstrap string (our brokers or Apache Kafka). Each piece can be killed -9 and started again;
// the store is read back through its Loki HTTP API only (query_range, paged; /metrics).

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ServiceProcess } from '../../src/cluster/serviceProcess.js';
import { parseCheckpoint } from '../../src/genie/logs/shipper/checkpoint.js';
import { freePort } from '../../src/util/net.js';

/** The store's own per-query bound (queryEntriesMax): pages are this long. */
const queryPageEntriesMax = 5000;
/** Bound of pages read by one queryAll (pageEntriesMax × this entries at most). */
const queryPagesMax = 200;
const httpTimeoutMs = 10_000;
/** Bound of one push body the proxy holds (the consumer's batches are 1 MiB by default). */
const proxyBodyBytesMax = 32 * 1024 * 1024;
/** Bound of push responses the proxy holds back at once. */
const heldResponsesMax = 1000;

/**
 * An HTTP proxy in front of the store's push API that can hold responses back: the push reaches
 * the store, but the consumer never hears the 2xx, so it never commits — the window a crash of the
 * consumer must survive by pushing again (and the store by keeping one copy).
 */
class PushProxy {
  private holding = false;
  private readonly held: (() => void)[] = [];
  /** Pushes the store answered while responses were held back. */
  heldPushes = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(targetUrl: () => string): Promise<PushProxy> {
    let proxy: PushProxy | undefined;
    const server = createServer((req, res) => void proxy!.forward(targetUrl(), req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new PushProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  hold(on: boolean): void {
    this.holding = on;
    if (!on) for (const release of this.held.splice(0)) release();
  }

  private async forward(target: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const c of req as AsyncIterable<Buffer>) {
        bytes += c.length;
        if (bytes > proxyBodyBytesMax) throw new Error(`push body over ${proxyBodyBytesMax} bytes`);
        chunks.push(c);
      }
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'content-encoding', 'x-scope-orgid']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const up = await fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        signal: AbortSignal.timeout(httpTimeoutMs),
      });
      const body = Buffer.from(await up.arrayBuffer());
      if (this.holding && this.held.length < heldResponsesMax) {
        this.heldPushes++;
        await new Promise<void>((resolve) => this.held.push(resolve));
      }
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/plain' }).end(body);
    } catch (e) {
      // The consumer may be gone (killed) by now; a 502 to a closed socket is simply dropped.
      if (!res.headersSent) res.writeHead(502).end((e as Error).message);
    }
  }

  async close(): Promise<void> {
    this.hold(false);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface LogPipelineOptions {
  bootstrap: string;
  /** Temp dir for the store's data, the checkpoint and the processes' logs (the caller removes it). */
  dir: string;
  topic: string;
  /** The consumer's `env` label: one per test keeps queries apart. */
  env: string;
  files: readonly string[];
  /** Extra `ship-logs` flags (--buffered-lines-max, --line-bytes-max, ...). */
  shipperArgs?: readonly string[];
  /** Extra `log-consumer` flags (--batch-wait-ms, ...). */
  consumerArgs?: readonly string[];
  logLevel?: string;
}

export interface StoredEntry {
  labels: Record<string, string>;
  tsNs: bigint;
  line: string;
}

export class LogPipeline {
  readonly store: ServiceProcess;
  readonly consumer: ServiceProcess;
  readonly shipper: ServiceProcess;
  readonly checkpointPath: string;

  private constructor(
    readonly options: LogPipelineOptions,
    readonly storeUrl: string,
    storePort: number,
    /** Between the consumer and the store: holdPushResponses() opens the crash window. */
    private readonly proxy: PushProxy,
  ) {
    const o = options;
    const level = ['--log-level', o.logLevel ?? 'warn'];
    this.checkpointPath = join(o.dir, 'ship-logs.checkpoint.json');
    // restartOnCrash off: a test's kill -9 must stay a kill until the test starts it again.
    this.store = new ServiceProcess({
      name: 'log-store',
      args: ['log-store', '--host', '127.0.0.1', '--port', String(storePort), '--data-dir', join(o.dir, 'log-store'), ...level],
      logPath: join(o.dir, 'log-store.log'),
      readyLine: /log-store listening on http/,
      restartOnCrash: false,
    });
    this.consumer = new ServiceProcess({
      name: 'log-consumer',
      args: [
        'log-consumer',
        '--bootstrap-server',
        o.bootstrap,
        '--topic',
        o.topic,
        '--group',
        `pipeline-${o.env}`,
        '--env',
        o.env,
        '--loki-url',
        proxy.url,
        '--metrics-port',
        '0',
        ...(o.consumerArgs ?? []),
        ...level,
      ],
      logPath: join(o.dir, 'log-consumer.log'),
      readyLine: /log-consumer ready/,
      restartOnCrash: false,
    });
    this.shipper = new ServiceProcess({
      name: 'ship-logs',
      args: [
        'ship-logs',
        '--bootstrap-server',
        o.bootstrap,
        '--topic',
        o.topic,
        '--checkpoint',
        this.checkpointPath,
        '--from-beginning',
        ...(o.shipperArgs ?? []),
        ...level,
        ...o.files,
      ],
      logPath: join(o.dir, 'ship-logs.log'),
      readyLine: /ship-logs ready/,
      restartOnCrash: false,
    });
  }

  /** Starts the store, then the shipper (which creates the topic), then the consumer; each ready. */
  static async start(o: LogPipelineOptions): Promise<LogPipeline> {
    const port = await freePort();
    const storeUrl = `http://127.0.0.1:${port}`;
    const p = new LogPipeline(o, storeUrl, port, await PushProxy.start(() => storeUrl));
    try {
      p.store.start();
      await p.store.waitReady(60_000);
      await p.startShipper();
      await p.startConsumer();
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  async startShipper(): Promise<void> {
    this.shipper.start();
    await this.shipper.waitReady(60_000);
  }

  async startConsumer(): Promise<void> {
    this.consumer.start();
    await this.consumer.waitReady(60_000);
  }

  /**
   * While on, pushes still reach the store but their responses are held back from the consumer
   * (so it does not commit); off releases them. Returns how many pushes were held so far.
   */
  holdPushResponses(on: boolean): number {
    this.proxy.hold(on);
    return this.proxy.heldPushes;
  }

  get heldPushes(): number {
    return this.proxy.heldPushes;
  }

  get processes(): ServiceProcess[] {
    return [this.store, this.consumer, this.shipper];
  }

  /** The shipper's acknowledged position in `file` (undefined before its first checkpoint). */
  async positionOf(file: string): Promise<number | undefined> {
    try {
      return parseCheckpoint(await readFile(this.checkpointPath, 'utf8')).get(file)?.position;
    } catch {
      return undefined;
    }
  }

  private async get(path: string): Promise<Response> {
    const res = await fetch(`${this.storeUrl}${path}`, { signal: AbortSignal.timeout(httpTimeoutMs) });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  /**
   * Every entry `query` selects from startNs on, oldest first, read in pages of the store's limit.
   * A page starts at the previous page's last timestamp (inclusive, entries already seen skipped),
   * so entries sharing a timestamp across a page boundary are neither lost nor counted twice.
   */
  async queryAll(query: string, startNs: bigint): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    const seen = new Set<string>();
    const endNs = BigInt(Date.now() + 60_000) * 1_000_000n;
    let from = startNs;
    for (let page = 0; page < queryPagesMax; page++) {
      const qs = new URLSearchParams({
        query,
        start: from.toString(),
        end: endNs.toString(),
        limit: String(queryPageEntriesMax),
        direction: 'forward',
      });
      const body = (await (await this.get(`/loki/api/v1/query_range?${qs}`)).json()) as {
        data: { result: { stream: Record<string, string>; values: [string, string][] }[] };
      };
      const got: StoredEntry[] = [];
      for (const s of body.data.result) for (const [ts, line] of s.values) got.push({ labels: s.stream, tsNs: BigInt(ts), line });
      got.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
      let added = 0;
      for (const e of got) {
        const key = `${JSON.stringify(e.labels)}\u0000${e.tsNs}\u0000${e.line}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(e);
        added++;
      }
      if (got.length < queryPageEntriesMax) return out;
      if (added === 0) throw new Error(`more than ${queryPageEntriesMax} entries share timestamp ${from}: cannot page further`);
      from = got[got.length - 1]!.tsNs;
    }
    throw new Error(`more than ${queryPagesMax} pages of ${queryPageEntriesMax} entries for ${query}`);
  }

  /** The store's Prometheus /metrics text. */
  async storeMetrics(): Promise<string> {
    return (await this.get('/metrics')).text();
  }

  /** Stops every process still running (SIGTERM, SIGKILL after a deadline). */
  async close(): Promise<void> {
    await Promise.all([this.shipper.stop(15_000), this.consumer.stop(15_000)]);
    await this.proxy.close();
    await this.store.stop(15_000);
  }
}

/** Sum of the samples of `name` (any labels, or those matching `labelFilter`) in Prometheus text. */
export function metricSum(text: string, name: string, labelFilter?: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labelFilter && !labelFilter.test(m[2] ?? '')) continue;
    sum += Number(m[3]);
  }
  return sum;
}
