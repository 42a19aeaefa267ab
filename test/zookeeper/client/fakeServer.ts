// A scripted ZooKeeper server for protocol-level client tests: it records every frame the
// client sends and lets the test decide what to answer, byte for byte.

import { createServer, type Server, type Socket } from 'node:net';
import { decodeConnectRequest, encodeConnectResponse, type ConnectRequest } from '../../../src/zookeeper/protocol/connect.js';
import { FrameDecoder } from '../../../src/zookeeper/protocol/framing.js';
import { JuteReader, JuteWriter } from '../../../src/zookeeper/protocol/jute.js';
import { ReplyHeader, RequestHeader } from '../../../src/zookeeper/protocol/records.js';
import { Inbox } from '../../helpers/wait.js';

export interface FakeRequest {
  xid: number;
  type: number;
  /** Body after the RequestHeader (a copy). */
  body: Buffer;
  at: number;
}

export type ConnectDecision = { timeOut: number; sessionId: bigint; passwd?: Buffer } | 'close' | 'silent';

export class FakeConn {
  readonly requests = new Inbox<FakeRequest>();
  connectRequest: ConnectRequest | undefined;
  closed = false;
  /** Answer pings automatically (default true). */
  autoPing = true;

  constructor(readonly socket: Socket) {}

  /** Send a reply frame: header plus an optional body writer. */
  reply(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): void {
    const w = new JuteWriter(256);
    const at = w.beginFrame();
    ReplyHeader.encode(w, { xid, zxid, err });
    body?.(w);
    w.endFrame(at);
    this.socket.write(w.toBuffer());
  }

  sendRaw(b: Buffer): void {
    this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Next request that is not a ping. */
  async nextRequest(timeoutMs = 5_000): Promise<FakeRequest> {
    for (;;) {
      const r = await this.requests.next(timeoutMs, 'a client request');
      if (r.type !== 11) return r;
    }
  }
}

export class FakeZooKeeper {
  readonly connections = new Inbox<FakeConn>();
  private readonly server: Server;
  port = 0;
  /** Decide how to answer each ConnectRequest; default: a session with the requested timeout. */
  onConnect: (req: ConnectRequest, n: number) => ConnectDecision = (req) => ({
    timeOut: req.timeOut,
    sessionId: req.sessionId === 0n ? 0x1234n : req.sessionId,
  });
  private count = 0;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((s) => this.accept(s));
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    this.port = a.port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const conn = new FakeConn(socket);
    const n = this.count++;
    const dec = new FrameDecoder(1 << 24);
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.closed = true;
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      dec.push(chunk);
      for (let f = dec.next(); f !== undefined; f = dec.next()) {
        const r = new JuteReader(f);
        if (conn.connectRequest === undefined) {
          conn.connectRequest = decodeConnectRequest(r);
          const d = this.onConnect(conn.connectRequest, n);
          this.connections.push(conn);
          if (d === 'close') {
            socket.destroy();
            return;
          }
          if (d === 'silent') continue;
          const w = new JuteWriter(64);
          const at = w.beginFrame();
          encodeConnectResponse(w, {
            protocolVersion: 0,
            timeOut: d.timeOut,
            sessionId: d.sessionId,
            passwd: d.passwd ?? Buffer.alloc(16, 7),
            readOnly: conn.connectRequest.readOnly === undefined ? undefined : false,
          });
          w.endFrame(at);
          socket.write(w.toBuffer());
          continue;
        }
        const h = RequestHeader.decode(r);
        const req: FakeRequest = { xid: h.xid, type: h.type, body: Buffer.from(f.subarray(r.pos)), at: Date.now() };
        if (h.type === 11 && conn.autoPing) conn.reply(-2, 0, 0);
        conn.requests.push(req);
      }
    });
  }
}
