// A minimal Kafka protocol client for broker-to-broker traffic: the controller's LeaderAndIsr,
// UpdateMetadata and StopReplica, the followers' replica fetches, AlterPartition and
// ControlledShutdown. Requests are encoded from the same declarations the broker decodes with
// (protocol/messages), pipelined on one socket and matched by correlation id. No version
// negotiation: like Kafka's inter-broker clients, callers pick fixed versions.

import { EventEmitter } from 'node:events';
import { type Socket, connect } from 'node:net';
import { apiDef } from '../protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../protocol/buffers.js';
import { skipTagBuffer, writeRequestHeader } from '../protocol/header.js';
import type { Msg } from '../protocol/schema.js';
import { FrameReader } from './frameReads.js';

export class BrokerClientError extends Error {
  constructor(
    message: string,
    /** True when the request may have reached the broker (timeout, connection lost after send). */
    readonly maybeSent: boolean,
  ) {
    super(message);
    this.name = 'BrokerClientError';
  }
}

export interface BrokerClientOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs?: number;
  /** Per-request deadline unless the call gives its own. */
  requestTimeoutMs?: number;
  /** A response frame larger than this closes the connection (bounds what one reply may buffer). */
  responseBytesMax?: number;
  /** Requests awaiting a response at once; further calls are refused, not queued. */
  inFlightMax?: number;
}

interface Pending {
  apiKey: number;
  version: number;
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface BrokerClientEvents {
  close: [];
}

export class BrokerClient extends EventEmitter<BrokerClientEvents> {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private isClosed = false;
  private readonly requestTimeoutMs: number;
  private readonly inFlightMax: number;

  private constructor(
    private readonly socket: Socket,
    readonly opts: BrokerClientOptions,
  ) {
    super();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.inFlightMax = opts.inFlightMax ?? 1024;
    socket.setNoDelay(true);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  static connect(opts: BrokerClientOptions): Promise<BrokerClient> {
    return new Promise((resolve, reject) => {
      // Responses are framed by a FrameReader fed through `onread` (frameReads.ts: no buffer per
      // read); it must exist before the socket does, so the client is bound to it on connect.
      let client: BrokerClient | undefined;
      const reader = new FrameReader({
        frameBytesMax: opts.responseBytesMax ?? 128 * 1024 * 1024,
        onFrame: (frame) => client?.onFrame(frame),
        onInvalid: () => client?.close(),
      });
      const socket = connect({ host: opts.host, port: opts.port, onread: reader.onreadOption() });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BrokerClientError(`connecting to ${opts.host}:${opts.port} timed out`, false));
      }, opts.connectTimeoutMs ?? 10_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new BrokerClientError(`connecting to ${opts.host}:${opts.port} failed: ${err.message}`, false));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        client = new BrokerClient(socket, opts);
        resolve(client);
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one request and resolves with the decoded response body. */
  request(apiKey: number, version: number, body: Msg, opts: { timeoutMs?: number } = {}): Promise<Msg> {
    const def = apiDef(apiKey);
    if (!def) return Promise.reject(new BrokerClientError(`unknown API key ${apiKey}`, false));
    if (this.isClosed) return Promise.reject(new BrokerClientError(`connection to ${this.where} is closed`, false));
    if (this.pending.size >= this.inFlightMax) {
      return Promise.reject(new BrokerClientError(`${this.pending.size} requests already in flight to ${this.where}`, false));
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff || 1;
    const w = new KafkaWriter(256);
    w.int32(0); // size, patched below
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: this.opts.clientId }, def.request.isFlexible(version));
    def.request.encode(w, version, body);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new BrokerClientError(`${def.name} v${version} to ${this.where} timed out after ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      this.socket.write(frame);
    });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new BrokerClientError(`connection to ${this.where} closed`, true));
    }
    this.emit('close');
  }

  private get where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) return; // timed out already
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    const def = apiDef(p.apiKey);
    try {
      const r = new KafkaReader(frame.subarray(4));
      // ApiVersions answers with header v0 whatever its version.
      if (p.apiKey !== 18 && def?.response.isFlexible(p.version)) skipTagBuffer(r);
      p.resolve(def!.response.decode(r, p.version));
    } catch (err) {
      p.reject(new BrokerClientError(`malformed ${def?.name} response from ${this.where}: ${(err as Error).message}`, true));
      this.close();
    }
  }
}
