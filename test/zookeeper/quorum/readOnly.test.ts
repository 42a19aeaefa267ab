// Read-only mode (-Dreadonlymode.enabled=true) of a 3-member ensemble of ours and of a 3-node
// Apache ZooKeeper 3.8 ensemble, launched the same way (ProcessEnsemble) and put through the same
// steps: stop 2 of 3; the member left serves read-only (isro `ro`, srvr/mntr `read-only`); kazoo
// with read_only=True reaches CONNECTED_RO, reads, and its write fails with NotReadOnlyCallError;
// zkCli.sh -r connects read-only, reads, and its create is refused; a client that does not allow
// read-only is refused; the same bytes from a raw client get the
// same answers from both (readOnly flag, NOTREADONLY, a global session's reconnection refused);
// then the two come back, the member goes back to rw and the same kazoo client writes as
// CONNECTED. Both run with localSessionsEnabled=true, as Apache's own ReadOnlyModeTest does (3.8
// cannot create a session in read-only mode without local sessions; ours ignores the key and
// keeps read-only sessions local anyway), and localSessionsUpgradingEnabled=true, so that an
// ephemeral node makes the "global" session global on Apache too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { OPEN_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import { CreateRequest, GetDataRequest, PathRequest } from '../../../src/zookeeper/protocol/records.js';
import { ProcessEnsemble, type EnsembleFlavor } from '../../helpers/ourEnsemble.js';
import { fourLetter, mntr } from '../../helpers/net.js';
import { enc, RawClient } from '../../helpers/rawClient.js';
import { waitFor } from '../../helpers/wait.js';
import { debianPython, runTwoPhaseScenario } from '../../interop/helpers/pythonClients.js';
import { ZkCliSession } from '../../interop/helpers/zkcli.js';

const HOST = '127.0.0.1';
const PATH = '/ro-data';
const NOTREADONLY = -119;

interface Observed {
  isroBefore: string;
  isro: string;
  srvrMode: string | undefined;
  srvrReadOnlyLine: boolean;
  serverState: string | undefined;
  nonReadOnlyRefused: boolean;
  connectReadOnlyFlag: boolean | undefined;
  readErr: number;
  createErr: number;
  createZxidIsLast: boolean;
  syncErr: number;
  globalSessionRefused: boolean;
  globalSessionAnswer: { timeOut: number; readOnly: boolean | undefined } | undefined;
  closeErr: number | undefined;
  /** zkCli.sh -r: its connected event, then the output of `get` and of `create`. */
  zkCli: { connected: string | undefined; get: string[]; create: string[] };
  kazooReady: { state: string; data: string; write_error: string | null; rw_client_refused: boolean };
  kazooDone: { state: string; after: string };
  isroAfter: string;
  srvrModeAfter: string | undefined;
}

function requireKazoo(): void {
  if (!existsSync(debianPython)) throw new Error(`${debianPython} is missing: apt-get install python3-kazoo`);
}

async function scenario(flavor: EnsembleFlavor): Promise<Observed> {
  const ens = await ProcessEnsemble.start({
    size: 3,
    flavor,
    sysProps: { 'readonlymode.enabled': 'true' },
    extraConfig: { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' },
  });
  try {
    const lone = 1;
    const port = ens.member(lone).clientPort;
    const isro = (): Promise<string> => fourLetter(HOST, port, 'isro').catch(() => '');
    const setup = new ZooKeeperClient({ connectString: ens.connectString(), sessionTimeoutMs: 10_000, closeTimeoutMs: 1000 });
    await setup.connect({ timeoutMs: 15_000 });
    await setup.create(PATH, Buffer.from('before'));
    await setup.sync(PATH);
    await setup.close();
    // A session of the ensemble, held on the member that stays up (its reconnection is refused
    // later). Its ephemeral node makes it global under localSessionsEnabled too.
    const global = await RawClient.connect(HOST, port, { readOnly: false, timeOut: 30_000 });
    assert.ok(global.sessionId !== 0n, `${flavor}: a read-write session on member ${lone}`);
    const eph = await global.call(OpCode.create, enc(CreateRequest, { path: '/ro-eph', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 1 }));
    assert.equal(eph.err, 0, `${flavor}: the ephemeral node of the global session`);
    const isroBefore = await isro();

    await Promise.all([ens.stop(2), ens.stop(3)]);
    await waitFor(async () => (await isro()) === 'ro', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: `${flavor}: member ${lone} to answer isro with ro`,
    });
    const srvr = await fourLetter(HOST, port, 'srvr');
    const serverState = (await mntr(HOST, port)).get('zk_server_state');

    const rw = await RawClient.connect(HOST, port, { readOnly: false });
    const nonReadOnlyRefused = rw.connectResponseRaw === undefined && (await rw.waitClosed());
    rw.destroy();
    const again = await RawClient.connect(HOST, port, { readOnly: true, sessionId: global.sessionId, passwd: global.passwd });
    const globalSessionRefused = again.connectResponseRaw === undefined && (await again.waitClosed());
    const globalSessionAnswer = again.connectResponse && {
      timeOut: again.connectResponse.timeOut,
      readOnly: again.connectResponse.readOnly,
    };
    again.destroy();
    global.destroy();

    const ro = await RawClient.connect(HOST, port, { readOnly: true });
    const read = await ro.call(OpCode.getData, enc(GetDataRequest, { path: PATH, watch: false }));
    const create = await ro.call(OpCode.create, enc(CreateRequest, { path: '/ro-raw', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 0 }));
    const lastZxid = BigInt(`0x${/^Zxid: 0x([0-9a-f]+)$/m.exec(await fourLetter(HOST, port, 'srvr'))?.[1] ?? '0'}`);
    const sync = await ro.call(OpCode.sync, enc(PathRequest, { path: PATH }));
    const closeXid = ro.xid();
    ro.send(closeXid, OpCode.closeSession);
    const closeReply = await ro.replyOrClose(closeXid);
    ro.destroy();

    const cli = await ZkCliSession.start(`${HOST}:${port}`, { readOnly: true });
    let zkCli: Observed['zkCli'];
    try {
      const connected = cli.events.find((e) => /type:None/.test(e))?.replace(/^WatchedEvent /, '');
      zkCli = { connected, get: await cli.run(`get ${PATH}`), create: await cli.run('create /ro-cli x') };
    } finally {
      await cli.quit().catch(() => cli.killAndWait());
    }

    const { ready, done } = await runTwoPhaseScenario<Observed['kazooReady'], Observed['kazooDone']>(
      debianPython,
      'kazoo_read_only.py',
      [ens.connectString(), `${HOST}:${port}`, PATH],
      async () => {
        ens.start(2);
        ens.start(3);
        await ens.waitServing(3, 60_000);
      },
      150_000,
    );
    await waitFor(async () => (await isro()) === 'rw', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: `${flavor}: member ${lone} back to rw`,
    });
    return {
      isroBefore,
      isro: 'ro',
      srvrMode: /^Mode: (\S+)$/m.exec(srvr)?.[1],
      srvrReadOnlyLine: srvr.includes('READ-ONLY mode; serving only read-only clients'),
      serverState,
      nonReadOnlyRefused,
      connectReadOnlyFlag: ro.connectResponse?.readOnly,
      readErr: read.err,
      createErr: create.err,
      createZxidIsLast: BigInt(create.zxid) === lastZxid,
      syncErr: sync.err,
      globalSessionRefused,
      globalSessionAnswer,
      closeErr: closeReply?.err,
      zkCli,
      kazooReady: { state: ready.state, data: ready.data, write_error: ready.write_error, rw_client_refused: ready.rw_client_refused },
      kazooDone: { state: done.state, after: done.after },
      isroAfter: await isro(),
      srvrModeAfter: await ens.mode(lone),
    };
  } catch (e) {
    throw new Error(`${flavor}: ${(e as Error).message}\n${ens.logs()}`);
  } finally {
    await ens.close();
  }
}

test('read-only mode: 2 of 3 members down, the third serves read-only clients, then goes back to rw, as a 3-node Apache ZooKeeper 3.8 ensemble does', {
  timeout: 600_000,
}, async () => {
  requireKazoo();
  const ours = await scenario('clustergenie');
  const expected: Partial<Observed> = {
    isroBefore: 'rw',
    isro: 'ro',
    srvrMode: 'read-only',
    srvrReadOnlyLine: true,
    serverState: 'read-only',
    nonReadOnlyRefused: true,
    connectReadOnlyFlag: true,
    readErr: 0,
    createErr: NOTREADONLY,
    createZxidIsLast: true,
    syncErr: NOTREADONLY,
    globalSessionRefused: true,
    closeErr: 0,
    isroAfter: 'rw',
  };
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(ours[k as keyof Observed], v, `ours: ${k}`);
  assert.deepEqual(ours.kazooReady, {
    state: 'CONNECTED_RO',
    data: 'before',
    write_error: 'NotReadOnlyCallError',
    rw_client_refused: true,
  });
  assert.deepEqual(ours.kazooDone, { state: 'CONNECTED', after: 'after' });
  assert.equal(ours.zkCli.connected, 'state:ConnectedReadOnly type:None path:null', JSON.stringify(ours.zkCli));
  assert.deepEqual(ours.zkCli.get, ['before'], JSON.stringify(ours.zkCli));
  assert.match(ours.zkCli.create.join('\n'), /read-only|NotReadOnly/i, JSON.stringify(ours.zkCli));
  assert.ok(ours.srvrModeAfter === 'leader' || ours.srvrModeAfter === 'follower', `ours: mode after ${ours.srvrModeAfter}`);

  const apache = await scenario('apache');
  const { srvrModeAfter: _a, ...apacheRest } = apache;
  const { srvrModeAfter: _o, ...oursRest } = ours;
  assert.deepEqual(oursRest, apacheRest);
});
