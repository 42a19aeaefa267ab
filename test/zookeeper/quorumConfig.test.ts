// The ensemble part of zoo.cfg (src/zookeeper/quorum/config.ts, and its use in
// src/zookeeper/config.ts), rule by rule, as Apache ZooKeeper 3.8's QuorumPeerConfig parses it.
//
// Every case in CASES is checked on its own, and then all of them are parsed by Apache's own
// QuorumPeerConfig (Debian's 3.8 jar, one JVM for all cases, static state reset between them) and
// the results compared: accepted or refused, and for an ensemble its id, role, client address and
// membership as QuorumMaj.toString() prints it. Cases that differ on purpose say why
// (`apacheDiffers`); the comparison then checks that they still differ in that way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadZooCfg, type ParsedConfig } from '../../src/zookeeper/config.js';
import {
  formatServerLine,
  isQuorum,
  javaHostString,
  javaLongHashMapOrder,
  parseServerLine,
  quorumSize,
  renderMembership,
  renderQuorumConf,
  type EnsembleConfig,
  type QuorumMember,
} from '../../src/zookeeper/quorum/config.js';

type Result = { parsed: ParsedConfig; error?: undefined } | { parsed?: undefined; error: ConfigError };

interface Case {
  name: string;
  /** zoo.cfg lines; `@DATA` is the data directory, `@DIR` the case's directory. */
  cfg: string[];
  /** Content of @DATA/myid (no file when undefined). */
  myid?: string;
  /** More files in @DIR (dynamic config files), by name; `@DIR` is replaced in their text too. */
  files?: Record<string, string>;
  /** -D system properties (for Apache: set before parsing). */
  sysProps?: Record<string, string>;
  check: (r: Result, c: { dir: string; data: string }) => void;
  /** Apache accepts what we refuse or the other way round, on purpose: why. */
  apacheDiffers?: string;
  /** Not comparable with Apache in one JVM (e.g. relative paths, which Java resolves against its cwd). */
  skipApache?: string;
}

const Q = ['initLimit=5', 'syncLimit=2', 'clientPort=2181'];
const S3 = ['server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:2889:3889', 'server.3=127.0.0.1:2890:3890'];
const base = (...lines: string[]): string[] => ['dataDir=@DATA', ...lines];

function ok(r: Result): ParsedConfig {
  if (r.error) assert.fail(`expected the config to be accepted, got: ${r.error.message}`);
  return r.parsed!;
}

function ens(r: Result): EnsembleConfig {
  const e = ok(r).options.ensemble;
  assert.ok(e, 'expected an ensemble');
  return e;
}

function standalone(r: Result): ParsedConfig {
  const p = ok(r);
  assert.equal(p.options.ensemble, undefined, 'expected a standalone server');
  return p;
}

function refused(r: Result, re: RegExp): void {
  assert.ok(r.error, `expected ConfigError matching ${re}, but the config was accepted`);
  assert.ok(r.error instanceof ConfigError);
  assert.match(r.error.message, re);
}

const noWarnings = (r: Result): void => assert.deepEqual(ok(r).warnings, []);

/** A server line that must be refused, with the message and its line (line 5: after dataDir and Q). */
function badLine(name: string, line: string, re: RegExp): Case {
  return {
    name: `server line refused: ${name}`,
    cfg: base(...Q, `server.1=${line}`, S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => {
      refused(r, re);
      refused(r, /\(line 5\)/);
    },
  };
}

const CASES: Case[] = [
  // ---------------------------------------------------------------- standalone or ensemble
  {
    name: 'no server lines: standalone',
    cfg: base('clientPort=2181'),
    check: (r) => {
      const p = standalone(r);
      assert.equal(p.options.serverId, 0);
      assert.deepEqual(p.warnings, []);
    },
  },
  {
    name: 'one server line with standaloneEnabled=true (the default): standalone, as Apache',
    cfg: base('clientPort=2181', 'server.1=127.0.0.1:2888:3888'),
    check: (r) => assert.match(standalone(r).warnings.join('\n'), /only one server specified \(ignoring\)/),
  },
  {
    name: 'one server line: its client port is used when myid names it, even standalone',
    cfg: base('server.1=127.0.0.1:2888:3888;2182'),
    myid: '1\n',
    check: (r) => {
      const p = standalone(r);
      assert.equal(p.options.clientPort, 2182);
      assert.equal(p.options.clientPortAddress, '0.0.0.0');
      assert.equal(p.options.serverId, 1);
    },
  },
  {
    name: 'one server line whose client port differs from clientPort is refused, even standalone',
    cfg: base('clientPort=2181', 'server.1=127.0.0.1:2888:3888;2182'),
    myid: '1\n',
    check: (r) =>
      refused(
        r,
        /client address for this server \(id = 1\) in static config file is 0\.0\.0\.0:2181 is different from client address found in dynamic file: 0\.0\.0\.0:2182/,
      ),
  },
  {
    name: 'standaloneEnabled=false with one server line: a one-member ensemble',
    cfg: base(...Q, 'standaloneEnabled=false', 'server.1=127.0.0.1:2888:3888'),
    myid: '1\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(e.standaloneEnabled, false);
      assert.equal(quorumSize(e), 1);
      assert.ok(isQuorum(e, [1]));
      assert.match(ok(r).warnings.join('\n'), /No server failure will be tolerated/);
    },
  },
  {
    name: 'standaloneEnabled=false with one server line still needs initLimit',
    cfg: base('clientPort=2181', 'standaloneEnabled=false', 'server.1=127.0.0.1:2888:3888'),
    myid: '1\n',
    check: (r) => refused(r, /initLimit is not set/),
  },
  {
    name: 'standaloneEnabled=false without server lines',
    cfg: base(...Q, 'standaloneEnabled=false'),
    myid: '1\n',
    check: (r) => refused(r, /standaloneEnabled = false then number of participants should be >0/),
  },
  {
    name: 'observers without participants',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888:observer'),
    myid: '1\n',
    check: (r) => refused(r, /Observers w\/o participants is an invalid configuration/),
  },
  {
    name: 'an observer and a single participant',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:2889:3889:observer'),
    myid: '1\n',
    check: (r) => refused(r, /Observers w\/o quorum is an invalid configuration/),
  },
  {
    name: 'two participants: accepted with a warning',
    cfg: base(...Q, S3[0]!, S3[1]!),
    myid: '1\n',
    check: (r) => {
      assert.equal(quorumSize(ens(r)), 2);
      assert.deepEqual(ok(r).warnings, ['No server failure will be tolerated. You need at least 3 servers.']);
    },
  },
  {
    name: 'four participants: accepted with a warning',
    cfg: base(...Q, ...S3, 'server.4=127.0.0.1:2891:3891'),
    myid: '4\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(quorumSize(e), 3);
      assert.ok(!isQuorum(e, [1, 2]));
      assert.ok(isQuorum(e, [1, 2, 4]));
      assert.deepEqual(ok(r).warnings, ['Non-optimal configuration, consider an odd number of servers.']);
    },
  },
  // ---------------------------------------------------------------- a full ensemble
  {
    name: 'three participants and an observer',
    cfg: base(...Q, ...S3, 'server.4=127.0.0.1:2891:3891:observer;2184'),
    myid: '1\n',
    check: (r) => {
      noWarnings(r);
      const p = ok(r);
      const e = ens(r);
      assert.equal(p.options.serverId, 1);
      assert.equal(e.myId, 1);
      assert.equal(e.peerType, 'participant');
      assert.equal(e.electionAlg, 3);
      assert.equal(e.initLimit, 5);
      assert.equal(e.syncLimit, 2);
      assert.equal(e.connectToLearnerMasterLimit, 0);
      assert.equal(e.cnxTimeoutMs, 5000);
      assert.equal(e.quorumListenOnAllIPs, false);
      assert.equal(e.version, 0);
      assert.deepEqual(
        e.members.map((m) => [m.id, m.role, m.clientPort, m.clientFromStatic]),
        [
          [1, 'participant', 2181, true],
          [2, 'participant', undefined, false],
          [3, 'participant', undefined, false],
          [4, 'observer', 2184, false],
        ],
      );
      assert.equal(quorumSize(e), 2);
      assert.ok(isQuorum(e, [1, 3]));
      assert.ok(!isQuorum(e, [1, 4, 4]), 'observers do not count');
      assert.ok(!isQuorum(e, [2, 99]), 'strangers do not count');
      // QuorumMaj.toString(): this server's client address came from clientPort, so it is not printed.
      assert.equal(
        renderMembership(e),
        'server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n' +
          'server.3=127.0.0.1:2890:3890:participant\nserver.4=127.0.0.1:2891:3891:observer;0.0.0.0:2184\nversion=0',
      );
    },
  },
  {
    name: 'myid file missing in an ensemble',
    cfg: base(...Q, ...S3),
    check: (r) => refused(r, /myid file is missing/),
  },
  {
    name: 'myid -1 is Apache\'s "unset"',
    cfg: base(...Q, ...S3),
    myid: '-1\n',
    check: (r) => refused(r, /myid file is missing/),
  },
  {
    name: 'myid not in the server list',
    cfg: base(...Q, ...S3),
    myid: '9\n',
    check: (r) => refused(r, /My id 9 not in the peer list/),
    apacheDiffers: 'Apache parses it and fails when the peer starts ("My id 9 not in the peer list")',
  },
  {
    name: 'initLimit missing',
    cfg: base('syncLimit=2', 'clientPort=2181', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /initLimit is not set/),
  },
  {
    name: 'syncLimit missing',
    cfg: base('initLimit=2', 'clientPort=2181', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /syncLimit is not set/),
  },
  {
    name: 'negative initLimit',
    cfg: base('initLimit=-1', 'syncLimit=3', 'clientPort=2181', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /initLimit=-1 is out of range/),
    apacheDiffers: 'Apache only checks for 0 and then runs with a negative timeout',
  },
  {
    name: 'initLimit and syncLimit are not checked for a standalone server',
    cfg: base('initLimit=-1', 'clientPort=2181'),
    check: (r) => standalone(r),
  },
  {
    name: 'electionAlg other than 3',
    cfg: base(...Q, 'electionAlg=1', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /Invalid electionAlg value\. Only 3 is supported\..*line 5/),
  },
  {
    name: 'electionAlg other than 3, even standalone',
    cfg: base('clientPort=2181', 'electionAlg=0'),
    check: (r) => refused(r, /Invalid electionAlg value\. Only 3 is supported/),
  },
  {
    name: 'electionAlg not a number',
    cfg: base(...Q, 'electionAlg=abc', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /electionAlg must be an integer, got "abc" \(line 5\)/),
  },
  { name: 'electionAlg=3', cfg: base(...Q, 'electionAlg=3', ...S3), myid: '1\n', check: (r) => assert.equal(ens(r).electionAlg, 3) },
  // ---------------------------------------------------------------- peerType
  {
    name: 'peerType=observer on a participant line: the server list wins, with a warning',
    cfg: base(...Q, 'peerType=observer', ...S3),
    myid: '1\n',
    check: (r) => {
      assert.equal(ens(r).peerType, 'participant');
      assert.match(
        ok(r).warnings.join('\n'),
        /Peer type from servers list \(participant\) doesn't match peerType \(observer\)\. Defaulting to servers list\./,
      );
    },
  },
  {
    name: 'an observer line without peerType: observer',
    cfg: base(...Q, ...S3, 'server.4=127.0.0.1:2891:3891:observer'),
    myid: '4\n',
    check: (r) => {
      assert.equal(ens(r).peerType, 'observer');
      noWarnings(r);
    },
  },
  { name: 'peerType=foo', cfg: base(...Q, 'peerType=foo', ...S3), myid: '1\n', check: (r) => refused(r, /Unrecognised peertype: foo/) },
  { name: 'peerType is case-insensitive', cfg: base(...Q, 'peerType=PARTICIPANT', ...S3), myid: '1\n', check: noWarnings },
  // ---------------------------------------------------------------- server.N syntax
  {
    name: 'IPv6 literals and localhost',
    cfg: base(
      ...Q,
      'server.1=[::1]:2888:3888',
      'server.2=[2001:db8::1]:2888:3888:observer;[::1]:2181',
      'server.3=[0:0:0:0:0:0:0:1]:2890:3890;2183',
      'server.4=localhost:2891:3891',
    ),
    myid: '1\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(e.members[1]!.host, '2001:db8:0:0:0:0:0:1');
      assert.equal(e.members[1]!.clientAddress, '0:0:0:0:0:0:0:1');
      assert.equal(
        renderMembership(e),
        'server.1=[0:0:0:0:0:0:0:1]:2888:3888:participant\nserver.2=[2001:db8:0:0:0:0:0:1]:2888:3888:observer;[0:0:0:0:0:0:0:1]:2181\n' +
          'server.3=[0:0:0:0:0:0:0:1]:2890:3890:participant;0.0.0.0:2183\nserver.4=localhost:2891:3891:participant\nversion=0',
      );
    },
  },
  {
    name: 'ports with a sign or leading zeros, the type in capitals',
    cfg: base(...Q, 'server.1=127.0.0.1:+2888:03888:OBSERVER', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(e.peerType, 'observer');
      assert.equal(formatServerLine(e.members[0]!), '127.0.0.1:2888:3888:observer');
    },
  },
  {
    name: 'a trailing colon or semicolon is dropped (String.split)',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888:', 'server.2=127.0.0.1:2889:3889;', S3[2]!),
    myid: '1\n',
    check: (r) =>
      assert.deepEqual(
        ens(r).members.map((m) => m.clientPort),
        [2181, undefined, undefined],
      ),
  },
  {
    name: 'an empty host is localhost',
    cfg: base(...Q, 'server.1=:2888:3888', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => assert.equal(ens(r).members[0]!.host, 'localhost'),
  },
  {
    name: 'trailing whitespace after the type is fine',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888:participant  ', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => assert.equal(ens(r).members[0]!.role, 'participant'),
  },
  badLine(
    'quorum port equal to election port',
    '127.0.0.1:2888:2888',
    /Client and election port must be different! Please update the configuration file on server\.1/,
  ),
  badLine('a port that is not a number', '127.0.0.1:abc:3888', /Address unresolved: 127\.0\.0\.1:abc/),
  badLine('a port out of range', '127.0.0.1:70000:3888', /port out of range:70000/),
  badLine('a negative port', '127.0.0.1:-1:3888', /port out of range:-1/),
  badLine('only one port', '127.0.0.1:2888', /does not have the form server_config/),
  badLine('five parts', '127.0.0.1:2888:3888:participant:x', /does not have the form server_config/),
  badLine('an unknown type', '127.0.0.1:2888:3888:leader', /Unrecognised peertype: leader/),
  badLine('a client port that is not a number', '127.0.0.1:2888:3888;abc', /Address unresolved: null:abc/),
  badLine('a client part with three parts', '127.0.0.1:2888:3888;a:b:c', /does not have the form server_config/),
  badLine('three ;-separated parts', '127.0.0.1:2888:3888;2181;x', /does not have the form server_config/),
  badLine("a '[' without ']'", '[::1:2888:3888', /starts with '\[' but has no matching '\]:'/),
  badLine("nothing after ']:'", '[::1]:', /doesn't have a port after colon/),
  badLine('a client part [::1] without a port', '127.0.0.1:2888:3888;[::1]', /Address unresolved: null:::1/),
  badLine(
    'trailing whitespace after a port (Properties keeps it, Apache refuses it)',
    '127.0.0.1:2888:3888 ',
    /Address unresolved: 127\.0\.0\.1:3888 .*trailing whitespace/,
  ),
  {
    name: 'server.abc',
    cfg: base(...Q, 'server.abc=127.0.0.1:2888:3888', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /server\.abc.*is not a number.*line 5/),
  },
  {
    name: 'server. without an id',
    cfg: base(...Q, ...S3, 'server.=127.0.0.9:2888:3888'),
    myid: '1\n',
    check: (r) => refused(r, /server id "" is not a number/),
  },
  {
    name: 'server.01 and server.1',
    cfg: base(...Q, ...S3, 'server.01=127.0.0.9:2888:3888'),
    myid: '1\n',
    check: (r) => refused(r, /server\.1 and server\.01 both define server 1/),
    apacheDiffers: 'Apache keeps whichever of the two its hash order visits last',
  },
  {
    name: 'the same server.N twice: the last one counts (Properties)',
    cfg: base(...Q, ...S3, 'server.1=127.0.0.9:2888:3888'),
    myid: '1\n',
    check: (r) => {
      assert.equal(ens(r).members[0]!.host, '127.0.0.9');
      assert.match(ok(r).warnings.join('\n'), /server\.1 is set more than once/);
    },
  },
  {
    name: 'serverx.1 is not a server line',
    cfg: base(...Q, ...S3, 'serverx.1=1'),
    myid: '1\n',
    check: (r) => assert.match(ok(r).warnings.join('\n'), /unknown key serverx\.1/),
  },
  {
    name: 'ids 0, negative and above 255 are Java longs',
    cfg: base(...Q, 'server.0=127.0.0.1:2888:3888', 'server.-5=127.0.0.1:2889:3889', 'server.300=127.0.0.1:2890:3890'),
    myid: '0\n',
    check: (r) => {
      const e = ens(r);
      assert.deepEqual(
        e.members.map((m) => m.id),
        [0, -5, 300],
      );
      assert.match(ok(r).warnings.join('\n'), /server\.300: ids outside 0\.\.255/);
    },
  },
  {
    name: 'extendedTypesEnabled with a server id above 254',
    cfg: base(
      ...Q,
      'extendedTypesEnabled=true',
      'server.1=127.0.0.1:2888:3888',
      'server.2=127.0.0.1:2889:3889',
      'server.300=127.0.0.1:2890:3890',
    ),
    myid: '300\n',
    check: (r) => refused(r, /extendedTypesEnabled is true but Server ID is too large\. Cannot be larger than 254/),
    apacheDiffers: 'Apache parses it and fails when the session tracker starts (EphemeralType.validateServerId)',
  },
  {
    name: 'a version key in zoo.cfg is the membership version (hex)',
    cfg: base(...Q, ...S3, 'version=100'),
    myid: '1\n',
    check: (r) => {
      assert.equal(ens(r).version, 0x100);
      assert.match(renderMembership(ens(r)), /\nversion=100$/);
    },
  },
  {
    name: 'a version that is not hex',
    cfg: base(...Q, ...S3, 'version=zz'),
    myid: '1\n',
    check: (r) => refused(r, /version must be a hex number, got "zz"/),
  },
  {
    name: 'hierarchical quorums (group.N, weight.N)',
    cfg: base(...Q, ...S3, 'group.1=1:2:3', 'weight.1=1', 'weight.2=1', 'weight.3=1'),
    myid: '1\n',
    check: (r) => refused(r, /group\.1: hierarchical quorums .* are not supported.*line 8/),
    apacheDiffers: 'Apache supports hierarchical quorums (QuorumHierarchical); not implemented here',
  },
  {
    name: 'any key starting with weight makes the quorum hierarchical',
    cfg: base(...Q, ...S3, 'weightx=1'),
    myid: '1\n',
    check: (r) => refused(r, /weightx: hierarchical quorums/),
  },
  {
    name: 'member order follows Java hash order (ids that share a HashMap bucket)',
    cfg: base(
      'initLimit=5',
      'syncLimit=2',
      'clientPort=2181',
      'server.33=127.0.0.1:1033:2033',
      'server.1=127.0.0.1:1001:2001',
      'server.17=127.0.0.1:1017:2017',
      'server.2=127.0.0.1:1002:2002',
      'server.300=127.0.0.1:1300:2300',
      'server.16=127.0.0.1:1016:2016',
    ),
    myid: '17\n',
    check: (r) =>
      assert.deepEqual(
        ens(r).members.map((m) => m.id),
        [16, 33, 1, 17, 2, 300],
      ),
  },
  // ---------------------------------------------------------------- multiple addresses
  {
    name: 'several addresses without zookeeper.multiAddress.enabled',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888|127.0.0.2:2888:3888', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /Multiple address feature is disabled, but multiple addresses were specified for sid 1/),
  },
  {
    name: 'multiAddress.enabled=true in zoo.cfg does not enable them for server lines (Apache 3.8)',
    cfg: base(...Q, 'multiAddress.enabled=true', 'server.1=127.0.0.1:2888:3888|127.0.0.2:2888:3888', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /Multiple address feature is disabled.*zookeeper\.multiAddress\.enabled=true does/),
  },
  {
    name: 'several addresses with the system property zookeeper.multiAddress.enabled=true',
    cfg: base(...Q, S3[0]!, S3[1]!, 'server.3=127.0.0.2:2898:3898|127.0.0.1:2899:3899|[::1]:2890:3890;2183'),
    myid: '1\n',
    sysProps: { 'zookeeper.multiAddress.enabled': 'true' },
    check: (r) => {
      const e = ens(r);
      const m = e.members[2]!;
      assert.equal(m.host, '127.0.0.2');
      assert.equal(m.quorumPort, 2898);
      assert.equal(m.addresses.length, 3);
      assert.equal(e.multiAddressEnabled, true);
      assert.equal(formatServerLine(m), '[0:0:0:0:0:0:0:1]:2890:3890|127.0.0.1:2899:3899|127.0.0.2:2898:3898:participant;0.0.0.0:2183');
    },
  },
  {
    name: 'several addresses with different roles',
    cfg: base(...Q, S3[0]!, S3[1]!, 'server.3=127.0.0.2:2888:3888:observer|127.0.0.1:2889:3889:participant'),
    myid: '1\n',
    sysProps: { 'zookeeper.multiAddress.enabled': 'true' },
    check: (r) => refused(r, /Multiple addresses should have similar roles/),
  },
  // ---------------------------------------------------------------- the client port
  {
    name: 'clientPort and a different client port on this server line',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888;2182', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /client address for this server \(id = 1\).*0\.0\.0\.0:2181.*0\.0\.0\.0:2182/),
  },
  {
    name: 'clientPortAddress equal to the line client address',
    cfg: base(...Q, 'clientPortAddress=127.0.0.1', 'server.1=127.0.0.1:2888:3888;127.0.0.1:2181', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => assert.equal(ok(r).options.clientPortAddress, '127.0.0.1'),
  },
  {
    name: 'clientPortAddress localhost and 127.0.0.1 on the line are the same address',
    cfg: base(...Q, 'clientPortAddress=localhost', 'server.1=127.0.0.1:2888:3888;127.0.0.1:2181', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => assert.equal(ok(r).options.clientPortAddress, '127.0.0.1'),
  },
  {
    name: 'clientPortAddress different from the line client address',
    cfg: base(...Q, 'clientPortAddress=127.0.0.1', 'server.1=127.0.0.1:2888:3888;0.0.0.0:2181', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /client address for this server \(id = 1\) in static config file is 127\.0\.0\.1:2181/),
  },
  {
    name: 'a wildcard clientPortAddress only compares ports; the line address is used',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888;127.0.0.5:2181', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => {
      assert.equal(ok(r).options.clientPortAddress, '127.0.0.5');
      assert.equal(ok(r).options.clientPort, 2181);
    },
  },
  {
    name: 'the client port only on the server line',
    cfg: base('initLimit=5', 'syncLimit=2', 'server.1=127.0.0.1:2888:3888;127.0.0.5:2187', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => {
      assert.equal(ok(r).options.clientPort, 2187);
      assert.equal(ens(r).members[0]!.clientFromStatic, false);
      assert.match(renderMembership(ens(r)), /^server\.1=127\.0\.0\.1:2888:3888:participant;127\.0\.0\.5:2187\n/);
    },
  },
  {
    name: 'no client port anywhere',
    cfg: base('initLimit=5', 'syncLimit=2', ...S3),
    myid: '1\n',
    check: (r) => refused(r, /clientPort is not set/),
    apacheDiffers: 'Apache runs a quorum peer without a client port; this server needs one',
  },
  {
    name: 'clientPortAddress without clientPort',
    cfg: base('initLimit=5', 'syncLimit=2', 'clientPortAddress=127.0.0.1', 'server.1=127.0.0.1:2888:3888;2181', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /clientPortAddress is set but clientPort is not set/),
  },
  {
    name: 'client port 0 on the line differs from clientPort',
    cfg: base(...Q, 'server.1=127.0.0.1:2888:3888:participant;0', S3[1]!, S3[2]!),
    myid: '1\n',
    check: (r) => refused(r, /client address for this server \(id = 1\)/),
  },
  // ---------------------------------------------------------------- booleans and other keys
  {
    name: 'standaloneEnabled=yes',
    cfg: base(...Q, ...S3, 'standaloneEnabled=yes'),
    myid: '1\n',
    check: (r) => refused(r, /Invalid option yes for standaloneEnabled\. Choose 'true' or 'false\.'/),
  },
  {
    name: 'booleans are case-insensitive',
    cfg: base(...Q, ...S3, 'standaloneEnabled=TRUE', 'reconfigEnabled=True', 'quorumListenOnAllIPs=true'),
    myid: '1\n',
    check: (r) => {
      assert.equal(ens(r).quorumListenOnAllIPs, true);
      assert.equal(ok(r).options.reconfigEnabled, true);
    },
  },
  {
    name: 'cnxTimeout and connectToLearnerMasterLimit',
    cfg: base(...Q, ...S3, 'cnxTimeout=2500', 'connectToLearnerMasterLimit=7'),
    myid: '1\n',
    check: (r) => {
      assert.equal(ens(r).cnxTimeoutMs, 2500);
      assert.equal(ens(r).connectToLearnerMasterLimit, 7);
      noWarnings(r);
    },
  },
  {
    name: 'connectToLearnerMasterLimit not a number',
    cfg: base(...Q, ...S3, 'connectToLearnerMasterLimit=x'),
    myid: '1\n',
    check: (r) => refused(r, /connectToLearnerMasterLimit must be an integer/),
  },
  {
    name: 'cnxTimeout not a number',
    cfg: base(...Q, ...S3, 'cnxTimeout=abc'),
    myid: '1\n',
    check: (r) => refused(r, /cnxTimeout must be an integer, got "abc" \(line 8\)/),
    apacheDiffers: 'Apache keeps it as the system property zookeeper.cnxTimeout and fails when the election starts',
  },
  {
    name: 'initLimit as a -D system property has no effect',
    cfg: base('syncLimit=2', 'clientPort=2181', ...S3),
    myid: '1\n',
    sysProps: { 'zookeeper.initLimit': '5' },
    check: (r) => refused(r, /initLimit is not set/),
  },
  {
    name: 'zookeeper.server.N is not a server line',
    cfg: base('clientPort=2181', 'server.1=127.0.0.1:2888:3888', 'zookeeper.server.2=127.0.0.1:2889:3889'),
    myid: '1\n',
    check: (r) => {
      standalone(r);
      assert.match(ok(r).warnings.join('\n'), /unknown key zookeeper\.server\.2/);
    },
  },
  {
    name: 'zookeeper.initLimit in zoo.cfg has no effect either',
    cfg: base('zookeeper.initLimit=5', 'clientPort=2181'),
    check: (r) => assert.match(standalone(r).warnings.join('\n'), /zookeeper\.initLimit has no effect \(line 2\)/),
  },
  // ---------------------------------------------------------------- the myid file
  { name: 'myid +1', cfg: base(...Q, ...S3), myid: '+1\n', check: (r) => assert.equal(ens(r).myId, 1) },
  { name: 'myid with a leading space', cfg: base(...Q, ...S3), myid: ' 1\n', check: (r) => refused(r, /serverid {2}1 is not a number/) },
  { name: 'myid with a trailing space', cfg: base(...Q, ...S3), myid: '1 \n', check: (r) => refused(r, /serverid 1 {2}is not a number/) },
  { name: 'empty myid', cfg: base(...Q, ...S3), myid: '', check: (r) => refused(r, /serverid null is not a number/) },
  { name: 'myid: only the first line counts', cfg: base(...Q, ...S3), myid: '1\nfoo\n', check: (r) => assert.equal(ens(r).myId, 1) },
  { name: 'myid without a newline', cfg: base(...Q, ...S3), myid: '2', check: (r) => assert.equal(ens(r).myId, 2) },
  { name: 'myid with CRLF', cfg: base(...Q, ...S3), myid: '3\r\n', check: (r) => assert.equal(ens(r).myId, 3) },
  {
    name: 'a bad myid is refused standalone too',
    cfg: base('clientPort=2181'),
    myid: 'x\n',
    check: (r) => refused(r, /serverid x is not a number/),
  },
  // ---------------------------------------------------------------- dynamic config files
  {
    name: 'server lines in zoo.cfg next to dynamicConfigFile',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/zoo.cfg.dynamic.100000000', 'server.4=127.0.0.1:1:2'),
    files: { 'zoo.cfg.dynamic.100000000': 'server.1=127.0.0.1:2888:3888;2181\n' },
    myid: '1\n',
    check: (r) => refused(r, /parameter: server\.4 must be in a separate dynamic config file \(line 5\)/),
  },
  {
    name: 'dynamic config file: members from it, version from its name',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/zoo.cfg.dynamic.100000000'),
    files: {
      'zoo.cfg.dynamic.100000000':
        'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890:observer\n',
    },
    myid: '1\n',
    check: (r, c) => {
      const e = ens(r);
      assert.equal(e.version, 0x100000000);
      assert.equal(e.dynamicConfigFile, join(c.dir, 'zoo.cfg.dynamic.100000000'));
      assert.equal(ok(r).options.clientPort, 2181);
      assert.equal(ok(r).servers.get(2), '127.0.0.1:2889:3889;2182');
      assert.equal(e.lastSeen, undefined);
      assert.equal(
        renderMembership(e),
        'server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n' +
          'server.3=127.0.0.1:2890:3890:observer\nversion=100000000',
      );
    },
  },
  {
    name: 'a dynamic config file with a version inside',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn'),
    files: { dyn: 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\nversion=5\n' },
    myid: '1\n',
    check: (r) => refused(r, /dynamic file shouldn't have version inside/),
  },
  {
    name: 'a dynamic config file with another key',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn'),
    files: { dyn: 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\nclientPort=5\n' },
    myid: '1\n',
    check: (r) => refused(r, /Unrecognised parameter: clientPort \(line 3 of .*dyn/),
  },
  {
    name: 'a missing dynamic config file',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/nope.dyn'),
    myid: '1\n',
    check: (r) => refused(r, /Error processing .*nope\.dyn/),
  },
  {
    name: 'zoo.cfg.dynamic.next: a reconfiguration not yet committed',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/zoo.cfg.dynamic.100000000'),
    files: {
      'zoo.cfg.dynamic.100000000':
        'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890:observer\n',
      'zoo.cfg.dynamic.next':
        'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890:observer\nserver.4=127.0.0.1:2891:3891\nversion=200000000\nfoo=bar\n',
    },
    myid: '1\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(e.version, 0x100000000);
      assert.ok(e.lastSeen);
      assert.equal(e.lastSeen.version, 0x200000000);
      assert.deepEqual(
        e.lastSeen.members.map((m) => m.id),
        [1, 2, 3, 4],
      );
    },
  },
  {
    name: 'zoo.cfg.dynamic.next that does not parse',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/zoo.cfg.dynamic.100000000'),
    files: {
      'zoo.cfg.dynamic.100000000': 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\n',
      'zoo.cfg.dynamic.next': 'server.1=garbage\n',
    },
    myid: '1\n',
    check: (r) => refused(r, /server\.1: garbage does not have the form.*zoo\.cfg\.dynamic\.next/),
  },
  {
    name: 'a dynamic file name without a hex suffix: version 0',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn.cfg'),
    files: { 'dyn.cfg': 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\n' },
    myid: '1\n',
    check: (r) => assert.equal(ens(r).version, 0),
  },
  {
    name: 'a dynamic file name with a negative suffix',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn.-1'),
    files: { 'dyn.-1': 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\n' },
    myid: '1\n',
    check: (r) => refused(r, /Error processing .*dyn\.-1/),
  },
  {
    name: 'one server in the dynamic file: standalone, version abc from the name',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn.abc'),
    files: { 'dyn.abc': 'server.1=127.0.0.1:2888:3888;2181\n' },
    myid: '1\n',
    check: (r) => assert.equal(standalone(r).options.clientPort, 2181),
  },
  {
    name: 'an empty dynamic file: standalone',
    cfg: base('clientPort=2181', 'dynamicConfigFile=@DIR/dyn'),
    files: { dyn: '' },
    myid: '1\n',
    check: (r) => standalone(r),
  },
  {
    name: 'hierarchical quorums in the dynamic file',
    cfg: base('initLimit=5', 'syncLimit=2', 'dynamicConfigFile=@DIR/dyn'),
    files: { dyn: 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\ngroup.1=1:2:3\n' },
    myid: '1\n',
    check: (r) => refused(r, /group\.1: hierarchical quorums/),
    apacheDiffers: 'Apache supports hierarchical quorums (QuorumHierarchical); not implemented here',
  },
  {
    name: 'clientPort in zoo.cfg different from the dynamic file',
    cfg: base('initLimit=5', 'syncLimit=2', 'clientPort=2189', 'dynamicConfigFile=@DIR/dyn'),
    files: { dyn: 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n' },
    myid: '1\n',
    check: (r) =>
      refused(
        r,
        /client address for this server \(id = 1\) in static config file is 0\.0\.0\.0:2189.*0\.0\.0\.0:2181 \(server\.1 in .*dyn\)/,
      ),
  },
  {
    name: 'a relative dynamicConfigFile is resolved against the config file directory',
    cfg: base('initLimit=5', 'syncLimit=2', 'clientPort=2181', 'dynamicConfigFile=dyn.10'),
    files: { 'dyn.10': 'server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n' },
    myid: '1\n',
    check: (r, c) => {
      assert.equal(ens(r).dynamicConfigFile, join(c.dir, 'dyn.10'));
      assert.equal(ens(r).version, 0x10);
    },
    skipApache: 'Java resolves a relative path against its working directory',
  },
  {
    name: 'zoo.cfg as Apache rewrites it after the first election with reconfigEnabled=true',
    // Captured from a 3-server Apache 3.8 ensemble (Debian jar) started with the static server lines.
    cfg: [
      'admin.enableServer=false',
      'dataDir=@DATA',
      'tickTime=500',
      'initLimit=10',
      'clientPort=21901',
      '4lw.commands.whitelist=*',
      'syncLimit=5',
      'reconfigEnabled=true',
      'dynamicConfigFile=@DIR/zoo.cfg.dynamic.100000000',
    ],
    files: {
      'zoo.cfg.dynamic.100000000':
        'server.1=127.0.0.1:2891:3891:participant\nserver.2=127.0.0.1:2892:3892:participant;0.0.0.0:21902\nserver.3=127.0.0.1:2893:3893:observer;127.0.0.1:21903',
    },
    myid: '1\n',
    check: (r) => {
      const e = ens(r);
      assert.equal(ok(r).options.clientPort, 21901);
      // The tail of `conf` that server printed (QuorumZooKeeperServer.dumpConf), byte for byte.
      assert.equal(
        renderQuorumConf(e),
        'initLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3891\nquorumPort=2891\npeerType=0\nmembership: \n' +
          'server.1=127.0.0.1:2891:3891:participant\nserver.2=127.0.0.1:2892:3892:participant;0.0.0.0:21902\n' +
          'server.3=127.0.0.1:2893:3893:observer;127.0.0.1:21903\nversion=100000000',
      );
    },
  },
];

// Seeded random memberships: the member order (and so `conf`) must match Java's hash order,
// including HashMap buckets shared by several ids and table resizes in both Properties and HashMap.
{
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 40; i++) {
    const n = 2 + rand(30);
    const range = [20, 40, 70, 300, 100000][rand(5)]!;
    const ids = new Set<number>();
    while (ids.size < n) ids.add(rand(Math.max(range, n + 1)));
    const list = [...ids];
    const lines = ['dataDir=@DATA', 'initLimit=5', 'syncLimit=2', 'clientPort=2181'];
    const extra = rand(25);
    for (let k = 0; k < extra; k++) lines.push(`extra${rand(1000)}.key${k}=1`);
    let participants = 0;
    list.forEach((id, j) => {
      const suffix = j === 0 ? '' : ['', j % 3 === 0 ? ':observer' : '', `;${3000 + j}`][rand(3)];
      if (suffix !== ':observer') participants++;
      lines.splice(rand(lines.length + 1), 0, `server.${id}=127.0.0.1:${1000 + j}:${5000 + j}${suffix}`);
    });
    if (rand(3) === 0) lines.push(`version=${(1 + rand(1 << 30)).toString(16)}`);
    CASES.push({
      name: `random membership ${i}`,
      cfg: lines,
      myid: `${list[0]}\n`,
      check: (r) => {
        if (participants >= 2) assert.deepEqual(new Set(ens(r).members.map((m) => m.id)), ids);
        else refused(r, /Observers w\/o quorum/);
      },
    });
  }
}

// ------------------------------------------------------------------------------ running the cases

function writeCase(root: string, c: Case, index: number): { dir: string; data: string; cfg: string } {
  const dir = join(root, `case${index}`);
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const sub = (s: string): string => s.replaceAll('@DATA', data).replaceAll('@DIR', dir);
  if (c.myid !== undefined) writeFileSync(join(data, 'myid'), c.myid);
  for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), sub(text));
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, `${c.cfg.map(sub).join('\n')}\n`);
  if (c.sysProps) {
    writeFileSync(
      `${cfg}.sysprops`,
      Object.entries(c.sysProps)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  }
  return { dir, data, cfg };
}

function runOurs(c: Case, cfg: string): Result {
  try {
    return { parsed: loadZooCfg(cfg, c.sysProps ?? {}) };
  } catch (e) {
    if (e instanceof ConfigError) return { error: e };
    throw e;
  }
}

const root = mkdtempSync(join(tmpdir(), 'cg-quorumcfg-'));
const written = CASES.map((c, i) => ({ c, ...writeCase(root, c, i) }));
const results = written.map((w) => runOurs(w.c, w.cfg));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

for (const [i, w] of written.entries()) {
  test(`zoo.cfg ensemble: ${w.c.name}`, () => w.c.check(results[i]!, w));
}

// ------------------------------------------------------------------------------ unit helpers

test('parseServerLine and formatServerLine round trip the documented forms', () => {
  const p = (v: string): QuorumMember => parseServerLine(7, v, { multiAddressEnabled: false });
  assert.equal(formatServerLine(p('zk1:2888:3888')), 'zk1:2888:3888:participant');
  assert.equal(formatServerLine(p('zk1:2888:3888:observer')), 'zk1:2888:3888:observer');
  assert.equal(formatServerLine(p('zk1:2888:3888;2181')), 'zk1:2888:3888:participant;0.0.0.0:2181');
  assert.equal(formatServerLine(p('zk1:2888:3888:participant;10.0.0.1:2181')), 'zk1:2888:3888:participant;10.0.0.1:2181');
  assert.equal(formatServerLine(p('[::1]:2888:3888;[::]:2181')), '[0:0:0:0:0:0:0:1]:2888:3888:participant;[0:0:0:0:0:0:0:0]:2181');
  const m = p('zk1:2888:3888');
  assert.deepEqual([m.id, m.host, m.quorumPort, m.electionPort, m.role, m.clientPort], [7, 'zk1', 2888, 3888, 'participant', undefined]);
  assert.throws(
    () => p('zk1:2888:3888|zk2:2888:3888'),
    /Multiple address feature is disabled, but multiple addresses were specified for sid 7/,
  );
});

test('Java host strings: IPv6 full form, IPv4-mapped as IPv4, names as written', () => {
  assert.equal(javaHostString('::1'), '0:0:0:0:0:0:0:1');
  assert.equal(javaHostString('2001:DB8::A'), '2001:db8:0:0:0:0:0:a');
  assert.equal(javaHostString('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(javaHostString('::1.2.3.4'), '0:0:0:0:0:0:102:304');
  assert.equal(javaHostString('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0');
  assert.equal(javaHostString('fe80::1%lo'), 'fe80::1%lo');
  assert.equal(javaHostString('LocalHost'), 'LocalHost');
  assert.equal(javaHostString(''), 'localhost');
});

test('HashMap<Long> order: buckets by id, ties by insertion, resized at 3/4 load', () => {
  assert.deepEqual(javaLongHashMapOrder([33, 1, 17, 2, 300, 16]), [16, 33, 1, 17, 2, 300]);
  assert.deepEqual(javaLongHashMapOrder([3, 2, 1]), [1, 2, 3]);
  // Long.hashCode(-5) = 4.
  assert.deepEqual(javaLongHashMapOrder([-5, 4, 0]), [0, -5, 4]);
});

test('the conf tail of an observer, as a real Apache 3.8 observer printed it', () => {
  // Server 3 of the captured ensemble: no clientPort key, so its own line's client address is used.
  const lines = [
    'server.1=127.0.0.1:2891:3891',
    'server.2=127.0.0.1:2892:3892;21902',
    'server.3=127.0.0.1:2893:3893:observer;127.0.0.1:21903',
  ];
  const data = join(root, 'observer', 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'myid'), '3\n');
  const cfg = join(root, 'observer', 'zoo.cfg');
  writeFileSync(cfg, `${['tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${data}`, ...lines].join('\n')}\n`);
  const e = loadZooCfg(cfg).options.ensemble!;
  assert.equal(
    renderQuorumConf(e),
    'initLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3893\nquorumPort=2893\npeerType=1\nmembership: \n' +
      'server.1=127.0.0.1:2891:3891:participant\nserver.2=127.0.0.1:2892:3892:participant;0.0.0.0:21902\n' +
      'server.3=127.0.0.1:2893:3893:observer;127.0.0.1:21903\nversion=0',
  );
});

// ------------------------------------------------------------------------------ against Apache

/** Prints what Apache's QuorumPeerConfig makes of each zoo.cfg given (one JVM, state reset between). */
const PROBE = `
import java.io.*;
import java.net.InetSocketAddress;
import java.util.*;
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.apache.zookeeper.server.quorum.flexible.QuorumVerifier;
public class QpcProbe {
  static String esc(Object o) { return o == null ? "null" : o.toString().replace("\\\\", "\\\\\\\\").replace("\\n", "\\\\n"); }
  static String addr(InetSocketAddress a) { return a == null ? "null" : a.getHostString() + ":" + a.getPort(); }
  public static void main(String[] args) throws Exception {
    Properties saved = (Properties) System.getProperties().clone();
    for (String path : args) {
      Properties p = (Properties) saved.clone();
      File props = new File(path + ".sysprops");
      if (props.isFile()) try (InputStream in = new FileInputStream(props)) { p.load(in); }
      System.setProperties(p);
      QuorumPeerConfig.setStandaloneEnabled(true);
      QuorumPeerConfig.setReconfigEnabled(false);
      System.out.println("case " + path);
      QuorumPeerConfig c = new QuorumPeerConfig();
      try {
        c.parse(path);
      } catch (Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable x = t; x != null; x = x.getCause()) sb.append(sb.length() == 0 ? "" : " | ").append(x.getMessage());
        System.out.println("error " + esc(sb));
        continue;
      }
      QuorumVerifier qv = c.getQuorumVerifier(), ls = c.getLastSeenQuorumVerifier();
      System.out.println("distributed " + c.isDistributed());
      System.out.println("serverId " + c.getServerId());
      System.out.println("peerType " + c.getPeerType());
      System.out.println("clientPortAddress " + addr(c.getClientPortAddress()));
      System.out.println("qv " + esc(qv));
      System.out.println("lastSeen " + esc(ls));
    }
    System.out.println("end");
  }
}
`;

const JAVA = process.env['JAVA'] ?? 'java';
const CLASSPATH =
  process.env['APACHE_ZK_CLASSPATH'] ??
  ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-nop.jar'].filter((p) => existsSync(p)).join(':');
const javaMissing = spawnSync(JAVA, ['-version'], { encoding: 'utf8' }).error !== undefined;
const skip = javaMissing
  ? 'java not found'
  : !existsSync('/usr/share/java/zookeeper.jar') && !process.env['APACHE_ZK_CLASSPATH']
    ? 'Apache ZooKeeper jar not found'
    : false;

const unescapeJava = (s: string): string => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

test('every case parses as Apache ZooKeeper 3.8 parses it (or differs as documented)', { skip }, () => {
  const probe = join(root, 'QpcProbe.java');
  writeFileSync(probe, PROBE);
  const compared = written.filter((w) => !w.c.skipApache);
  const r = spawnSync(JAVA, ['-cp', CLASSPATH, probe, ...compared.map((w) => w.cfg)], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `java failed: ${r.stderr}`);
  const apache = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of r.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (line.startsWith('case ')) {
      cur = new Map();
      apache.set(line.slice(5), cur);
    } else if (cur && sp > 0) cur.set(line.slice(0, sp), unescapeJava(line.slice(sp + 1)));
  }
  assert.ok(r.stdout.trimEnd().endsWith('end'), 'the probe did not finish');
  const problems: string[] = [];
  for (const w of compared) {
    const a = apache.get(w.cfg);
    if (!a) {
      problems.push(`${w.c.name}: no Apache result`);
      continue;
    }
    const ours = results[written.indexOf(w)]!;
    const apacheError = a.get('error');
    const what = (x: string | undefined): string => (x === undefined ? 'accepts' : `refuses (${x})`);
    if (w.c.apacheDiffers) {
      if ((apacheError === undefined) === (ours.error === undefined)) {
        problems.push(`${w.c.name}: documented as differing (${w.c.apacheDiffers}) but both ${what(apacheError)}`);
      }
      continue;
    }
    if ((apacheError === undefined) !== (ours.error === undefined)) {
      problems.push(`${w.c.name}: Apache ${what(apacheError)}, we ${what(ours.error?.message)}`);
      continue;
    }
    if (ours.error) continue;
    const o = ours.parsed.options;
    const e = o.ensemble;
    const host = javaHostString(o.clientPortAddress);
    const same = (field: string, theirs: string | undefined, mine: string): void => {
      if (theirs !== mine) problems.push(`${w.c.name}: ${field}: Apache ${JSON.stringify(theirs)}, ours ${JSON.stringify(mine)}`);
    };
    same('distributed', a.get('distributed'), String(e !== undefined));
    same('clientPortAddress', a.get('clientPortAddress'), `${host}:${o.clientPort}`);
    if (e) {
      same('serverId', a.get('serverId'), String(e.myId));
      same('peerType', a.get('peerType'), e.peerType.toUpperCase());
      same('membership', a.get('qv'), renderMembership(e));
      same('lastSeen', a.get('lastSeen'), e.lastSeen ? renderMembership(e.lastSeen) : 'null');
    }
  }
  assert.deepEqual(problems, []);
});
