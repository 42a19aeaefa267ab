// The secure client port's stores and handshakes, with certificates made fresh by openssl and
// keytool: PEM, PKCS12 and JKS key stores, PEM and keytool-made PKCS12 and JKS trust stores, the subject DN as
// Java prints it, need/want client authentication, untrusted and expired certificates (seen by
// Node's own TLS client), and the refusals at start that name the ssl.* key and the file.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { parseZooCfg } from '../../src/zookeeper/config.js';
import { startZooKeeperServer, type ZooKeeperServerShell } from '../../src/zookeeper/server/server.js';
import { subjectDn } from '../../src/zookeeper/server/tls/der.js';
import { pkcs12Certificates } from '../../src/zookeeper/server/tls/pkcs12.js';
import { makeTestCerts, STORE_PASSWORD, type TestCerts } from '../helpers/tlsCerts.js';

const X509 = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

function cfg(lines: Record<string, string>) {
  const text = Object.entries({ dataDir: '/tmp/cg-tls-unused', ...lines })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  return parseZooCfg(`${text}\n`, '/tmp');
}

describe('secure client port stores and handshakes', { timeout: 110_000 }, () => {
  let certs: TestCerts;
  const shells: ZooKeeperServerShell[] = [];

  before(async () => {
    certs = await makeTestCerts();
  });
  after(async () => {
    for (const s of shells) await s.stop();
    await certs?.cleanup();
  });

  async function start(lines: Record<string, string>): Promise<ZooKeeperServerShell> {
    const r = cfg({
      clientPort: '0',
      clientPortAddress: '127.0.0.1',
      secureClientPort: '1',
      secureClientPortAddress: '127.0.0.1',
      ...lines,
    });
    // Port 0 (any free port) for both listeners: zoo.cfg's 0 would mean "not set" for secureClientPort.
    r.options.secureClient!.port = 0;
    const s = await startZooKeeperServer({
      ...r.options,
      dataDir: '',
      dataLogDir: '',
      adminEnabled: false,
      fourLetterWords: new Set(['*']),
    });
    shells.push(s);
    return s;
  }

  /** A TLS handshake and `ruok` on the secure port: 'imok', or the error the client saw. */
  function ruok(port: number, client?: { keyPem: string; certPem: string }, ca = certs.caPem): Promise<string> {
    return new Promise((resolve) => {
      void (async () => {
        const opts = {
          host: '127.0.0.1',
          port,
          ca: await readFile(ca),
          servername: 'localhost',
          ...(client ? { key: await readFile(client.keyPem), cert: await readFile(client.certPem) } : {}),
        };
        let out = '';
        const s: TLSSocket = connect(opts, () => s.write('ruok'));
        s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
        s.on('data', (d) => {
          out += d.toString();
        });
        s.on('error', (e) => resolve(`error: ${e.message}`));
        s.on('close', () => resolve(out === '' ? 'closed' : out));
      })();
    });
  }

  it('keytool trust stores (PKCS12) are read, and a subject prints as X500Principal.getName()', async () => {
    const certsIn = pkcs12Certificates(await readFile(certs.trustP12), STORE_PASSWORD);
    assert.equal(certsIn.length, 1);
    assert.equal(subjectDn(certsIn[0]!), 'CN=ca');
    assert.throws(() => pkcs12Certificates(Buffer.alloc(0), ''), /truncated/);
    const client = new X509Certificate(await readFile(certs.client.certPem));
    assert.equal(subjectDn(client.raw), certs.client.dn);
  });

  it('PKCS12 key store + keytool PKCS12 trust store, clientAuth=need: a trusted client certificate gets through', async () => {
    const s = await start({
      'ssl.keyStore.location': certs.server.p12,
      'ssl.keyStore.password': STORE_PASSWORD,
      'ssl.trustStore.location': certs.trustP12,
      'ssl.trustStore.password': STORE_PASSWORD,
      'authProvider.x509': X509,
    });
    assert.ok(s.securePort > 0 && s.port > 0 && s.securePort !== s.port);
    assert.equal(await ruok(s.securePort, certs.client), 'imok');
    // No certificate, an untrusted one: refused at the handshake; the server serves the next client.
    assert.match(await ruok(s.securePort), /^(error|closed)/);
    assert.match(await ruok(s.securePort, certs.rogue), /^(error|closed)/);
    assert.equal(await ruok(s.securePort, certs.client2), 'imok');
  });

  it('PEM key and trust stores, clientAuth=want: no certificate is served, an untrusted one is closed', async () => {
    const s = await start({
      'ssl.keyStore.location': certs.server.pem,
      'ssl.trustStore.location': certs.caPem,
      'ssl.clientAuth': 'want',
      'authProvider.x509': X509,
    });
    assert.equal(await ruok(s.securePort), 'imok');
    assert.equal(await ruok(s.securePort, certs.client), 'imok');
    assert.match(await ruok(s.securePort, certs.rogue), /^(error|closed)/);
  });

  it('JKS key and trust stores made by keytool: a trusted client certificate is served, an untrusted one refused', async () => {
    const s = await start({
      'ssl.keyStore.location': certs.server.jks,
      'ssl.keyStore.password': STORE_PASSWORD,
      'ssl.trustStore.location': certs.trustJks,
      'ssl.trustStore.password': STORE_PASSWORD,
    });
    assert.equal(await ruok(s.securePort, certs.client), 'imok');
    assert.match(await ruok(s.securePort, certs.rogue), /^(error|closed)/);
  });

  it('an expired server certificate: the client refuses it, naming the expiry', async () => {
    const s = await start({ 'ssl.keyStore.location': certs.expiredServer.pem, 'ssl.clientAuth': 'none' });
    assert.match(await ruok(s.securePort), /certificate has expired/);
  });

  it('a wrong password (PKCS12, JKS), a BCFKS store, a missing file or an unknown extension stop the start, naming the key and the file', async () => {
    const base = { 'ssl.keyStore.location': certs.server.p12, 'ssl.keyStore.password': STORE_PASSWORD };
    await assert.rejects(start({ ...base, 'ssl.keyStore.password': 'wrong' }), (e: Error) => {
      assert.match(e.message, /ssl\.keyStore\.location=.*server\.p12.*check ssl\.keyStore\.password/);
      return true;
    });
    await assert.rejects(start({ ...base, 'ssl.trustStore.location': certs.trustP12, 'ssl.trustStore.password': 'wrong' }), (e: Error) => {
      assert.match(
        e.message,
        /ssl\.trustStore\.location=.*trust\.p12 \(PKCS12\) cannot be loaded: integrity check failed: the password is wrong/,
      );
      return true;
    });
    await assert.rejects(start({ 'ssl.keyStore.location': certs.server.jks, 'ssl.keyStore.password': 'wrong' }), (e: Error) => {
      assert.match(e.message, /ssl\.keyStore\.location=.*server\.jks \(JKS\) cannot be loaded: .*check ssl\.keyStore\.password/);
      return true;
    });
    await assert.rejects(
      start({ 'ssl.keyStore.location': certs.server.jks, 'ssl.keyStore.type': 'BCFKS', 'ssl.keyStore.password': STORE_PASSWORD }),
      (e: Error) => {
        assert.match(
          e.message,
          /server\.jks is a BCFKS store, which this server cannot read.*keytool -importkeystore .* -deststoretype PKCS12/,
        );
        return true;
      },
    );
    await assert.rejects(
      start({ 'ssl.keyStore.location': `${certs.dir}/missing.p12` }),
      /cannot read ssl\.keyStore\.location=.*missing\.p12/,
    );
    await assert.rejects(
      start({ 'ssl.keyStore.location': `${certs.dir}/server.pfx` }),
      /Unable to auto-detect store file type from file name: .*server\.pfx \(ssl\.keyStore\.location\)/,
    );
    await assert.rejects(start({}), /secureClientPort is set but ssl\.keyStore\.location is not/);
  });

  it('the x509 provider is there without authProvider.x509 (as QuorumPeerConfig.configureSSLAuth registers it)', async () => {
    const s = await start({ 'ssl.keyStore.location': certs.server.pem, 'ssl.trustStore.location': certs.caPem });
    assert.equal(await ruok(s.securePort, certs.client), 'imok');
  });
});
