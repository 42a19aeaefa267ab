// Interop: zkCli.sh (Java client 3.8.0, Debian) over TLS, as its users turn TLS on through
// CLIENT_JVMFLAGS (-Dzookeeper.client.secure=true with ClientCnxnSocketNetty and the
// zookeeper.ssl.* stores), against our server and against Apache ZooKeeper 3.8 configured alike
// (secureClientPort beside clientPort, NettyServerCnxnFactory, ssl.* keys in zoo.cfg). The same
// script runs against each and must print the same lines: JKS and PKCS12 client stores, `whoami`
// showing the x509 id (the certificate's subject DN, as Apache prints it), a node whose ACL is
// x509:CN=client2 readable by that client only, a client with an untrusted certificate refused at
// the handshake while the server goes on serving, and an expired server certificate refused by
// the client. Ours runs through the real CLI (PKCS12 key store, keytool's PKCS12 trust store)
// and in-process with PEM stores.
//
// Debian's zookeeper.jar lists only part of Netty on its Class-Path: netty-codec and
// netty-resolver are added for the Netty client and for Apache's Netty server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { apacheClasspath, startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { startOurZooKeeper, startOurZooKeeperProcess } from '../helpers/ourZk.js';
import { freePort } from '../helpers/net.js';
import { makeTestCerts, STORE_PASSWORD, type Identity, type TestCerts } from '../helpers/tlsCerts.js';
import { ZkCliSession } from './helpers/zkcli.js';

const run = promisify(execFile);
const NETTY_JARS = ['/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'];
const CLIENT_CLASSPATH = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';

interface Target {
  name: string;
  securePort: number;
  stop(): Promise<void>;
}

/** CLIENT_JVMFLAGS for a TLS client with these stores. */
function tlsFlags(keyStore: string, trustStore: string): string[] {
  return [
    '-Dzookeeper.client.secure=true',
    '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
    `-Dzookeeper.ssl.keyStore.location=${keyStore}`,
    `-Dzookeeper.ssl.keyStore.password=${STORE_PASSWORD}`,
    `-Dzookeeper.ssl.trustStore.location=${trustStore}`,
    `-Dzookeeper.ssl.trustStore.password=${STORE_PASSWORD}`,
  ];
}

/** One zkCli command without waiting for a connection; the client's own log (slf4j-simple, warn) is in the output. */
async function oneShot(port: number, flags: string[], command: string): Promise<string> {
  const r = await run(
    process.env['JAVA'] ?? '/usr/bin/java',
    [
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      ...flags,
      '-cp',
      [CLIENT_CLASSPATH, ...NETTY_JARS, '/usr/share/java/slf4j-simple.jar'].join(':'),
      'org.apache.zookeeper.ZooKeeperMain',
      '-timeout',
      '3000',
      '-server',
      `127.0.0.1:${port}`,
      ...command.split(' '),
    ],
    { timeout: 30_000 },
  ).catch((e: { stdout?: string; stderr?: string; message: string }) => ({
    stdout: e.stdout ?? '',
    stderr: `${e.stderr ?? ''}\n${e.message}`,
  }));
  return `${r.stdout}\n${r.stderr}`;
}

function serverTls(keyStore: string, trustStore: string, securePort: number): Record<string, string> {
  return {
    secureClientPort: String(securePort),
    secureClientPortAddress: '127.0.0.1',
    serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    'ssl.keyStore.location': keyStore,
    'ssl.keyStore.password': STORE_PASSWORD,
    'ssl.trustStore.location': trustStore,
    'ssl.trustStore.password': STORE_PASSWORD,
  };
}

describe('zkCli.sh over TLS: ours and Apache ZooKeeper 3.8 alike', { timeout: 115_000 }, () => {
  let certs: TestCerts;
  const targets: Target[] = [];
  const sessions: ZkCliSession[] = [];

  before(async () => {
    for (const jar of [...NETTY_JARS, '/usr/share/java/slf4j-simple.jar']) {
      assert.ok(existsSync(jar), `${jar} is missing: install Debian's libnetty-java and libslf4j-java (zookeeper's TLS needs them)`);
    }
    certs = await makeTestCerts();
    // Apache's Netty server needs the jars its manifest does not list (apacheZk.ts reads this at launch).
    process.env['APACHE_ZK_CLASSPATH'] = [apacheClasspath(), ...NETTY_JARS].join(':');
    const [p1, p2, p3] = await Promise.all([freePort(), freePort(), freePort()]);
    const [apache, oursCli, oursPem] = await Promise.all([
      startApacheZooKeeper({ extraConfig: serverTls(certs.server.p12, certs.trustP12, p1) }),
      startOurZooKeeperProcess({ extraConfig: serverTls(certs.server.p12, certs.trustP12, p2) }),
      startOurZooKeeper({ extraConfig: serverTls(certs.server.pem, certs.caPem, p3) }),
    ]);
    targets.push(
      { name: 'Apache ZooKeeper 3.8 (PKCS12 stores)', securePort: p1, stop: () => apache.stop() },
      { name: 'ours via the CLI (PKCS12 stores)', securePort: p2, stop: () => oursCli.stop() },
      { name: 'ours in-process (PEM stores)', securePort: p3, stop: () => oursPem.stop() },
    );
  });

  after(async () => {
    for (const s of sessions) await s.killAndWait();
    for (const t of targets) await t.stop();
    await certs?.cleanup();
  });

  async function session(t: Target, id: Identity, keyStore: string, trustStore: string): Promise<ZkCliSession> {
    const s = await ZkCliSession.start(`127.0.0.1:${t.securePort}`, { flags: tlsFlags(keyStore, trustStore), classpath: NETTY_JARS });
    sessions.push(s);
    // The order is the server's auth-info set's (Java hash order); Apache's is the reference.
    assert.deepEqual(await s.run('whoami'), ['Auth scheme: User', `x509: ${id.dn}`, 'ip: 127.0.0.1'], `${t.name}: whoami of ${id.dn}`);
    return s;
  }

  it('JKS and PKCS12 client stores, x509 ids, an x509 ACL, an untrusted client refused while others are served', async () => {
    for (const t of targets) {
      // client1 with JKS stores writes a node only client2 may touch.
      const a = await session(t, certs.client, certs.client.jks, certs.trustJks);
      assert.deepEqual(await a.run('create /tls hello'), ['Created /tls'], t.name);
      assert.deepEqual(await a.run('get /tls'), ['hello'], t.name);
      assert.deepEqual(await a.run(`create /secret s x509:${certs.client2.dn}:cdrwa`), ['Created /secret'], t.name);
      assert.deepEqual(await a.run('get /secret'), ['Insufficient permission : /secret'], t.name);
      // Reading the ACL needs READ too (ZOOKEEPER-1392).
      assert.deepEqual(await a.run('getAcl /secret'), ['Insufficient permission : /secret'], t.name);
      await a.quit();

      // A certificate from a CA the server does not trust: the handshake fails on the client's side.
      const rogue = await oneShot(t.securePort, tlsFlags(certs.rogue.jks, certs.trustJks), 'ls /');
      assert.match(rogue, /SSLHandshakeException: Received fatal alert/, `${t.name}: untrusted client\n${rogue}`);
      assert.doesNotMatch(rogue, /\[zookeeper, tls|\[secret/, t.name);

      // client2 with PKCS12 stores reads it (and the server still serves).
      const b = await session(t, certs.client2, certs.client2.p12, certs.trustP12);
      assert.deepEqual(await b.run('get /secret'), ['s'], t.name);
      assert.deepEqual(await b.run('getAcl /secret'), [`'x509,'${certs.client2.dn}`, ': cdrwa'], t.name);
      assert.deepEqual(await b.run('get /tls'), ['hello'], t.name);
      await b.quit();
    }
  });

  it('a wrong key store password: `clustergenie zookeeper` refuses to start, naming the key and the file', async () => {
    const bad = serverTls(certs.server.p12, certs.trustP12, await freePort());
    bad['ssl.keyStore.password'] = 'not-the-password';
    await assert.rejects(startOurZooKeeperProcess({ extraConfig: bad }), (e: Error) => {
      assert.match(e.message, /cannot start ZooKeeper: the TLS context cannot be built from ssl\.keyStore\.location=\S*server\.p12/);
      assert.match(e.message, /check ssl\.keyStore\.password/);
      return true;
    });
  });

  it('an expired server certificate: the client refuses the server', async () => {
    const [pa, po] = await Promise.all([freePort(), freePort()]);
    const [apache, ours] = await Promise.all([
      startApacheZooKeeper({ extraConfig: serverTls(certs.expiredServer.p12, certs.trustP12, pa) }) as Promise<ServerHandle>,
      startOurZooKeeper({ extraConfig: serverTls(certs.expiredServer.p12, certs.trustP12, po) }),
    ]);
    try {
      for (const [name, port] of [
        ['Apache', pa],
        ['ours', po],
      ] as const) {
        const out = await oneShot(port, tlsFlags(certs.client.jks, certs.trustJks), 'ls /');
        assert.match(out, /CertificateExpiredException|validity check failed/, `${name}: expired server certificate\n${out}`);
      }
    } finally {
      await Promise.all([apache.stop(), ours.stop()]);
    }
  });
});
