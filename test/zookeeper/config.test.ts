import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProperties, parseZooCfg, ConfigError } from '../../src/zookeeper/config.js';

test('java properties syntax: separators, comments, continuations', () => {
  const e = parseProperties('# c\n! c\na=1\nb : 2\nc 3\n  d=4 \\\n   5\ne=\n');
  assert.deepEqual(
    e.map((x) => [x.key, x.value, x.line]),
    [
      ['a', '1', 3],
      ['b', '2', 4],
      ['c', '3', 5],
      ['d', '4 5', 6],
      ['e', '', 8],
    ],
  );
});

test('zoo.cfg keys map onto options with ZooKeeper defaults', () => {
  const { options, warnings } = parseZooCfg(
    'tickTime=1000\ndataDir=/tmp/x\nclientPort=2199\n4lw.commands.whitelist=ruok, srvr\nextendedTypesEnabled=true\nmetricsProvider.className=x\nfoo.bar=1\nsnapCount=1000\nforceSync=no\npreAllocSize=16\nautopurge.snapRetainCount=5\nautopurge.purgeInterval=2\n',
    '/',
  );
  assert.equal(options.tickTimeMs, 1000);
  assert.equal(options.minSessionTimeoutMs, 2000);
  assert.equal(options.maxSessionTimeoutMs, 20000);
  assert.equal(options.dataLogDir, '/tmp/x');
  assert.deepEqual([...options.fourLetterWords], ['ruok', 'srvr']);
  assert.equal(options.extendedTypesEnabled, true);
  assert.equal(options.maxClientCnxns, 60);
  assert.equal(options.snapCount, 1000);
  assert.equal(options.forceSync, false);
  assert.equal(options.preAllocBytes, 16 * 1024);
  assert.equal(options.snapRetainCount, 5);
  assert.equal(options.purgeIntervalHours, 2);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /metricsProvider\.className .*line 6/);
  assert.match(warnings[1]!, /unknown key foo\.bar .*line 7/);
});

test('-D style system properties are accepted with the zookeeper. prefix', () => {
  const { options } = parseZooCfg('dataDir=/tmp/x\nclientPort=1\n', '/', {
    'zookeeper.DigestAuthenticationProvider.superDigest': 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
    'zookeeper.extendedTypesEnabled': 'true',
  });
  assert.equal(options.superDigest, 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  assert.equal(options.extendedTypesEnabled, true);
});

test('bad values fail fast naming key and line', () => {
  assert.throws(
    () => parseZooCfg('dataDir=/x\nclientPort=abc\n', '/'),
    (e: Error) => e instanceof ConfigError && /clientPort.*"abc".*line 2/.test(e.message),
  );
  assert.throws(() => parseZooCfg('dataDir=/x\nclientPort=70000\n', '/'), /clientPort=70000 is out of range.*line 2/);
  assert.throws(() => parseZooCfg('clientPort=1\n', '/'), /dataDir is not set/);
  assert.throws(
    () => parseZooCfg('dataDir=/x\nclientPort=1\nadmin.enableServer=maybe\n', '/'),
    /admin\.enableServer must be true or false.*line 3/,
  );
  assert.throws(() => parseZooCfg('dataDir=/x\nclientPort=1\nminSessionTimeout=5000\nmaxSessionTimeout=4000\n', '/'), /minSessionTimeout/);
  assert.throws(
    () => parseZooCfg('dataDir=/x\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:1\n', '/'),
    /server\.2=b:1:1: Client and election port must be different.*line 4/,
  );
});

test('several server.N lines configure an ensemble (no longer refused); one line stays standalone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-cfg-'));
  try {
    await writeFile(join(dir, 'myid'), '2\n');
    const cfg = `dataDir=${dir}\nclientPort=2181\ninitLimit=10\nsyncLimit=5\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n`;
    const { options, warnings, servers } = parseZooCfg(cfg, dir);
    assert.ok(options.ensemble);
    assert.equal(options.serverId, 2);
    assert.equal(options.ensemble.myId, 2);
    assert.deepEqual(
      options.ensemble.members.map((m) => [m.id, m.host, m.quorumPort, m.electionPort, m.role]),
      [
        [1, '127.0.0.1', 2888, 3888, 'participant'],
        [2, '127.0.0.1', 2889, 3889, 'participant'],
        [3, '127.0.0.1', 2890, 3890, 'participant'],
      ],
    );
    assert.equal(options.ensemble.initLimit, 10);
    assert.equal(options.ensemble.syncLimit, 5);
    assert.deepEqual(warnings, []);
    assert.equal(servers.get(3), '127.0.0.1:2890:3890');
    // initLimit, syncLimit and the other quorum keys are parsed now, not "not supported yet".
    const w = parseZooCfg(
      `${cfg}electionAlg=3\npeerType=participant\nstandaloneEnabled=true\nquorumListenOnAllIPs=false\ncnxTimeout=5000\n`,
      dir,
    ).warnings;
    assert.deepEqual(w, []);
    // Missing initLimit in an ensemble is Apache's "initLimit is not set".
    assert.throws(
      () => parseZooCfg(cfg.replace('initLimit=10\n', ''), dir),
      (e: Error) => e instanceof ConfigError && /initLimit is not set/.test(e.message),
    );
    // One server.N line with standaloneEnabled=true (the default) is a standalone server, as in Apache.
    const one = parseZooCfg(`dataDir=${dir}\nclientPort=2181\nserver.2=127.0.0.1:2889:3889\n`, dir);
    assert.equal(one.options.ensemble, undefined);
    assert.match(one.warnings.join('\n'), /only one server specified/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('myid is read from dataDir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-cfg-'));
  try {
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd', 'myid'), '7\n');
    const { options } = parseZooCfg(`dataDir=${join(dir, 'd')}\nclientPort=1\nserver.7=localhost:1:2\n`, dir);
    assert.equal(options.serverId, 7);
    await writeFile(join(dir, 'd', 'myid'), 'seven\n');
    // QuorumPeerConfig.setupMyId's message, in every mode.
    assert.throws(() => parseZooCfg(`dataDir=${join(dir, 'd')}\nclientPort=1\n`, dir), /serverid seven is not a number.*myid/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
