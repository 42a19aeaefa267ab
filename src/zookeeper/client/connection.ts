// One TCP connection of a session: the socket, the frame decoder, and what is in flight on it
// (requests awaiting replies in send order, auth packets awaiting their out-of-band replies).
// The session decides what to do with frames and losses; this file only wires the socket.

import { connect as netConnect, type Socket } from 'node:net';
import { FrameDecoder } from '../protocol/framing.js';
import type { JuteReader, JuteWriter } from '../protocol/jute.js';
import { formatHost, type HostPort } from './connectString.js';
import { Fifo } from '../../util/fifo.js';

/** A request on its way: queued, or written and awaiting its reply. */
export interface Pending {
  xid: number;
  op: number;
  /** Client path, for error messages. */
  path: string | undefined;
  body: ((w: JuteWriter) => void) | null;
  /** Turns the reply (err, body reader) into the result, or throws a ZooKeeperError. */
  handle: (err: number, r: JuteReader) => unknown;
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** SetWatches: not a user request, not counted against pendingRequestsMax. */
  internal: boolean;
}

/** An addAuth identity; kept for the session's life and re-sent after each reconnect. */
export interface AuthInfo {
  scheme: string;
  auth: Buffer;
  /** addAuth() promises waiting for this packet's first successful reply. */
  waiters: { resolve(): void; reject(e: Error): void }[];
}

export interface ConnectionHandlers {
  /** TCP is up: send the ConnectRequest. */
  onConnect(c: Connection): void;
  /** One complete frame (a view into the socket data; parse it before returning). */
  onFrame(c: Connection, frame: Buffer): void;
  /** The connection failed or ended; called once. */
  onLost(c: Connection, reason: string): void;
}

export class Connection {
  readonly socket: Socket;
  /** `host:port`. */
  readonly server: string;
  private readonly decoder: FrameDecoder;
  /** The ConnectResponse has been accepted. */
  established = false;
  dead = false;
  /** Requests written, awaiting replies, in order (replies are strictly FIFO). */
  readonly sent = new Fifo<Pending>();
  /** Auth packets written, in order; their replies come back in order, outside the FIFO. */
  readonly auths = new Fifo<AuthInfo>();
  lastRecv: number;
  lastSend: number;
  /** Connect deadline before establishment; ping/read-timeout timer after. */
  timer: NodeJS.Timeout | undefined;

  constructor(host: HostPort, frameBytesMax: number, handlers: ConnectionHandlers) {
    this.server = formatHost(host);
    this.decoder = new FrameDecoder(frameBytesMax);
    this.lastRecv = this.lastSend = Date.now();
    const socket = netConnect({ host: host.host, port: host.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once('connect', () => {
      if (!this.dead) handlers.onConnect(this);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.dead) return;
      this.lastRecv = Date.now();
      this.decoder.push(chunk);
      try {
        while (!this.dead) {
          const f = this.decoder.next();
          if (f === undefined) break;
          handlers.onFrame(this, f);
        }
      } catch (e) {
        handlers.onLost(this, `protocol error: ${(e as Error).message}`);
      }
    });
    socket.on('error', (e) => handlers.onLost(this, e.message));
    socket.on('close', () => handlers.onLost(this, 'connection closed'));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
    this.lastSend = Date.now();
  }

  /** Tear down once; returns false if it was already dead. */
  kill(): boolean {
    if (this.dead) return false;
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
    return true;
  }
}
