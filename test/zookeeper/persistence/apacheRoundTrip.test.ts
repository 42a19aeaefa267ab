// Durable storage proven against Apache ZooKeeper 3.8 on one data directory: a tree built
// through one server (every node type, every ACL scheme, thousands of nodes, ephemerals of live
// sessions) is served identically by the other after a kill -9 of the first, and Apache's own
// tools (SnapshotFormatter, TxnLogToolkit) read the files. Sessions cross the restart: a live
// one re-attaches by id and password and keeps its ephemerals, an abandoned one expires.
//
// Each pair runs writer > reader: Apache > ours, ours > Apache, and Apache > Apache, the
// oracle that keeps this harness honest (if Apache disagrees with itself, the expectation is
// wrong, not ours). ZK_ROUND_TRIP="apache>ours,..." picks pairs.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CREATOR_ALL_ACL,
  CreateMode,
  Err,
  MultiError,
  OPEN_ACL_UNSAFE,
  Op,
  Perms,
  READ_ACL_UNSAFE,
  ZooKeeperClient,
  ZooKeeperError,
  digestAcl,
  ipAcl,
  worldAcl,
  type Acl,
  type ClientOptions,
  type Data,
} from '../../../src/zookeeper/client/index.js';
import { APACHE_JAVA, apacheJavaArgs, startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { killOnExit } from '../../helpers/children.js';
import { fourLetter, waitFor } from '../../helpers/net.js';
import { startOurZooKeeperProcess } from '../../helpers/ourZk.js';
import { diffDumps, dumpTree, type TreeDump } from '../../helpers/treeDump.js';
import { prng } from '../../helpers/prng.js';

type Kind = 'apache' | 'ours';

/** super:test, so the dumping client reads every node whatever its ACL. */
const SUPER_DIGEST = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
const SUPER_AUTH = 'super:test';
const ALICE = 'alice:secret';
/** Small, so the directory holds several snapshots and log files (a snapshot every 250-500 txns). */
const SNAP_COUNT = '500';
const TICK_MS = 2_000; // the helpers' tickTime
const ALIVE_TIMEOUT_MS = 30_000;
/** Short enough to wait for, long enough that the reader's dump (1-2 s here) sees its ephemerals first. */
const DOOMED_TIMEOUT_MS = 8_000;
/** The writer never reaps, so nothing changes the tree behind the test's back... */
const WRITER_REAP_INTERVAL_MS = 3_600_000;
/** ...and the reader reaps quickly, to show that container and TTL types survived. */
const READER_REAP_INTERVAL_MS = 200;
const GROUPS = 40;
const PER_GROUP = 80;

const SNAPSHOT_FORMATTER = 'org.apache.zookeeper.server.SnapshotFormatter';
const TXN_LOG_TOOLKIT = 'org.apache.zookeeper.server.persistence.TxnLogToolkit';

const PAIRS = (process.env['ZK_ROUND_TRIP'] ?? 'apache>ours,ours>apache,apache>apache')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => {
    const m = /^(apache|ours)>(apache|ours)$/.exec(s);
    if (!m) throw new Error(`ZK_ROUND_TRIP: bad pair "${s}" (want e.g. apache>ours)`);
    return { writer: m[1] as Kind, reader: m[2] as Kind };
  });

// ---------------------------------------------------------------- servers

interface Server {
  kind: Kind;
  connectString: string;
  host: string;
  port: number;
  pid: number;
  /** Apache: its whole log; ours: its stderr. */
  log(): string;
  /** Log lines about trouble with the database (not about client sockets). */
  complaints(): string[];
  stop(): Promise<void>;
}

interface StartOptions {
  reapIntervalMs: number;
  /** Apache logs here, whole (the helper keeps only a tail, too short with DEBUG lines). */
  logFile: string;
  /** Apache: log every replayed txn's digest check (DataTree DEBUG). */
  traceDigests: boolean;
}

async function startServer(kind: Kind, dataDir: string, o: StartOptions): Promise<Server> {
  if (kind === 'apache') {
    const log = (): string => {
      try {
        return readFileSync(o.logFile, 'utf8');
      } catch {
        return '';
      }
    };
    const s = await startApacheZooKeeper({
      dataDir,
      extraConfig: { snapCount: SNAP_COUNT },
      sysProps: {
        'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST,
        // Read by ContainerManager without the zookeeper. prefix, so not a zoo.cfg key.
        'znode.container.checkIntervalMs': String(o.reapIntervalMs),
        // INFO shows which snapshot was loaded and how many txns were replayed.
        'org.slf4j.simpleLogger.defaultLogLevel': 'info',
        'org.slf4j.simpleLogger.logFile': o.logFile,
        ...(o.traceDigests ? { 'org.slf4j.simpleLogger.log.org.apache.zookeeper.server.DataTree': 'debug' } : {}),
      },
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${log().slice(-8000)}`);
    });
    const complaints = (): string[] => log().split('\n').filter(isComplaint);
    return { kind, connectString: s.connectString, host: s.host, port: s.port, pid: s.pid!, log, complaints, stop: s.stop };
  }
  const s = await startOurZooKeeperProcess({
    dataDir,
    extraConfig: { snapCount: SNAP_COUNT, superDigest: SUPER_DIGEST, 'znode.container.checkIntervalMs': String(o.reapIntervalMs) },
  });
  const complaints = (): string[] =>
    s
      .stderrText()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        // JSON lines (pino): warn is 40. Anything else on stderr is a crash message.
        let entry: { level?: number; msg?: string };
        try {
          entry = JSON.parse(l) as typeof entry;
        } catch {
          return true;
        }
        // Two snapshots overlapping under load is not a problem (Apache: "Too busy to snap").
        return (entry.level ?? 0) >= 40 && entry.msg !== 'a snapshot is still being written; skipping this one';
      });
  return { kind, connectString: s.connectString, host: s.host, port: s.port, pid: s.pid, log: s.stderrText, complaints, stop: s.stop };
}

/** An Apache log line about the database; *ServerCnxn* warnings are about client sockets (a 4lw client hanging up). */
function isComplaint(line: string): boolean {
  return (
    /Digests are not matching|digest mismatch|Digest version not the same|digest does not exist|not covering the snapshot digest|digest value is empty|EOF exception while reading the digest|CRC|problem reading snap file|Unable to load database|Unreasonable length|Last transaction was partial|Invalid magic/i.test(
      line,
    ) ||
    (/\b(ERROR|WARN)\b/.test(line) && !/\.\w*ServerCnxn(Factory)? - |fsync-ing the write ahead log|Too busy to snap/.test(line))
  );
}

/** kill -9, so no clean-shutdown snapshot hides log replay; then reap the process. */
async function crash(s: Server): Promise<void> {
  process.kill(s.pid, 'SIGKILL');
  await s.stop();
}

async function lastZxid(s: Server): Promise<number> {
  const srvr = await fourLetter(s.host, s.port, 'srvr');
  const m = /^Zxid: 0x([0-9a-f]+)$/m.exec(srvr);
  assert.ok(m, `no Zxid in srvr output:\n${srvr}`);
  return parseInt(m[1]!, 16);
}

// ---------------------------------------------------------------- the tree

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const CONTAINER_OWNER = 0x8000000000000000n;
/** EphemeralType.TTL: 0xff in the top byte, the TTL in the low bits. */
const ttlOwner = (ttl: number): bigint => 0xff00000000000000n | BigInt(ttl);

interface Built {
  aliveEphemerals: string[];
  doomedEphemerals: string[];
  /** Owner as persisted (clients see 0 for containers and TTL nodes). */
  rawOwners: Map<string, bigint>;
  /** Node -> its only child; deleting the child must let the reader reap the container/TTL node. */
  reapable: Map<string, string>;
  /** Same shape, a plain persistent node: must stay. */
  keeper: { node: string; child: string };
}

const BULK_DATA_SIZES = [7, 64, 255, 256, 1000, 1024, 2048, 3333, 4096];

type BulkAcl = 'open' | 'creator' | 'bobAndWorldRead' | 'localIp';
function bulkAclKind(j: number): BulkAcl {
  if (j % 13 === 0) return 'creator';
  if (j % 17 === 0) return 'bobAndWorldRead'; // alice may not write these
  if (j % 29 === 0) return 'localIp';
  return 'open';
}
const BULK_ACLS: Record<BulkAcl, readonly Acl[]> = {
  open: OPEN_ACL_UNSAFE,
  creator: CREATOR_ALL_ACL,
  bobAndWorldRead: [worldAcl(Perms.READ), digestAcl('bob', 'pw')],
  localIp: [ipAcl('127.0.0.1')],
};

const rejectsWith = (code: number) => (e: unknown) => e instanceof ZooKeeperError && e.code === code;

/**
 * Builds the tree through `admin` (authenticated as alice), with ephemerals owned by `alive`
 * and `doomed`. Mostly pipelined; the order only matters where a comment says so.
 */
async function buildTree(admin: ZooKeeperClient, alive: ZooKeeperClient, doomed: ZooKeeperClient): Promise<Built> {
  const rnd = prng(0x5eed);
  const bytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const rawOwners = new Map<string, bigint>();
  const reapable = new Map<string, string>();

  await admin.create('/rt', 'round trip');
  await Promise.all(
    ['bulk', 'deep', 'data', 'seq', 'eph', 'containers', 'ttl', 'acl', 'versions', 'del', 'names', 'quota', 'reap', 'tail'].map((n) =>
      admin.create(`/rt/${n}`, n === 'tail' ? 'tail 0' : null),
    ),
  );

  // Ephemerals first, so every later snapshot holds them.
  await alive.create('/rt/eph/alive', 'alive', { mode: CreateMode.EPHEMERAL });
  for (let i = 0; i < 3; i++) await alive.create('/rt/eph/alive-seq-', `a${i}`, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
  await alive.create('/rt/eph/alive-guarded', bytes(300), {
    mode: CreateMode.EPHEMERAL,
    acl: [digestAcl('bob', 'pw'), worldAcl(Perms.READ)],
  });
  await alive.setData('/rt/eph/alive', 'alive v1', 0);
  await alive.setData('/rt/eph/alive', 'alive v2', 1);
  await doomed.create('/rt/eph/doomed', null, { mode: CreateMode.EPHEMERAL });
  for (let i = 0; i < 2; i++) await doomed.create('/rt/eph/doomed-seq-', '', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
  await doomed.create('/rt/eph/doomed-big', bytes(3000), { mode: CreateMode.EPHEMERAL });

  // Containers and TTL nodes early too, so the newest snapshot shows their types. Containers:
  // one with children, one never used, one nested that the reader will reap.
  await admin.create('/rt/containers/c1', 'c1', { mode: CreateMode.CONTAINER });
  await admin.create('/rt/containers/c1/child', 'child');
  await admin.create('/rt/containers/c2', null, { mode: CreateMode.CONTAINER });
  await admin.create('/rt/containers/c1/inner', null, { mode: CreateMode.CONTAINER });
  await admin.create('/rt/containers/c1/inner/leaf', 'leaf');
  for (const p of ['/rt/containers/c1', '/rt/containers/c2', '/rt/containers/c1/inner']) rawOwners.set(p, CONTAINER_OWNER);
  reapable.set('/rt/containers/c1/inner', '/rt/containers/c1/inner/leaf');

  // TTL nodes: long TTLs (must survive), and an already-expired one kept alive by a child.
  await admin.create('/rt/ttl/t1', 't1', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
  rawOwners.set('/rt/ttl/t1', ttlOwner(3_600_000));
  for (let i = 0; i < 3; i++) {
    const p = await admin.create('/rt/ttl/seq-', `s${i}`, { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 7_200_000 });
    rawOwners.set(p, ttlOwner(7_200_000));
  }
  await admin.create('/rt/ttl/parent', null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 3_600_000 });
  await admin.create('/rt/ttl/parent/child', 'c');
  rawOwners.set('/rt/ttl/parent', ttlOwner(3_600_000));
  await admin.create('/rt/ttl/short', 'short', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 1 });
  await admin.create('/rt/ttl/short/child', 'c');
  rawOwners.set('/rt/ttl/short', ttlOwner(1));
  reapable.set('/rt/ttl/short', '/rt/ttl/short/child');
  await admin.create('/rt/reap/plain', 'plain');
  await admin.create('/rt/reap/plain/child', 'c');

  // Thousands of nodes in groups, with varied data and ACLs.
  await Promise.all(Array.from({ length: GROUPS }, (_, g) => admin.create(`/rt/bulk/g${pad(g, 2)}`, g % 3 === 0 ? null : `group ${g}`)));
  const bulk: { path: string; j: number }[] = [];
  for (let g = 0; g < GROUPS; g++) {
    for (let k = 0; k < PER_GROUP; k++) bulk.push({ path: `/rt/bulk/g${pad(g, 2)}/n${pad(k, 3)}`, j: g * PER_GROUP + k });
  }
  const bulkData = (j: number): Data => {
    switch (j % 12) {
      case 0:
        return null;
      case 1:
        return Buffer.alloc(0);
      case 2:
        return 'x';
      case 3:
        return `ünïcödé ✓ 名前 🚀 ${j}`;
      case 4:
        return JSON.stringify({ j, host: `worker-${j % 7}`, ports: [j, j + 1] });
      default:
        return bytes(BULK_DATA_SIZES[j % BULK_DATA_SIZES.length]!);
    }
  };
  await Promise.all(bulk.map(({ path, j }) => admin.create(path, bulkData(j), { acl: BULK_ACLS[bulkAclKind(j)] })));
  await Promise.all(
    bulk.map(async ({ path, j }) => {
      const kind = bulkAclKind(j);
      if (j % 7 === 0 && kind !== 'bobAndWorldRead') {
        await admin.setData(path, bytes(j % 500), 0);
        await admin.setData(path, `second ${j}`, 1);
      }
      if (j % 19 === 0 && kind === 'open') await admin.setACL(path, [worldAcl(Perms.READ | Perms.WRITE), ipAcl('127.0.0.1')], 0);
      if (j % 23 === 5 && kind === 'open') await admin.delete(path, j % 7 === 0 ? 2 : 0);
    }),
  );
  // Late ephemerals inside the bulk groups (after the first snapshots), a late TTL write.
  await admin.setData('/rt/ttl/t1', 't1 v1', 0);
  await alive.create('/rt/bulk/g00/alive-late', 'late', { mode: CreateMode.EPHEMERAL });
  await doomed.create('/rt/bulk/g01/doomed-late', 'late', { mode: CreateMode.EPHEMERAL });

  // Nesting.
  let deep = '/rt/deep';
  for (let i = 1; i <= 16; i++) {
    deep += `/l${i}`;
    await admin.create(deep, `level ${i}`);
  }
  await admin.create(`${deep}/leaf`, bytes(4096));

  // Data edge cases: null vs empty, text, binary, a large node.
  await Promise.all([
    admin.create('/rt/data/null', null),
    admin.create('/rt/data/empty', Buffer.alloc(0)),
    admin.create('/rt/data/text', 'hello'),
    admin.create('/rt/data/emoji', '🚀 ünïcödé'),
    admin.create('/rt/data/binary-4k', bytes(4096)),
    admin.create('/rt/data/zeros', Buffer.alloc(10_000)),
    admin.create('/rt/data/big', bytes(512 * 1024)),
  ]);

  // Sequential nodes; the parent's cversion numbers them, deletes included.
  for (let i = 0; i < 25; i++) await admin.create('/rt/seq/item-', `item ${i}`, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
  for (const i of [3, 7, 11, 15, 19]) await admin.delete(`/rt/seq/item-${pad(i, 10)}`);
  for (let i = 0; i < 3; i++) await admin.create('/rt/seq/item-', `again ${i}`, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
  await admin.create('/rt/seq/', 'nameless', { mode: CreateMode.PERSISTENT_SEQUENTIAL });

  // ACL schemes and combinations; the order of entries is kept.
  await Promise.all([
    admin.create('/rt/acl/world-read', 'r', { acl: READ_ACL_UNSAFE }),
    admin.create('/rt/acl/creator', 'c', { acl: CREATOR_ALL_ACL }),
    admin.create('/rt/acl/bob', 'b', { acl: [digestAcl('bob', 'pw', Perms.READ | Perms.WRITE)] }),
    admin.create('/rt/acl/ip', 'i', { acl: [ipAcl('127.0.0.1')] }),
    admin.create('/rt/acl/cidr', 'n', { acl: [ipAcl('127.0.0.0/8', Perms.READ | Perms.WRITE), worldAcl(Perms.READ)] }),
    admin.create('/rt/acl/mixed', 'm', {
      acl: [digestAcl('alice', 'secret'), worldAcl(Perms.READ), ipAcl('127.0.0.1', Perms.READ | Perms.CREATE)],
    }),
    admin.create('/rt/acl/changed', 'v'),
    admin.create('/rt/acl/ro', 'ro'),
  ]);
  await admin.create('/rt/acl/ro/a', 'a');
  await admin.create('/rt/acl/ro/b', 'b');
  await admin.setACL('/rt/acl/ro', READ_ACL_UNSAFE, 0);
  await admin.setACL('/rt/acl/changed', [worldAcl(Perms.ALL & ~Perms.DELETE)], 0);
  await admin.setACL('/rt/acl/changed', CREATOR_ALL_ACL, 1);

  // Versions.
  await admin.create('/rt/versions/v', 'v0');
  for (let i = 0; i < 5; i++) await admin.setData('/rt/versions/v', `v${i + 1}`, i);
  await admin.setData('/rt/versions/v', null, 5);
  await admin.create('/rt/versions/grow', '');
  for (let i = 1; i <= 4; i++) await admin.setData('/rt/versions/grow', bytes(i * 1500));

  // Deletes (parent cversion and pzxid), a re-created path, a removed subtree.
  await Promise.all(Array.from({ length: 30 }, (_, i) => admin.create(`/rt/del/x${pad(i, 2)}`, `x${i}`)));
  await Promise.all(Array.from({ length: 15 }, (_, i) => admin.delete(`/rt/del/x${pad(i * 2, 2)}`)));
  await admin.create('/rt/del/x02', 'again');
  await admin.create('/rt/del/sub', 'sub');
  await Promise.all(['a', 'b', 'c'].map((n) => admin.create(`/rt/del/sub/${n}`)));
  await Promise.all(['a', 'b', 'c'].map((n) => admin.delete(`/rt/del/sub/${n}`)));
  await admin.delete('/rt/del/sub');

  // Names beyond ASCII letters.
  for (const n of ['ünïcödé', '名前', 'with space', 'a.b-c_d', '...', 'zookeeper']) await admin.create(`/rt/names/${n}`, n);

  // A multi, a failed multi, failed single writes (all of them take a zxid and are logged).
  await admin.multi([
    Op.create('/rt/multi', 'm'),
    Op.create('/rt/multi/a', 'a'),
    Op.create('/rt/multi/s-', 's', { mode: CreateMode.PERSISTENT_SEQUENTIAL }),
    Op.setData('/rt/versions/v', 'from multi', 6),
    Op.check('/rt/data/text', 0),
    Op.delete('/rt/del/x01', 0),
  ]);
  await assert.rejects(admin.multi([Op.create('/rt/multi/never'), Op.check('/rt/data/text', 99)]), (e) => e instanceof MultiError);
  await assert.rejects(admin.create('/rt', 'again'), rejectsWith(Err.NODEEXISTS));
  await assert.rejects(admin.delete('/rt/nope'), rejectsWith(Err.NONODE));
  await assert.rejects(admin.setData('/rt/versions/v', 'x', 99), rejectsWith(Err.BADVERSION));

  // A quota on /rt/quota (what zkCli's setquota creates); the server keeps zookeeper_stats.
  await Promise.all(['a', 'b'].map((n) => admin.create(`/rt/quota/${n}`, bytes(100))));
  await admin.create('/zookeeper/quota/rt');
  await admin.create('/zookeeper/quota/rt/quota');
  await admin.create('/zookeeper/quota/rt/quota/zookeeper_limits', 'count=100,bytes=100000');
  await admin.create('/zookeeper/quota/rt/quota/zookeeper_stats', 'count=0,bytes=0');
  await admin.create('/rt/quota/c', bytes(50));
  await admin.setData('/rt/quota/a', bytes(300));
  await admin.delete('/rt/quota/b');

  const aliveEphemerals = (await alive.getEphemerals('/')).sort();
  const doomedEphemerals = (await doomed.getEphemerals('/')).sort();
  assert.equal(aliveEphemerals.length, 6, `alive's ephemerals: ${aliveEphemerals.join(', ')}`);
  assert.equal(doomedEphemerals.length, 5, `doomed's ephemerals: ${doomedEphemerals.join(', ')}`);
  return { aliveEphemerals, doomedEphemerals, rawOwners, reapable, keeper: { node: '/rt/reap/plain', child: '/rt/reap/plain/child' } };
}

// ---------------------------------------------------------------- files

interface DataFile {
  name: string;
  path: string;
  zxid: number;
}

async function listFiles(dataDir: string): Promise<{ snapshots: DataFile[]; logs: DataFile[] }> {
  const dir = join(dataDir, 'version-2');
  const names = await readdir(dir).catch(() => [] as string[]);
  const pick = (prefix: string): DataFile[] =>
    names
      .filter((n) => new RegExp(`^${prefix}\\.[0-9a-f]+$`).test(n))
      .map((n) => ({ name: n, path: join(dir, n), zxid: parseInt(n.slice(prefix.length + 1), 16) }))
      .sort((a, b) => a.zxid - b.zxid);
  return { snapshots: pick('snapshot'), logs: pick('log') };
}

/** A log file started after the newest snapshot, so recovery must replay a log tail. */
async function logTailAfterNewestSnapshot(dataDir: string): Promise<boolean> {
  const { snapshots, logs } = await listFiles(dataDir);
  const newest = snapshots.at(-1);
  return newest !== undefined && newest.zxid > 0 && logs.some((l) => l.zxid > newest.zxid);
}

/**
 * A snapshot file ends with the Adler32 checksum and the string "/" (length 1); until then a
 * snapshot thread may still be writing it, and a kill would leave it truncated.
 */
async function newestSnapshotComplete(dataDir: string): Promise<boolean> {
  const newest = (await listFiles(dataDir)).snapshots.at(-1);
  if (!newest) return false;
  const f = await open(newest.path, 'r');
  try {
    const { size } = await f.stat();
    if (size < 5) return false;
    const tail = Buffer.alloc(5);
    await f.read(tail, 0, 5, size - 5);
    return tail.equals(Buffer.from([0, 0, 0, 1, 0x2f]));
  } finally {
    await f.close();
  }
}

const describeFiles = async (dataDir: string): Promise<string> => {
  const { snapshots, logs } = await listFiles(dataDir);
  return `snapshots [${snapshots.map((s) => s.name).join(', ')}], logs [${logs.map((l) => l.name).join(', ')}]`;
};

// ---------------------------------------------------------------- Apache's tools

interface JavaRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runJava(mainClass: string, args: string[]): Promise<JavaRun> {
  const child = spawn(
    APACHE_JAVA,
    apacheJavaArgs(mainClass, args, {
      // Paths and data beyond ASCII must come out as UTF-8 whatever the locale.
      'file.encoding': 'UTF-8',
      'sun.stdout.encoding': 'UTF-8',
      'org.slf4j.simpleLogger.defaultLogLevel': 'warn',
    }),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnExit(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface SnapNode {
  czxid: number;
  mzxid: number;
  pzxid: number;
  cversion: number;
  version: number;
  aversion: number;
  owner: bigint;
  /** base64 with -d ('' for null and empty), else undefined. */
  data?: string;
  dataLength?: number;
}

interface SnapshotText {
  count: number;
  nodes: Map<string, SnapNode>;
  sessions: Map<bigint, { timeout: number; ephemerals: number }>;
  lastZxid: number;
}

/** Parses SnapshotFormatter's text output (blocks of "path / key = value" between "----"). */
function parseSnapshotText(text: string): SnapshotText {
  const count = /^ZNode Details \(count=(\d+)\):$/m.exec(text);
  const last = /^Last zxid: 0x([0-9a-f]+)$/m.exec(text);
  assert.ok(count && last, `SnapshotFormatter output lacks its header or trailer:\n${text.slice(0, 2000)}`);
  const sessionsAt = text.indexOf('\nSession Details (sid, timeout, ephemeralCount):\n');
  assert.ok(sessionsAt >= 0, 'SnapshotFormatter output lacks session details');
  const nodes = new Map<string, SnapNode>();
  for (const block of text.slice(0, sessionsAt).split('\n----\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && l !== '----');
    if (lines.length < 2 || !lines[0]!.startsWith('/')) continue;
    const kv = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const m = /^ {2}(\w+) = (.*)$/.exec(l);
      assert.ok(m, `unexpected SnapshotFormatter line under ${lines[0]}: ${l}`);
      kv.set(m[1]!, m[2]!);
    }
    const hex = (k: string): bigint => BigInt(kv.get(k) ?? assert.fail(`${lines[0]}: no ${k}`));
    const int = (k: string): number => Number(kv.get(k) ?? assert.fail(`${lines[0]}: no ${k}`));
    nodes.set(lines[0]!, {
      czxid: Number(hex('cZxid')),
      mzxid: Number(hex('mZxid')),
      pzxid: Number(hex('pZxid')),
      cversion: int('cversion'),
      version: int('dataVersion'),
      aversion: int('aclVersion'),
      owner: BigInt.asUintN(64, hex('ephemeralOwner')),
      ...(kv.has('data') ? { data: kv.get('data')! } : {}),
      ...(kv.has('dataLength') ? { dataLength: int('dataLength') } : {}),
    });
  }
  const sessions = new Map<bigint, { timeout: number; ephemerals: number }>();
  for (const m of text.slice(sessionsAt).matchAll(/^(0x[0-9a-f]+), (\d+), (\d+)$/gm)) {
    sessions.set(BigInt(m[1]!), { timeout: Number(m[2]), ephemerals: Number(m[3]) });
  }
  return { count: Number(count[1]), nodes, sessions, lastZxid: parseInt(last[1]!, 16) };
}

interface Owners {
  alive: bigint;
  doomed: bigint;
}

/**
 * Runs TxnLogToolkit on every log and SnapshotFormatter on every snapshot of the writer's
 * files (before any reader touches them): every file must parse, the logs must hold exactly
 * the txns 1..lastZxid with good CRCs, and the newest snapshot must agree with the dump for
 * every node that the writes after it left alone (snapshots are fuzzy).
 */
async function checkWithApacheTools(
  dataDir: string,
  before: TreeDump,
  writerLastZxid: number,
  built: Built,
  owners: Owners,
  note: (msg: string) => void,
): Promise<Map<number, string>> {
  const { snapshots, logs } = await listFiles(dataDir);
  const files = await describeFiles(dataDir);
  const newest = snapshots.at(-1);
  assert.ok(newest && newest.zxid > 0, `no snapshot beyond the initial one: ${files}`);
  assert.ok(
    logs.some((l) => l.zxid > newest.zxid),
    `no log after the newest snapshot: ${files}`,
  );

  // ---- the logs
  const runs = await mapLimit(logs, 2, (l) => runJava(TXN_LOG_TOOLKIT, [l.path]));
  const zxids: number[] = [];
  const opOf = new Map<number, string>();
  const ops = new Set<string>();
  runs.forEach((r, i) => {
    const name = logs[i]!.name;
    const where = `TxnLogToolkit ${name}`;
    assert.equal(r.code, 0, `${where} exited with ${r.code}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
    assert.match(r.stdout, /^ZooKeeper Transactional Log File with dbid 0 txnlog format version 2$/m, where);
    assert.doesNotMatch(r.stdout, /CRC ERROR/, where);
    assert.doesNotMatch(r.stderr, /Exception/, `${where}:\n${r.stderr}`);
    const eof = /^EOF reached after (\d+) txns\.$/m.exec(r.stdout);
    assert.ok(eof, `${where}: no "EOF reached" line:\n${r.stdout.slice(-2000)}`);
    // One line per txn: "<date> session 0x.. cxid 0x.. zxid 0x.. <op> <txn>" (the txn may span lines).
    const found = [...r.stdout.matchAll(/ session 0x[0-9a-f]+ cxid 0x[0-9a-f]+ zxid 0x([0-9a-f]+) (\w+)/g)];
    assert.equal(found.length, Number(eof[1]), `${where}: txn lines vs its own count`);
    assert.ok(found.length > 0, `${where}: an empty log`);
    assert.equal(parseInt(found[0]![1]!, 16), logs[i]!.zxid, `${where}: the file is named after its first zxid`);
    for (const m of found) {
      const zxid = parseInt(m[1]!, 16);
      zxids.push(zxid);
      opOf.set(zxid, m[2]!);
      ops.add(m[2]!);
    }
  });
  zxids.sort((a, b) => a - b);
  const gaps = zxids.filter((z, i) => z !== i + 1).slice(0, 5);
  assert.deepEqual(gaps, [], `the logs must hold every txn 1..${writerLastZxid} once (${zxids.length} txns, ${files})`);
  assert.equal(zxids.at(-1), writerLastZxid, 'the last logged txn is the last zxid the writer reported');
  for (const op of ['createSession', 'create', 'createContainer', 'createTtl', 'delete', 'setData', 'setACL', 'multi', 'error']) {
    assert.ok(ops.has(op), `no ${op} txn in the logs (found ${[...ops].join(', ')})`);
  }

  // ---- every snapshot parses
  const snaps = await mapLimit(snapshots, 2, async (s) => {
    const r = await runJava(SNAPSHOT_FORMATTER, ['-d', s.path]);
    assert.equal(r.code, 0, `SnapshotFormatter -d ${s.name} exited with ${r.code}:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Exception|CRC/, `SnapshotFormatter -d ${s.name}:\n${r.stderr}`);
    const parsed = parseSnapshotText(r.stdout);
    assert.ok(parsed.lastZxid >= s.zxid, `${s.name}: Last zxid 0x${parsed.lastZxid.toString(16)}`);
    assert.ok(parsed.nodes.has('/') && parsed.nodes.has('/zookeeper') && parsed.nodes.has('/zookeeper/quota'), `${s.name}: system nodes`);
    return parsed;
  });

  // ---- the newest snapshot against the final tree
  const snap = snaps.at(-1)!;
  const plain = await runJava(SNAPSHOT_FORMATTER, [newest.path]);
  assert.equal(plain.code, 0, `SnapshotFormatter ${newest.name}:\n${plain.stderr}`);
  const plainNodes = parseSnapshotText(plain.stdout).nodes;
  const z = newest.zxid;
  let compared = 0;
  let typed = 0;
  const problems: string[] = [];
  for (const [path, node] of before) {
    const st = node.stat;
    // Created by then and still there: it is in the snapshot, with its creation zxid.
    if (st.czxid > z) continue;
    const s = snap.nodes.get(path);
    if (!s) {
      problems.push(`${path}: missing`);
      continue;
    }
    compared++;
    if (s.czxid !== st.czxid) problems.push(`${path}: cZxid ${s.czxid} != ${st.czxid}`);
    if (built.rawOwners.has(path)) typed++;
    const owner = built.rawOwners.get(path) ?? BigInt.asUintN(64, st.ephemeralOwner);
    if (s.owner !== owner) problems.push(`${path}: ephemeralOwner 0x${s.owner.toString(16)} != 0x${owner.toString(16)}`);
    // Not written since: data and data version as the dump has them. (A quota's zookeeper_stats
    // is rewritten in memory without a txn, so its data is only as fresh as the snapshot.)
    if (st.mzxid <= z && !path.endsWith('/zookeeper_stats')) {
      const data = node.data === null ? '' : node.data.toString('base64');
      if (s.mzxid !== st.mzxid || s.version !== st.version)
        problems.push(`${path}: mZxid/version ${s.mzxid}/${s.version} != ${st.mzxid}/${st.version}`);
      if (s.data !== data) problems.push(`${path}: data differs (${s.data?.length} vs ${data.length} base64 chars)`);
      if (plainNodes.get(path)?.dataLength !== st.dataLength)
        problems.push(`${path}: dataLength ${plainNodes.get(path)?.dataLength} != ${st.dataLength}`);
    }
    // Files keep the count of child creates as cversion; clients see 2 * creates - children
    // (DataNode.copyStat), i.e. creates plus deletes.
    if (st.pzxid <= z && (s.pzxid !== st.pzxid || s.cversion * 2 - st.numChildren !== st.cversion)) {
      problems.push(
        `${path}: pZxid/cversion ${s.pzxid}/${s.cversion} (as seen: ${s.cversion * 2 - st.numChildren}) != ${st.pzxid}/${st.cversion}`,
      );
    }
  }
  assert.deepEqual(problems.slice(0, 20), [], `${newest.name} (SnapshotFormatter) vs the final tree`);
  assert.ok(compared > GROUPS * PER_GROUP * 0.9, `only ${compared} nodes predate ${newest.name}: the check would be vacuous`);
  note(
    `TxnLogToolkit: ${logs.length} logs, ${zxids.length} txns; SnapshotFormatter: ${snapshots.length} snapshots, ` +
      `${compared} nodes of ${newest.name} checked (${typed} containers/TTL)`,
  );
  for (const [name, sid, timeout] of [
    ['alive', owners.alive, ALIVE_TIMEOUT_MS],
    ['doomed', owners.doomed, DOOMED_TIMEOUT_MS],
  ] as const) {
    const s = snap.sessions.get(BigInt.asUintN(64, sid));
    assert.ok(
      s,
      `${newest.name} lacks the ${name} session 0x${sid.toString(16)}: [${[...snap.sessions.keys()].map((k) => k.toString(16)).join(', ')}]`,
    );
    assert.equal(s.timeout, timeout, `${name} session timeout in ${newest.name}`);
    assert.ok(s.ephemerals >= 1, `${name} session's ephemerals in ${newest.name}`);
  }
  return opOf;
}

// ---------------------------------------------------------------- the round trip

/** Writes that change the tree until a log file starts after the newest (complete) snapshot. */
async function writeTail(c: ZooKeeperClient, dataDir: string): Promise<number> {
  const MIN = 5;
  const MAX = 3 * Number(SNAP_COUNT);
  for (let i = 0; ; i++) {
    if (i >= MIN && (await logTailAfterNewestSnapshot(dataDir))) {
      // A snapshot thread may have started just before the check: let it finish, look again.
      await waitFor(
        () => newestSnapshotComplete(dataDir),
        10_000,
        () => 'the newest snapshot to be complete',
      );
      if (await logTailAfterNewestSnapshot(dataDir)) return i;
    }
    if (i >= MAX) assert.fail(`no log after the newest snapshot after ${i} writes: ${await describeFiles(dataDir)}`);
    await c.create(`/rt/tail/k${pad(i, 4)}`, `tail ${i}`);
    if (i % 3 === 2) await c.delete(`/rt/tail/k${pad(i - 1, 4)}`);
    await c.setData('/rt/tail', `tail ${i + 1}`);
  }
}

/**
 * Apache's log while loading files it may not have written: it read the newest snapshot, checked
 * the snapshot's tree digest, replayed the log after it up to the last zxid checking the digest
 * each txn carries (DataTree DEBUG), and complained about nothing. `opOf` maps zxid -> txn type.
 */
function checkApacheLoad(log: string, newestSnapshot: DataFile, writerLastZxid: number, opOf: Map<number, string>): void {
  const lines = log.split('\n');
  const reading = lines.filter((l) => /Reading snapshot /.test(l));
  assert.ok(reading.length > 0, `Apache did not log which snapshot it read:\n${log.slice(-4000)}`);
  assert.match(reading.at(-1)!, new RegExp(`/${newestSnapshot.name.replace('.', '\\.')}$`), 'Apache loaded the newest snapshot');
  assert.match(
    log,
    new RegExp(`Snapshot loaded in \\d+ ms, highest zxid is 0x${writerLastZxid.toString(16)}\\b`),
    'Apache replayed up to the last zxid',
  );
  const replayed = /(\d+) txns loaded in \d+ ms/.exec(log);
  assert.ok(replayed, `Apache did not say how many txns it replayed:\n${log.slice(-4000)}`);
  assert.equal(Number(replayed[1]), writerLastZxid - newestSnapshot.zxid, 'Apache replayed the log from the newest snapshot on');
  assert.deepEqual(lines.filter(isComplaint), [], 'Apache complained while loading');

  // The snapshot's digest is of the tree at some zxid at or after the snapshot's (fuzzy
  // snapshots); Apache compares it there, and only after that compares each txn's digest.
  const snapDigest = /The digest in the snapshot has digest version of 2, with zxid as 0x([0-9a-f]+)/.exec(log);
  assert.ok(snapDigest, 'the snapshot carries a version 2 tree digest');
  const digestZxid = parseInt(snapDigest[1]!, 16);
  assert.ok(digestZxid >= newestSnapshot.zxid && digestZxid <= writerLastZxid, `snapshot digest zxid 0x${digestZxid.toString(16)}`);
  const checked = new Set(
    lines
      .filter((l) => l.startsWith('[main] '))
      .flatMap((l) => {
        const m = /Digests are matching for Zxid: ([0-9a-f]+),/.exec(l);
        return m ? [parseInt(m[1]!, 16)] : [];
      }),
  );
  // Apache writes a TxnDigest after every txn but failed ones (type error); a txn without one
  // is replayed unchecked, silently.
  const unchecked: number[] = [];
  for (let z = Math.max(newestSnapshot.zxid + 1, digestZxid); z <= writerLastZxid; z++) {
    if (opOf.get(z) !== 'error' && !checked.has(z)) unchecked.push(z);
  }
  assert.deepEqual(
    unchecked.slice(0, 5).map((z) => `0x${z.toString(16)} ${opOf.get(z)}`),
    [],
    `Apache checked no digest for ${unchecked.length} of the replayed txns: their log entries carry no TxnDigest`,
  );
}

async function roundTrip(writerKind: Kind, readerKind: Kind, note: (msg: string) => void): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cg-roundtrip-'));
  const dataDir = join(root, 'data');
  const clients: ZooKeeperClient[] = [];
  let server: Server | undefined;
  const connect = async (s: Server, opts: Partial<ClientOptions> = {}, auth?: string): Promise<ZooKeeperClient> => {
    const c = new ZooKeeperClient({ connectString: s.connectString, sessionTimeoutMs: ALIVE_TIMEOUT_MS, ...opts });
    clients.push(c);
    await c.connect({ timeoutMs: 15_000 });
    if (auth) await c.addAuth('digest', auth);
    return c;
  };
  try {
    // ---- the writer builds the tree, then dies with live sessions
    server = await startServer(writerKind, dataDir, {
      reapIntervalMs: WRITER_REAP_INTERVAL_MS,
      logFile: join(root, 'writer.log'),
      traceDigests: false,
    });
    const writer = server;
    const dumper = await connect(writer, {}, SUPER_AUTH);
    const admin = await connect(writer, {}, ALICE);
    const alive = await connect(writer);
    const doomed = await connect(writer, { sessionTimeoutMs: DOOMED_TIMEOUT_MS });
    assert.equal(doomed.negotiatedTimeoutMs, DOOMED_TIMEOUT_MS);
    const built = await buildTree(admin, alive, doomed);
    await admin.close();
    // The dumper writes the tail, dumps, and stays open: no txn may follow the last file check.
    const tailWrites = await writeTail(dumper, dataDir);
    const before = await dumpTree(dumper);
    assert.ok(before.size > GROUPS * PER_GROUP, `only ${before.size} nodes`);
    const writerLastZxid = await lastZxid(writer);
    // Apache is the oracle as a writer; ours must not have hit trouble (a failed snapshot, say).
    if (writerKind === 'ours') assert.deepEqual(writer.complaints(), [], 'ours complained while writing');
    const owners = { alive: alive.sessionId, doomed: doomed.sessionId };
    const alivePassword = alive.sessionPassword;
    await crash(writer);
    server = undefined;
    // Their server is gone, so close() ends these clients locally: no closeSession reaches anyone.
    await waitFor(
      () => !dumper.isConnected && !alive.isConnected && !doomed.isConnected,
      10_000,
      () => 'clients to notice the crash',
    );
    await Promise.all([dumper.close(), alive.close(), doomed.close()]);

    const newestSnapshot = (await listFiles(dataDir)).snapshots.at(-1);
    note(
      `${writerKind} wrote ${before.size} nodes up to zxid 0x${writerLastZxid.toString(16)} (${tailWrites} tail writes): ${await describeFiles(dataDir)}`,
    );
    const opOf = await checkWithApacheTools(dataDir, before, writerLastZxid, built, owners, note);

    // ---- the reader serves the same tree
    const readerStart = Date.now();
    server = await startServer(readerKind, dataDir, {
      reapIntervalMs: READER_REAP_INTERVAL_MS,
      logFile: join(root, 'reader.log'),
      traceDigests: true,
    });
    const reader = server;
    assert.equal(await lastZxid(reader), writerLastZxid, "the reader resumes at the writer's last zxid");
    const rc = await connect(reader, {}, SUPER_AUTH);
    const afterDump = await dumpTree(rc);
    // The abandoned session's clock started at load: the dump must beat it by a wide margin.
    note(`${readerKind} started and was dumped in ${Date.now() - readerStart} ms`);
    assert.deepEqual(diffDumps(before, afterDump), [], `${readerKind} serves what ${writerKind} wrote`);

    // The live session re-attaches with its id and password and still owns its ephemerals.
    const again = await connect(reader, { sessionId: owners.alive, sessionPassword: alivePassword });
    assert.equal(again.sessionId, owners.alive, 'same session');
    assert.equal(again.negotiatedTimeoutMs, ALIVE_TIMEOUT_MS);
    assert.deepEqual((await again.getEphemerals('/')).sort(), built.aliveEphemerals);

    // The abandoned session expires on the reader's clock (its timeout restarts at load).
    await waitFor(
      async () => (await Promise.all(built.doomedEphemerals.map((p) => rc.exists(p)))).every((s) => s === null),
      DOOMED_TIMEOUT_MS + 2 * TICK_MS + 10_000,
      () => `the abandoned session's ephemerals (${built.doomedEphemerals.join(', ')}) to go`,
    );
    for (const p of built.aliveEphemerals) assert.notEqual(await rc.exists(p), null, `${p} (re-attached session) stays`);
    await again.close();
    for (const p of built.aliveEphemerals) assert.equal(await rc.exists(p), null, `${p} goes with closeSession`);

    // Container and TTL types survived: emptied, they are reaped; a plain node is not.
    for (const child of [...built.reapable.values(), built.keeper.child]) await rc.delete(child);
    await waitFor(
      async () => (await Promise.all([...built.reapable.keys()].map((p) => rc.exists(p)))).every((s) => s === null),
      10_000,
      () => `${[...built.reapable.keys()].join(', ')} to be reaped`,
    );
    assert.notEqual(await rc.exists(built.keeper.node), null, 'a persistent node is never reaped');

    if (readerKind === 'apache') {
      assert.ok(newestSnapshot);
      checkApacheLoad(reader.log(), newestSnapshot, writerLastZxid, opOf);
    }
    // Ours warns when it skips a damaged snapshot, cuts a torn log or finds a digest mismatch.
    assert.deepEqual(reader.complaints(), [], `${readerKind} complained while loading or serving`);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

describe('durable storage: the same data dir served by Apache ZooKeeper 3.8 and ours', { timeout: 240_000 }, () => {
  for (const { writer, reader } of PAIRS) {
    test(`${writer} writes, is killed (-9), ${reader} serves the same tree and sessions`, { timeout: 120_000 }, async (t) => {
      await roundTrip(writer, reader, (msg) => t.diagnostic(msg));
    });
  }
});
