// The secure client port's settings: zoo.cfg keys, -D properties as zkServer.sh passes them,
// defaults and refusals as Apache ZooKeeper 3.8's X509Util and QuorumPeerConfig have them. Stores
// and handshakes (with certificates made by openssl and keytool) are in test/interop/
// tlsStores.test.ts; real clients over TLS in zkcliTls, kazooTls and kazooTlsEnsemble.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseZooCfg } from '../../../src/zookeeper/config.js';
import { systemPropertiesFrom } from '../../../src/zookeeper/jvmFlags.js';
import { opensslCipher } from '../../../src/zookeeper/server/tls/context.js';

const X509 = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

function cfg(lines: Record<string, string>, sysProps: Record<string, string> = {}) {
  const text = Object.entries({ dataDir: '/tmp/cg-tls-unused', ...lines })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  return parseZooCfg(`${text}\n`, '/tmp', sysProps);
}

describe('secure client port settings', () => {
  it('reads secureClientPort, secureClientPortAddress and the ssl.* keys; serverCnxnFactory passes without a warning', () => {
    const r = cfg({
      clientPort: '2181',
      secureClientPort: '2281',
      secureClientPortAddress: '127.0.0.1',
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      'ssl.keyStore.location': '/k.p12',
      'ssl.keyStore.password': 'pw',
      'ssl.trustStore.location': '/t.jks',
      'ssl.trustStore.type': 'pkcs12',
      'ssl.clientAuth': 'WANT',
      'ssl.enabledProtocols': 'TLSv1.2,TLSv1.3',
      'ssl.ciphersuites': 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'ssl.hostnameVerification': 'false',
      'authProvider.x509': X509,
    });
    assert.deepEqual(r.warnings, []);
    const s = r.options.secureClient!;
    assert.equal(s.port, 2281);
    assert.equal(s.address, '127.0.0.1');
    assert.equal(s.ssl.keyStore.location, '/k.p12');
    assert.equal(s.ssl.keyStore.password, 'pw');
    assert.equal(s.ssl.trustStore.type, 'PKCS12');
    assert.equal(s.ssl.clientAuth, 'want');
    assert.deepEqual(s.ssl.enabledProtocols, ['TLSv1.2', 'TLSv1.3']);
    assert.equal(s.x509ProviderEnabled, true);
    assert.equal(r.options.clientPortEnabled, undefined);
  });

  it('defaults as X509Util: clientAuth need, TLSv1.2; only a secure port means no plain port', () => {
    const r = cfg({ secureClientPort: '2281' });
    const s = r.options.secureClient!;
    assert.equal(s.ssl.clientAuth, 'need');
    assert.equal(s.ssl.protocol, 'TLSv1.2');
    assert.equal(s.address, '0.0.0.0');
    assert.equal(s.x509ProviderEnabled, true);
    assert.equal(r.options.clientPortEnabled, false);
    assert.equal(cfg({ clientPort: '2181' }).options.secureClient, undefined);
    assert.throws(() => cfg({}), /clientPort is not set/);
  });

  it('bad values fail naming the key; crl/ocsp warn that revocation is not checked', () => {
    assert.throws(
      () => cfg({ clientPort: '1', secureClientPortAddress: '127.0.0.1' }),
      /secureClientPortAddress is set but secureClientPort is not set/,
    );
    assert.throws(() => cfg({ clientPort: '1', secureClientPort: 'x' }), /secureClientPort must be a port number.*line 3/);
    assert.throws(
      () => cfg({ clientPort: '1', secureClientPort: '1', 'ssl.clientAuth': 'sometimes' }),
      /ssl\.clientAuth=sometimes is not valid; use none, want or need/,
    );
    assert.throws(
      () => cfg({ clientPort: '1', secureClientPort: '1', 'ssl.keyStore.type': 'PFX' }),
      /ssl\.keyStore\.type=PFX is not a store type/,
    );
    assert.throws(
      () => cfg({ clientPort: '1', secureClientPort: '1', 'ssl.authProvider': 'mycerts' }),
      /No auth provider configured for the SSL authentication scheme 'mycerts'/,
    );
    const r = cfg({ clientPort: '1', secureClientPort: '1', 'ssl.crl': 'true', 'ssl.ocsp': 'false' });
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /ssl\.crl=true is not supported: certificate revocation is not checked/);
  });

  it('takes the zookeeper.ssl.* and x509 system properties as zkServer.sh passes them (JVMFLAGS)', () => {
    const sys = systemPropertiesFrom({
      SERVER_JVMFLAGS: `-Dzookeeper.ssl.keyStore.location=/k.pem -Dzookeeper.ssl.clientAuth=none -Dzookeeper.authProvider.x509=${X509} -Dzookeeper.X509AuthenticationProvider.superUser=CN=admin -Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory`,
    });
    assert.deepEqual(sys.warnings, []);
    const r = cfg({ clientPort: '2181', secureClientPort: '2281' }, sys.properties);
    const s = r.options.secureClient!;
    assert.equal(s.ssl.keyStore.location, '/k.pem');
    assert.equal(s.ssl.clientAuth, 'none');
    assert.equal(s.x509ProviderEnabled, true);
    assert.equal(s.x509SuperUser, 'CN=admin');
    assert.deepEqual(r.warnings, []);
  });

  it('maps JSSE cipher suite names to OpenSSL names', () => {
    assert.equal(opensslCipher('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'), 'ECDHE-RSA-AES128-GCM-SHA256');
    assert.equal(opensslCipher('TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'), 'ECDHE-ECDSA-AES256-SHA384');
    assert.equal(opensslCipher('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'), 'ECDHE-RSA-AES128-SHA');
    assert.equal(opensslCipher('TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'), 'ECDHE-RSA-CHACHA20-POLY1305');
    assert.equal(opensslCipher('TLS_AES_128_GCM_SHA256'), 'TLS_AES_128_GCM_SHA256');
    assert.equal(opensslCipher('SSL_RSA_WITH_RC4_128_MD5'), undefined);
  });
});
