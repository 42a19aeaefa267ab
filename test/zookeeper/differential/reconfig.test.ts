// Differential: reconfig (op 16) on a standalone server with reconfigEnabled=true, against Apache
// ZooKeeper 3.8 standalone: UNIMPLEMENTED whatever the request (standalone cannot reconfigure),
// and /zookeeper/config stays empty. The ensemble side is test/zookeeper/quorum/reconfigEnsemble.test.ts.

import { after, before, test } from 'node:test';
import { Pair, OpCode } from './harness.js';
import { B } from './bodies.js';
import { enc } from '../../helpers/rawClient.js';
import { ReconfigRequest } from '../../../src/zookeeper/protocol/records.js';

const SUPER_DIGEST = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='; // super:test
let pair: Pair;
before(async () => {
  pair = await Pair.start({
    extraConfig: { reconfigEnabled: 'true' },
    sysProps: { 'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST },
  });
});
after(async () => {
  await pair?.stop();
});

const body = (joining: string | null, leaving: string | null, members: string | null, from = -1): Buffer =>
  enc(ReconfigRequest, { joiningServers: joining, leavingServers: leaving, newMembers: members, curConfigId: from });

test('standalone with reconfigEnabled: every reconfig is UNIMPLEMENTED', async () => {
  await pair.check('reconfig-standalone', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    await t.call(c, 'getData /zookeeper/config', OpCode.getData, B.getData('/zookeeper/config'));
    await t.call(c, 'reconfig valid joiner, no auth', OpCode.reconfig, body('server.9=127.0.0.1:1:2:observer;3', null, null));
    await t.state(c, 'after reconfig');
    const c2 = await t.connect('connect 2');
    await t.call(c2, 'reconfig garbage', OpCode.reconfig, body('some thing', null, null));
    await t.state(c2, 'after garbage');
    const c3 = await t.connect('connect 3');
    await t.call(c3, 'auth super', OpCode.auth, B.auth('digest', 'super:test'), -4);
    await t.call(c3, 'reconfig as super, wrong version', OpCode.reconfig, body(null, '1', null, 77));
    await t.state(c3, 'after super reconfig');
  });
});
