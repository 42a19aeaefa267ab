// A frame-aware recording proxy for the Kafka protocol: listens on a free loopback port, forwards
// each connection to a broker, and splits both directions into size-prefixed frames so that every
// request (and the response with the same correlation id) can be kept as a golden fixture. The
// listening port exists before the broker does, so a broker can advertise it (advertised.listeners)
// and clients reach every broker connection, including the coordinator's, through the recorder.

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RecordedExchange {
  /** Which client run produced it (set by the caller through `label`). */
  label: string;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** The request frame without its 4-byte size prefix (header and body). */
  request: Buffer;
  /** The response frame without its size prefix; undefined when none came (acks=0 produce). */
  response?: Buffer;
}

export interface KafkaRecorder {
  port: number;
  /** Every exchange seen so far, in request order. */
  readonly exchanges: readonly RecordedExchange[];
  /** Label given to exchanges recorded from now on. */
  label: string;
  /** Where connections go; set once the broker is listening. */
  setTarget(host: string, port: number): void;
  close(): Promise<void>;
}

/** Largest frame the recorder buffers: a capture run has no business with bigger ones. */
const FRAME_MAX = 64 * 1024 * 1024;

/** Splits a byte stream into Kafka frames (int32 size, then the payload). */
class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (size < 0 || size > FRAME_MAX) throw new Error(`implausible Kafka frame size ${size}`);
      if (this.buf.length < 4 + size) return;
      this.onFrame(Buffer.from(this.buf.subarray(4, 4 + size)));
      this.buf = this.buf.subarray(4 + size);
    }
  }
}

export async function startKafkaRecorder(): Promise<KafkaRecorder> {
  const exchanges: RecordedExchange[] = [];
  const sockets = new Set<Socket>();
  let target: { host: string; port: number } | undefined;
  const rec: KafkaRecorder = {
    port: 0,
    exchanges,
    label: '',
    setTarget(host, port) {
      target = { host, port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const server: Server = createServer((client) => {
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    // Responses carry only the correlation id, so requests wait here until answered.
    const pending = new Map<number, RecordedExchange>();
    const reqSplit = new FrameSplitter((f) => {
      if (f.length < 8) return;
      const ex: RecordedExchange = {
        label: rec.label,
        apiKey: f.readInt16BE(0),
        apiVersion: f.readInt16BE(2),
        correlationId: f.readInt32BE(4),
        request: f,
      };
      exchanges.push(ex);
      pending.set(ex.correlationId, ex);
    });
    const resSplit = new FrameSplitter((f) => {
      if (f.length < 4) return;
      const ex = pending.get(f.readInt32BE(0));
      if (!ex) return;
      pending.delete(ex.correlationId);
      ex.response = f;
    });
    const end = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (c: Buffer) => {
      try {
        reqSplit.push(c);
      } catch {
        end();
        return;
      }
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      try {
        resSplit.push(c);
      } catch {
        end();
        return;
      }
      client.write(c);
    });
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('recorder has no port');
  rec.port = addr.port;
  return rec;
}
