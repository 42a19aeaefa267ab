// Interop: quotas with enforcement (zookeeper.enforceQuota) driven by Apache's zkCli.sh (Java
// client 3.8.0), against our server and, with the same script at the same time, against a real
// Apache ZooKeeper 3.8; both transcripts must agree after normalising times and session ids.
// setquota with soft (-n, -b) and hard (-N, -B) limits, listquota, delquota of one limit and of
// the whole quota; a hard limit refuses create and setData with "Quota has exceeded", a soft one
// lets the write through; QUOTAEXCEEDED comes after NONODE, NODEEXISTS and NOAUTH and before
// BADVERSION, as ZooKeeper's PrepRequestProcessor checks them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOurZooKeeperProcess, type StartedZk } from '../helpers/ourZk.js';
import { startApacheZooKeeper, type ServerHandle } from '../helpers/apacheZk.js';
import { assertSameOutputs, outputsOf, zkCliScript } from './helpers/zkcli.js';

describe('zkCli.sh quotas with enforceQuota=true, ours compared with Apache ZooKeeper 3.8', { timeout: 120_000 }, () => {
  let ours: StartedZk & { stderrText(): string };
  let apache: ServerHandle;

  before(async () => {
    const cfg = { extraConfig: { enforceQuota: 'true' } };
    const [o, a] = await Promise.allSettled([startOurZooKeeperProcess(cfg), startApacheZooKeeper(cfg)]);
    if (o.status === 'fulfilled') ours = o.value;
    if (a.status === 'fulfilled') apache = a.value;
    if (o.status === 'rejected') throw o.reason;
    if (a.status === 'rejected') throw a.reason;
  });

  after(async () => {
    await Promise.all([ours?.stop(), apache?.stop()]);
  });

  async function both(commands: readonly string[]) {
    const [o, a] = await Promise.all([zkCliScript(ours.connectString, commands), zkCliScript(apache.connectString, commands)]);
    const same = (): void => assertSameOutputs(commands, o, a);
    return { ours: o, apache: a, out: outputsOf(commands, o), same };
  }

  it('setquota -N/-B/-n/-b, listquota, delquota; hard limits refuse create and set, soft ones warn; check order', async () => {
    const script = [
      'create /q',
      'create /q/a data',
      'setquota -N 3 /q',
      'listquota /q',
      'create /q/b bb',
      'create /q/c',
      'create /q/b',
      'create /q/nope/child',
      'listquota /q',
      'setquota -B 10 /q',
      'set /q/a 0123456789',
      'set -v 7 /q/a 0123456789',
      'set /q/a 01234567',
      'get /q/a',
      'delete /q/b',
      'create /q/c',
      'setquota -n 1 /q',
      'create /q/d',
      'delquota -N /q',
      'listquota /q',
      'create /q/d',
      'setquota -b 2 /q',
      'set /q/d 0',
      'delquota -B /q',
      'set /q/d 0123456789',
      'listquota /q',
      'setquota -N 1 /q',
      'setAcl /q world:anyone:rw',
      'create /q/e',
      'delquota /q',
      'listquota /q',
      'ls /zookeeper/quota',
      'create /q/e',
    ];
    const r = await both(script);
    const { out } = r;
    const abs = 'absolute path is /zookeeper/quota/q/zookeeper_limits';
    assert.deepEqual(out('setquota -N 3 /q'), []);
    assert.deepEqual(out('listquota /q'), [
      abs,
      'Output quota for /q count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3',
      'Output stat for /q count=2,bytes=4',
    ]);
    assert.deepEqual(out('create /q/b bb'), ['Created /q/b']);
    assert.deepEqual(out('create /q/c'), ['Quota has exceeded : /q/c'], 'a 4th node under countHardLimit=3');
    // NODEEXISTS and NONODE are checked before the quota.
    assert.deepEqual(out('create /q/b'), ['Node already exists: /q/b']);
    assert.deepEqual(out('create /q/nope/child'), ['Node does not exist: /q/nope/child']);
    assert.deepEqual(out('listquota /q', 1)[2], 'Output stat for /q count=3,bytes=6', 'refused writes leave the stats alone');
    assert.deepEqual(out('set /q/a 0123456789'), ['Quota has exceeded : /q/a'], '6 - 4 + 10 bytes > byteHardLimit=10');
    // The quota is checked before the version (BADVERSION would say "version No is not valid").
    assert.deepEqual(out('set -v 7 /q/a 0123456789'), ['Quota has exceeded : /q/a']);
    assert.deepEqual(out('set /q/a 01234567'), [], 'exactly at the byte limit is allowed');
    assert.deepEqual(out('get /q/a'), ['01234567']);
    assert.deepEqual(out('create /q/c', 1), ['Created /q/c'], 'a delete makes room again');
    // A hard limit wins over a soft one set beside it.
    assert.deepEqual(out('create /q/d'), ['Quota has exceeded : /q/d']);
    assert.deepEqual(out('listquota /q', 2), [
      abs,
      'Output quota for /q count=1,bytes=-1=;byteHardLimit=10;countHardLimit=-1',
      'Output stat for /q count=3,bytes=8',
    ]);
    assert.deepEqual(out('create /q/d', 1), ['Created /q/d'], 'past a soft count limit: allowed (only a warning)');
    assert.deepEqual(out('set /q/d 0'), [], 'within byteHardLimit=10 although past the soft bytes=2');
    assert.deepEqual(out('set /q/d 0123456789'), [], 'past a soft byte limit: allowed');
    assert.deepEqual(out('listquota /q', 3), [
      abs,
      'Output quota for /q count=1,bytes=2=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /q count=4,bytes=18',
    ]);
    // NOAUTH comes before the quota (count 4 is past countHardLimit=1 too).
    assert.deepEqual(out('create /q/e'), ['Insufficient permission : /q/e']);
    assert.deepEqual(out('listquota /q', 4), [abs, 'quota for /q does not exist.']);
    assert.deepEqual(out('ls /zookeeper/quota'), ['[]']);
    r.same();

    // The soft limits were logged as ZooKeeper logs them.
    const ourLog = ours.stderrText();
    assert.match(ourLog, /Quota exceeded: \/q \[current count=4, softCountLimit=1\]/);
    assert.match(ourLog, /Quota exceeded: \/q \[current bytes=18, softByteLimit=2\]/);
    assert.match(ourLog, /Quota exceeded: \/q \[current count=4, hardCountLimit=3\]/);
  });
});
