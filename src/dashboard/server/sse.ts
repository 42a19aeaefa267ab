// Server-Sent Events streams, bounded: at most streamsMax open at once (503 beyond), and a client
// that does not read (its socket buffer above bufferedBytesMax) is dropped rather than buffered
// without bound. One heartbeat timer for all streams keeps proxies from closing idle ones.

import type { FastifyReply, FastifyRequest } from 'fastify';

export const streamsMaxDefault = 200;
/** Bytes queued on one stream's socket before the client counts as too slow and is dropped. */
export const bufferedBytesMax = 8 * 1024 * 1024;
export const heartbeatMs = 15_000;

export class SseStream {
  private readonly closers: (() => void)[] = [];
  closed = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly onGone: (s: SseStream) => void,
  ) {}

  /** `event: <event>` with `data` as JSON; false when the stream is (now) closed. */
  send(event: string, data: unknown): boolean {
    return this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): boolean {
    return this.write(`: ${text}\n\n`);
  }

  write(chunk: string): boolean {
    if (this.closed) return false;
    const raw = this.reply.raw;
    if (raw.writableLength > bufferedBytesMax) {
      this.close();
      return false;
    }
    raw.write(chunk);
    return true;
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onGone(this);
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch {
        // a closer's failure must not keep the others from running
      }
    }
    this.reply.raw.end();
  }
}

export class SseHub {
  private readonly streams = new Set<SseStream>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly streamsMax = streamsMaxDefault) {
    this.timer = setInterval(() => {
      for (const s of this.streams) s.comment('heartbeat');
    }, heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream on this request (the reply is hijacked); undefined after answering 503 when
   * streamsMax are open.
   */
  open(req: FastifyRequest, reply: FastifyReply): SseStream | undefined {
    if (this.streams.size >= this.streamsMax) {
      void reply
        .code(503)
        .send({ error: `at most ${this.streamsMax} live streams are served at once; close other tabs`, code: 'UNAVAILABLE' });
      return undefined;
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write(': open\n\n');
    const s = new SseStream(reply, (x) => this.streams.delete(x));
    this.streams.add(s);
    req.raw.on('close', () => s.close());
    reply.raw.on('error', () => s.close());
    return s;
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of [...this.streams]) s.close();
  }
}
