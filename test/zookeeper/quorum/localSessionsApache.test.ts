// Local sessions (zoo.cfg localSessionsEnabled, with localSessionsUpgradingEnabled off and on)
// on a 3-member ensemble of ours and on a 3-node Apache ZooKeeper 3.8 ensemble, both launched the
// same way (ProcessEnsemble) and sent the same raw frames, so every reply's error code and zxid
// is compared (no client library exposes a refused ephemeral's zxid or a moved session's connect
// response). Steps: a local session on a follower writes and reads; its ephemeral create
// (EPHEMERALONLOCALSESSION without upgrading, an upgrade with it), create2 and multi likewise;
// mntr's session counts; the session moving to the other follower and to the leader (expired
// while local, accepted once global); a local session on the leader; closeSession. Zxids are
// compared as distances from the first reply's, session owners as leader/follower/other.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPEN_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import { CreateMode, OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { CreateRequest, GetDataRequest, GetDataResponse } from '../../../src/zookeeper/protocol/records.js';
import { JuteReader } from '../../../src/zookeeper/protocol/jute.js';
import { serverIdOfSession } from '../../../src/zookeeper/server/localSessions.js';
import { mntr } from '../../helpers/net.js';
import { ProcessEnsemble, type EnsembleFlavor } from '../../helpers/ourEnsemble.js';
import { enc, encodeMulti, type RawClient as RawClientT, RawClient, type ReplyFrame } from '../../helpers/rawClient.js';

const HOST = '127.0.0.1';
// The ensembles' maxSessionTimeout (20 ticks of 200 ms): asked for and granted as is.
const SESSION_MS = 4000;

const create = (path: string, flags: number): Buffer =>
  enc(CreateRequest, { path, data: Buffer.from('x'), acl: [...OPEN_ACL_UNSAFE], flags });
const getData = (path: string): Buffer => enc(GetDataRequest, { path, watch: false });

interface Answer {
  err: number;
  /** The reply's zxid minus the first reply's (-1 kept apart: "no zxid"). */
  dz: number | 'none';
}

interface Moved {
  /** Who the connect response names as owner ('expired' for session id 0). */
  owner: string;
  timeOut: number;
  /** What a getData on the new connection answers (only when the session was accepted). */
  read?: number;
}

type Observed = Record<string, unknown>;

async function scenario(flavor: EnsembleFlavor, upgrading: boolean): Promise<Observed> {
  const ens = await ProcessEnsemble.start({
    size: 3,
    flavor,
    extraConfig: { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: String(upgrading) },
  });
  const clients: RawClientT[] = [];
  try {
    const leader = await ens.waitServing(3);
    const [follower, other] = ens.ids.filter((id) => id !== leader) as [number, number];
    const port = (id: number): number => ens.member(id).clientPort;
    const owner = (sid: bigint): string => {
      if (sid === 0n) return 'expired';
      const id = serverIdOfSession(sid);
      return id === leader ? 'leader' : id === follower ? 'follower' : id === other ? 'other' : `member ${id}`;
    };
    const connect = async (id: number, sid?: bigint, passwd?: Buffer): Promise<RawClientT> => {
      const c = await RawClient.connect(HOST, port(id), {
        timeOut: SESSION_MS,
        sessionId: sid,
        passwd,
        readOnly: false,
        timeoutMs: 10_000,
      });
      clients.push(c);
      return c;
    };
    const sessions = async (id: number): Promise<{ local: string | undefined; global: string | undefined }> => {
      const m = await mntr(HOST, port(id));
      return { local: m.get('zk_local_sessions'), global: m.get('zk_global_sessions') };
    };
    const obs: Observed = {};

    const a = await connect(follower);
    obs['connect'] = { owner: owner(a.sessionId), timeOut: a.connectResponse?.timeOut, readOnly: a.connectResponse?.readOnly };
    // The zxid every later one is measured from: this session's first write.
    const first = await a.call(OpCode.create, create('/ls-base', CreateMode.PERSISTENT));
    obs['firstWrite'] = first.err;
    const base = first.zxid;
    const answer = (r: ReplyFrame): Answer => ({ err: r.err, dz: r.zxid === -1 ? 'none' : r.zxid - base });
    const call = async (c: RawClientT, op: number, body?: Buffer): Promise<Answer> => answer(await c.call(op, body));

    obs['createPersistent'] = await call(a, OpCode.create, create('/ls-p', CreateMode.PERSISTENT));
    const read = await a.call(OpCode.getData, getData('/ls-p'));
    obs['read'] = {
      ...answer(read),
      data: read.err === 0 ? GetDataResponse.decode(new JuteReader(read.body)).data?.toString() : undefined,
    };
    obs['countsLocal'] = { follower: await sessions(follower), leader: await sessions(leader) };

    obs['ephemeral'] = await call(a, OpCode.create, create('/ls-e', CreateMode.EPHEMERAL));
    obs['ephemeralSeq2'] = await call(a, OpCode.create2, create('/ls-s', CreateMode.EPHEMERAL_SEQUENTIAL));
    const multiOf = (tag: string): Buffer =>
      encodeMulti([
        { type: OpCode.create, body: create(`/${tag}1`, CreateMode.PERSISTENT) },
        { type: OpCode.create, body: create(`/${tag}2`, CreateMode.EPHEMERAL) },
      ]);
    // The body too: a refused multi answers with per-op results.
    const multi = await a.call(OpCode.multi, multiOf('ls-m'));
    obs['multiEphemeral'] = { ...answer(multi), body: multi.body.toString('hex') };
    obs['countsAfterEphemeral'] = { follower: await sessions(follower), leader: await sessions(leader) };

    // What the other members see of the nodes (a read through a session of their own).
    const look = await connect(other);
    const exists: Record<string, number> = {};
    for (const p of ['/ls-p', '/ls-e', '/ls-m1', '/ls-m2']) exists[p] = (await look.call(OpCode.getData, getData(p))).err;
    obs['onOther'] = exists;
    look.destroy();

    // A second local session of the follower, never upgraded: it cannot move.
    const b = await connect(follower);
    for (const [name, id] of [
      ['movedLocalToOther', other],
      ['movedLocalToLeader', leader],
    ] as const) {
      const m = await connect(id, b.sessionId, b.passwd);
      obs[name] = { owner: owner(m.sessionId), timeOut: m.connectResponse?.timeOut ?? -1 } satisfies Moved;
      m.destroy();
    }
    obs['localStillServes'] = await call(b, OpCode.getData, getData('/ls-p'));
    obs['localClose'] = await call(b, OpCode.closeSession);
    obs['localClosedConnection'] = await b.waitClosed(10_000);
    const gone = await connect(follower, b.sessionId, b.passwd);
    obs['reconnectAfterClose'] = { owner: owner(gone.sessionId), timeOut: gone.connectResponse?.timeOut ?? -1 } satisfies Moved;
    gone.destroy();

    // A local session of the leader itself.
    const l = await connect(leader);
    obs['leaderSession'] = owner(l.sessionId);
    obs['leaderPersistent'] = await call(l, OpCode.create, create('/ls-lp', CreateMode.PERSISTENT));
    obs['leaderEphemeral'] = await call(l, OpCode.create, create('/ls-le', CreateMode.EPHEMERAL));
    const leaderMulti = await l.call(OpCode.multi, multiOf('ls-lm'));
    obs['leaderMultiEphemeral'] = { ...answer(leaderMulti), body: leaderMulti.body.toString('hex') };
    obs['leaderClose'] = await call(l, OpCode.closeSession);
    // Read on the leader: it has applied the close when it answers (a follower may not have yet).
    const onLeader = await connect(leader);
    obs['leaderEphemeralAfterClose'] = (await onLeader.call(OpCode.getData, getData('/ls-le'))).err;
    onLeader.destroy();

    // The first session moves to the other follower: expired while local, kept once upgraded.
    const sid = a.sessionId;
    const passwd = a.passwd;
    a.destroy();
    const moved = await connect(other, sid, passwd);
    const movedObs: Moved = { owner: owner(moved.sessionId), timeOut: moved.connectResponse?.timeOut ?? -1 };
    if (moved.sessionId !== 0n) movedObs.read = (await moved.call(OpCode.getData, getData('/ls-p'))).err;
    obs['moved'] = movedObs;
    if (moved.sessionId !== 0n) {
      obs['movedClose'] = answer(await moved.call(OpCode.closeSession));
      const after = await connect(leader);
      obs['ephemeralAfterClose'] = (await after.call(OpCode.getData, getData('/ls-e'))).err;
      after.destroy();
    }
    return obs;
  } catch (e) {
    throw new Error(`${flavor}, upgrading ${upgrading}: ${(e as Error).message}\n${ens.logs()}`);
  } finally {
    for (const c of clients) c.destroy();
    await ens.close();
  }
}

const OK = 0;
const NONODE = -101;
const EPHEMERALONLOCALSESSION = -120;

async function differential(upgrading: boolean, expected: Observed): Promise<void> {
  const ours = await scenario('clustergenie', upgrading);
  const apache = await scenario('apache', upgrading);
  assert.deepEqual(ours, apache, `ours vs Apache 3.8 (upgrading ${upgrading})`);
  // What both do, spelled out (a change on both sides must still be noticed).
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(ours[k], v, `upgrading ${upgrading}: ${k}\n${JSON.stringify(ours)}`);
}

const expiredMove: Moved = { owner: 'expired', timeOut: 0 };

test('local sessions without upgrading: the same replies as a 3-node Apache ZooKeeper 3.8 ensemble', { timeout: 120_000 }, async () => {
  await differential(false, {
    connect: { owner: 'follower', timeOut: SESSION_MS, readOnly: false },
    createPersistent: { err: OK, dz: 1 },
    read: { err: OK, dz: 1, data: 'x' },
    leaderEphemeral: { err: EPHEMERALONLOCALSESSION, dz: 6 },
    movedLocalToOther: expiredMove,
    movedLocalToLeader: expiredMove,
    // A refused ephemeral takes a zxid: the leader logs an ErrorTxn (SESSIONEXPIRED for a
    // follower's session, whose reply still says EPHEMERALONLOCALSESSION).
    ephemeral: { err: EPHEMERALONLOCALSESSION, dz: 2 },
    ephemeralSeq2: { err: EPHEMERALONLOCALSESSION, dz: 3 },
    localClose: { err: OK, dz: 4 },
    localClosedConnection: true,
    reconnectAfterClose: expiredMove,
    leaderSession: 'leader',
    moved: expiredMove,
  });
});

test('local sessions with upgrading: the same replies as a 3-node Apache ZooKeeper 3.8 ensemble', { timeout: 120_000 }, async () => {
  await differential(true, {
    connect: { owner: 'follower', timeOut: SESSION_MS, readOnly: false },
    createPersistent: { err: OK, dz: 1 },
    // The createSession txn first, then the create.
    ephemeral: { err: OK, dz: 3 },
    movedLocalToOther: expiredMove,
    movedLocalToLeader: expiredMove,
    leaderSession: 'leader',
    moved: { owner: 'follower', timeOut: SESSION_MS, read: OK },
    ephemeralAfterClose: NONODE,
  });
});
