// Settings passed as ZooKeeper's scripts pass them (issue 18 item 7): SERVER_JVMFLAGS, JVMFLAGS and
// -D arguments. The parser's rules, then the real CLI started the way a zkServer.sh-based harness
// starts Apache ZooKeeper: TTL nodes work only because JVMFLAGS switched extended types on.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { parseDefine, propertyHandling, splitDefines, systemPropertiesFrom } from '../../src/zookeeper/jvmFlags.js';
import { killOnExit } from '../helpers/children.js';
import { fourLetter, freePort, waitFor } from '../helpers/net.js';

const mainJs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

test('-D tokens: name=value, bare name, and what is not a define', () => {
  assert.deepEqual(parseDefine('-Dzookeeper.snapCount=100'), ['zookeeper.snapCount', '100']);
  assert.deepEqual(parseDefine('-Da=b=c'), ['a', 'b=c']);
  assert.deepEqual(parseDefine('-Dreadonlymode.enabled'), ['readonlymode.enabled', '']);
  for (const t of ['-D', '-D=x', '-Xmx512m', '--config', 'zoo.cfg', '-XX:+UseG1GC']) assert.equal(parseDefine(t), undefined, t);
});

test('SERVER_JVMFLAGS, then JVMFLAGS, then arguments: the last setting wins; JVM options are ignored', () => {
  const r = systemPropertiesFrom(
    {
      SERVER_JVMFLAGS: '-Xmx1000m -Dzookeeper.snapCount=10 -Dzookeeper.log.dir=/var/log/zookeeper',
      JVMFLAGS: '  -Dzookeeper.snapCount=20\t-Dzookeeper.extendedTypesEnabled=true -XX:+HeapDumpOnOutOfMemoryError ',
    },
    ['-Dzookeeper.snapCount=30', '-Djute.maxbuffer=2000000'],
  );
  assert.deepEqual(r.properties, {
    'zookeeper.extendedTypesEnabled': 'true',
    'zookeeper.snapCount': '30',
    'jute.maxbuffer': '2000000',
  });
  assert.deepEqual(Object.keys(r.properties).at(-2), 'zookeeper.snapCount', 'the last setting also takes the last place');
  assert.deepEqual(r.warnings, []);
});

test('read-only mode and SASL properties are applied; logging and JVM properties pass silently', () => {
  const r = systemPropertiesFrom({
    JVMFLAGS:
      '-Dreadonlymode.enabled=true -Dreadonlymode.enabled=true -Djava.security.auth.login.config=/tmp/jaas.conf ' +
      '-Dzookeeper.authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider -Dcom.sun.management.jmxremote ' +
      '-Dlog4j.configuration=file:/etc/zookeeper/log4j.properties -Dzookeeper.root.logger=INFO,CONSOLE',
  });
  // Read-only mode, SASL's JAAS file and the sasl ACL provider are applied (config.ts).
  assert.deepEqual(r.properties, {
    'readonlymode.enabled': 'true',
    'java.security.auth.login.config': '/tmp/jaas.conf',
    'zookeeper.authProvider.1': 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
  });
  assert.deepEqual(r.warnings, []);
  assert.equal(propertyHandling('zookeeper.extendedTypesEnabled'), 'config');
  assert.equal(propertyHandling('zookeeper.serverCnxnFactory'), 'jvm');
  assert.equal(propertyHandling('zookeeper.ssl.keyStore.location'), 'config');
});

test('-D arguments are split off the command line', () => {
  assert.deepEqual(splitDefines(['-Dzookeeper.skipACL=yes', '--config', 'zoo.cfg', '-Da=1']), {
    defines: ['-Dzookeeper.skipACL=yes', '-Da=1'],
    rest: ['--config', 'zoo.cfg'],
  });
});

test('clustergenie zookeeper takes JVMFLAGS and -D arguments as zkServer.sh passes them: TTL nodes need extended types', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-jvmflags-'));
  try {
    for (const how of ['JVMFLAGS', 'argument'] as const) {
      const port = await freePort();
      const cfg = join(dir, `zoo-${how}.cfg`);
      await writeFile(
        cfg,
        `tickTime=2000\ndataDir=${join(dir, `data-${how}`)}\nclientPort=${port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=ruok\n`,
      );
      const define = '-Dzookeeper.extendedTypesEnabled=true';
      const args = how === 'argument' ? [mainJs, 'zookeeper', define, '--config', cfg] : [mainJs, 'zookeeper', '--config', cfg];
      const env = { ...process.env, JVMFLAGS: how === 'JVMFLAGS' ? `-Xmx512m ${define} -Dreadonlymode.enabled=true` : '' };
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      killOnExit(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        await waitFor(
          async () => (await fourLetter('127.0.0.1', port, 'ruok').catch(() => '')) === 'imok',
          15_000,
          () => `server did not start: ${stderr}`,
        );
        const client = new ZooKeeperClient({ connectString: `127.0.0.1:${port}`, sessionTimeoutMs: 10_000 });
        await client.connect({ timeoutMs: 10_000 });
        try {
          // CreateMode PERSISTENT_WITH_TTL (5): UNIMPLEMENTED unless extended types are on.
          assert.equal(await client.create('/ttl', 'x', { mode: 5, ttl: 60_000 }), '/ttl', how);
        } finally {
          await client.close();
        }
        // -Dreadonlymode.enabled=true (JVMFLAGS only) allows isro beside the whitelist, as Apache does.
        const isro = await fourLetter('127.0.0.1', port, 'isro');
        assert.equal(isro, how === 'JVMFLAGS' ? 'rw' : 'isro is not executed because it is not in the whitelist.\n', how);
        assert.doesNotMatch(stderr, /readonlymode/);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
