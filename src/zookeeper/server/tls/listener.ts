// The secure client port (secureClientPort): a TLS listener beside the plain one, whose
// connections go into the same pipeline once the handshake is done. The client certificate is
// handled as NettyServerCnxnFactory.CertificateVerifier does: with ssl.clientAuth=need an absent
// or untrusted certificate fails the handshake; a presented certificate must then pass the x509
// provider (trusted), whose ids (`x509:<subject DN>`, and `super` for the configured super user)
// the connection gets; otherwise the connection is closed.

import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { IdT } from '../../protocol/records.js';
import type { Logger } from '../../../util/log.js';
import { secureServerOptions } from './context.js';
import { subjectDn } from './der.js';
import type { SecureClientOptions } from './settings.js';

/** A TLS handshake that has not finished by then is dropped (a silent client must not hold a socket). */
const handshakeTimeoutMs = 10_000;

export interface SecureClientListener {
  readonly port: number;
  close(): Promise<void>;
}

/** The auth ids of a client whose handshake is done, or a reason to close it. */
export function x509Ids(socket: TLSSocket, o: SecureClientOptions): IdT[] | string {
  if (o.ssl.clientAuth === 'none') return [];
  const cert = socket.getPeerX509Certificate();
  // clientAuth=want and no certificate: served without x509 ids (NettyServerCnxnFactory's TODO case).
  if (!cert) return o.ssl.clientAuth === 'need' ? 'no client certificate' : [];
  if (!socket.authorized) return `client certificate not trusted: ${String(socket.authorizationError)}`;
  if (!o.x509ProviderEnabled) {
    return `ssl.authProvider=${o.ssl.authProvider} is not a provider this server has; leave it unset (x509) or set ssl.clientAuth=none`;
  }
  let dn: string;
  try {
    dn = subjectDn(cert.raw);
  } catch (e) {
    return `client certificate subject cannot be read: ${(e as Error).message}`;
  }
  const ids: IdT[] = [];
  if (o.x509SuperUser !== undefined && dn === o.x509SuperUser) ids.push({ scheme: 'super', id: dn });
  ids.push({ scheme: 'x509', id: dn });
  return ids;
}

/**
 * Builds the TLS context (throwing a TlsStoreError for a bad store: the server must not start)
 * and listens. `accept` gets each connection after its handshake, with the ids it authenticated.
 */
export async function startSecureClientListener(
  o: SecureClientOptions,
  log: Logger,
  accept: (socket: Socket, ids: IdT[]) => void,
): Promise<SecureClientListener> {
  const options = secureServerOptions(o.ssl);
  const server: Server = createServer({ ...options, handshakeTimeout: handshakeTimeoutMs });
  // Every raw socket until it closes: a server that stops must not wait out handshakes in progress.
  const open = new Set<Socket>();
  server.on('connection', (raw: Socket) => {
    open.add(raw);
    raw.once('close', () => open.delete(raw));
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const ids = x509Ids(socket, o);
    if (typeof ids === 'string') {
      log.warn({ remote: socket.remoteAddress, reason: ids }, 'TLS client refused');
      socket.destroy();
      return;
    }
    accept(socket, ids);
  });
  // A failed handshake (untrusted or expired certificate, wrong protocol): the client sees the alert.
  server.on('tlsClientError', (err, socket) => {
    log.info({ remote: socket.remoteAddress, error: err.message }, 'TLS handshake failed');
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, address: o.address, clientAuth: o.ssl.clientAuth }, 'ZooKeeper secure client port listening');
  return {
    port,
    close: () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of open) s.destroy();
      return closed;
    },
  };
}
