// Interop: the ZooKeeper C client (libzookeeper-mt 3.8.0, through its cli_mt shell) against our
// server (in-process). The C client is the strict one about the handshake: it always sends the
// readOnly byte, reads a fixed 41-byte ConnectResponse (4 length + 37 body, readOnly included)
// and requires the 16-byte password. A recording proxy in front of the server checks the bytes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { CliMt } from './helpers/climt.js';
import { replyHeader, requestHeader, startSniffProxy, type SniffProxy } from './helpers/sniffProxy.js';

type Server = Awaited<ReturnType<typeof startOurZooKeeper>>;

/** The dumpStat block cli_mt prints: `\tversion=<hex>\taversion=<hex>` etc. */
function statOf(text: string): { czxid: string; mzxid: string; version: number; aversion: number; ephemeralOwner: string } {
  const m =
    /\tczxid=([0-9a-f]+)\n\tmtime=.*\n\tmzxid=([0-9a-f]+)\n\tversion=([0-9a-f]+)\taversion=([0-9a-f]+)\n\tephemeralOwner = ([0-9a-f]+)\n/.exec(
      text,
    );
  assert.ok(m, `no stat block in:\n${text}`);
  return { czxid: m[1]!, mzxid: m[2]!, version: Number.parseInt(m[3]!, 16), aversion: Number.parseInt(m[4]!, 16), ephemeralOwner: m[5]! };
}

describe('C client (cli_mt 3.8.0) against clustergenie', { timeout: 60_000 }, () => {
  let zk: Server;
  let sniff: SniffProxy;
  let cwd: string;
  const clis: CliMt[] = [];

  before(async () => {
    zk = await startOurZooKeeper();
    sniff = await startSniffProxy(zk.host, zk.port);
    // cli_mt may write a client-id file into its working directory.
    cwd = await mkdtemp(join(tmpdir(), 'cg-climt-'));
  });

  after(async () => {
    for (const c of clis) c.kill();
    await sniff?.close();
    await zk?.stop();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<CliMt> {
    const c = await CliMt.start(args, cwd);
    clis.push(c);
    return c;
  }

  it('handshake (45-byte request, 41-byte response with readOnly), create/get/set/ls/ls2/sync/delete, watches, errors', async () => {
    const before = sniff.connections.length;
    const c = await cli([sniff.connectString]); // host string as the plain argument
    assert.ok(zk.shell.core.sessions.isActive(c.sessionId), 'session established on the server');

    const conn = sniff.connections[before]!;
    // ConnectRequest: version 4 + lastZxid 8 + timeOut 4 + sessionId 8 + passwd 4+16 + readOnly 1.
    assert.equal(conn.toServer[0]!.length, 45);
    assert.equal(conn.toServer[0]!.readUInt8(44), 0, 'readOnly=false');
    // ConnectResponse: version 4 + timeOut 4 + sessionId 8 + passwd 4+16 + readOnly 1 = 37.
    const resp = conn.toClient[0]!;
    assert.equal(resp.length, 37);
    assert.equal(resp.readInt32BE(4), 30_000, 'cli_mt asks for 30 s, within [4 s, 40 s]');
    assert.equal(resp.readBigInt64BE(8), c.sessionId);
    assert.equal(resp.readInt32BE(16), 16, '16-byte password');
    assert.equal(resp.readUInt8(36), 0, 'readOnly=false from a read-write server');

    const created = (cmd: string, path: string) => c.run(cmd, new RegExp(`\\[${path}\\]: rc = (?:0\\n\\tname = .*\\n|-?[1-9]\\d*\\n)`));
    assert.match(
      await created('create /cclient', '/cclient'),
      /Creating \[\/cclient\] node \(mode: 0\)\n\[\/cclient\]: rc = 0\n\tname = \/cclient\n/,
    );
    assert.match(
      await created('create +e /cclient/eph', '/cclient/eph'),
      /\(mode: 1\)\n\[\/cclient\/eph\]: rc = 0\n\tname = \/cclient\/eph\n/,
    );
    assert.match(await created('create +s /cclient/seq-', '/cclient/seq-'), /\tname = \/cclient\/seq-0000000001\n/);
    assert.match(await created('create +es /cclient/eseq-', '/cclient/eseq-'), /\(mode: 3\)\n.*\n\tname = \/cclient\/eseq-0000000002\n/);
    assert.match(await created('create +c /cclient/cont', '/cclient/cont'), /\(mode: 4\)\n\[\/cclient\/cont\]: rc = 0\n/);
    assert.match(await created('create +t=600000 /cclient/ttl', '/cclient/ttl'), /\(mode: 5\)\n\[\/cclient\/ttl\]: rc = 0\n/);
    assert.match(await created('create /cclient', '/cclient'), /\[\/cclient\]: rc = -110\n/, 'NODEEXISTS');
    assert.match(await created('create /cclient-missing/x', '/cclient-missing/x'), /rc = -101\n/, 'NONODE');
    assert.match(await created('create /cclient/eph/x', '/cclient/eph/x'), /rc = -108\n/, 'NOCHILDRENFOREPHEMERALS');

    const stat2 = await c.run('create2 /cclient/two', /ephemeralOwner = [0-9a-f]+\n/);
    assert.match(stat2, /\[\/cclient\/two\]: rc = 0\n\tname = \/cclient\/two\n/);
    const s2 = statOf(stat2);
    assert.equal(s2.czxid, s2.mzxid);
    assert.equal(s2.version, 0);

    // The ops went out with the expected opcodes: create (1), create2 (15), createContainer (19), createTTL (21).
    const ops = conn.toServer.slice(1).map((f) => requestHeader(f).type);
    for (const op of [1, 15, 19, 21]) assert.ok(ops.includes(op), `op ${op} sent (${ops.join(',')})`);

    const set1 = await c.run('set /cclient hello', /\/cclient: rc = -?\d+ Stat:\n(\t.*\n){5}\tephemeralOwner = [0-9a-f]+\n/);
    assert.match(set1, /\/cclient: rc = 0 Stat:/);
    assert.equal(statOf(set1).version, 1);

    // get sets a watch (cli_mt passes watch=1 to the global watcher).
    const get = await c.run('get /cclient', /Stat:\n(\t.*\n){5}\tephemeralOwner = [0-9a-f]+\n|Stat:\nnull\n/);
    assert.match(get, /\/cclient: rc = 0\n value_len = 5\nhello\nStat:\n/);
    assert.equal(statOf(get).version, 1);
    const set2 = await c.run('set /cclient again', /\/cclient: rc = -?\d+ Stat:\n(\t.*\n){5}\tephemeralOwner = [0-9a-f]+\n/);
    assert.equal(statOf(set2).version, 2);
    await c.waitFor(/Watcher CHANGED_EVENT state = CONNECTED_STATE for path \/cclient\n/, 0, 'data watch event');

    // ls sets a child watch.
    const ls = await c.run('ls /cclient', /\/cclient: rc = 0\n(\t.*\n)*time = \d+ msec\n/);
    const kids = [...ls.matchAll(/^\t(.*)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(kids, ['cont', 'eph', 'eseq-0000000002', 'seq-0000000001', 'ttl', 'two']);
    const before2 = c.err.length;
    await created('create /cclient/new', '/cclient/new');
    await c.waitFor(/Watcher CHILD_EVENT state = CONNECTED_STATE for path \/cclient\n/, before2, 'child watch event');
    assert.ok(
      conn.toServer.slice(1).some((f) => requestHeader(f).type === 8),
      'ls is getChildren (op 8)',
    );

    const ls2 = await c.run('ls2 /cclient', /time = \d+ msec\n(\t.*\n){5}\tephemeralOwner = [0-9a-f]+\n/);
    assert.match(ls2, /\tnew\n/);
    assert.equal(statOf(ls2).version, 2);
    assert.ok(
      conn.toServer.slice(1).some((f) => requestHeader(f).type === 12),
      'ls2 is getChildren2 (op 12)',
    );

    assert.match(
      await c.run('sync /cclient', /\[\/cclient\]: rc = -?\d+\n(\tname = .*\n)?/),
      /\[\/cclient\]: rc = 0\n\tname = \/cclient\n/,
    );
    assert.match(await c.run('delete /cclient/two', /\/cclient\/two: rc = -?\d+\n/), /\/cclient\/two: rc = 0\n/);
    assert.match(await c.run('delete /cclient', /\/cclient: rc = -?\d+\n/), /\/cclient: rc = -111\n/, 'NOTEMPTY');
    assert.match(await c.run('get /cclient-missing', /Stat:\nnull\n/), /\/cclient-missing: rc = -101\n/);

    // Digest auth is accepted (a failure would close the connection and shut the shell down).
    await c.run('addauth digest alice:secret', /^/);
    assert.match(await c.run('get /cclient/eph', /Stat:\n(\t.*\n){5}\tephemeralOwner = [0-9a-f]+\n/), /\/cclient\/eph: rc = 0\n/);
    assert.equal(BigInt(`0x${statOf(await c.run('get /cclient/eph', /ephemeralOwner = [0-9a-f]+\n/)).ephemeralOwner}`), c.sessionId);
    assert.ok(zk.shell.core.tree.get('/cclient/eph'), 'ephemeral exists while the session lives');

    // Replies came back in order with matching xids.
    const sent = conn.toServer
      .slice(1)
      .map(requestHeader)
      .filter((h) => h.xid > 0);
    const got = conn.toClient
      .slice(1)
      .map(replyHeader)
      .filter((h) => h.xid > 0);
    assert.deepEqual(
      got.map((h) => h.xid),
      sent.map((h) => h.xid),
    );

    await c.run('myid', /^/);
    assert.equal(await c.quit(), 0);
    assert.match(c.out, new RegExp(`session Id = ${c.sessionId.toString(16)}\\n`));
    // zookeeper_close sent closeSession: the session and its ephemerals are gone at once.
    assert.equal(zk.shell.core.sessions.isActive(c.sessionId), false);
    assert.equal(zk.shell.core.tree.get('/cclient/eph'), undefined);
    assert.equal(zk.shell.core.tree.get('/cclient/eseq-0000000002'), undefined);
    assert.ok(zk.shell.core.tree.get('/cclient/seq-0000000001'));
  });

  it('read-only flag: readOnly=1 in the request, a read-write server answers readOnly=0 and serves writes', async () => {
    const before = sniff.connections.length;
    const c = await cli(['-h', sniff.connectString, '-r']);
    const conn = sniff.connections[before]!;
    assert.equal(conn.toServer[0]!.length, 45);
    assert.equal(conn.toServer[0]!.readUInt8(44), 1, 'readOnly=true');
    assert.equal(conn.toClient[0]!.length, 37);
    assert.equal(conn.toClient[0]!.readUInt8(36), 0);
    assert.match(c.err, /Watcher SESSION_EVENT state = CONNECTED_STATE\n/, 'connected read-write, not READONLY_STATE');
    assert.match(await c.run('create /cclient-ro', /\[\/cclient-ro\]: rc = -?\d+\n/), /\[\/cclient-ro\]: rc = 0\n/);

    // An unknown auth scheme: AUTH_FAILED, the server closes the connection, the shell gives up.
    await c.run('addauth nosuchscheme x', /Authentication failure\. Shutting down\.\.\.\n/);
    assert.match(c.err, /Watcher SESSION_EVENT state = AUTH_FAILED_STATE\n/);
    await c.quit();
    // The server closed the connection (the session itself lives on until it expires).
    assert.ok(zk.shell.core.sessions.isActive(c.sessionId));
    assert.equal(zk.shell.core.sessionConns.get(c.sessionId), undefined);
  });
});
