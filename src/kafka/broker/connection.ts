// One client connection: length-prefixed frames in, responses out in request order.
//
// Like Kafka's SocketServer, a connection has one request in processing at a time: the next
// frame is handled after the previous response is queued. That keeps an idempotent producer's
// pipelined batches in order and makes a parked Fetch hold its connection, which clients expect.
// Frames that arrive meanwhile wait in a bounded queue; past it the socket is paused, so a
// client that pipelines without limit is slowed by TCP, not buffered without bound.

import type { Socket } from 'node:net';
import { KafkaReader, ProtocolError } from '../protocol/buffers.js';

export interface ConnectionLimits {
  /** socket.request.max.bytes: a frame announcing more is refused before it is buffered. */
  requestBytesMax: number;
  /** Frames read ahead of the one in processing before the socket is paused. */
  queuedFramesMax: number;
}

/** Handles one frame; resolves to the response chunks, or null for no response (acks=0). */
export type FrameHandler = (frame: Buffer, conn: Connection) => Promise<Buffer[] | null> | Buffer[] | null;

export class Connection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private closed = false;
  readonly clientHost: string;

  constructor(
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handle: FrameHandler,
    private readonly onError: (err: unknown, conn: Connection) => void,
  ) {
    this.clientHost = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => this.close());
    socket.on('close', () => {
      this.closed = true;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.pending.push(d);
    this.pendingBytes += d.length;
    for (;;) {
      if (this.pendingBytes < 4) break;
      const head = this.peekSize();
      if (head < 0 || head > this.limits.requestBytesMax) {
        this.onError(new ProtocolError(`request of ${head} bytes exceeds socket.request.max.bytes ${this.limits.requestBytesMax}`), this);
        this.close();
        return;
      }
      if (this.pendingBytes < 4 + head) break;
      const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
      const frame = all.subarray(4, 4 + head);
      const rest = all.subarray(4 + head);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.queue.push(frame);
    }
    if (this.queue.length >= this.limits.queuedFramesMax) this.socket.pause();
    this.pump();
  }

  private peekSize(): number {
    const first = this.pending[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.pending).readInt32BE(0);
  }

  private pump(): void {
    while (!this.busy && !this.closed) {
      const frame = this.queue.shift();
      if (frame === undefined) break;
      if (this.queue.length < this.limits.queuedFramesMax && this.socket.isPaused()) this.socket.resume();
      let out: Promise<Buffer[] | null> | Buffer[] | null;
      try {
        out = this.handle(frame, this);
      } catch (err) {
        this.onError(err, this);
        this.close();
        return;
      }
      if (out === null || Array.isArray(out)) {
        this.send(out);
        continue;
      }
      this.busy = true;
      out.then(
        (chunks) => {
          this.busy = false;
          this.send(chunks);
          this.pump();
        },
        (err: unknown) => {
          this.busy = false;
          this.onError(err, this);
          this.close();
        },
      );
    }
  }

  private send(chunks: Buffer[] | null): void {
    if (chunks === null || this.closed) return;
    let size = 0;
    for (const c of chunks) size += c.length;
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(size, 0);
    this.socket.cork();
    this.socket.write(prefix);
    for (const c of chunks) this.socket.write(c);
    process.nextTick(() => this.socket.uncork());
  }
}

/** Reads the int16 api key and version of a frame, for error paths that must not decode further. */
export function peekApi(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  const r = new KafkaReader(frame);
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}
