// One client connection: length-prefixed frames in, responses out in request order.
//
// Like Kafka's SocketServer, a connection has one request in processing at a time: the next
// frame is handled after the previous response is queued. That keeps an idempotent producer's
// pipelined batches in order and makes a parked Fetch hold its connection, which clients expect.
// Frames that arrive meanwhile wait in a bounded queue; past it the socket is paused, so a
// client that pipelines without limit is slowed by TCP, not buffered without bound.
// One exception: a Produce parked for acks=all has done all its work but wait (its appends are
// synchronous), so the Produce frames after it are appended meanwhile, up to
// parkedProducesPerConnectionMax, and answered in order. Appends stay in request order, but one
// follower fetch then carries several requests' records instead of one: without it an acks=all
// producer's connection moved one request per replication round trip. Any other API waits until
// the parked produces are answered, as before.

import type { Socket } from 'node:net';
import { KafkaReader, ProtocolError } from '../protocol/buffers.js';
import { releaseReadBuffer } from '../storage/readBuffers.js';
import { readIntoSharedBuffer } from './socketReads.js';

export interface ConnectionLimits {
  /** socket.request.max.bytes: a frame announcing more is refused before it is buffered. */
  requestBytesMax: number;
  /** Frames read ahead of the one in processing before the socket is paused. */
  queuedFramesMax: number;
}

/** Handles one frame; resolves to the response chunks, or null for no response (acks=0). */
export type FrameHandler = (frame: Buffer, conn: Connection) => Promise<Buffer[] | null> | Buffer[] | null;

const PRODUCE_KEY = 0;
/** acks=all produces of one connection appended and waiting for replication at once. */
export const parkedProducesPerConnectionMax = 8;
/** Larger joined frames are left to the GC: a rare huge request should not stay held per connection. */
const SPARE_BYTES_MAX = 8 * 1024 * 1024;
/** Frames up to this size copied out of a shared read come from Node's pooled slab. */
const POOLED_FRAME_BYTES_MAX = 4096;
/** A gathered frame with at least this much still to come is read straight into its buffer. */
const DIRECT_READ_BYTES_MIN = 64 * 1024;

export class Connection {
  /** Pieces of the frame being gathered, and its size (-1 between frames). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private frameSize = -1;
  /** A frame's size prefix split between reads. */
  private readonly sizeBuf = Buffer.alloc(4);
  private sizeBytes = 0;
  /**
   * Produce frames of several reads are joined into a buffer this connection keeps and reuses
   * (recycle), so a producer's stream of ~1 MB requests is not a stream of 1 MB allocations for
   * the garbage collector. Produce is the one API whose request leaves nothing behind that points
   * into its frame (the records are written to the log, which keeps no reference).
   */
  private spare: Buffer | null = null;
  /** The frame being gathered straight into the spare buffer (then `pending` stays empty). */
  private into: Buffer | null = null;
  private readonly joined = new WeakSet<ArrayBufferLike>();
  private readonly queue: Buffer[] = [];
  private busy = false;
  private closed = false;
  /** Parked produces not answered yet, and the promise of the last one's answer (sent in order). */
  private parkedProduces = 0;
  private answered: Promise<void> = Promise.resolve();
  readonly clientHost: string;
  /** Whether reads come through the buffer shared by all connections (socketReads.ts). */
  readonly readsShared: boolean;

  constructor(
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handle: FrameHandler,
    private readonly onError: (err: unknown, conn: Connection) => void,
  ) {
    this.clientHost = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    // Sockets accepted with pauseOnConnect read into a buffer shared by all connections
    // (socketReads.ts); others, or when Node lacks the hook, through 'data' (a fresh buffer per read).
    this.readsShared = readIntoSharedBuffer(
      socket,
      (d, inPlace) => this.onData(d, true, inPlace),
      () => this.readTarget(),
    );
    if (!this.readsShared) socket.on('data', (d: Buffer) => this.onData(d, false, false));
    socket.resume();
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
    this.pending = [];
    this.into = null;
    this.spare = null;
    this.socket.destroy();
  }

  // Framing without re-copying: a frame that arrives inside one read is a view of that read's
  // buffer (Node gives each read a fresh one, so the view is ours to validate and stamp in place);
  // a frame spread over reads is gathered as views and joined once, when its last byte arrives.
  // Only what has arrived is held, so a client announcing a large frame costs nothing up front.
  // A `shared` read buffer is reused by the next read: what is kept of it is copied (a Produce
  // frame straight into the spare buffer, so still one copy; and the rest of a large Produce frame
  // is read by the kernel straight into that buffer, `inPlace`, with no copy in JS at all).
  private onData(d: Buffer, shared: boolean, inPlace: boolean): void {
    if (this.closed) return;
    if (inPlace && (this.into === null || d.buffer !== this.into.buffer || d.byteOffset !== this.into.byteOffset + this.pendingBytes)) {
      // readTarget offered exactly the frame's missing bytes; anything else is a bug, not input.
      this.onError(new Error('socket read landed outside the frame being gathered'), this);
      this.close();
      return;
    }
    const n = d.length;
    let off = 0;
    while (off < n) {
      if (this.frameSize >= 0) {
        const take = Math.min(this.frameSize - this.pendingBytes, n - off);
        if (inPlace) {
          // Already in place (readTarget offered no more than the frame's missing bytes).
        } else if (this.into !== null) d.copy(this.into, this.pendingBytes, off, off + take);
        else if (shared) this.pending.push(Buffer.from(d.subarray(off, off + take)));
        else this.pending.push(off === 0 && take === n ? d : d.subarray(off, off + take));
        this.pendingBytes += take;
        off += take;
        if (this.pendingBytes < this.frameSize) break;
        this.queue.push(this.into ?? this.join());
        this.into = null;
        this.pending = [];
        this.pendingBytes = 0;
        this.frameSize = -1;
        continue;
      }
      let size: number;
      if (this.sizeBytes === 0 && n - off >= 4) {
        size = d.readInt32BE(off);
        off += 4;
      } else {
        // The 4-byte size itself was split between reads.
        while (this.sizeBytes < 4 && off < n) this.sizeBuf[this.sizeBytes++] = d[off++] as number;
        if (this.sizeBytes < 4) break;
        size = this.sizeBuf.readInt32BE(0);
        this.sizeBytes = 0;
      }
      if (size < 0 || size > this.limits.requestBytesMax) {
        this.onError(new ProtocolError(`request of ${size} bytes exceeds socket.request.max.bytes ${this.limits.requestBytesMax}`), this);
        this.close();
        return;
      }
      if (n - off >= size) {
        this.queue.push(shared ? this.copyOut(d, off, size) : d.subarray(off, off + size));
        off += size;
      } else {
        this.frameSize = size;
        // A Produce frame (its api key is at hand) is gathered into the spare buffer when that
        // fits, each read copied while still in cache; other frames keep views of their bytes.
        if (this.spare !== null && this.spare.length >= size && n - off >= 2 && d.readInt16BE(off) === PRODUCE_KEY) {
          this.into = this.spare.subarray(0, size);
          this.spare = null;
        }
      }
    }
    if (this.queue.length >= this.limits.queuedFramesMax) this.socket.pause();
    this.pump();
  }

  /** Where the next shared-mode read should land: the missing part of a large frame being gathered. */
  private readTarget(): Buffer | null {
    if (this.into === null || this.closed) return null;
    const missing = this.frameSize - this.pendingBytes;
    return missing >= DIRECT_READ_BYTES_MIN ? this.into.subarray(this.pendingBytes, this.frameSize) : null;
  }

  /** A frame lying whole in a shared read, copied into a buffer of this connection's own. */
  private copyOut(d: Buffer, off: number, size: number): Buffer {
    if (size <= POOLED_FRAME_BYTES_MAX) return Buffer.from(d.subarray(off, off + size));
    let out: Buffer;
    if (this.spare !== null && this.spare.length >= size && d.readInt16BE(off) === PRODUCE_KEY) {
      out = this.spare.subarray(0, size);
      this.spare = null;
    } else {
      out = Buffer.allocUnsafeSlow(size);
      this.joined.add(out.buffer);
    }
    d.copy(out, 0, off, off + size);
    return out;
  }

  /** One buffer holding the gathered pieces; one we own, so it may be recycled after handling. */
  private join(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.frameSize);
    this.joined.add(out.buffer);
    let o = 0;
    for (const p of this.pending) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Keeps a handled Produce frame's joined buffer for the next large frame (see `spare`). */
  private recycle(frame: Buffer): void {
    if (this.closed || frame.length < 2 || frame.readInt16BE(0) !== PRODUCE_KEY || !this.joined.has(frame.buffer)) return;
    if (frame.buffer.byteLength > SPARE_BYTES_MAX) return;
    if (this.spare === null || this.spare.length < frame.buffer.byteLength) this.spare = Buffer.from(frame.buffer);
  }

  private pump(): void {
    while (!this.busy && !this.closed) {
      const next = this.queue[0];
      if (next === undefined) break;
      const isProduce = next.length >= 2 && next.readInt16BE(0) === PRODUCE_KEY;
      // Only Produce runs past parked produces (their last answer calls pump again).
      if (this.parkedProduces > 0 && (!isProduce || this.parkedProduces >= parkedProducesPerConnectionMax)) break;
      const frame = this.queue.shift() as Buffer;
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
        if (this.parkedProduces === 0) {
          this.send(out);
          this.recycle(frame);
        } else this.sendInOrder(Promise.resolve(out), frame);
        continue;
      }
      if (isProduce) {
        this.sendInOrder(out, frame);
        continue;
      }
      this.busy = true;
      out.then(
        (chunks) => {
          this.busy = false;
          this.send(chunks);
          this.recycle(frame);
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

  /** Answers a produce after every produce handled before it (see the head of this file). */
  private sendInOrder(out: Promise<Buffer[] | null>, frame: Buffer): void {
    this.parkedProduces++;
    const before = this.answered;
    this.answered = Promise.all([before, out]).then(
      ([, chunks]) => {
        this.parkedProduces--;
        this.send(chunks);
        this.recycle(frame);
        this.pump();
      },
      (err: unknown) => {
        this.parkedProduces--;
        this.onError(err, this);
        this.close();
      },
    );
  }

  private send(chunks: Buffer[] | null): void {
    if (chunks === null || this.closed) return;
    let size = 0;
    for (const c of chunks) size += c.length;
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(size, 0);
    this.socket.cork();
    this.socket.write(prefix);
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i] as Buffer);
    // Segment reads come from a pool: once the last chunk is written (or the socket failed), the
    // kernel has them all and they can be reused (storage/readBuffers.ts).
    if (chunks.length > 0) this.socket.write(chunks[chunks.length - 1] as Buffer, () => releaseAll(chunks));
    process.nextTick(uncork, this.socket);
  }
}

function releaseAll(chunks: Buffer[]): void {
  for (const c of chunks) releaseReadBuffer(c);
}

function uncork(socket: Socket): void {
  socket.uncork();
}

/** Reads the int16 api key and version of a frame, for error paths that must not decode further. */
export function peekApi(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  const r = new KafkaReader(frame);
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}
