// The TCP shell between consensus cores (quorum/peer.ts): one connection per pair of peers per
// port. Election notifications (`vote`) travel on election-port connections, everything else on
// quorum-port connections, as in ZooKeeper (3888 / 2888).
//
// Connections: the peer with the higher id dials the lower one. Both ends open with a hello
// frame (codec.ts): the dialer sends its hello on connect; the acceptor checks it (magic,
// version, a higher id, the right port, not cut; a peer it does not know is learnt from the
// address in its hello, and addPeer adds a reconfig's new members) and answers with its own
// hello, or closes. A link is "up" at each end once it has the other end's hello, so a refused
// dial never looks like a connection that came up and broke. A new connection from a peer
// replaces its old one (the peer restarted, or noticed a failure first). Dialers retry after a
// failed dial, quickly at first, then every reconnectMs while the transport runs. A transport
// that starts says hello once to each peer with a higher id: a hello from a lower id is a
// request to be dialed now, so a member starting after its peers does not wait for their
// redial timers (ZooKeeper's QuorumCnxManager answers a connection from a lower id the same way).
//
// Frames are a 4-byte big-endian length + a message body (codec.ts), checked against
// frameBytesMax before anything is buffered. Output is encoded into a per-connection buffer and
// written once per event-loop turn; a connection whose pending output exceeds outputBytesMax
// is closed as too slow. Messages sent while a link is down are dropped: the contract of the
// core (types.ts) is FIFO while connected, and a broken quorum link is reported once through
// onDisconnected. A link that comes up is reported through onConnected, so the owner can re-send
// what the link dropped while it was down (a vote sent before the peer listened).
//
// Fault injection (tests, the test-cluster API): cut(peer) closes both links to a peer and
// refuses to connect to it until heal(peer).

import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder, FrameTooLargeError } from '../protocol/framing.js';
import { JuteError, JuteWriter } from '../protocol/jute.js';
import type { Logger } from '../../util/log.js';
import {
  decodeHello,
  decodeMsg,
  encodeHelloInto,
  encodeMsgInto,
  HELLO_BYTES,
  HELLO_BYTES_MAX,
  QUORUM_PROTOCOL_VERSION,
  type Channel,
} from './codec.js';
import type { Msg, PeerId } from './types.js';

export type { Channel } from './codec.js';

/** First redial delay after a failed dial; doubles per failure up to reconnectMs. */
const REDIAL_FIRST_MS = 20;

export interface PeerAddress {
  id: PeerId;
  host: string;
  quorumPort: number;
  electionPort: number;
}

export interface PeerTransportOptions {
  myId: PeerId;
  /** Every member, including me (my entry gives the host and ports to listen on). */
  peers: PeerAddress[];
  /** Largest frame body accepted or sent; a bigger incoming frame closes that connection. */
  frameBytesMax: number;
  /** Per connection: output not yet taken by the kernel beyond this closes it as too slow. */
  outputBytesMax: number;
  /** Dialers retry this often while a link is down. */
  reconnectMs: number;
  /** First redial delay after a failed dial; doubles per failure up to reconnectMs (default 20 ms). */
  redialFirstMs?: number;
  /** A connection must complete TCP connect + hello exchange within this (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /** Inbound connections that have not yet sent a valid hello, per transport (default 64). */
  pendingConnectionsMax?: number;
  log: Logger;
  onMessage(from: PeerId, msg: Msg): void;
  /** Once for each quorum-port link that was up and broke (never for election links). */
  onDisconnected(peer: PeerId): void;
  /** Each time a link (either channel) to `peer` completes its hello exchange. */
  onConnected?(peer: PeerId, channel: Channel): void;
}

export interface TransportStats {
  /** Links that completed the hello exchange. */
  linksUp: number;
  /** Inbound connections refused at the hello (garbage, unknown peer, version, cut, ...). */
  rejected: number;
  /** Dials that failed before the link came up (refused, timed out, rejected by the peer). */
  dialFailures: number;
  /** Hellos from lower ids received: requests to dial them now. */
  dialRequests: number;
  /** Connections closed because the peer did not read (outputBytesMax). */
  tooSlow: number;
  /** Connections closed because of an oversized or malformed frame. */
  badFrames: number;
  /** Messages dropped by send() because the link was down. */
  dropped: number;
  messagesIn: number;
  messagesOut: number;
}

/** A flush larger than this hands its buffer to the socket instead of copying it. */
const HANDOFF_BYTES = 64 * 1024;
const WRITER_INITIAL_BYTES = 4096;

/** Socket errors that are normal while peers restart or the network flaps: logged at debug. */
const ROUTINE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

class Link {
  readonly decoder: FrameDecoder;
  out = new JuteWriter(WRITER_INITIAL_BYTES);
  /** Hello received from the other end (and, on the acceptor, answered). */
  up = false;
  closed = false;
  flushScheduled = false;
  handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    readonly channel: Channel,
    /** True if I dialed it; then `peer` is known from the start. */
    readonly dialed: boolean,
    public peer: PeerId | undefined,
    frameBytesMax: number,
  ) {
    this.decoder = new FrameDecoder(frameBytesMax);
  }
}

const CHANNELS: readonly Channel[] = ['quorum', 'election'];

function channelOf(msg: Msg): Channel {
  return msg.t === 'vote' ? 'election' : 'quorum';
}

function keyOf(channel: Channel, peer: PeerId): string {
  return `${channel}:${peer}`;
}

export class PeerTransport {
  readonly stats: TransportStats = {
    linksUp: 0,
    rejected: 0,
    dialFailures: 0,
    dialRequests: 0,
    tooSlow: 0,
    badFrames: 0,
    dropped: 0,
    messagesIn: 0,
    messagesOut: 0,
  };

  private readonly me: PeerAddress;
  private readonly peers = new Map<PeerId, PeerAddress>();
  private readonly log: Logger;
  private readonly handshakeTimeoutMs: number;
  private readonly pendingConnectionsMax: number;
  private readonly servers: Server[] = [];
  /** The one link (up, or being dialed) per channel and peer. */
  private readonly links = new Map<string, Link>();
  /** Accepted connections whose hello has not arrived yet. */
  private readonly pending = new Set<Link>();
  private readonly sockets = new Set<Socket>();
  /** Sockets that asked a higher peer to dial me (askToDial), until the peer closes them. */
  private readonly askers = new Set<Socket>();
  private readonly redialTimers = new Map<string, NodeJS.Timeout>();
  /** Dial failures in a row per link key (the redial back-off); reset when the link comes up. */
  private readonly redialFailures = new Map<string, number>();
  private readonly cutPeers = new Set<PeerId>();
  private readonly socketsDrained: (() => void)[] = [];
  private running = false;
  private closed = false;

  constructor(private readonly opts: PeerTransportOptions) {
    for (const p of opts.peers) {
      if (this.peers.has(p.id)) throw new Error(`peer id ${p.id} listed twice`);
      this.peers.set(p.id, p);
    }
    const me = this.peers.get(opts.myId);
    if (!me) throw new Error(`my id ${opts.myId} is not among the peers`);
    this.me = me;
    if (!(opts.frameBytesMax > 0)) throw new Error('frameBytesMax must be positive');
    if (opts.outputBytesMax < opts.frameBytesMax) {
      throw new Error(`outputBytesMax (${opts.outputBytesMax}) must be at least frameBytesMax (${opts.frameBytesMax})`);
    }
    if (!(opts.reconnectMs > 0)) throw new Error('reconnectMs must be positive');
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    this.pendingConnectionsMax = opts.pendingConnectionsMax ?? 64;
    this.log = opts.log.child({ myId: opts.myId });
  }

  /** Listens on my quorum and election ports, then dials every peer with a lower id. */
  async start(): Promise<void> {
    if (this.running || this.closed) throw new Error('PeerTransport.start called twice');
    this.running = true;
    try {
      for (const channel of CHANNELS) {
        const port = channel === 'quorum' ? this.me.quorumPort : this.me.electionPort;
        const server = createServer((socket) => this.onAccept(socket, channel));
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, this.me.host, () => {
            server.off('error', reject);
            server.on('error', (err) => this.log.error({ err, channel }, 'quorum listener error'));
            resolve();
          });
        });
      }
    } catch (e) {
      await this.close();
      throw e;
    }
    this.log.debug(
      { host: this.me.host, quorumPort: this.me.quorumPort, electionPort: this.me.electionPort },
      'quorum transport listening',
    );
    for (const p of this.peers.values()) {
      if (p.id < this.opts.myId) for (const c of CHANNELS) this.dial(p.id, c);
      else if (p.id > this.opts.myId) for (const c of CHANNELS) this.askToDial(p.id, c);
    }
  }

  /**
   * A member of a configuration (a reconfig's): connects to it if it is new, and again at its
   * new address if that changed (an observer moved by reconfig).
   */
  addPeer(addr: PeerAddress): void {
    if (addr.id === this.opts.myId) return;
    const old = this.peers.get(addr.id);
    if (old && old.host === addr.host && old.quorumPort === addr.quorumPort && old.electionPort === addr.electionPort) return;
    this.peers.set(addr.id, { ...addr });
    for (const c of CHANNELS) {
      const link = old ? this.links.get(keyOf(c, addr.id)) : undefined;
      if (link) this.closeLink(link, 'peer moved');
    }
    this.log.info({ peer: addr.id, host: addr.host, quorumPort: addr.quorumPort, electionPort: addr.electionPort }, 'quorum peer added');
    if (!this.running) return;
    if (addr.id < this.opts.myId) for (const c of CHANNELS) this.dial(addr.id, c);
    else for (const c of CHANNELS) this.askToDial(addr.id, c);
  }

  /** True if the link of this kind to `peer` has completed its hello exchange. */
  isConnected(peer: PeerId, channel: Channel = 'quorum'): boolean {
    return this.links.get(keyOf(channel, peer))?.up === true;
  }

  /** Queues `msg` on the link it travels on; dropped if that link is down. */
  send(to: PeerId, msg: Msg): void {
    const link = this.links.get(keyOf(channelOf(msg), to));
    if (!link?.up) {
      this.stats.dropped++;
      return;
    }
    const w = link.out;
    const at = w.beginFrame();
    try {
      encodeMsgInto(w, msg);
    } catch (e) {
      w.pos = at; // keep the stream whole; an unencodable message is the caller's bug
      throw e;
    }
    const len = w.pos - at - 4;
    if (len > this.opts.frameBytesMax) {
      w.pos = at;
      this.log.error(
        { peer: to, channel: link.channel, type: msg.t, bytes: len, frameBytesMax: this.opts.frameBytesMax },
        'quorum message exceeds frameBytesMax; closing connection',
      );
      this.closeLink(link, 'message too large');
      return;
    }
    w.endFrame(at);
    this.stats.messagesOut++;
    if (w.pos + link.socket.writableLength > this.opts.outputBytesMax) {
      this.tooSlow(link, w.pos + link.socket.writableLength);
      return;
    }
    if (!link.flushScheduled) {
      link.flushScheduled = true;
      setImmediate(() => this.flush(link));
    }
  }

  /** Closes both links to `peer` and refuses to (re)connect to it until heal(peer). */
  cut(peer: PeerId): void {
    if (!this.peers.has(peer) || peer === this.opts.myId) return;
    this.cutPeers.add(peer);
    for (const c of CHANNELS) {
      const key = keyOf(c, peer);
      const t = this.redialTimers.get(key);
      if (t) {
        clearTimeout(t);
        this.redialTimers.delete(key);
      }
      const link = this.links.get(key);
      if (link) this.closeLink(link, 'cut');
    }
    this.log.debug({ peer }, 'peer cut');
  }

  heal(peer: PeerId): void {
    if (!this.cutPeers.delete(peer)) return;
    this.log.debug({ peer }, 'peer healed');
    if (peer < this.opts.myId) for (const c of CHANNELS) this.dial(peer, c);
  }

  cutAll(): void {
    for (const id of this.peers.keys()) if (id !== this.opts.myId) this.cut(id);
  }

  healAll(): void {
    for (const id of [...this.cutPeers]) this.heal(id);
  }

  /**
   * Stops listening and dialing and closes every connection; resolves once all sockets are
   * closed. Links closed this way do not call onDisconnected (the owner is going away).
   */
  async close(): Promise<void> {
    if (this.closed) {
      await this.allSocketsClosed();
      return;
    }
    this.closed = true;
    this.running = false;
    for (const t of this.redialTimers.values()) clearTimeout(t);
    this.redialTimers.clear();
    for (const link of [...this.links.values(), ...this.pending]) this.closeLink(link, 'transport closed', false);
    for (const s of this.askers) s.destroy();
    const servers = this.servers.splice(0);
    await Promise.all([
      this.allSocketsClosed(),
      ...servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
    ]);
  }

  private allSocketsClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.socketsDrained.push(resolve));
  }

  // ---- connections

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) for (const f of this.socketsDrained.splice(0)) f();
    });
  }

  private dial(peer: PeerId, channel: Channel): void {
    const key = keyOf(channel, peer);
    if (!this.running || this.cutPeers.has(peer) || this.links.has(key) || this.redialTimers.has(key)) return;
    const addr = this.peers.get(peer)!;
    const port = channel === 'quorum' ? addr.quorumPort : addr.electionPort;
    const socket = connect({ host: addr.host, port });
    this.track(socket);
    const link = new Link(socket, channel, true, peer, this.opts.frameBytesMax);
    this.links.set(key, link);
    this.armHandshakeTimer(link);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.setKeepAlive(true, 10_000);
      socket.write(this.helloFrame(channel));
    });
    this.wire(link);
  }

  /** My hello on `channel`, framed: what a dial and an answer to one start with. */
  private helloFrame(channel: Channel): Buffer {
    const w = new JuteWriter(4 + HELLO_BYTES_MAX);
    const at = w.beginFrame();
    const { host, quorumPort, electionPort } = this.me;
    encodeHelloInto(w, { version: QUORUM_PROTOCOL_VERSION, peerId: this.opts.myId, channel, address: { host, quorumPort, electionPort } });
    w.endFrame(at);
    return w.toBuffer();
  }

  /**
   * Says hello to a peer with a higher id, which it takes as a request to dial me now (onHello).
   * Once, at start: if the peer is not up, it dials me when it starts; if it is, it would
   * otherwise wait out its redial back-off. The peer closes the connection without answering.
   */
  private askToDial(peer: PeerId, channel: Channel): void {
    const addr = this.peers.get(peer)!;
    const socket = connect({ host: addr.host, port: channel === 'quorum' ? addr.quorumPort : addr.electionPort });
    this.track(socket);
    this.askers.add(socket);
    const timer = setTimeout(() => socket.destroy(), this.handshakeTimeoutMs);
    timer.unref();
    socket.setNoDelay(true);
    socket.on('connect', () => socket.end(this.helloFrame(channel)));
    socket.on('data', () => socket.destroy()); // nothing is expected back
    socket.on('error', () => {}); // refused: the peer is not up yet, and will dial me when it is
    socket.once('close', () => {
      clearTimeout(timer);
      this.askers.delete(socket);
    });
  }

  private onAccept(socket: Socket, channel: Channel): void {
    this.track(socket);
    if (!this.running) {
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.pendingConnectionsMax) {
      this.stats.rejected++;
      this.log.warn(
        { channel, remote: socket.remoteAddress, pendingConnectionsMax: this.pendingConnectionsMax },
        'too many quorum connections awaiting hello; refusing one',
      );
      socket.destroy();
      return;
    }
    const link = new Link(socket, channel, false, undefined, this.opts.frameBytesMax);
    this.pending.add(link);
    this.armHandshakeTimer(link);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.wire(link);
  }

  private armHandshakeTimer(link: Link): void {
    link.handshakeTimer = setTimeout(() => {
      link.handshakeTimer = undefined;
      if (link.up || link.closed) return;
      this.log.debug({ peer: link.peer, channel: link.channel, dialed: link.dialed }, 'quorum handshake timed out');
      this.closeLink(link, 'handshake timeout');
    }, this.handshakeTimeoutMs);
    link.handshakeTimer.unref();
  }

  private wire(link: Link): void {
    const { socket } = link;
    socket.on('data', (chunk: Buffer) => this.onData(link, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Refused/reset connections are routine while peers restart; 'close' follows.
      if (link.closed) return;
      const routine = err.code !== undefined && ROUTINE_ERRORS.has(err.code);
      const fields = { peer: link.peer, channel: link.channel, code: err.code, error: err.message };
      if (routine) this.log.debug(fields, 'quorum connection error');
      else this.log.warn(fields, 'quorum connection error');
    });
    socket.on('close', () => this.closeLink(link, 'closed'));
  }

  private onData(link: Link, chunk: Buffer): void {
    if (link.closed) return;
    link.decoder.push(chunk);
    try {
      while (!link.closed) {
        if (!link.up) {
          // Only a hello may come first; refuse a longer length before buffering anything.
          const head = link.decoder.peekInt();
          if (head !== undefined && (head < HELLO_BYTES || head > HELLO_BYTES_MAX)) {
            this.refuseHello(link, `expected a hello of ${HELLO_BYTES} to ${HELLO_BYTES_MAX} bytes, got length prefix ${head}`);
            return;
          }
          const frame = link.decoder.next();
          if (frame === undefined) return;
          this.onHello(link, frame);
          continue;
        }
        const frame = link.decoder.next();
        if (frame === undefined) return;
        const msg = decodeMsg(frame);
        if (channelOf(msg) !== link.channel) {
          this.stats.badFrames++;
          this.log.warn({ peer: link.peer, channel: link.channel, type: msg.t }, 'quorum message on the wrong channel; closing connection');
          this.closeLink(link, 'wrong channel');
          return;
        }
        this.stats.messagesIn++;
        try {
          this.opts.onMessage(link.peer!, msg);
        } catch (e) {
          this.log.error({ peer: link.peer, channel: link.channel, type: msg.t, err: e }, 'onMessage threw; closing connection');
          this.closeLink(link, 'onMessage threw');
          return;
        }
      }
    } catch (e) {
      if (e instanceof FrameTooLargeError) {
        this.stats.badFrames++;
        this.log.warn(
          { peer: link.peer, channel: link.channel, length: e.length, frameBytesMax: this.opts.frameBytesMax },
          'quorum frame exceeds frameBytesMax; closing connection',
        );
      } else if (e instanceof JuteError) {
        if (link.up) {
          this.stats.badFrames++;
          this.log.warn({ peer: link.peer, channel: link.channel, error: e.message }, 'malformed quorum message; closing connection');
        } else {
          this.refuseHello(link, e.message);
          return;
        }
      } else {
        this.log.error({ peer: link.peer, channel: link.channel, err: e }, 'unexpected error reading a quorum connection; closing it');
      }
      this.closeLink(link, 'bad input');
    }
  }

  private onHello(link: Link, frame: Buffer): void {
    const h = decodeHello(frame);
    const peer = h.peerId;
    if (h.version !== QUORUM_PROTOCOL_VERSION) {
      this.refuseHello(link, `protocol version ${h.version}, mine is ${QUORUM_PROTOCOL_VERSION}`, peer);
      return;
    }
    if (h.channel !== link.channel) {
      this.refuseHello(link, `hello for the ${h.channel} port arrived on the ${link.channel} port`, peer);
      return;
    }
    if (link.dialed) {
      if (peer !== link.peer) {
        this.refuseHello(link, `dialed peer ${link.peer} but peer ${peer} answered`, peer);
        return;
      }
      this.linkUp(link);
      return;
    }
    if (peer === this.opts.myId) {
      this.refuseHello(link, 'hello claims my own id', peer);
      return;
    }
    if (!this.peers.has(peer)) {
      // A member our configuration does not list (one a reconfig added or removed that we have
      // not seen): reachable at the address its hello gives, as Apache's InitialMessage allows.
      if (!h.address) {
        this.refuseHello(link, `unknown peer id ${peer}`, peer);
        return;
      }
      this.peers.set(peer, { id: peer, ...h.address });
      this.log.info({ peer, ...h.address }, 'quorum peer learnt from its hello');
    }
    if (peer < this.opts.myId) {
      this.onDialRequest(link, peer);
      return;
    }
    if (this.cutPeers.has(peer)) {
      this.stats.rejected++;
      this.log.debug({ peer, channel: link.channel }, 'refusing connection from a cut peer');
      this.closeLink(link, 'cut');
      return;
    }
    this.pending.delete(link);
    link.peer = peer;
    const key = keyOf(link.channel, peer);
    const old = this.links.get(key);
    if (old) this.closeLink(old, 'replaced by a new connection');
    this.links.set(key, link);
    link.socket.write(this.helloFrame(link.channel));
    this.linkUp(link);
  }

  /** A lower id said hello (askToDial): close that connection and dial it now, unless a link is there. */
  private onDialRequest(link: Link, peer: PeerId): void {
    this.stats.dialRequests++;
    this.closeLink(link, 'dial request');
    const key = keyOf(link.channel, peer);
    if (!this.running || this.cutPeers.has(peer) || this.links.has(key)) return;
    const t = this.redialTimers.get(key);
    if (t) {
      clearTimeout(t);
      this.redialTimers.delete(key);
    }
    this.redialFailures.delete(key);
    this.log.debug({ peer, channel: link.channel }, 'peer asked to be dialed');
    this.dial(peer, link.channel);
  }

  private refuseHello(link: Link, reason: string, peer?: PeerId): void {
    if (link.dialed) {
      this.log.warn({ peer: link.peer, channel: link.channel, reason }, 'bad hello from the peer I dialed; closing connection');
    } else {
      this.stats.rejected++;
      this.log.warn({ peer, channel: link.channel, remote: link.socket.remoteAddress, reason }, 'refusing quorum connection');
    }
    this.closeLink(link, 'bad hello');
  }

  private linkUp(link: Link): void {
    link.up = true;
    this.stats.linksUp++;
    if (link.peer !== undefined) this.redialFailures.delete(keyOf(link.channel, link.peer));
    if (link.handshakeTimer) {
      clearTimeout(link.handshakeTimer);
      link.handshakeTimer = undefined;
    }
    this.log.info({ peer: link.peer, channel: link.channel, dialed: link.dialed }, 'quorum connection up');
    if (link.peer === undefined || !this.opts.onConnected) return;
    try {
      this.opts.onConnected(link.peer, link.channel);
    } catch (e) {
      this.log.error({ peer: link.peer, err: e }, 'onConnected threw');
    }
  }

  private flush(link: Link): void {
    link.flushScheduled = false;
    const w = link.out;
    if (link.closed || w.pos === 0) return;
    let data: Buffer;
    if (w.pos >= HANDOFF_BYTES) {
      data = w.buf.subarray(0, w.pos);
      link.out = new JuteWriter(WRITER_INITIAL_BYTES);
    } else {
      data = w.toBuffer();
      w.reset();
    }
    link.socket.write(data);
    if (link.socket.writableLength > this.opts.outputBytesMax) this.tooSlow(link, link.socket.writableLength);
  }

  private tooSlow(link: Link, bytes: number): void {
    this.stats.tooSlow++;
    this.log.warn(
      { peer: link.peer, channel: link.channel, bytes, outputBytesMax: this.opts.outputBytesMax },
      'quorum peer is not reading (output exceeds outputBytesMax); closing connection',
    );
    this.closeLink(link, 'too slow');
  }

  /**
   * Idempotent. Reports a quorum link that was up through onDisconnected (unless the transport
   * itself is closing) and schedules a redial if I am the dialer.
   */
  private closeLink(link: Link, reason: string, report = true): void {
    if (link.closed) return;
    link.closed = true;
    if (link.handshakeTimer) {
      clearTimeout(link.handshakeTimer);
      link.handshakeTimer = undefined;
    }
    this.pending.delete(link);
    const wasUp = link.up;
    link.up = false;
    link.out.reset();
    link.socket.destroy();
    const peer = link.peer;
    if (peer === undefined) return;
    const key = keyOf(link.channel, peer);
    if (this.links.get(key) === link) this.links.delete(key);
    if (wasUp) this.log.info({ peer, channel: link.channel, reason }, 'quorum connection down');
    else if (link.dialed) {
      this.stats.dialFailures++;
      this.log.debug({ peer, channel: link.channel, reason }, 'quorum dial failed');
    }
    if (link.dialed) this.scheduleRedial(peer, link.channel);
    if (wasUp && report && link.channel === 'quorum') {
      try {
        this.opts.onDisconnected(peer);
      } catch (e) {
        this.log.error({ peer, err: e }, 'onDisconnected threw');
      }
    }
  }

  private scheduleRedial(peer: PeerId, channel: Channel): void {
    const key = keyOf(channel, peer);
    if (!this.running || this.cutPeers.has(peer) || this.redialTimers.has(key)) return;
    // Quick retries first (a peer that is still starting listens within milliseconds; cold start
    // and failover wait on this), then back off to reconnectMs for a peer that stays away.
    const failures = this.redialFailures.get(key) ?? 0;
    this.redialFailures.set(key, failures + 1);
    const delayMs = Math.min(this.opts.reconnectMs, (this.opts.redialFirstMs ?? REDIAL_FIRST_MS) * 2 ** failures);
    const t = setTimeout(() => {
      this.redialTimers.delete(key);
      this.dial(peer, channel);
    }, delayMs);
    t.unref();
    this.redialTimers.set(key, t);
  }
}
