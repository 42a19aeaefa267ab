// Frame -> handler -> response bytes. Decoding and encoding come from the API declarations
// (protocol/apis.ts); handlers see plain request objects and return plain response objects.
//
// Error behaviour follows Kafka's SocketServer/RequestContext: an ApiVersions request of a
// version we do not know is answered in v0 with UNSUPPORTED_VERSION and our range for key 18
// (KIP-511); an unknown API key, an unadvertised version or a body that does not parse closes the
// connection, which is what clients see from Apache Kafka too. A handler that fails on a request
// that did parse answers it with UNKNOWN_SERVER_ERROR (errorResponse.ts).

import { type ApiDef, apiDef } from '../protocol/apis.js';
import { KafkaReader, KafkaWriter, ProtocolError } from '../protocol/buffers.js';
import { ErrorCode } from '../protocol/errors.js';
import { readHeaderPrefix, readHeaderRest, writeResponseHeader } from '../protocol/header.js';
import type { Msg } from '../protocol/schema.js';
import type { Connection } from './connection.js';
import { errorResponse } from './errorResponse.js';
import type { RequestStats } from './metricsStats.js';
import { ADVERTISED, INTER_BROKER, acceptedRange } from './versions.js';

export interface RequestContext {
  readonly apiKey: number;
  readonly version: number;
  readonly correlationId: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly conn: Connection;
}

/** Returns the response body, or null when the request gets no response (Produce with acks=0). */
export type Handler = (req: Msg, ctx: RequestContext) => Msg | null | Promise<Msg | null>;

const API_VERSIONS_KEY = 18;

export class RequestRouter {
  private readonly handlers = new Map<number, Handler>();
  /** Request counts and times (Kafka's RequestMetrics); the broker sets it. */
  stats: RequestStats | undefined;

  register(apiKey: number, handler: Handler): void {
    this.handlers.set(apiKey, handler);
  }

  /** The advertised ranges of the APIs that have a handler (ApiVersions' answer). */
  advertised(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    const out: { apiKey: number; minVersion: number; maxVersion: number }[] = [];
    for (const [apiKey, [minVersion, maxVersion]] of ADVERTISED) {
      if (this.handlers.has(apiKey) || apiKey === API_VERSIONS_KEY) out.push({ apiKey, minVersion, maxVersion });
    }
    return out;
  }

  handle(frame: Buffer, conn: Connection): Buffer[] | null | Promise<Buffer[] | null> {
    const r = new KafkaReader(frame);
    const h = readHeaderPrefix(r);
    // Inter-broker APIs (and the replica versions of Fetch/ListOffsets) are accepted without being advertised.
    const range = acceptedRange(h.apiKey);
    if (h.apiKey === API_VERSIONS_KEY && range && h.apiVersion > range[1]) {
      return this.encode(API_VERSIONS_KEY, 0, h.correlationId, {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: [{ apiKey: API_VERSIONS_KEY, minVersion: range[0], maxVersion: range[1] }],
      });
    }
    const def = apiDef(h.apiKey);
    const handler = h.apiKey === API_VERSIONS_KEY ? this.apiVersions : this.handlers.get(h.apiKey);
    if (!def || !handler || !range) throw new ProtocolError(`unsupported API key ${h.apiKey}`);
    if (h.apiVersion < range[0] || h.apiVersion > range[1]) {
      throw new ProtocolError(`unsupported version ${h.apiVersion} of API ${def.name} (${range[0]}-${range[1]})`);
    }
    const flexible = def.request.isFlexible(h.apiVersion);
    readHeaderRest(r, h, flexible);
    const body = def.request.decode(r, h.apiVersion);
    const stats = this.stats;
    const startMs = stats === undefined ? 0 : performance.now();
    const ctx: RequestContext = {
      apiKey: h.apiKey,
      version: h.apiVersion,
      correlationId: h.correlationId,
      clientId: h.clientId ?? '',
      clientHost: conn.clientHost,
      conn,
    };
    // Counted once, when the handler is done (an encoding failure after that is not a second request).
    let counted = stats === undefined;
    // From here the request parsed: a failure is the broker's, and the client is answered with
    // UNKNOWN_SERVER_ERROR as Kafka's KafkaApis.handleError does, not disconnected.
    const answer = (res: Msg | null): Buffer[] | null => {
      if (!counted) {
        counted = true;
        stats?.completed(h.apiKey, def.name, h.apiVersion, body, res, performance.now() - startMs);
      }
      return res === null ? null : this.encode(h.apiKey, h.apiVersion, h.correlationId, res);
    };
    const failed = (err: unknown): Buffer[] => {
      if (!counted) {
        counted = true;
        stats?.completed(h.apiKey, def.name, h.apiVersion, body, null, performance.now() - startMs);
      }
      return this.failed(def, h.apiVersion, h.correlationId, body, err);
    };
    try {
      const out = handler(body, ctx);
      if (out instanceof Promise) return out.then(answer).catch(failed);
      return answer(out);
    } catch (err) {
      return failed(err);
    }
  }

  /**
   * An inter-broker request from this process (the controller to its own broker): the body is
   * encoded and decoded with the declarations both ways, exactly as it would cross the wire.
   */
  async local(apiKey: number, version: number, body: Msg, clientId: string): Promise<Msg> {
    const def = apiDef(apiKey);
    const handler = this.handlers.get(apiKey);
    const range = INTER_BROKER.get(apiKey);
    if (!def || !handler || !range || version < range[0] || version > range[1])
      throw new Error(`API ${apiKey} v${version} is not an inter-broker API`);
    const w = new KafkaWriter(256);
    def.request.encode(w, version, body);
    const req = def.request.decode(new KafkaReader(w.toBuffer()), version);
    // Inter-broker handlers never touch the connection (it exists only for client-facing APIs).
    const ctx = { apiKey, version, correlationId: 0, clientId, clientHost: 'local', conn: undefined } as unknown as RequestContext;
    // Counted like a request over the wire: Kafka's controller reaches its own broker through the network.
    const startMs = this.stats === undefined ? 0 : performance.now();
    const res = await handler(req, ctx);
    this.stats?.completed(apiKey, def.name, version, req, res, performance.now() - startMs);
    if (res === null) throw new Error(`API ${apiKey} gave no response`);
    const out = new KafkaWriter(256);
    def.response.encode(out, version, res);
    return def.response.decode(new KafkaReader(out.toBuffer()), version);
  }

  /** Called with a handler's unexpected exception (the broker logs it). */
  onHandlerError: (err: unknown, api: string) => void = () => undefined;

  private failed(def: ApiDef, version: number, correlationId: number, body: Msg, err: unknown): Buffer[] {
    this.onHandlerError(err, def.name);
    // Produce with acks=0 has no response to carry an error: Kafka closes the connection instead.
    if (def.key === 0 && body.acks === 0) throw err;
    return this.encode(def.key, version, correlationId, errorResponse(def.response.decl.fields, body, ErrorCode.UNKNOWN_SERVER_ERROR));
  }

  private readonly apiVersions: Handler = () => ({
    errorCode: ErrorCode.NONE,
    apiKeys: this.advertised(),
    throttleTimeMs: 0,
  });

  encode(apiKey: number, version: number, correlationId: number, body: Msg): Buffer[] {
    const def = apiDef(apiKey);
    if (!def) throw new Error(`no declaration for API ${apiKey}`);
    const w = new KafkaWriter(512);
    // ApiVersions responses always carry header v0 (KIP-511).
    writeResponseHeader(w, correlationId, apiKey !== API_VERSIONS_KEY && def.response.isFlexible(version));
    def.response.encode(w, version, body);
    return w.chunks();
  }
}
