// `clustergenie zookeeper-tools` through the real CLI, on data directories written by our server
// and by Apache ZooKeeper 3.8: the dumps show the writes that were made (zxids, types, paths,
// data, stats, sessions, digests), log-truncate leaves a log that a restarted server serves as
// exactly that prefix, and purge keeps the newest N snapshots and the logs they need.
//
// Each directory is written in two runs of the same server: run 1 (snapCount 20, so logs roll and
// snapshots are taken) makes a varied workload; run 2 recovers it, which leaves a clean snapshot
// of the whole tree at run 1's last zxid, and writes a few more nodes into a fresh log.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateMode, READ_ACL_UNSAFE, ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { killOnExit } from '../../helpers/children.js';
import { fourLetter } from '../../helpers/net.js';
import { startOurZooKeeper } from '../../helpers/ourZk.js';
import { dumpTree, type TreeDump } from '../../helpers/treeDump.js';
import { listLogs, listSnapshots, type NamedFile } from '../../../src/zookeeper/persistence/files.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI = join(repoRoot, 'bin', 'clustergenie.js');
const hex = (n: number): string => `0x${n.toString(16)}`;
const permLetters = (p: number): string => ['c', 'd', 'r', 'w', 'a'].filter((_, i) => p & [4, 8, 1, 2, 16][i]!).join('');
const sessionHex = (id: bigint): string => `0x${BigInt.asUintN(64, id).toString(16)}`;

interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function tool(...args: string[]): Promise<ToolRun> {
  const child = spawn(process.execPath, [CLI, 'zookeeper-tools', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  return { code, stdout, stderr };
}

async function toolJson<T>(...args: string[]): Promise<{ code: number | null; doc: T }> {
  const r = await tool(...args, '--json');
  assert.equal(r.stderr, '', `${args.join(' ')}: ${r.stderr}`);
  return { code: r.code, doc: JSON.parse(r.stdout) as T };
}

interface JsonTxn {
  offset: number;
  bytes: number;
  zxid: string;
  time: string;
  session: string;
  type: string;
  path?: string;
  data?: string | null;
  err?: number;
  ops?: { type: string; path?: string; err?: number }[];
  digest?: { version: number; value: string };
}
interface JsonLog {
  header: { magic: string; version: number; dbid: string };
  txns: JsonTxn[];
  end: { kind: string; offset: number };
}
interface JsonNode {
  path: string;
  czxid: string;
  mzxid: string;
  pzxid: string;
  ctime: string;
  mtime: string;
  version: number;
  cversion: number;
  aversion: number;
  aclRef: string | null;
  dataLength: number | null;
  data?: string | null;
}
interface JsonSnapshot {
  header: { magic: string; version: number };
  sessions: { id: string; timeout: number }[];
  acls: { ref: string; acl: { scheme: string; id: string; perms: string }[] }[];
  nodes: JsonNode[];
  digest?: { zxid: string; version: number; value: string };
  seal: { ok: boolean };
}

async function srvrZxid(host: string, port: number): Promise<number> {
  const m = /^Zxid: 0x([0-9a-f]+)$/m.exec(await fourLetter(host, port, 'srvr'));
  assert.ok(m, 'srvr shows a Zxid');
  return parseInt(m[1]!, 16);
}

/** What one write must look like in the log. */
interface Expect {
  zxid: number;
  type: string;
  path?: string;
  ops?: string[];
}

/** A varied workload under `root`; every write's zxid is the reply's (lastZxidSeen). */
async function workload(c: ZooKeeperClient, root: string, extra: number): Promise<Expect[]> {
  const out: Expect[] = [];
  const write = async (type: string, path: string | undefined, f: () => Promise<unknown>, ops?: string[]): Promise<void> => {
    await f().catch(() => {}); // failures are logged too (ErrorTxn)
    out.push({ zxid: c.lastZxidSeen, type, ...(path ? { path } : {}), ...(ops ? { ops } : {}) });
  };
  let seq = '';
  await write('create2', root, () => c.createWithStat(root, 'root-data'));
  await write('setData', root, () => c.setData(root, 'root-data-2'));
  await write('create2', `${root}/eph`, () => c.createWithStat(`${root}/eph`, Buffer.from([0, 1, 2, 255]), { mode: CreateMode.EPHEMERAL }));
  await write(
    'create2',
    undefined,
    async () => (seq = (await c.createWithStat(`${root}/seq-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL })).path),
  );
  await write('createTTL', `${root}/ttl`, () =>
    c.createWithStat(`${root}/ttl`, 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 600_000 }),
  );
  await write('createContainer', `${root}/cont`, () => c.createWithStat(`${root}/cont`, 'c', { mode: CreateMode.CONTAINER }));
  await write('setACL', `${root}/ttl`, () => c.setACL(`${root}/ttl`, READ_ACL_UNSAFE));
  await write('multi', undefined, () => c.transaction().create(`${root}/m1`, 'm').setData(root, 'multi').delete(seq).commit(), [
    `create ${root}/m1`,
    `setData ${root}`,
    `delete ${seq}`,
  ]);
  await write('error', undefined, () => c.delete(`${root}/missing`));
  await write('multi', undefined, () => c.transaction().create(`${root}/m2`).create(`${root}/m2`).commit(), [`create ${root}/m2`, 'error']);
  for (let i = 0; i < extra; i++) await write('create2', `${root}/n${i}`, () => c.createWithStat(`${root}/n${i}`, `value-${i}`));
  return out;
}

interface Server {
  host: string;
  port: number;
  connectString: string;
  stop(): Promise<void>;
}
type Start = (dataDir: string, snapCount: string) => Promise<Server>;

const startOurs: Start = (dataDir, snapCount) => startOurZooKeeper({ dataDir, extraConfig: { snapCount } });
const startApache: Start = (dataDir, snapCount) => startApacheZooKeeper({ dataDir, extraConfig: { snapCount } });

interface Written {
  dataDir: string;
  expects: Expect[];
  /** Session ids of run 1 and run 2. */
  sessions: bigint[];
  /** Last zxid of run 1 (its closeSession): run 2 leaves snapshot.<run1Last>. */
  run1Last: number;
  /** The tree under /w as run 2 found it (before its own writes). */
  recovered: TreeDump;
  /** zxids of /late/n0.. (run 2). */
  late: number[];
  lastZxid: number;
}

async function writeDirectory(start: Start, dataDir: string): Promise<Written> {
  const expects: Expect[] = [];
  const sessions: bigint[] = [];
  let s = await start(dataDir, '20');
  let c = new ZooKeeperClient({ connectString: s.connectString });
  await c.connect();
  expects.push(...(await workload(c, '/w', 30)));
  assert.equal(await srvrZxid(s.host, s.port), expects.at(-1)!.zxid, "the server's zxid is the last write's");
  sessions.push(c.sessionId);
  await c.close();
  await s.stop();

  s = await start(dataDir, '20');
  const run1Last = await srvrZxid(s.host, s.port);
  assert.equal(run1Last, expects.at(-1)!.zxid + 1, 'run 1 ended with its closeSession');
  c = new ZooKeeperClient({ connectString: s.connectString });
  await c.connect();
  const recovered = await dumpTree(c, { root: '/w' });
  const late: number[] = [];
  // Fewer txns than snapCount/2: no roll, so all of run 2 is in one log after snapshot.<run1Last>.
  await c.create('/late');
  for (let i = 0; i < 6; i++) late.push((await c.createWithStat(`/late/n${i}`, `late-${i}`)).stat.czxid);
  const lastZxid = (await srvrZxid(s.host, s.port)) + 1; // + run 2's closeSession
  sessions.push(c.sessionId);
  await c.close();
  await s.stop();
  return { dataDir, expects, sessions, run1Last, recovered, late, lastZxid };
}

async function files(dataDir: string, prefix: 'log.' | 'snapshot.'): Promise<NamedFile[]> {
  return (prefix === 'log.' ? listLogs : listSnapshots)(join(dataDir, 'version-2'));
}

function checks(kind: 'ours' | 'apache', start: Start): void {
  describe(`zookeeper-tools on a data directory written by ${kind === 'ours' ? 'our server' : 'Apache ZooKeeper 3.8'}`, () => {
    let work: string;
    let w: Written;
    before(async () => {
      work = await mkdtemp(join(tmpdir(), `cg-tools-${kind}-`));
      w = await writeDirectory(start, join(work, 'data'));
    });
    after(() => rm(work, { recursive: true, force: true }));

    test('log-dump shows every transaction, in zxid order, as it was written', async () => {
      const logs = await files(w.dataDir, 'log.');
      assert.ok(logs.length >= 3, `snapCount 20 rolled the log: ${logs.map((l) => l.name)}`);
      const all: JsonTxn[] = [];
      for (const log of logs) {
        const { code, doc } = await toolJson<JsonLog>('log-dump', log.path);
        assert.equal(code, 0, `${log.name} ends cleanly`);
        assert.deepEqual(doc.header, { magic: 'ZKLG', version: 2, dbid: '0' });
        assert.equal(doc.end.kind, 'eof');
        assert.equal(doc.txns[0]!.zxid, hex(log.zxid), 'a log is named after its first zxid');
        assert.equal(doc.txns[0]!.offset, 16);
        for (const [i, t] of doc.txns.entries()) {
          if (i > 0) assert.equal(t.offset, doc.txns[i - 1]!.offset + doc.txns[i - 1]!.bytes);
          // Both log the tree digest (version 2) with every txn but an ErrorTxn (docs/STORAGE.md).
          assert.equal(t.digest?.version, t.type === 'error' ? undefined : 2, `digest of ${t.zxid} ${t.type}`);
        }
        assert.equal(doc.end.offset, doc.txns.at(-1)!.offset + doc.txns.at(-1)!.bytes);
        all.push(...doc.txns);
      }
      assert.deepEqual(
        all.map((t) => t.zxid),
        Array.from({ length: w.lastZxid }, (_, i) => hex(i + 1)),
        'zxids 1..last, none missing',
      );
      const byZxid = new Map(all.map((t) => [t.zxid, t]));
      for (const e of w.expects) {
        const t = byZxid.get(hex(e.zxid));
        assert.ok(t, `txn ${hex(e.zxid)}`);
        assert.equal(t.type, e.type, `type of ${hex(e.zxid)}`);
        if (e.path) assert.equal(t.path, e.path);
        if (e.ops)
          assert.deepEqual(
            t.ops!.map((o) => (o.type === 'error' ? 'error' : `${o.type} ${o.path}`)),
            e.ops,
          );
        assert.equal(t.session, sessionHex(w.sessions[0]!));
      }
      const err = byZxid.get(hex(w.expects.find((e) => e.type === 'error')!.zxid))!;
      assert.equal(err.err, -101, 'the failed delete is an ErrorTxn(NONODE)');
      const n7 = byZxid.get(hex(w.expects.find((e) => e.path === '/w/n7')!.zxid))!;
      assert.equal(Buffer.from(n7.data!, 'base64').toString(), 'value-7');
      // Sessions: run 1 starts and ends with its own; run 2's closeSession is the very last txn.
      assert.equal(all[0]!.type, 'createSession');
      assert.equal(byZxid.get(hex(w.run1Last))!.type, 'closeSession');
      assert.equal(all.at(-1)!.type, 'closeSession');
      assert.equal(all.at(-1)!.session, sessionHex(w.sessions[1]!));

      const text = await tool('log-dump', logs.at(-1)!.path);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^header: magic ZKLG \(0x5a4b4c47\), version 2, dbid 0$/m);
      assert.match(
        text.stdout,
        new RegExp(
          `^${hex(w.late[3]!)} \\S+Z session=${sessionHex(w.sessions[1]!)} cxid=\\d+ create2 /late/n3 data=6B "late-3" acl=world:anyone:cdrwa persistent`,
          'm',
        ),
      );
      assert.match(text.stdout, /^end: clean, at offset \d+/m);
    });

    test('snapshot-dump shows the tree, sessions, ACLs and digest of each snapshot', async () => {
      const snaps = await files(w.dataDir, 'snapshot.');
      let withSession = 0;
      for (const snap of snaps) {
        const { code, doc } = await toolJson<JsonSnapshot>('snapshot-dump', snap.path);
        assert.equal(code, 0, `${snap.name} is intact`);
        assert.deepEqual(doc.header, { magic: '0x5a4b534e', version: 2, dbid: '-1' });
        assert.deepEqual(doc.seal, { ok: true });
        assert.equal(doc.nodes[0]!.path, '/');
        // Fuzzy snapshots: ours leaves out nodes created after it began (Apache may include them);
        // both store the digest of the last zxid applied when the tree was written.
        if (kind === 'ours') for (const n of doc.nodes) assert.ok(parseInt(n.czxid, 16) <= snap.zxid, `${snap.name}: ${n.path} is newer`);
        // Apache writes the digest after the first seal from its snapshot thread, which its
        // shutdown does not wait for: a snapshot taken just before a stop can end at the seal
        // (Apache loads such a file too). Ours are written whole before they are renamed.
        const digestCut = kind === 'apache' && doc.digest === undefined;
        if (snap.zxid > 0 && !digestCut) {
          const dz = parseInt(doc.digest?.zxid ?? '', 16);
          assert.ok(dz >= snap.zxid && dz <= w.lastZxid, `${snap.name}: digest at ${doc.digest?.zxid}`);
        }
        if (doc.sessions.some((x) => x.id === sessionHex(w.sessions[0]!) && x.timeout === 30_000)) withSession++;
      }
      assert.ok(withSession > 0, 'a snapshot taken during run 1 lists its live session');

      // The clean snapshot run 2 left is exactly the tree run 2 served.
      const snap = snaps.find((s) => s.zxid === w.run1Last);
      assert.ok(snap, `snapshot.${w.run1Last.toString(16)} among ${snaps.map((s) => s.name)}`);
      const { doc } = await toolJson<JsonSnapshot>('snapshot-dump', snap.path, '--data');
      // As above: an Apache snapshot may end at its seal (seen in CI for this one too); ours never does.
      if (kind === 'ours' || doc.digest !== undefined) assert.equal(doc.digest?.zxid, hex(w.run1Last));
      const nodes = new Map(doc.nodes.filter((n) => n.path === '/w' || n.path.startsWith('/w/')).map((n) => [n.path, n]));
      assert.deepEqual([...nodes.keys()].sort(), [...w.recovered.keys()].sort());
      for (const [path, d] of w.recovered) {
        const n = nodes.get(path)!;
        const st = d.stat;
        assert.deepEqual(
          [n.czxid, n.mzxid, n.pzxid, n.ctime, n.mtime, n.version, n.aversion, n.dataLength, n.cversion * 2 - d.children.length],
          [
            hex(st.czxid),
            hex(st.mzxid),
            hex(st.pzxid),
            new Date(st.ctime).toISOString(),
            new Date(st.mtime).toISOString(),
            st.version,
            st.aversion,
            st.dataLength,
            st.cversion,
          ],
          `stat of ${path}`,
        );
        assert.deepEqual(n.data === null || n.data === undefined ? null : Buffer.from(n.data, 'base64'), d.data, `data of ${path}`);
        const acl = n.aclRef === '-1' ? [{ scheme: 'world', id: 'anyone', perms: 'cdrwa' }] : doc.acls.find((a) => a.ref === n.aclRef)?.acl;
        assert.deepEqual(
          acl,
          d.acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: permLetters(a.perms) })),
          `ACL of ${path}`,
        );
      }
      assert.deepEqual(doc.sessions, [], 'no session was open at that zxid');

      const text = await tool('snapshot-dump', snap.path);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^ {2}\/w\/ttl czxid=0x[0-9a-f]+ .* acl=\d+ dataLength=1$/m);
      if (kind === 'ours' || doc.digest !== undefined)
        assert.match(text.stdout, new RegExp(`^digest: zxid ${hex(w.run1Last)}, version 2, value -?\\d+$`, 'm'));
      else assert.match(text.stdout, /^digest: none$/m, 'the text dump agrees with the JSON dump: no digest');
      assert.match(text.stdout, /^seal: ok/m);
    });

    test('damaged files: the dumps print what is readable, say where and why they stop, and exit 1', async () => {
      const dir = join(work, 'damaged');
      await cp(w.dataDir, dir, { recursive: true });
      const log = (await files(dir, 'log.')).at(-1)!;
      const { doc: intact } = await toolJson<JsonLog>('log-dump', log.path);
      const bad = intact.txns.find((t) => t.path === '/late/n2')!;
      const buf = await readFile(log.path);
      buf[bad.offset + 30]! ^= 0x01;
      await writeFile(log.path, buf);
      const { code, doc } = await toolJson<JsonLog & { end: { reason: string; dataAfterBytes: number } }>('log-dump', log.path);
      assert.equal(code, 1);
      assert.deepEqual(doc.txns, intact.txns.slice(0, intact.txns.indexOf(bad)), 'every txn before the damage');
      const tail = intact.end.offset - bad.offset;
      assert.deepEqual(doc.end, { kind: 'bad', offset: bad.offset, reason: 'CRC check failed', dataAfterBytes: tail });
      const lastGood = doc.txns.at(-1)!.zxid;
      const text = await tool('log-dump', log.path);
      assert.equal(text.code, 1);
      assert.ok(text.stdout.includes(`${hex(w.late[1]!)} `), 'prints the txns before the damage');
      assert.ok(
        text.stdout.includes(
          `end: DAMAGED entry at offset ${bad.offset}: CRC check failed; ${tail} bytes from there to the last non-zero byte ` +
            `(the last good transaction is ${lastGood}; log-truncate --zxid ${lastGood} cuts the file there)`,
        ),
        text.stdout,
      );
      const cut = await tool('log-truncate', log.path, '--zxid', lastGood);
      assert.equal(cut.code, 0, cut.stderr);
      assert.match(cut.stdout, new RegExp(`^removed the damaged data from offset ${bad.offset} \\(CRC check failed; ${tail} bytes`, 'm'));
      assert.equal((await tool('log-dump', log.path)).code, 0);

      const snap = (await files(dir, 'snapshot.')).find((s) => s.zxid === w.run1Last)!;
      const { doc: whole } = await toolJson<JsonSnapshot>('snapshot-dump', snap.path);
      const size = (await stat(snap.path)).size;
      await truncate(snap.path, Math.floor(size / 2));
      const half = await toolJson<JsonSnapshot & { seal: { offset: number; reason: string } }>('snapshot-dump', snap.path);
      assert.equal(half.code, 1);
      assert.equal(half.doc.seal.ok, false);
      assert.ok(half.doc.seal.offset <= Math.floor(size / 2), `offset ${half.doc.seal.offset}`);
      assert.ok(half.doc.nodes.length > 0 && half.doc.nodes.length < whole.nodes.length);
      // Without the ACL table (returned only for an intact file) a node shows its ACL list, not its ref.
      const noAcl = ({ aclRef: _r, acl: _a, ...n }: JsonNode & { acl?: unknown }): unknown => n;
      assert.deepEqual(
        half.doc.nodes.map(noAcl),
        whole.nodes.slice(0, half.doc.nodes.length).map(noAcl),
        'the nodes read before the damage',
      );
      assert.deepEqual((half.doc.nodes[0] as JsonNode & { acl?: unknown }).acl, [{ scheme: 'world', id: 'anyone', perms: 'cdrwa' }]);
      const halfText = await tool('snapshot-dump', snap.path);
      assert.equal(halfText.code, 1);
      assert.match(
        halfText.stdout,
        new RegExp(`^seal: DAMAGED at offset ${half.doc.seal.offset}: ${half.doc.seal.reason.replace(/[()]/g, '\\$&')}$`, 'm'),
      );

      const other = (await files(dir, 'snapshot.')).find((s) => s.zxid > 0 && s.zxid < w.run1Last)!;
      const sbuf = await readFile(other.path);
      const at = sbuf.indexOf('/w');
      assert.ok(at > 0, `${other.name} holds /w`);
      sbuf[at + 1]! ^= 0x01; // "/w" becomes "/v": still parses, but the checksum no longer matches
      await writeFile(other.path, sbuf);
      const flipped = await toolJson<JsonSnapshot & { seal: { reason: string } }>('snapshot-dump', other.path);
      assert.equal(flipped.code, 1);
      assert.match(flipped.doc.seal.reason, /^checksum mismatch \(stored \d+, computed \d+\)$/);
    });

    test('log-truncate keeps a prefix of the log; a restarted server serves exactly that prefix', async () => {
      const dataDir = join(work, 'truncated');
      await cp(w.dataDir, dataDir, { recursive: true });
      const log = (await files(dataDir, 'log.')).at(-1)!;
      const keep = w.late[3]!;

      const missing = await tool('log-truncate', log.path, '--zxid', hex(w.lastZxid + 5));
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        new RegExp(
          `transaction ${hex(w.lastZxid + 5)} is not in ${log.path} \\(it holds ${hex(log.zxid)}\\.\\.${hex(w.lastZxid)}\\); nothing changed`,
        ),
      );

      const sizeBefore = (await stat(log.path)).size;
      const r = await tool('log-truncate', log.path, '--zxid', String(keep)); // decimal works too
      assert.equal(r.code, 0, r.stderr);
      const removed = [w.late[4]!, w.late[5]!, w.lastZxid];
      assert.match(r.stdout, new RegExp(`cut at offset \\d+ \\(was ${sizeBefore} bytes\\), right after transaction ${hex(keep)}`));
      assert.match(
        r.stdout,
        new RegExp(`removed 3 transactions: ${hex(removed[0]!)} create2, ${hex(removed[1]!)} create2, ${hex(removed[2]!)} closeSession`),
      );
      const { code, doc } = await toolJson<JsonLog>('log-dump', log.path);
      assert.equal(code, 0);
      assert.equal(doc.txns.at(-1)!.zxid, hex(keep));
      assert.equal((await stat(log.path)).size, doc.end.offset, 'the file ends right after the kept txn');

      const s = await startOurZooKeeper({ dataDir });
      try {
        assert.equal(await srvrZxid(s.host, s.port), keep);
        const c = new ZooKeeperClient({ connectString: s.connectString });
        await c.connect();
        assert.deepEqual((await c.getChildren('/late')).sort(), ['n0', 'n1', 'n2', 'n3']);
        assert.equal((await c.getData('/late/n3')).stat.czxid, keep);
        assert.deepEqual(await dumpTree(c, { root: '/w' }), w.recovered, 'run 1 is whole');
        // The directory is in use now: the tool refuses to touch it.
        const busy = await tool('log-truncate', log.path, '--zxid', hex(w.late[0]!));
        assert.equal(busy.code, 1);
        assert.match(busy.stderr, /refusing to change .* while a server uses it: data directory .* is in use by process/);
        await c.close();
      } finally {
        await s.stop();
      }
    });

    test('purge keeps the newest N snapshots and the logs needed to replay from them', async () => {
      const dataDir = join(work, 'purged');
      await cp(w.dataDir, dataDir, { recursive: true });
      await writeFile(join(dataDir, 'version-2', 'notes.txt'), 'not ZooKeeper data\n');

      const bad = await tool('purge', '--data-dir', dataDir, '--retain', '2');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--retain must be a number >= 3/);
      const s = await startOurZooKeeper({ dataDir });
      try {
        const busy = await tool('purge', '--data-dir', dataDir);
        assert.equal(busy.code, 1);
        assert.match(busy.stderr, /purge refuses while a server runs on the directory .*is in use by process/);
      } finally {
        await s.stop();
      }

      const snaps = await files(dataDir, 'snapshot.');
      const logs = await files(dataDir, 'log.');
      assert.ok(snaps.length > 3, `enough snapshots to purge: ${snaps.map((x) => x.name)}`);
      const kept = snaps.slice(-3);
      // PurgeTxnLog: the log holding the oldest kept snapshot's zxid (the newest one starting at
      // or before it) and every later one.
      let firstLog = 0;
      logs.forEach((l, i) => {
        if (l.zxid <= kept[0]!.zxid) firstLog = i;
      });
      assert.ok(logs[firstLog]!.zxid <= kept[0]!.zxid + 1, 'the kept logs replay from the oldest kept snapshot on');
      const r = await tool('purge', '--data-dir', dataDir);
      assert.equal(r.code, 0, r.stderr);
      const removed = [...snaps.slice(0, -3), ...logs.slice(0, firstLog)].map((f) => f.path);
      assert.match(r.stdout, new RegExp(`^removed ${removed.length} files:$`, 'm'));
      for (const p of removed) assert.ok(r.stdout.includes(`  ${p}\n`), `reports ${p}`);
      assert.deepEqual(
        (await files(dataDir, 'snapshot.')).map((x) => x.name),
        kept.map((x) => x.name),
      );
      assert.deepEqual(
        (await files(dataDir, 'log.')).map((x) => x.name),
        logs.slice(firstLog).map((x) => x.name),
      );
      assert.ok((await readdir(join(dataDir, 'version-2'))).includes('notes.txt'), 'other files are left alone');

      const again = await tool('purge', '--data-dir', dataDir, '--retain', '3');
      assert.equal(again.code, 0);
      assert.match(again.stdout, /^nothing to remove \(3 snapshots, retain 3\)$/m);

      // What is left still recovers everything.
      const s2 = await startOurZooKeeper({ dataDir });
      try {
        assert.equal(await srvrZxid(s2.host, s2.port), w.lastZxid);
        const c = new ZooKeeperClient({ connectString: s2.connectString });
        await c.connect();
        assert.deepEqual(await dumpTree(c, { root: '/w' }), w.recovered);
        assert.equal((await c.getChildren('/late')).length, 6);
        await c.close();
      } finally {
        await s2.stop();
      }
    });
  });
}

checks('ours', startOurs);
checks('apache', startApache);

test('zookeeper-tools: usage errors exit 2, unreadable or foreign files exit 1 with a clear message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-tools-err-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const notLog = join(dir, 'log.1');
  await writeFile(notLog, 'this is not a transaction log');
  const cases: [string[], number, RegExp][] = [
    [[], 2, /which tool\?\nusage:/],
    [['frobnicate'], 2, /unknown tool "frobnicate"/],
    [['log-dump'], 2, /a file argument is required/],
    [['log-dump', 'a', 'b'], 2, /one file expected, got 2/],
    [['log-dump', notLog, '--bogus'], 2, /Unknown option '--bogus'/],
    [['log-truncate', notLog], 2, /--zxid <zxid> is required/],
    [['log-truncate', notLog, '--zxid', '12abc'], 2, /--zxid wants 0x<hex> or a decimal number, got "12abc"/],
    [['purge'], 2, /--data-dir <dir> is required/],
    [['log-dump', join(dir, 'nope')], 1, /nope: no such file/],
    [['log-dump', dir], 1, /is a directory, not a file/],
    [['log-dump', notLog], 1, /log\.1 is not a ZooKeeper transaction log: bad magic 0x74686973 \(a log starts with ZKLG\)/],
    [['log-truncate', notLog, '--zxid', '1'], 1, /is not a ZooKeeper transaction log/],
    [['snapshot-dump', notLog], 1, /^seal: DAMAGED at offset 4: bad magic 0x74686973 \(a snapshot starts with ZKSN\)$/m],
    [['purge', '--data-dir', dir], 1, /holds no ZooKeeper data \(no version-2 directory\)/],
  ];
  for (const [args, code, re] of cases) {
    const r = await tool(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout + r.stderr, re, args.join(' '));
  }
  const help = await tool('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /zookeeper-tools log-dump <log file>/);
});
