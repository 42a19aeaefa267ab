// The files reconfig writes beside zoo.cfg, against what a 3-node Apache ZooKeeper 3.8 ensemble
// (reconfigEnabled=true, started from a zoo.cfg with server.N lines) wrote in its data directory:
// its first rewrite of zoo.cfg, its second one (from the first), and its dynamic files. Then the
// I/O shell in a temporary directory, and zoo.cfg read back through the files it wrote.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZooCfg } from '../../../src/zookeeper/config.js';
import { parseMembership, renderMembership } from '../../../src/zookeeper/quorum/config.js';
import {
  DynamicConfigFiles,
  eraseClientInfo,
  renderDynamicFile,
  rewriteStaticConfig,
} from '../../../src/zookeeper/quorum/dynamicConfigFiles.js';
import { parseProperties } from '../../../src/zookeeper/config.js';
import { silentLogger } from '../../../src/util/log.js';

const D = '/tmp/cg-apache-ens-Z8szLu/zk1';

// zoo.cfg as the test layout wrote it (Apache's zoo.cfg.bak: the same bytes).
const ORIGINAL =
  `tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=${D}\nclientPort=24908\nclientPortAddress=127.0.0.1\nforceSync=yes\n` +
  '4lw.commands.whitelist=*\nadmin.enableServer=false\nmaxClientCnxns=0\nreconfigEnabled=true\n' +
  'superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\nserver.1=127.0.0.1:17748:12618;127.0.0.1:24908\n' +
  'server.2=127.0.0.1:28122:18615;127.0.0.1:31542\nserver.3=127.0.0.1:32218:16975;127.0.0.1:18737\n';

// Apache's zoo.cfg after its first configuration (version 100000000) ...
const FIRST =
  `superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\ndataDir=${D}\n4lw.commands.whitelist=*\nsyncLimit=5\nreconfigEnabled=true\n` +
  'forceSync=yes\nadmin.enableServer=false\ninitLimit=10\ntickTime=200\nmaxClientCnxns=0\n' +
  `dynamicConfigFile=${D}/zoo.cfg.dynamic.100000000\n`;
// ... and after `reconfig -remove 1` (100000002), rewritten from FIRST: another key order.
const SECOND =
  `superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\nforceSync=yes\nadmin.enableServer=false\ndataDir=${D}\n4lw.commands.whitelist=*\n` +
  'initLimit=10\ntickTime=200\nsyncLimit=5\nreconfigEnabled=true\nmaxClientCnxns=0\n' +
  `dynamicConfigFile=${D}/zoo.cfg.dynamic.100000002\n`;

const DYNAMIC_100000000 =
  'server.1=127.0.0.1:17748:12618:participant;127.0.0.1:24908\n' +
  'server.2=127.0.0.1:28122:18615:participant;127.0.0.1:31542\n' +
  'server.3=127.0.0.1:32218:16975:participant;127.0.0.1:18737';
const DYNAMIC_100000002 =
  'server.2=127.0.0.1:28122:18615:participant;127.0.0.1:31542\nserver.3=127.0.0.1:32218:16975:participant;127.0.0.1:18737';

/** A configuration as /zookeeper/config holds it. */
function qvOf(text: string) {
  return parseMembership(parseProperties(text), { multiAddressEnabled: false });
}

test('zoo.cfg is rewritten as Apache 3.8 rewrites it (key order, dropped keys, the dynamicConfigFile line)', () => {
  assert.equal(rewriteStaticConfig(ORIGINAL, `${D}/zoo.cfg.dynamic.100000000`, true), FIRST);
  assert.equal(rewriteStaticConfig(FIRST, `${D}/zoo.cfg.dynamic.100000002`, true), SECOND);
  // Without erasing (this member's line has no client part): clientPort and clientPortAddress stay.
  const kept = rewriteStaticConfig(ORIGINAL, '/x/zoo.cfg.dynamic.1', false);
  assert.match(kept, /^clientPort=24908$/m);
  assert.match(kept, /^clientPortAddress=127\.0\.0\.1$/m);
  assert.doesNotMatch(kept, /^server\./m);
  // peerType, group/weight and an old dynamicConfigFile line go too.
  const other = rewriteStaticConfig('peerType=observer\ndynamicConfigFile=/old\nweight.1=1\ntickTime=2000\n', '/new', false);
  assert.equal(other, 'tickTime=2000\ndynamicConfigFile=/new\n');
});

test('the dynamic file holds the sorted server lines without a version, as Apache writes it', () => {
  const all = qvOf(`${DYNAMIC_100000000}\nversion=100000000`);
  assert.equal(renderDynamicFile(all), DYNAMIC_100000000);
  // Ids above 9 sort as strings (Collections.sort of the lines).
  const ten = qvOf(`server.10=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;6\nserver.3=127.0.0.1:7:8:observer;9\nversion=5`);
  assert.equal(
    renderDynamicFile(ten),
    'server.10=127.0.0.1:1:2:participant;0.0.0.0:3\nserver.2=127.0.0.1:4:5:participant;0.0.0.0:6\nserver.3=127.0.0.1:7:8:observer;0.0.0.0:9',
  );
  assert.equal(renderDynamicFile(qvOf(`${DYNAMIC_100000002}\nversion=100000002`)), DYNAMIC_100000002);
  assert.equal(eraseClientInfo(all, 1), true);
  assert.equal(eraseClientInfo(all, 7), false, 'a member not in the configuration keeps its client keys');
});

test('a member writes its files at each new configuration and a restart reads them back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-dynfiles-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'myid'), '2\n');
  // Member 2's own zoo.cfg (its client port).
  const original = ORIGINAL.replace(D, dir).replace('clientPort=24908', 'clientPort=31542');
  const cfgPath = join(dir, 'zoo.cfg');
  writeFileSync(cfgPath, original);
  const started = loadZooCfg(cfgPath).options.ensemble!;
  assert.equal(started.configPath, cfgPath);
  const files = new DynamicConfigFiles(cfgPath, 2, started.version, silentLogger);
  files.backup();
  assert.equal(readFileSync(`${cfgPath}.bak`, 'utf8'), original);

  files.committed({ members: started.members, version: 0 });
  assert.deepEqual(readdirSync(dir).sort(), ['myid', 'zoo.cfg', 'zoo.cfg.bak'], 'nothing new: version 0 is what the files hold');

  const removed = qvOf(`${DYNAMIC_100000002}\nversion=100000002`);
  files.committed(removed);
  assert.equal(readFileSync(`${cfgPath}.dynamic.100000002`, 'utf8'), DYNAMIC_100000002);
  const rewritten = readFileSync(cfgPath, 'utf8');
  assert.equal(rewritten, rewriteStaticConfig(original, join(dir, 'zoo.cfg.dynamic.100000002'), true));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );

  // A restart: the membership and its version come from the dynamic file, the client port from this member's line.
  const again = loadZooCfg(cfgPath);
  const e = again.options.ensemble!;
  assert.equal(e.version, 0x100000002);
  assert.equal(e.dynamicConfigFile, join(dir, 'zoo.cfg.dynamic.100000002'));
  assert.equal(renderMembership(e), renderMembership(removed));
  assert.equal(again.options.clientPort, 31542);

  // An older configuration than the files' (a replayed log) writes nothing.
  files.committed({ ...removed, version: 0x100000001 });
  assert.equal(readFileSync(cfgPath, 'utf8'), rewritten);
});
