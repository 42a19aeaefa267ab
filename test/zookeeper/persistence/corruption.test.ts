// Torn and corrupt files: truncated and bit-flipped logs and snapshots produce the documented
// behaviour of recovery (Storage.recover in src/zookeeper/persistence/store.ts), through the CLI:
//
//   (a) the newest log ends in a torn entry (cut short, bad checksum, no 'B' terminator) within
//       the last group commit (tornTailBytesMax): warning, the file is cut at that entry, the
//       server serves everything before it;
//   (b) damage in an older log, or in the newest with more than tornTailBytesMax after it: the
//       server refuses to start (exit 1) naming the file, the byte offset and the tools;
//   (c) a damaged newest snapshot: warning, the previous snapshot plus the logs; no readable
//       snapshot at all: refusal naming the files;
//   (d) a gap in the logs: refusal naming the zxids around it;
//   (e) an empty (or all-zero) trailing log file: removed with a warning.
//
// The directories are written by our server; the damage is placed by parsing the files with
// TxnLogParser, so each flipped byte is where the test means it to be.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZooKeeperClient } from '../../../src/zookeeper/client/index.js';
import { silentLogger } from '../../../src/util/log.js';
import { Storage } from '../../../src/zookeeper/persistence/store.js';
import { adler32, TxnLogParser, type LogEnd, type LogEntry } from '../../../src/zookeeper/persistence/txnLog.js';
import { defaultServerOptions } from '../../../src/zookeeper/server/options.js';
import { killOnExit } from '../../helpers/children.js';
import { fourLetter, freePort, waitFor } from '../../helpers/net.js';
import { startOurZooKeeper, startOurZooKeeperProcess } from '../../helpers/ourZk.js';
import { listLogs, listSnapshots, type NamedFile } from '../../../src/zookeeper/persistence/files.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI = join(repoRoot, 'bin', 'clustergenie.js');
/** As server.ts sizes it for the default jute.maxbuffer. */
const ENTRY_BYTES_MAX = defaultServerOptions().frameBytesMax + 1024;
const TORN_MSG = 'the last transaction in the log was torn by a crash (never acknowledged); cutting the log there';
const SNAP_MSG = 'snapshot is damaged or incomplete; trying an older one';
const EMPTY_LOG_MSG = 'removing an empty transaction log left by a crash';
const hex = (n: number): string => n.toString(16);

let work: string;
let seq = 0;

interface Parsed {
  entries: LogEntry[];
  end: LogEnd;
}
async function parseLog(path: string): Promise<Parsed> {
  const p = new TxnLogParser(await readFile(path), ENTRY_BYTES_MAX);
  const entries: LogEntry[] = [];
  for (let e = p.next(); e; e = p.next()) entries.push(e);
  return { entries, end: p.end! };
}
function createEntry(p: Parsed, path: string): LogEntry {
  const e = p.entries.find((x) => x.decoded.txn.body.kind === 'create' && x.decoded.txn.body.path === path);
  assert.ok(e, `the log creates ${path}`);
  return e;
}
async function flipByte(path: string, offset: number): Promise<void> {
  const buf = await readFile(path);
  buf[offset] = buf[offset]! ^ 0x10;
  await writeFile(path, buf);
}
async function setByte(path: string, offset: number, value: number): Promise<void> {
  const buf = await readFile(path);
  buf[offset] = value;
  await writeFile(path, buf);
}

/** Rewrites the entry's TxnHeader type to 99 and its checksum to match. */
async function unknownType(path: string, e: LogEntry): Promise<void> {
  const buf = await readFile(path);
  const payload = buf.subarray(e.offset + 12, e.offset + e.bytes - 1);
  payload.writeInt32BE(99, 8 + 4 + 8 + 8); // TxnHeader: clientId, cxid, zxid, time, type
  buf.writeUInt32BE(adler32(payload), e.offset + 4);
  await writeFile(path, buf);
}

interface Fixture {
  dir: string;
  /** zxid -> what it created, for the nodes under test. */
  czxid: Map<string, number>;
  lastZxid: number;
}

/** Writes `root` and `root/n0..n<count-1>` (data `<tag>-value-<i>`) through our in-process server. */
async function write(dir: string, root: string, count: number, extra: Record<string, string> = {}, big = 0): Promise<Map<string, number>> {
  const s = await startOurZooKeeper({ dataDir: dir, extraConfig: extra });
  const czxid = new Map<string, number>();
  try {
    const c = new ZooKeeperClient({ connectString: s.connectString });
    await c.connect();
    czxid.set(root, (await c.createWithStat(root, root)).stat.czxid);
    for (let i = 0; i < count; i++)
      czxid.set(`${root}/n${i}`, (await c.createWithStat(`${root}/n${i}`, `${root.slice(1)}-value-${i}`)).stat.czxid);
    for (let i = 0; i < big; i++)
      czxid.set(`${root}/big${i}`, (await c.createWithStat(`${root}/big${i}`, Buffer.alloc(1_000_000, 0x61 + i))).stat.czxid);
    await c.close();
  } finally {
    await s.stop();
  }
  return czxid;
}

async function fixture(
  name: string,
  runs: { root: string; count: number; extra?: Record<string, string>; big?: number }[],
): Promise<Fixture> {
  const dir = join(work, 'fixtures', name);
  const czxid = new Map<string, number>();
  for (const r of runs) for (const [k, v] of await write(dir, r.root, r.count, r.extra, r.big)) czxid.set(k, v);
  const logs = await files(dir, 'log.');
  const lastZxid = (await parseLog(logs.at(-1)!.path)).entries.at(-1)!.zxid;
  return { dir, czxid, lastZxid };
}

async function files(dataDir: string, prefix: 'log.' | 'snapshot.'): Promise<NamedFile[]> {
  return (prefix === 'log.' ? listLogs : listSnapshots)(join(dataDir, 'version-2'));
}

async function copyOf(f: Fixture): Promise<string> {
  const dir = join(work, `case-${++seq}`);
  await cp(f.dir, dir, { recursive: true });
  return dir;
}

interface LogLine {
  level: number;
  msg: string;
  file?: string;
  offset?: number;
  reason?: string;
  error?: string;
}
function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Starts the CLI server on `dataDir`, waits for the warning `msg`, checks the tree, stops. */
async function recoversWith(
  dataDir: string,
  msg: string,
  check: (c: ZooKeeperClient, zxid: number) => Promise<void>,
  beforeClients?: () => Promise<void>,
): Promise<LogLine> {
  const s = await startOurZooKeeperProcess({ dataDir });
  try {
    let warn: LogLine | undefined;
    await waitFor(
      () => {
        warn = logLines(s.stderrText()).find((l) => l.msg === msg);
        return warn !== undefined;
      },
      5000,
      () => `warning "${msg}" in:\n${s.stderrText()}`,
    );
    assert.equal(warn!.level, 40, 'logged as a warning');
    await beforeClients?.();
    const m = /^Zxid: 0x([0-9a-f]+)$/m.exec(await fourLetter(s.host, s.port, 'srvr'));
    assert.ok(m);
    const c = new ZooKeeperClient({ connectString: s.connectString });
    await c.connect();
    try {
      await check(c, parseInt(m[1]!, 16));
    } finally {
      await c.close();
    }
    const others = logLines(s.stderrText()).filter((l) => l.level >= 40 && l.msg !== msg);
    assert.deepEqual(others, [], 'no other warning or error (a digest mismatch, say)');
    return warn!;
  } finally {
    await s.stop();
  }
}

/**
 * Runs the CLI server on `dataDir` until it exits by itself (refusing) or answers ruok (then it
 * is stopped and `code` is 'served').
 */
async function refuses(dataDir: string): Promise<{ code: number | null | 'served'; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-corrupt-cfg-'));
  try {
    const cfg = join(dir, 'zoo.cfg');
    const port = await freePort();
    await writeFile(
      cfg,
      `tickTime=2000\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n`,
    );
    const child = spawn(process.execPath, [CLI, 'zookeeper', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    killOnExit(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let code: number | null | undefined;
    const closed = new Promise<void>((r) =>
      child.once('close', (c) => {
        code = c;
        r();
      }),
    );
    let served = false;
    try {
      await waitFor(
        async () => {
          if (code !== undefined) return true;
          served = (await fourLetter('127.0.0.1', port, 'ruok').catch(() => '')) === 'imok';
          return served;
        },
        10_000,
        () => `the server to exit or serve; stderr:\n${stderr}`,
      );
    } finally {
      if (code === undefined) {
        child.kill('SIGKILL');
        await closed;
      }
    }
    return { code: served ? 'served' : code!, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function children(c: ZooKeeperClient, path: string): Promise<string[]> {
  return (await c.getChildren(path)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('recovery from torn and corrupt files', () => {
  /** snapshot.0 and log.1: createSession, /c, /c/n0..n9, closeSession. */
  let oneLog: Fixture;
  /** Two server runs: snapshot.0, snapshot.<N> (run 2's startup), log.1 (/r1...), log.<N+1> (/r2...). */
  let twoRuns: Fixture;
  /** snapCount 20: many logs and snapshots. */
  let manyLogs: Fixture;
  /** One log: /big, /big/n0, then six 1 MB nodes. */
  let big: Fixture;
  let tornTailBytesMax: number;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cg-corrupt-'));
    [oneLog, twoRuns, manyLogs, big] = await Promise.all([
      fixture('one-log', [{ root: '/c', count: 10 }]),
      fixture('two-runs', [
        { root: '/r1', count: 5 },
        { root: '/r2', count: 5 },
      ]),
      fixture('many-logs', [{ root: '/m', count: 60, extra: { snapCount: '20' } }]),
      fixture('big', [{ root: '/big', count: 1, big: 6 }]),
    ]);
    // The bound recovery uses, for the default jute.maxbuffer (as server.ts configures Storage).
    const scratch = join(work, 'scratch');
    const storage = await Storage.open({
      dataDir: scratch,
      forceSync: false,
      snapCount: 2,
      preAllocBytes: 0,
      entryBytesMax: ENTRY_BYTES_MAX,
      log: silentLogger,
    });
    tornTailBytesMax = storage.tornTailBytesMax;
    await storage.close();
  });
  after(() => rm(work, { recursive: true, force: true }));

  describe('(a) a torn entry at the end of the newest log is cut off and everything before it is served', () => {
    const variants: [string, (log: string, e: LogEntry) => Promise<void>, string][] = [
      ['cut short in its payload', (log, e) => truncate(log, e.offset + Math.floor(e.bytes / 2)), 'entry cut short'],
      // 8 bytes: the whole checksum, never all zeros (Adler32 is at least 1).
      ['cut short in its header', (log, e) => truncate(log, e.offset + 8), 'entry header cut short'],
      ['with a bad checksum', (log, e) => flipByte(log, e.offset + 12 + Math.floor((e.bytes - 13) / 2)), 'CRC check failed'],
      [
        "without its 'B' terminator",
        (log, e) => setByte(log, e.offset + e.bytes - 1, 0),
        'entry not terminated by B (partial transaction)',
      ],
      ['undecodable (an unknown txn type under a valid checksum)', unknownType, 'undecodable transaction: unknown transaction type 99'],
    ];
    for (const [name, damage, reason] of variants) {
      test(name, async () => {
        const dir = await copyOf(oneLog);
        const log = join(dir, 'version-2', 'log.1');
        const parsed = await parseLog(log);
        const n9 = createEntry(parsed, '/c/n9'); // followed by the closeSession
        assert.equal(n9.zxid, oneLog.czxid.get('/c/n9'));
        await damage(log, n9);
        const warn = await recoversWith(dir, TORN_MSG, async (c, zxid) => {
          assert.equal(zxid, n9.zxid - 1, 'the server is at the last intact txn');
          assert.deepEqual(await children(c, '/c'), names('n', 9));
          assert.equal((await c.getData('/c/n8')).data?.toString(), 'c-value-8');
        });
        assert.deepEqual([warn.file, warn.offset, warn.reason], [log, n9.offset, reason]);
        assert.equal((await stat(log)).size, n9.offset, 'the log was cut at the damaged entry');
      });
    }

    test('damage with less than tornTailBytesMax after it counts as torn (a 1 MB entry, 5 MB of log after it)', async () => {
      const dir = await copyOf(big);
      const log = join(dir, 'version-2', 'log.1');
      const parsed = await parseLog(log);
      const big1 = createEntry(parsed, '/big/big1');
      const dataAfter = parsed.end.offset - big1.offset;
      assert.ok(dataAfter > 4_000_000 && dataAfter <= tornTailBytesMax, `${dataAfter} bytes from the damage on, bound ${tornTailBytesMax}`);
      await flipByte(log, big1.offset + 500_000);
      const warn = await recoversWith(dir, TORN_MSG, async (c, zxid) => {
        assert.equal(zxid, big1.zxid - 1);
        assert.deepEqual(await children(c, '/big'), ['big0', 'n0']);
        assert.equal((await c.getData('/big/big0')).data?.length, 1_000_000);
      });
      assert.deepEqual([warn.file, warn.offset, warn.reason], [log, big1.offset, 'CRC check failed']);
      assert.equal((await stat(log)).size, big1.offset);
    });
  });

  describe('(b) other damage to a log: the server refuses to start, naming the file, the offset and the tools', () => {
    test('damage in an older log that recovery needs', async () => {
      const dir = await copyOf(twoRuns);
      const snaps = await files(dir, 'snapshot.');
      assert.deepEqual(
        snaps.map((s) => s.zxid),
        [0, twoRuns.czxid.get('/r1/n4')! + 1],
        'run 2 began with a snapshot of run 1',
      );
      // Without run 2's snapshot, recovery replays log.1 (the older log) from snapshot.0.
      await unlink(snaps[1]!.path);
      const log = join(dir, 'version-2', 'log.1');
      const e = createEntry(await parseLog(log), '/r1/n2');
      await flipByte(log, e.offset + 20);
      const before = await readFile(log);
      const r = await refuses(dir);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(
          `clustergenie zookeeper: cannot start ZooKeeper: ${log} is damaged at byte offset ${e.offset}: CRC check failed. ` +
            `Inspect it with "clustergenie zookeeper-tools log-dump ${log}"`,
        ),
        r.stderr,
      );
      assert.ok(r.stderr.includes(`"clustergenie zookeeper-tools log-truncate ${log} --zxid <last good zxid>"`), r.stderr);
      assert.deepEqual(await readFile(log), before, 'nothing was cut');
    });

    test('damage in the newest log with more than tornTailBytesMax of data after it', async () => {
      const dir = await copyOf(big);
      const log = join(dir, 'version-2', 'log.1');
      const parsed = await parseLog(log);
      const n0 = createEntry(parsed, '/big/n0');
      const dataAfter = parsed.end.offset - n0.offset;
      assert.ok(dataAfter > tornTailBytesMax, `${dataAfter} bytes from the damage on, bound ${tornTailBytesMax}`);
      await flipByte(log, n0.offset + 12 + 30);
      const before = await readFile(log);
      const r = await refuses(dir);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`cannot start ZooKeeper: ${log} is damaged at byte offset ${n0.offset}: CRC check failed. `), r.stderr);
      assert.ok(r.stderr.includes('clustergenie zookeeper-tools log-dump'), r.stderr);
      assert.deepEqual(await readFile(log), before, 'nothing was cut');
    });
  });

  // The damaged entry is covered by the newest snapshot, so it was applied, hence acknowledged,
  // before the crash: it cannot be a torn last batch, and the transactions after it were
  // acknowledged too, although the damage is within tornTailBytesMax of the end.
  test('(b) damage in the newest log inside a transaction the newest snapshot covers is not a torn tail', async () => {
    const dir = await copyOf(oneLog);
    const log = join(dir, 'version-2', 'log.1');
    const parsed = await parseLog(log);
    const n3 = createEntry(parsed, '/c/n3');
    const n5 = createEntry(parsed, '/c/n5');
    // A snapshot at /c/n5's zxid, as a fuzzy snapshot begun while log.1 was current: made by
    // recovering a copy whose log ends there.
    const other = await copyOf(oneLog);
    await truncate(join(other, 'version-2', 'log.1'), n5.offset + n5.bytes);
    await (await startOurZooKeeper({ dataDir: other })).stop();
    const snap = `snapshot.${hex(n5.zxid)}`;
    await cp(join(other, 'version-2', snap), join(dir, 'version-2', snap));
    await flipByte(log, n3.offset + 20);
    const before = await readFile(log);
    const r = await refuses(dir);
    assert.equal(r.code, 1, `/c/n6../c/n9 were acknowledged; stderr:\n${r.stderr}`);
    assert.ok(r.stderr.includes(`${log} is damaged at byte offset ${n3.offset}: CRC check failed`), r.stderr);
    assert.deepEqual(await readFile(log), before);
  });

  describe('(c) a damaged newest snapshot: the previous one and the logs are used; none readable: refusal', () => {
    const checkAll = async (c: ZooKeeperClient, zxid: number): Promise<void> => {
      assert.equal(zxid, twoRuns.lastZxid);
      assert.deepEqual(await children(c, '/r1'), names('n', 5));
      assert.deepEqual(await children(c, '/r2'), names('n', 5));
      for (let i = 0; i < 5; i++) {
        assert.equal((await c.getData(`/r1/n${i}`)).data?.toString(), `r1-value-${i}`);
        assert.equal((await c.getData(`/r2/n${i}`)).data?.toString(), `r2-value-${i}`);
      }
    };

    test('truncated', async () => {
      const dir = await copyOf(twoRuns);
      const snap = (await files(dir, 'snapshot.')).at(-1)!;
      const half = Math.floor((await stat(snap.path)).size / 2);
      await truncate(snap.path, half);
      const warn = await recoversWith(dir, SNAP_MSG, checkAll);
      assert.equal(warn.file, snap.path);
      assert.ok(typeof warn.offset === 'number' && warn.offset > 16 && warn.offset <= half, `offset ${warn.offset}`);
    });

    test('bit-flipped (checksum mismatch)', async () => {
      const dir = await copyOf(twoRuns);
      const snap = (await files(dir, 'snapshot.')).at(-1)!;
      const at = (await readFile(snap.path)).indexOf('r1-value-2');
      assert.ok(at > 0, 'the snapshot holds /r1/n2');
      await flipByte(snap.path, at + 3);
      const warn = await recoversWith(dir, SNAP_MSG, checkAll); // /r1/n2 is intact: it came from log.1
      assert.equal(warn.file, snap.path);
      assert.match(warn.error!, /^checksum mismatch \(stored \d+, computed \d+\)$/);
      const size = (await stat(snap.path)).size;
      assert.ok(typeof warn.offset === 'number' && warn.offset > at && warn.offset < size, `offset ${warn.offset}: the seal`);
    });

    test('no snapshot readable', async () => {
      const dir = await copyOf(twoRuns);
      const [snap0, snapN] = await files(dir, 'snapshot.');
      await truncate(snapN!.path, 100);
      await flipByte(snap0!.path, 40);
      const r = await refuses(dir);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(
          `cannot start ZooKeeper: ${snapN!.path} is damaged at byte offset 0: no snapshot in ${join(dir, 'version-2')} is readable: ${snapN!.path} (offset `,
        ),
        r.stderr,
      );
      assert.ok(r.stderr.includes(`; ${snap0!.path} (offset `), r.stderr);
      assert.ok(r.stderr.includes('clustergenie zookeeper-tools snapshot-dump'), r.stderr);
    });
  });

  describe('(d) a gap in the logs: refusal naming the missing transactions', () => {
    test('a missing middle log file', async () => {
      const dir = await copyOf(manyLogs);
      // Only snapshot.0 left: recovery needs every log.
      for (const s of await files(dir, 'snapshot.')) if (s.zxid > 0) await unlink(s.path);
      const logs = await files(dir, 'log.');
      assert.ok(logs.length >= 3, `snapCount 20 rolled the log: ${logs.map((l) => l.name)}`);
      await unlink(logs[1]!.path);
      const r = await refuses(dir);
      assert.equal(r.code, 1);
      // It names the file after the gap, where it starts, and the missing zxid range.
      assert.ok(
        r.stderr.includes(
          `cannot start ZooKeeper: ${logs[2]!.path} is damaged at byte offset 16: transactions ${hex(logs[1]!.zxid)}..${hex(logs[2]!.zxid - 1)} are missing`,
        ),
        r.stderr,
      );
    });

    test('the log after the snapshot is missing', async () => {
      const dir = await copyOf(twoRuns);
      const [, snapN] = await files(dir, 'snapshot.');
      const [log1, log2] = await files(dir, 'log.');
      await unlink(snapN!.path);
      await unlink(log1!.path);
      const r = await refuses(dir);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(
          `cannot start ZooKeeper: ${log2!.path} is damaged at byte offset 0: transactions 1..${hex(log2!.zxid - 1)} are missing: no log holds them after snapshot.0.`,
        ),
        r.stderr,
      );
    });
  });

  for (const [what, bytes] of [
    ['empty', 0],
    ['preallocated zeros without a header (power cut before the first fsync)', 65536],
  ] as const) {
    test(`(e) a trailing log file that is ${what} is removed with a warning`, async () => {
      const dir = await copyOf(oneLog);
      const empty = join(dir, 'version-2', `log.${hex(oneLog.lastZxid + 1)}`);
      await writeFile(empty, Buffer.alloc(bytes));
      const warn = await recoversWith(
        dir,
        EMPTY_LOG_MSG,
        async (c, zxid) => {
          assert.equal(zxid, oneLog.lastZxid);
          assert.deepEqual(await children(c, '/c'), names('n', 10));
        },
        // Before a client's createSession opens a new log of that name.
        async () => assert.equal(existsSync(empty), false, 'the empty file is gone'),
      );
      assert.equal(warn.file, empty);
    });
  }
});
