// A recording loopback proxy: forwards each connection to a target and splits both directions
// into ZooKeeper frames (int32 length + body), so tests can check what a client really sent
// (handshake size, xids, opcodes) and what the server answered.

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SniffedConnection {
  /** Frame bodies (without the length prefix), client -> server. */
  readonly toServer: Buffer[];
  /** Frame bodies, server -> client. */
  readonly toClient: Buffer[];
}

export interface SniffProxy {
  connectString: string;
  readonly connections: SniffedConnection[];
  close(): Promise<void>;
}

function framer(out: Buffer[]): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readInt32BE(0);
      if (len < 0 || pending.length < 4 + len) break;
      out.push(pending.subarray(4, 4 + len));
      pending = pending.subarray(4 + len);
    }
  };
}

export async function startSniffProxy(targetHost: string, targetPort: number): Promise<SniffProxy> {
  const connections: SniffedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const conn: SniffedConnection = { toServer: [], toClient: [] };
    connections.push(conn);
    const upstream = connect({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const up = framer(conn.toServer);
    const down = framer(conn.toClient);
    client.on('data', (c: Buffer) => {
      up(c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      down(c);
      client.write(c);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    connectString: `127.0.0.1:${port}`,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** RequestHeader {xid, type} of a client frame after the handshake. */
export function requestHeader(frame: Buffer): { xid: number; type: number } {
  return { xid: frame.readInt32BE(0), type: frame.readInt32BE(4) };
}

/** ReplyHeader {xid, zxid, err} of a server frame after the handshake. */
export function replyHeader(frame: Buffer): { xid: number; zxid: bigint; err: number } {
  return { xid: frame.readInt32BE(0), zxid: frame.readBigInt64BE(4), err: frame.readInt32BE(12) };
}
