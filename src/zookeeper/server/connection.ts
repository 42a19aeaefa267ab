// The socket shell of one client connection: framing, the handshake, four-letter words,
// back-pressure, and output batching (all replies produced in one event-loop turn leave in one
// socket write).

import type { Socket } from 'node:net';
import { JuteError, JuteReader, type JuteWriter } from '../protocol/jute.js';
import { decodeConnectRequest, encodeConnectResponse, type ConnectResponse } from '../protocol/connect.js';
import { FrameDecoder, FrameTooLargeError } from '../protocol/framing.js';
import { ReplyHeader, WatcherEvent, type IdT } from '../protocol/records.js';
import { KeeperState } from '../protocol/constants.js';
import { ConnStats } from './stats.js';
import { ReplyWriter } from './replyWriter.js';
import type { ClientConn, Pending, ZooKeeperServer } from './zkserver.js';
import { fourLetterCodes } from './fourletter.js';
import type { Logger } from '../../util/log.js';

let nextConnId = 1;

export interface ConnectionHooks {
  /** Answers a four-letter word; the text is written and the connection closed. */
  fourLetterWord(cmd: string, conn: ServerConnection, extra: Buffer | undefined): string;
  onClose(conn: ServerConnection): void;
}

export class ServerConnection implements ClientConn {
  readonly id = nextConnId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  sessionId = 0n;
  timeoutMs = 0;
  established = false;
  closed = false;
  authIds: IdT[];
  readonly queue: Pending[] = [];
  readonly stats = new ConnStats();
  private readonly decoder: FrameDecoder;
  /** CESU-8 strings, as ZooKeeper's BinaryOutputArchive writes them (replyWriter.ts). */
  private readonly out: JuteWriter = new ReplyWriter(4096);
  private flushScheduled = false;
  private handshakeDone = false;
  private paused = false;
  private closing = false;

  constructor(
    readonly socket: Socket,
    private readonly server: ZooKeeperServer,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.authIds = [{ scheme: 'ip', id: this.remoteAddress }];
    this.decoder = new FrameDecoder(server.opts.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows; resets are routine for clients
    socket.on('close', () => this.onSocketClosed());
    server.addConnection(this);
  }

  get authInfoText(): string {
    return this.authIds.map((a) => `${a.scheme}:${a.id}`).join(',');
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.decoder.push(chunk);
    try {
      if (!this.handshakeDone && this.tryFourLetterWord()) return;
      for (;;) {
        const frame = this.decoder.next();
        if (frame === undefined) break;
        if (!this.handshakeDone) {
          this.handshakeDone = true;
          const req = decodeConnectRequest(new JuteReader(frame));
          if (!this.server.connect(this, req)) {
            this.close(true);
            return;
          }
        } else if (!this.server.submit(this, frame)) {
          this.log.debug({ conn: this.id }, 'request header unreadable; closing connection');
          this.close(true);
          return;
        }
        if (this.closing) return;
        if (this.queue.length >= this.server.opts.outstandingRequestsMaxPerConnection) {
          // Stop reading until replies catch up; buffered frames wait in the decoder.
          this.paused = true;
          this.socket.pause();
          return;
        }
      }
    } catch (e) {
      if (e instanceof FrameTooLargeError) {
        this.log.warn({ conn: this.id, remote: this.remoteAddress, length: e.length }, 'frame exceeds jute.maxbuffer; closing connection');
      } else if (e instanceof JuteError) {
        this.log.warn({ conn: this.id, remote: this.remoteAddress, error: e.message }, 'malformed connect request; closing connection');
      } else {
        this.log.error({ conn: this.id, err: e }, 'unexpected error handling client data; closing connection');
      }
      this.close(true);
    }
  }

  /** On a new connection, the first 4 bytes may spell a four-letter word instead of a length. */
  private tryFourLetterWord(): boolean {
    const head = this.decoder.peekInt();
    if (head === undefined) return false;
    const cmd = fourLetterCodes.get(head);
    if (cmd === undefined) return false;
    // stmk carries an 8-byte trace mask after the command.
    const raw = this.decoder.takeRaw(cmd === 'stmk' ? 12 : 4);
    if (raw === undefined) return true;
    const extra = cmd === 'stmk' ? raw.subarray(4, 12) : undefined;
    this.closing = true;
    const text = this.hooks.fourLetterWord(cmd, this, extra);
    this.socket.end(text);
    return true;
  }

  resume(): void {
    if (!this.paused || this.closing) return;
    this.paused = false;
    this.socket.resume();
    this.onData(Buffer.alloc(0));
  }

  // ---- ClientConn

  sendReply(xid: number, zxid: number, err: number, encode?: (w: JuteWriter) => void): number {
    if (this.closing && !this.flushScheduled && this.out.pos === 0 && this.socket.destroyed) return 0;
    const w = this.out;
    const at = w.beginFrame();
    ReplyHeader.encode(w, { xid, zxid, err });
    const bodyAt = w.pos;
    if (encode) encode(w);
    const bodyBytes = w.pos - bodyAt;
    w.endFrame(at);
    this.scheduleFlush();
    if (this.paused && this.queue.length < this.server.opts.outstandingRequestsMaxPerConnection / 2) {
      setImmediate(() => this.resume());
    }
    return bodyBytes;
  }

  sendConnectResponse(resp: ConnectResponse): void {
    const w = this.out;
    const at = w.beginFrame();
    encodeConnectResponse(w, resp);
    w.endFrame(at);
    this.scheduleFlush();
  }

  notify(type: number, path: string, _zxid: number): void {
    if (this.closed) return;
    // Apache counts notifications as sent packets (srvr `Sent:`, mntr zk_packets_sent).
    this.server.stats.packetsSent++;
    this.stats.packetsSent++;
    const w = this.out;
    const at = w.beginFrame();
    // ZooKeeper 3.8 sends -1 as the zxid of every notification.
    ReplyHeader.encode(w, { xid: -1, zxid: -1, err: 0 });
    WatcherEvent.encode(w, { type, state: KeeperState.SyncConnected, path });
    w.endFrame(at);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.out.pos > this.server.opts.outputBufferBytesMax) {
      this.log.warn({ conn: this.id, bytes: this.out.pos }, 'client is not reading its replies; closing connection');
      this.out.reset();
      this.close(true);
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private flush = (): void => {
    this.flushScheduled = false;
    if (this.out.pos === 0) {
      // Nothing left to say: a closing connection (an expired session's) still has to end.
      if (this.closing && !this.socket.destroyed) this.socket.end();
      return;
    }
    const data = this.out.toBuffer();
    this.out.reset();
    if (!this.socket.destroyed) this.socket.write(data);
    if (this.socket.writableLength > this.server.opts.outputBufferBytesMax) {
      this.log.warn({ conn: this.id, bytes: this.socket.writableLength }, 'client is not reading its replies; closing connection');
      this.socket.destroy();
    }
    if (this.closing) this.socket.end();
  };

  close(now: boolean): void {
    if (this.closing && !now) return;
    this.closing = true;
    this.server.removeConnection(this);
    if (now) {
      this.flushScheduled = false;
      this.socket.destroy();
    } else if (!this.flushScheduled) {
      this.flush();
    }
  }

  private onSocketClosed(): void {
    this.closing = true;
    this.server.removeConnection(this);
    this.hooks.onClose(this);
  }
}

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
