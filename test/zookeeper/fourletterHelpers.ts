// Shared by fourletter.test.ts and admin.test.ts: a promise wrapper around node-zookeeper-client
// (a third-party client, so these tests do not depend on our own client), raw four-letter words,
// an Apache ZooKeeper launcher with its AdminServer enabled, and the comparison helpers that
// reduce outputs to their structure.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { fourLetter, freePort } from '../helpers/net.js';

interface NzcClient {
  connect(): void;
  close(): void;
  once(ev: 'connected', cb: () => void): void;
  getSessionId(): Buffer;
  create(path: string, data: Buffer, mode: number, cb: (err: Error | null) => void): void;
  getData(path: string, watcher: ((e: unknown) => void) | undefined, cb: (err: Error | null) => void): void;
  getChildren(path: string, watcher: ((e: unknown) => void) | undefined, cb: (err: Error | null) => void): void;
  exists(path: string, watcher: ((e: unknown) => void) | undefined, cb: (err: Error | null) => void): void;
  setData(path: string, data: Buffer, cb: (err: Error | null) => void): void;
}

interface NzcModule {
  createClient(connectString: string, opts: { sessionTimeout: number; retries?: number }): NzcClient;
  CreateMode: { PERSISTENT: number; EPHEMERAL: number };
}

const nzc = createRequire(import.meta.url)('node-zookeeper-client') as NzcModule;

function cb(resolve: () => void, reject: (e: Error) => void): (err: Error | null) => void {
  return (err) => (err ? reject(err) : resolve());
}

/** A connected client with promise methods. Watch callbacks are no-ops (the watch is what counts). */
export class TestClient {
  private constructor(private readonly c: NzcClient) {}

  static async connect(connectString: string, sessionTimeout = 30_000, deadlineMs = 10_000): Promise<TestClient> {
    const c = nzc.createClient(connectString, { sessionTimeout, retries: 0 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.close();
        reject(new Error(`no session with ${connectString} within ${deadlineMs} ms`));
      }, deadlineMs);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      c.connect();
    });
    return new TestClient(c);
  }

  /** The session id as an unsigned bigint. */
  get sessionId(): bigint {
    return BigInt(`0x${this.c.getSessionId().toString('hex')}`);
  }

  create(path: string, data = Buffer.alloc(0), ephemeral = false): Promise<void> {
    return new Promise((res, rej) =>
      this.c.create(path, data, ephemeral ? nzc.CreateMode.EPHEMERAL : nzc.CreateMode.PERSISTENT, cb(res, rej)),
    );
  }
  getData(path: string, watch = false): Promise<void> {
    return new Promise((res, rej) => this.c.getData(path, watch ? () => {} : undefined, cb(res, rej)));
  }
  getChildren(path: string, watch = false): Promise<void> {
    return new Promise((res, rej) => this.c.getChildren(path, watch ? () => {} : undefined, cb(res, rej)));
  }
  exists(path: string, watch = false): Promise<void> {
    return new Promise((res, rej) => this.c.exists(path, watch ? () => {} : undefined, cb(res, rej)));
  }
  setData(path: string, data: Buffer): Promise<void> {
    return new Promise((res, rej) => this.c.setData(path, data, cb(res, rej)));
  }
  close(): void {
    this.c.close();
  }
}

/** Sends raw bytes as a four-letter word (e.g. `stmk` + an 8-byte mask) and reads the reply. */
export function rawFourLetter(port: number, bytes: Buffer, timeoutMs = 5_000): Promise<string> {
  return fourLetter('127.0.0.1', port, bytes, timeoutMs);
}

export function stmkBytes(mask: bigint): Buffer {
  const b = Buffer.alloc(12);
  b.write('stmk', 0, 'latin1');
  b.writeBigInt64BE(mask, 4);
  return b;
}

/**
 * Apache ZooKeeper 3.8 (Debian jars) with its Jetty AdminServer on a free loopback port. The
 * Debian zookeeper.jar manifest lacks the servlet API jar, so it is added to the classpath.
 */
export async function startApacheWithAdmin(): Promise<ServerHandle & { adminPort: number }> {
  if (process.env['APACHE_ZK_CLASSPATH'] === undefined) {
    process.env['APACHE_ZK_CLASSPATH'] = [
      '/usr/share/java/zookeeper.jar',
      '/usr/share/java/slf4j-simple.jar',
      '/usr/share/java/servlet-api.jar',
    ]
      .filter((p) => existsSync(p))
      .join(':');
  }
  const adminPort = await freePort();
  const h = await startApacheZooKeeper({
    extraConfig: { 'admin.enableServer': 'true', 'admin.serverAddress': '127.0.0.1', 'admin.serverPort': String(adminPort) },
  });
  return { ...h, adminPort };
}

export interface HttpReply {
  status: number;
  contentType: string | null;
  body: string;
}

export async function httpGet(port: number, path: string, method = 'GET'): Promise<HttpReply> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** Key labels of `Label: value` lines. */
export function labels(text: string, sep: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (l.includes(sep) ? l.slice(0, l.indexOf(sep)) : l));
}

/** True if every element of `sub` occurs in `full`, in the same relative order. */
export function isOrderedSubset(sub: readonly string[], full: readonly string[]): boolean {
  let i = 0;
  for (const x of full) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

/** A 4lw connection line with its numbers, hex and op names blanked. */
export function lineShape(line: string): string {
  return line
    .replace(/0x[0-9a-f]+/g, '0xH')
    .replace(/lop=[A-Z]+/g, 'lop=OP')
    .replace(/\d+/g, 'N');
}

/** Admin JSON with its values (and numeric map keys) replaced by type markers; layout kept. */
export function jsonShape(json: string): string {
  return json
    .replace(/"\d+" :/g, '"ID" :')
    .replace(/\[ [^\]{]+ \]/g, '[ V ]')
    .replace(/ : "(?:[^"\\]|\\.)*"/g, ' : S')
    .replace(/ : -?\d+\.\d+(?:E-?\d+)?/g, ' : D')
    .replace(/ : -?\d+/g, ' : N');
}

/**
 * jsonShape with every object's keys sorted. Apache's AdminServer serialises its stats beans with
 * Jackson, whose property order follows JVM reflection order and differs between runs, so only the
 * set of fields and their value types can be compared, not their order.
 */
export function jsonShapeSorted(json: string): string {
  const asJson = jsonShape(json)
    .replace(/\[ V \]/g, '"[V]"')
    .replace(/ : ([SND])(,?)$/gm, ' : "$1"$2');
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  };
  return JSON.stringify(sortKeys(JSON.parse(asJson)), null, 2);
}
