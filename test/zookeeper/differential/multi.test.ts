// Differential: multi (14) and multiRead (22) against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import { Pair, OpCode } from './harness.js';
import { B, M, OPEN, acl } from './bodies.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start();
});
after(async () => {
  await pair?.stop();
});

test('multi success: one zxid for all ops, per-op results, later ops see earlier ones', async () => {
  await pair.check('multi-ok', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(
      c,
      'multi',
      OpCode.multi,
      B.multi([
        M.create(p, 'root'),
        M.create(`${p}/a`, 'a'),
        M.create2(`${p}/b`, null),
        M.create(`${p}/s-`, 'x', 2),
        M.create2(`${p}/e-`, 'x', 3),
        M.setData(`${p}/a`, 'a2', 0),
        M.check(`${p}/a`, 1),
        M.delete(`${p}/b`, 0),
        M.create2(`${p}/b`, 'again'),
        { type: OpCode.createContainer, body: B.create(`${p}/c`, '', 4) },
        { type: OpCode.createTTL, body: B.createTTL(`${p}/t`, '', 5, 10_000) },
      ]),
    );
    await t.call(c, 'getChildren2', OpCode.getChildren2, B.getChildren(p));
    await t.call(c, 'getData a', OpCode.getData, B.getData(`${p}/a`));
    await t.call(c, 'empty multi', OpCode.multi, B.multi([]));
    await t.call(c, 'empty multiRead', OpCode.multiRead, B.multi([]));
    await t.call(c, 'check only', OpCode.multi, B.multi([M.check(`${p}/a`, 1), M.check(p, -1)]));
    await t.call(c, 'exists', OpCode.exists, B.exists(p));
    await t.close(c, 'close');
  });
});

test('multi failure: ErrorResults 0 before, the real code, RUNTIMEINCONSISTENCY after; header err 0', async () => {
  await pair.check('multi-fail', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    const failing: [string, { type: number; body: Buffer }[]][] = [
      ['node exists', [M.create(`${p}/x`), M.create(`${p}/x`), M.create(`${p}/y`)]],
      ['bad version', [M.create(`${p}/x`), M.setData(p, 'd', 7), M.delete(`${p}/x`)]],
      ['check fails', [M.check(p, 3), M.create(`${p}/x`)]],
      ['check missing', [M.create(`${p}/x`), M.check(`${p}/nope`, -1)]],
      ['delete missing', [M.delete(`${p}/nope`), M.create(`${p}/x`)]],
      ['not empty', [M.create(`${p}/x`), M.create(`${p}/x/y`), M.delete(`${p}/x`)]],
      ['bad path', [M.create(`${p}/x`), M.create(`${p}//y`), M.create(`${p}/z`)]],
      ['empty path', [M.create(`${p}/x`), M.create(''), M.setData('', 'x')]],
      ['invalid acl', [M.create(`${p}/x`), M.create(`${p}/y`, '', 0, [])]],
      ['ephemeral parent', [M.create(`${p}/e`, '', 1), M.create(`${p}/e/c`)]],
      ['ttl bad', [M.create(`${p}/x`), { type: OpCode.createTTL, body: B.createTTL(`${p}/t`, '', 5, 0) }]],
      ['bad flags', [M.create(`${p}/x`, '', 9)]],
      ['delete system node', [M.create(`${p}/x`), M.delete('/zookeeper')]],
      ['last op fails', [M.create(`${p}/x`), M.create(`${p}/y`), M.delete(`${p}/zz`)]],
    ];
    for (const [label, ops] of failing) {
      await t.call(c, label, OpCode.multi, B.multi(ops));
      await t.call(c, `${label}: children`, OpCode.getChildren2, B.getChildren(p));
    }
    // Two failing multis in a row on the same pending paths (rollback of change records).
    await t.pipeline(c, 'pipelined', [
      { op: OpCode.multi, body: B.multi([M.create(`${p}/q`), M.create(`${p}/q`)]) },
      { op: OpCode.multi, body: B.multi([M.create(`${p}/q`), M.create(`${p}/q/r`)]) },
      { op: OpCode.getChildren2, body: B.getChildren(`${p}/q`) },
      { op: OpCode.exists, body: B.exists(p) },
    ]);
    await t.close(c, 'close');
  });
});

test('multi with forbidden or mixed sub-ops is a marshalling error', async () => {
  await pair.check('multi-mixed', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'getData in multi', OpCode.multi, B.multi([M.create(`${p}/x`), M.getData(p)]));
    await t.call(c, 'create in multiRead', OpCode.multiRead, B.multi([M.getData(p), M.create(`${p}/y`)]));
    await t.call(c, 'setACL in multi', OpCode.multi, B.multi([{ type: OpCode.setACL, body: B.setACL(p, OPEN) }]));
    await t.call(c, 'exists in multiRead', OpCode.multiRead, B.multi([{ type: OpCode.exists, body: B.exists(p) }]));
    await t.call(c, 'unknown type in multi', OpCode.multi, B.multi([{ type: 99, body: Buffer.alloc(0) }]));
    await t.call(c, 'truncated multi', OpCode.multi, B.multi([M.create(`${p}/z`)]).subarray(0, 20));
    await t.call(c, 'no terminator', OpCode.multi, B.multi([M.create(`${p}/z`)]).subarray(0, -9));
    await t.call(c, 'getChildren2 in multiRead', OpCode.multiRead, B.multi([{ type: OpCode.getChildren2, body: B.getChildren(p) }]));
    await t.call(c, 'create with TTL flags', OpCode.multi, B.multi([M.create(`${p}/t1`), M.create(`${p}/t2`, '', 5)]));
    await t.call(c, 'create2 with TTL flags', OpCode.multi, B.multi([M.create2(`${p}/t3`, '', 6)]));
    await t.call(c, 'TTL flags after a failing op', OpCode.multi, B.multi([M.create(p), M.create(`${p}/t7`, '', 5)]));
    await t.call(c, 'TTL flags before a failing op', OpCode.multi, B.multi([M.create(`${p}/t8`), M.create(`${p}/t9`, '', 5), M.create(p)]));
    await t.call(
      c,
      'createTTL with flags 0',
      OpCode.multi,
      B.multi([{ type: OpCode.createTTL, body: B.createTTL(`${p}/t4`, '', 0, 100) }]),
    );
    await t.call(
      c,
      'createTTL with flags 4',
      OpCode.multi,
      B.multi([{ type: OpCode.createTTL, body: B.createTTL(`${p}/t5`, '', 4, 100) }]),
    );
    await t.call(
      c,
      'createTTL with flags 1',
      OpCode.multi,
      B.multi([{ type: OpCode.createTTL, body: B.createTTL(`${p}/t6`, '', 1, 100) }]),
    );
    await t.call(c, 'create2 with container flags', OpCode.multi, B.multi([M.create2(`${p}/c1`, '', 4)]));
    await t.call(
      c,
      'createContainer with flags 0',
      OpCode.multi,
      B.multi([{ type: OpCode.createContainer, body: B.create(`${p}/c2`, '', 0) }]),
    );
    await t.call(
      c,
      'createContainer with flags 3',
      OpCode.multi,
      B.multi([{ type: OpCode.createContainer, body: B.create(`${p}/c3-`, '', 3) }]),
    );
    await t.call(c, 'create with flags 12', OpCode.multi, B.multi([M.create(`${p}/f12`, '', 12)]));
    await t.call(c, 'children', OpCode.getChildren2, B.getChildren(p));
    for (const n of ['t4', 't5', 't6', 'c1', 'c2']) await t.call(c, `stat ${n}`, OpCode.exists, B.exists(`${p}/${n}`));
    await t.call(c, 'child of c3 (ephemeral?)', OpCode.create, B.create(`${p}/c3-0000000007/x`));
    await t.state(c, 'open');
    await t.close(c, 'close');
  });
});

test('multiRead: per-op results and errors, never aborts', async () => {
  await pair.check('multiread', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p, 'pd'));
    await t.call(c, 'create a', OpCode.create, B.create(`${p}/a`, null));
    await t.call(c, 'create secret', OpCode.create, B.create(`${p}/secret`, 's', 0, [acl(31, 'digest', 'u:x')]));
    await t.call(
      c,
      'multiRead',
      OpCode.multiRead,
      B.multi([
        M.getData(p),
        M.getChildren(p),
        M.getData(`${p}/missing`),
        M.getData(`${p}/a`),
        M.getChildren(`${p}/missing`),
        M.getData(`${p}/secret`),
        M.getChildren(`${p}/secret`),
        M.getData(''),
        M.getData('bad'),
        M.getChildren(`${p}/a`),
      ]),
    );
    await t.close(c, 'close');
  });
});
