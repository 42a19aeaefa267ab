// A 3-member ensemble of ours with secureClientPort on every member (zoo.cfg per member, as an
// operator writes it; the ssl.* keys given as zookeeper.ssl.* properties in zoo.cfg), serving
// kazoo over TLS: each member takes a write from its own TLS client, and the last one sees all
// three. The plain client ports keep working beside them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeEnsembleLayout } from '../../src/cluster/ensembleLayout.js';
import { loadZooCfg } from '../../src/zookeeper/config.js';
import { EnsembleMember } from '../../src/zookeeper/quorum/ensemble.js';
import { fourLetter, freePort, waitFor } from '../helpers/net.js';
import { makeTestCerts, STORE_PASSWORD, type TestCerts } from '../helpers/tlsCerts.js';
import { kazooTls } from './helpers/kazooTls.js';

describe('3-member ensemble with a TLS client port on each member', { timeout: 110_000 }, () => {
  let certs: TestCerts;
  let dir: string;
  const members: EnsembleMember[] = [];

  before(async () => {
    certs = await makeTestCerts();
    dir = await mkdtemp(join(tmpdir(), 'cg-tls-ensemble-'));
    const securePorts = [await freePort(), await freePort(), await freePort()];
    const layout = await writeEnsembleLayout(dir, {
      extraConfig: (id) => ({
        secureClientPort: String(securePorts[id - 1]),
        secureClientPortAddress: '127.0.0.1',
        serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
        'zookeeper.ssl.keyStore.location': certs.server.p12,
        'zookeeper.ssl.keyStore.password': STORE_PASSWORD,
        'zookeeper.ssl.trustStore.location': certs.trustP12,
        'zookeeper.ssl.trustStore.password': STORE_PASSWORD,
      }),
    });
    for (const m of layout) {
      const { options, warnings } = loadZooCfg(m.configPath);
      assert.deepEqual(warnings, [], `member ${m.id}: no warnings`);
      members.push(new EnsembleMember(options));
    }
    await Promise.all(members.map((m) => m.start()));
    await waitFor(
      async () => members.every((m) => m.shell.core.serving),
      30_000,
      () => 'the ensemble did not elect a leader',
    );
  });

  after(async () => {
    for (const m of members) await m.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await certs?.cleanup();
  });

  it('every member serves TLS clients; writes through each are seen through the last', async () => {
    let last: string[] | undefined;
    for (const m of members) {
      assert.ok(m.shell.securePort > 0, `member ${m.id} has a secure port`);
      const r = await kazooTls('roots', `127.0.0.1:${m.shell.securePort}`, certs.caPem, certs.client, `member${m.id}`);
      assert.equal(r.connected, true, `member ${m.id}: ${JSON.stringify(r)}`);
      last = r.children;
    }
    assert.deepEqual(
      last?.filter((c) => c.startsWith('kz-')),
      ['kz-member1', 'kz-member2', 'kz-member3'],
    );
    // The plain port is still there.
    assert.equal(await fourLetter('127.0.0.1', members[0]!.shell.port, 'ruok'), 'imok');
  });
});
