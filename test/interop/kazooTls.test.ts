// Interop: kazoo (Debian python3-kazoo 2.8.0, KazooClient(use_ssl=True, ca, certfile, keyfile,
// verify_certs)) over TLS against our server: an x509 ACL whose id is a client certificate's
// subject DN (several RDNs, as Java's X500Principal prints them) lets that client read and not
// another; an untrusted client certificate is refused with an SSL error on kazoo's side while the
// server goes on serving; a server with an expired certificate is refused by kazoo. The script is
// test/interop/python/kazoo_tls.py. Missing python3 or kazoo fails the test.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { fourLetter, freePort } from '../helpers/net.js';
import { makeTestCerts, type TestCerts } from '../helpers/tlsCerts.js';
import { kazooTls } from './helpers/kazooTls.js';

describe('kazoo over TLS against ours', { timeout: 110_000 }, () => {
  let certs: TestCerts;
  let zk: Awaited<ReturnType<typeof startOurZooKeeper>>;
  let hosts: string;

  before(async () => {
    certs = await makeTestCerts();
    const securePort = await freePort();
    zk = await startOurZooKeeper({
      extraConfig: {
        secureClientPort: String(securePort),
        secureClientPortAddress: '127.0.0.1',
        'ssl.keyStore.location': certs.server.pem,
        'ssl.trustStore.location': certs.caPem,
      },
    });
    hosts = `127.0.0.1:${zk.shell.securePort}`;
  });
  after(async () => {
    await zk?.stop();
    await certs?.cleanup();
  });

  it('an x509 ACL: the node is readable by that certificate only', async () => {
    const w = await kazooTls('write', hosts, certs.caPem, certs.client, certs.client.dn);
    assert.equal(w.connected, true, JSON.stringify(w));
    assert.equal(w.data, 'for one client');
    assert.deepEqual(w.acl, [[31, 'x509', 'CN=client1,OU=test,O=ClusterGenie']]);
    const other = await kazooTls('read', hosts, certs.caPem, certs.client2);
    assert.equal(other.connected, true, JSON.stringify(other));
    assert.equal(other.error, 'NoAuthError');
    const again = await kazooTls('read', hosts, certs.caPem, certs.client);
    assert.equal(again.data, 'for one client');
  });

  it('an untrusted client certificate is refused at the handshake; the server serves the next client', async () => {
    const r = await kazooTls('refused', hosts, certs.caPem, certs.rogue);
    assert.equal(r.connected, false, JSON.stringify(r));
    assert.match(JSON.stringify(r.logged), /SSL|ALERT|alert/i, JSON.stringify(r));
    // kazoo without a certificate against clientAuth=need: refused the same way.
    const none = await kazooTls('refused', hosts, certs.caPem, undefined);
    assert.equal(none.connected, false, JSON.stringify(none));
    const ok = await kazooTls('roots', hosts, certs.caPem, certs.client2, 'after-refusals');
    assert.equal(ok.connected, true, JSON.stringify(ok));
    assert.ok(ok.children?.includes('kz-after-refusals'), JSON.stringify(ok));
  });

  it('zookeeper.X509AuthenticationProvider.superUser: that certificate reads every node', async () => {
    const su = await startOurZooKeeper({
      extraConfig: {
        secureClientPort: String(await freePort()),
        secureClientPortAddress: '127.0.0.1',
        'ssl.keyStore.location': certs.server.pem,
        'ssl.trustStore.location': certs.caPem,
      },
      sysProps: { 'zookeeper.X509AuthenticationProvider.superUser': certs.client2.dn },
    });
    try {
      const h = `127.0.0.1:${su.shell.securePort}`;
      const w = await kazooTls('write', h, certs.caPem, certs.client, certs.client.dn);
      assert.equal(w.data, 'for one client', JSON.stringify(w));
      const r = await kazooTls('read', h, certs.caPem, certs.client2);
      assert.equal(r.data, 'for one client', JSON.stringify(r));
      // conf reports both ports.
      const conf = await fourLetter('127.0.0.1', su.port, 'conf');
      assert.match(conf, new RegExp(`^clientPort=${su.port}\nsecureClientPort=${su.shell.securePort}\n`));
    } finally {
      await su.stop();
    }
  });

  it('a server with an expired certificate is refused by kazoo', async () => {
    const expired = await startOurZooKeeper({
      extraConfig: {
        secureClientPort: String(await freePort()),
        secureClientPortAddress: '127.0.0.1',
        'ssl.keyStore.location': certs.expiredServer.pem,
        'ssl.clientAuth': 'none',
      },
    });
    try {
      const r = await kazooTls('refused', `127.0.0.1:${expired.shell.securePort}`, certs.caPem, undefined);
      assert.equal(r.connected, false, JSON.stringify(r));
      assert.match(JSON.stringify(r.logged), /certificate has expired/, JSON.stringify(r));
    } finally {
      await expired.stop();
    }
  });
});
