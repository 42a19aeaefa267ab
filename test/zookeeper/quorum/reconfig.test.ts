// The leader's reconfig checks (src/zookeeper/quorum/reconfig.ts), in Apache 3.8's order
// (PrepRequestProcessor's reconfig branch), and what the accepted request proposes. The
// end-to-end tests against Apache are test/zookeeper/quorum/reconfigEnsemble.test.ts and
// kazoo's TestReconfig in the ensemble run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err, OpCode, Perms } from '../../../src/zookeeper/protocol/constants.js';
import { DynamicConfig } from '../../../src/zookeeper/quorum/reconfigHost.js';
import { encodeTxn } from '../../../src/zookeeper/persistence/txnCodec.js';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import { parseServerLine, renderMembership, type QuorumVerifierConfig } from '../../../src/zookeeper/quorum/config.js';
import { planReconfig, ReconfigRefused, sameVoters, type ReconfigArgs, type ReconfigEnv } from '../../../src/zookeeper/quorum/reconfig.js';

const opts = { multiAddressEnabled: false };
const three: QuorumVerifierConfig = {
  members: [1, 2, 3].map((id) => parseServerLine(id, `127.0.0.1:${2887 + id}:${3887 + id}:participant;127.0.0.1:${2180 + id}`, opts)),
  version: 0x100000000,
};

function env(over: Partial<ReconfigEnv> = {}): ReconfigEnv {
  return {
    current: three,
    lastSeen: three,
    standaloneEnabled: true,
    lineOpts: opts,
    isQuorumSynced: () => true,
    mayWriteConfig: () => true,
    ...over,
  };
}

function args(over: Partial<ReconfigArgs>): ReconfigArgs {
  return { joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1, ...over };
}

/** The error code planReconfig refuses with, or 0. */
function code(a: ReconfigArgs, e: ReconfigEnv = env()): number {
  try {
    planReconfig(a, e, 0x100000005);
    return 0;
  } catch (err) {
    assert.ok(err instanceof ReconfigRefused, String(err));
    return err.code;
  }
}

test('an observer joins and leaves; the version is the txn zxid', () => {
  const joining = 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456';
  const qv = planReconfig(args({ joiningServers: joining }), env(), 0x100000005);
  assert.equal(qv.version, 0x100000005);
  const text = renderMembership(qv);
  assert.ok(text.includes(joining), text);
  assert.match(text, /\nversion=100000005$/);
  assert.ok(sameVoters(qv, three));
  const back = planReconfig(args({ leavingServers: '100' }), env({ current: qv, lastSeen: qv }), 0x100000006);
  assert.ok(!renderMembership(back).includes('server.100'));
});

test('order: in progress, then BADVERSION, then BADARGUMENTS, then voter count, then NEWCONFIGNOQUORUM, then NOAUTH', () => {
  const next = { ...three, version: 0x100000009 };
  const garbage = args({ joiningServers: 'some thing', curConfigId: 5 });
  const noAuth = env({ mayWriteConfig: () => false, isQuorumSynced: () => false });
  // Everything wrong at once: each check wins over the ones after it.
  assert.equal(code(garbage, env({ ...noAuth, lastSeen: next })), Err.RECONFIGINPROGRESS);
  assert.equal(code(garbage, noAuth), Err.BADVERSION);
  assert.equal(code({ ...garbage, curConfigId: -1 }, noAuth), Err.BADARGUMENTS);
  assert.equal(code({ ...garbage, curConfigId: three.version }, noAuth), Err.BADARGUMENTS);
  assert.equal(code(args({ leavingServers: '1,2' }), noAuth), Err.BADARGUMENTS, 'one voter left');
  const valid = args({ joiningServers: 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456' });
  assert.equal(code(valid, noAuth), Err.NEWCONFIGNOQUORUM);
  assert.equal(code(valid, env({ mayWriteConfig: () => false })), Err.NOAUTH);
  assert.equal(code(valid), 0);
});

test('bad server strings', () => {
  assert.equal(code(args({ joiningServers: 'some thing' })), Err.BADARGUMENTS, 'no =');
  assert.equal(code(args({ joiningServers: 'server.4=127.0.0.1:1:2' })), Err.BADARGUMENTS, 'no client port');
  assert.equal(code(args({ joiningServers: 'server.4=127.0.0.1:1:1;5' })), Err.BADARGUMENTS, 'same quorum and election port');
  assert.equal(code(args({ joiningServers: 'server.4=127.0.0.1:x:2;5' })), Err.BADARGUMENTS, 'port not a number');
  assert.equal(code(args({ joiningServers: 'server.x=127.0.0.1:1:2;5' })), Err.MARSHALLINGERROR, "Long.parseLong's NumberFormatException");
  assert.equal(code(args({ leavingServers: 'abc' })), Err.MARSHALLINGERROR);
  assert.equal(code(args({ newMembers: 'foo=bar' })), Err.BADARGUMENTS, 'unknown key');
  assert.equal(code(args({ newMembers: 'group.1=1:2' })), Err.BADARGUMENTS, 'hierarchical');
  assert.equal(code(args({ newMembers: 'server.1=127.0.0.1:2888:3888;2181' })), Err.BADARGUMENTS, 'one voter');
  // Non-loopback addresses may not be shared between members (checkAddressDuplicate).
  const a = 'server.5=10.0.0.1:1000:1001:observer;10.0.0.1:1002';
  const e = env({ current: planReconfig(args({ joiningServers: a }), env(), 7) });
  assert.equal(
    code(args({ joiningServers: 'server.6=10.0.0.1:1000:1003:observer;1004', curConfigId: -1 }), { ...e, lastSeen: e.current }),
    Err.BADARGUMENTS,
  );
});

test('non-incremental: commas or newlines; the membership is replaced', () => {
  const text = 'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181,server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182';
  const qv = planReconfig(args({ newMembers: text }), env(), 9);
  assert.deepEqual(
    qv.members.map((m) => m.id),
    [1, 2],
  );
  assert.equal(qv.version, 9);
  assert.ok(!sameVoters(qv, three));
  assert.equal(code(args({ newMembers: text.replace(',', '\n') })), 0);
});

test('standaloneEnabled=false allows a single voter', () => {
  const e = env({ standaloneEnabled: false });
  assert.equal(code(args({ leavingServers: '2,3' }), e), 0);
  assert.equal(code(args({ leavingServers: '1,2,3' }), e), Err.BADARGUMENTS);
});

test('DynamicConfig: what commits, and what is answered UNIMPLEMENTED after the checks', () => {
  const ensemble = {
    ...three,
    myId: 1,
    peerType: 'participant' as const,
    initLimit: 10,
    syncLimit: 5,
    connectToLearnerMasterLimit: 0,
    electionAlg: 3,
    standaloneEnabled: true,
    quorumListenOnAllIPs: false,
    cnxTimeoutMs: 5000,
    multiAddressEnabled: false,
  };
  const dc = new DynamicConfig(
    ensemble,
    { skipAcl: false, standaloneEnabled: true },
    { syncedIds: () => [1, 2, 3], configAcl: () => [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] },
  );
  const su = [{ scheme: 'super', id: '' }];
  const refused = (a: ReconfigArgs, auth = su): number => {
    try {
      dc.prepare(a, auth, 0x100000010);
      return 0;
    } catch (e) {
      assert.ok(e instanceof ReconfigRefused);
      return e.code;
    }
  };
  assert.equal(refused(args({ joiningServers: 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456' }), []), Err.NOAUTH);
  assert.equal(
    refused(args({ joiningServers: 'server.4=127.0.0.1:2891:3891:participant;2184' })),
    0,
    'a voter this ensemble was not started with joins (the transport learns its address)',
  );
  dc.resetLastSeen(); // as a new leader would: that proposal never went out
  assert.equal(
    refused(args({ joiningServers: 'server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2999' })),
    Err.UNIMPLEMENTED,
    'a known member with another client address',
  );
  assert.equal(
    refused(args({ joiningServers: 'server.3=127.0.0.1:2890:3890:observer;127.0.0.1:2183' })),
    Err.UNIMPLEMENTED,
    'voter -> observer',
  );
  const data = dc.prepare(args({ joiningServers: 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456' }), su, 0x100000011);
  // Proposed, not committed: the next one is RECONFIGINPROGRESS until the txn is applied.
  assert.equal(refused(args({ leavingServers: '100' })), Err.RECONFIGINPROGRESS);
  const header = { clientId: 1n, cxid: 1, zxid: 0x100000011, time: 0, type: OpCode.reconfig };
  dc.applied({ header, body: { kind: 'setData', op: OpCode.setData, path: '/zookeeper/config', data, version: -1 } });
  assert.equal(dc.current.version, 0x100000011);
  assert.ok(dc.current.members.some((m) => m.id === 100));
  // The consensus core reads the new voters from the logged txn.
  assert.deepEqual(
    dc
      .membersOf({
        zxid: 0x100000011,
        data: encodeTxn({ header, body: { kind: 'setData', op: OpCode.setData, path: '/zookeeper/config', data, version: -1 } }),
      })
      ?.map((m) => `${m.id}${m.observer ? 'o' : ''}`)
      .sort(),
    ['1', '100o', '2', '3'],
  );
  // The same bytes as a plain setData (type 5) are no configuration change.
  const plain = encodeTxn({
    header: { ...header, type: OpCode.setData },
    body: { kind: 'setData', op: OpCode.setData, path: '/zookeeper/config', data, version: -1 },
  });
  assert.equal(dc.membersOf({ zxid: 0x100000012, data: plain }), undefined);
  // An observer added by reconfig may move (the transport follows it), not become a voter.
  assert.equal(
    refused(args({ joiningServers: 'server.100=0.0.0.0:1244:2355:observer;0.0.0.0:3466', curConfigId: 0x100000011 })),
    0,
    'an added observer moves',
  );
  dc.resetLastSeen();
  assert.equal(
    refused(args({ joiningServers: 'server.100=0.0.0.0:1234:2345:participant;0.0.0.0:3456', curConfigId: 0x100000011 })),
    Err.UNIMPLEMENTED,
    'observer -> voter',
  );
  // A voter (this very member) leaves: commits now (dualQuorum.ts switches the voters).
  assert.equal(refused(args({ leavingServers: '1', curConfigId: 0x100000011 })), 0, 'a voter leaves');
});

test('DynamicConfig.initTree: a newer configuration in the tree is adopted only if this process can carry it out', () => {
  const ensemble = { ...three, version: 0, myId: 1, peerType: 'participant' as const, initLimit: 10, syncLimit: 5 };
  const full = {
    ...ensemble,
    connectToLearnerMasterLimit: 0,
    electionAlg: 3,
    standaloneEnabled: true,
    quorumListenOnAllIPs: false,
    cnxTimeoutMs: 5000,
    multiAddressEnabled: false,
  };
  const leader = { syncedIds: () => [1, 2, 3], configAcl: () => [] };
  const withObserver = planReconfig(args({ joiningServers: 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456' }), env(), 0x200000001);
  const tree = new DataTree();
  tree.setConfigNode(DynamicConfig.render(withObserver), withObserver.version, 0);
  const dc = new DynamicConfig(full, { skipAcl: false, standaloneEnabled: true }, leader);
  dc.initTree(tree, 0);
  assert.equal(dc.current.version, 0x200000001);
  // Another ensemble's configuration (server 3 moved): the files win and the node is rewritten.
  const other = planReconfig(
    args({ newMembers: 'server.1=127.0.0.1:2888:3888;2181,server.2=127.0.0.1:2889:3889;2182,server.3=127.0.0.1:2990:3990;2183' }),
    env(),
    0x300000001,
  );
  const tree2 = new DataTree();
  tree2.setConfigNode(DynamicConfig.render(other), other.version, 0);
  const dc2 = new DynamicConfig(full, { skipAcl: false, standaloneEnabled: true }, leader);
  dc2.initTree(tree2, 0);
  assert.equal(dc2.current.version, 0);
  const slot = tree2.find('/zookeeper/config');
  assert.equal(tree2.table.valueAt(slot)!.toString(), renderMembership({ members: three.members, version: 0 }));
});
