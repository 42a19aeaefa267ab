// A server's data directories (ZooKeeper's FileTxnSnapLog): the lock, recovery (newest valid
// snapshot + the log after it), snapshots on log rolls, purging, and the durable sync stage.

import { open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../util/log.js';
import { OpCode } from '../protocol/constants.js';
import type { DataTree } from '../server/datatree.js';
import type { ServerOptions } from '../server/options.js';
import { observabilityOf } from '../server/metricsOptions.js';
import { DurableSyncStage } from './durableSync.js';
import { ensureDir, listLogs, listSnapshots, lockDataDir, syncDir, VERSION_DIR, zxidHex, type NamedFile } from './files.js';
import { nodeStorageIo, type StorageIo } from './io.js';
import { loadSnapshot, snapshotBytes, writeSnapshot, SnapshotFormatError, type SnapshotDigest, type SnapshotWritten } from './snapshot.js';
import { checkLogHeader, ENTRY_OVERHEAD_BYTES, TxnLogParser, TxnLogWriter } from './txnLog.js';

export const TOOL_HINT = 'clustergenie zookeeper-tools';

/** The storage settings of a server's options (zoo.cfg). */
export function storageOptionsFor(o: ServerOptions, log: Logger): StorageOptions {
  return {
    dataDir: o.dataDir,
    dataLogDir: o.dataLogDir,
    forceSync: o.forceSync,
    snapCount: o.snapCount,
    preAllocBytes: o.preAllocBytes,
    // A txn carries at most one request's bytes plus its header and digest.
    entryBytesMax: o.frameBytesMax + 1024,
    log,
    fsyncWarningThresholdMs: observabilityOf(o).fsyncWarningThresholdMs,
  };
}

/** A data directory that cannot be recovered without a person deciding what to do. */
export class StorageCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    advice: string,
  ) {
    super(`${file} is damaged at byte offset ${offset}: ${reason}. ${advice}`);
  }
}

export interface StorageOptions {
  dataDir: string;
  /** Where the log goes; defaults to dataDir. */
  dataLogDir?: string;
  forceSync: boolean;
  snapCount: number;
  preAllocBytes: number;
  /** Largest txn payload a log entry may hold (jute.maxbuffer plus headroom). */
  entryBytesMax: number;
  /** Bytes of one group commit. */
  batchBytesMax?: number;
  io?: StorageIo;
  log: Logger;
  random?: () => number;
  /** An fsync of the transaction log slower than this is logged at warn (fsync.warningthresholdms). */
  fsyncWarningThresholdMs?: number;
}

export interface Recovery {
  sessions: Map<bigint, number>;
  /** zxid of the snapshot loaded, -1 if none. */
  snapshotZxid: number;
  replayed: number;
  lastZxid: number;
  /** Replayed txns whose logged tree digest differs from the rebuilt tree's. */
  digestMismatches: number;
  /** Set when a torn tail was cut off the newest log. */
  truncated: { file: string; offset: number; reason: string } | undefined;
  /** The last replayed txns (at most `tailMax`), for an ensemble leader's DIFF syncs. */
  tail: { zxid: number; payload: Buffer }[];
  /** The zxid just before tail[0] (the snapshot's, if the tail is the whole replay). */
  tailBase: number;
}

/** Txns of the replayed log kept in Recovery.tail (ZooKeeper's committedLog is 500). */
const TAIL_MAX = 500;

const SNAPSHOTS_TRIED_MAX = 100;
const BATCH_BYTES_DEFAULT = 4 * 1024 * 1024;

export class Storage {
  readonly snapDir: string;
  readonly logDir: string;
  private readonly unlocks: (() => void)[];
  private writer: TxnLogWriter | undefined;
  private snapshotting: Promise<SnapshotWritten | undefined> | undefined;
  lastSnapshot: SnapshotWritten | undefined;
  private closed = false;
  /** Each fsync time of the transaction log, in ms (the metrics provider's fsynctime). */
  fsyncObserver: ((ms: number) => void) | undefined;
  /** Log fsyncs slower than fsyncWarningThresholdMs (ServerStats.fsyncThresholdExceedCount). */
  fsyncThresholdExceedCount = 0;

  private constructor(
    readonly opts: StorageOptions,
    unlocks: (() => void)[],
  ) {
    this.snapDir = join(opts.dataDir, VERSION_DIR);
    this.logDir = join(opts.dataLogDir || opts.dataDir, VERSION_DIR);
    this.unlocks = unlocks;
  }

  get batchBytesMax(): number {
    return this.opts.batchBytesMax ?? BATCH_BYTES_DEFAULT;
  }

  /** A torn tail can only be the one batch whose fsync never completed. */
  get tornTailBytesMax(): number {
    return this.batchBytesMax + this.opts.entryBytesMax + ENTRY_OVERHEAD_BYTES;
  }

  /** Creates the directories and takes the lock (refuses a directory another server holds). */
  static async open(opts: StorageOptions): Promise<Storage> {
    const dataLogDir = opts.dataLogDir || opts.dataDir;
    await ensureDir(join(opts.dataDir, VERSION_DIR));
    await ensureDir(join(dataLogDir, VERSION_DIR));
    const unlocks = [lockDataDir(opts.dataDir)];
    if (dataLogDir !== opts.dataDir) {
      try {
        unlocks.push(lockDataDir(dataLogDir));
      } catch (e) {
        unlocks[0]!();
        throw e;
      }
    }
    const s = new Storage(opts, unlocks);
    // Leftovers of snapshots interrupted by a crash.
    for (const name of await readdir(s.snapDir)) {
      if (name.startsWith('tmp.snapshot.')) await unlink(join(s.snapDir, name)).catch(() => {});
    }
    return s;
  }

  /** Rebuilds `tree` from the newest valid snapshot and the log after it. */
  async recover(tree: DataTree): Promise<Recovery> {
    const log = this.opts.log;
    const snaps = (await listSnapshots(this.snapDir)).reverse();
    let sessions = new Map<bigint, number>();
    let snapshotZxid = -1;
    let digest: SnapshotDigest | undefined;
    const damaged: string[] = [];
    for (const snap of snaps.slice(0, SNAPSHOTS_TRIED_MAX)) {
      try {
        const contents = loadSnapshot(snapshotBytes(snap.name, await readFile(snap.path)), tree);
        sessions = contents.sessions;
        digest = contents.digest;
        snapshotZxid = snap.zxid;
        tree.lastProcessedZxid = snap.zxid;
        break;
      } catch (e) {
        const offset = e instanceof SnapshotFormatError ? e.offset : 0;
        damaged.push(`${snap.path} (offset ${offset}: ${(e as Error).message})`);
        log.warn({ file: snap.path, offset, error: (e as Error).message }, 'snapshot is damaged or incomplete; trying an older one');
      }
    }
    if (snaps.length > 0 && snapshotZxid < 0) {
      const first = snaps[0]!;
      throw new StorageCorruptError(
        first.path,
        0,
        `no snapshot in ${this.snapDir} is readable: ${damaged.join('; ')}`,
        `Inspect them with "${TOOL_HINT} snapshot-dump <file>"; restore the directory from a backup.`,
      );
    }
    if (digest && digest.zxid === snapshotZxid) this.compareDigest(tree, digest, snapshotZxid);

    const logs = await listLogs(this.logDir);
    // The log holding snapshotZxid+1 is the newest one starting at or before it.
    let from = 0;
    for (let i = 0; i < logs.length; i++) if (logs[i]!.zxid <= snapshotZxid + 1) from = i;
    const replay = logs.slice(from);
    const first = replay[0]?.zxid ?? 0;
    // A log may begin a new epoch (counter 1): the zxids of an ensemble jump at each epoch.
    const startsEpoch = first % 2 ** 32 === 1 && Math.floor(first / 2 ** 32) > Math.floor(Math.max(snapshotZxid, 0) / 2 ** 32);
    if (replay.length > 0 && first > Math.max(snapshotZxid, 0) + 1 && !(startsEpoch && snapshotZxid >= 0)) {
      throw new StorageCorruptError(
        replay[0]!.path,
        0,
        `transactions ${zxidHex(Math.max(snapshotZxid, 0) + 1)}..${zxidHex(replay[0]!.zxid - 1)} are missing: no log holds them` +
          (snapshotZxid < 0 ? ' and there is no snapshot' : ` after snapshot.${zxidHex(snapshotZxid)}`),
        'Restore the missing log or snapshot files from a backup.',
      );
    }
    let replayed = 0;
    let truncated: Recovery['truncated'];
    // Per-txn digests are checked once past the snapshot's digest zxid (before it the tree is
    // still catching up with a fuzzy snapshot), as DataTree.compareDigest does.
    let fuzzy = digest !== undefined && digest.zxid > snapshotZxid;
    const tail: Recovery['tail'] = [];
    let tailBase = Math.max(snapshotZxid, 0);
    let digestMismatches = 0;
    let firstMismatch = 0;
    for (let i = 0; i < replay.length; i++) {
      const file = replay[i]!;
      const isNewest = i === replay.length - 1;
      const buf = await readFile(file.path);
      const headerProblem = checkLogHeader(buf);
      if (headerProblem) {
        // A file created just before a crash may not even have its header on disk.
        if (isNewest && buf.every((b) => b === 0)) {
          log.warn({ file: file.path }, 'removing an empty transaction log left by a crash');
          await unlink(file.path);
          continue;
        }
        throw new StorageCorruptError(file.path, 0, headerProblem, this.advice(file));
      }
      const parser = new TxnLogParser(buf, this.opts.entryBytesMax);
      let lastInFile = file.zxid - 1; // the name says where the file's txns begin
      for (let e = parser.next(); e; e = parser.next()) {
        lastInFile = e.zxid;
        const last = tree.lastProcessedZxid;
        if (e.zxid <= last) continue;
        if (last > 0 && Math.floor(e.zxid / 2 ** 32) === Math.floor(last / 2 ** 32) && e.zxid !== last + 1) {
          throw new StorageCorruptError(
            file.path,
            e.offset,
            `transactions ${zxidHex(last + 1)}..${zxidHex(e.zxid - 1)} are missing (the log jumps from ${zxidHex(last)} to ${zxidHex(e.zxid)})`,
            'Restore the missing log file from a backup.',
          );
        }
        const txn = e.decoded.txn;
        if (txn.body.kind === 'createSession') sessions.set(txn.header.clientId, txn.body.timeOut);
        else if (txn.header.type === OpCode.closeSession) sessions.delete(txn.header.clientId);
        tree.processTxn(txn);
        replayed++;
        tail.push({ zxid: e.zxid, payload: e.payload });
        if (tail.length > TAIL_MAX) tailBase = tail.shift()!.zxid;
        if (fuzzy) {
          if (e.zxid >= digest!.zxid) {
            fuzzy = false;
            if (e.zxid === digest!.zxid) this.compareDigest(tree, digest!, e.zxid);
          }
        } else if (e.decoded.digest && e.decoded.digest.version === 2 && e.decoded.digest.treeDigest !== tree.digest.value) {
          if (digestMismatches++ === 0) firstMismatch = e.zxid;
        }
      }
      const end = parser.end!;
      if (end.kind === 'bad') {
        // Torn means never fsynced: only the newest log's last batch, and nothing a snapshot has
        // already seen applied (applied implies acknowledged).
        if (!isNewest || end.dataAfterBytes > this.tornTailBytesMax || lastInFile < snapshotZxid) {
          throw new StorageCorruptError(file.path, end.offset, end.reason, this.advice(file));
        }
        log.warn(
          { file: file.path, offset: end.offset, reason: end.reason, lastZxid: zxidHex(tree.lastProcessedZxid) },
          'the last transaction in the log was torn by a crash (never acknowledged); cutting the log there',
        );
        await truncate(file.path, end.offset);
        truncated = { file: file.path, offset: end.offset, reason: end.reason };
      }
    }
    if (digestMismatches > 0) {
      log.warn(
        { mismatches: digestMismatches, firstZxid: zxidHex(firstMismatch) },
        'replayed transactions do not match the tree digests logged with them',
      );
    }
    const aclPending = tree.aclPendingPaths();
    if (aclPending.length > 0) {
      // Apache loads such a node too and fails only when its ACL is read; ours keeps it with an
      // empty ACL, which only a super user can read past or replace (setAcl).
      log.warn(
        { nodes: aclPending.slice(0, 10), count: aclPending.length },
        'nodes name an ACL that neither the snapshot nor the log holds; they keep an empty ACL until a super user sets one',
      );
    }
    // Ephemerals whose session is not in the snapshot or log (ZooKeeperServer.loadData).
    for (const owner of [...tree.ephemerals.keys()]) {
      if (!sessions.has(owner)) tree.killSession(owner, tree.lastProcessedZxid);
    }
    // Copies: the views would keep whole log files in memory.
    for (const t of tail) t.payload = Buffer.from(t.payload);
    return { sessions, snapshotZxid, replayed, lastZxid: tree.lastProcessedZxid, truncated, digestMismatches, tail, tailBase };
  }

  private advice(file: NamedFile): string {
    return (
      `Inspect it with "${TOOL_HINT} log-dump ${file.path}"; if the damage is at the end, ` +
      `"${TOOL_HINT} log-truncate ${file.path} --zxid <last good zxid>" cuts it there (transactions after it are lost), ` +
      'or restore the directory from a backup'
    );
  }

  private compareDigest(tree: DataTree, d: SnapshotDigest, zxid: number): void {
    if (d.version !== 2) return;
    const actual = tree.digest.value;
    if (actual !== d.digest) {
      this.opts.log.warn(
        { zxid: zxidHex(zxid), expected: d.digest.toString(), actual: actual.toString() },
        'the rebuilt tree does not match the digest stored in the snapshot',
      );
    }
  }

  /** Reads `acceptedEpoch` and `currentEpoch` (version-2 dir, decimal text; 0 when absent). */
  async readEpochs(): Promise<{ acceptedEpoch: number; currentEpoch: number }> {
    const read = async (name: string): Promise<number> => {
      try {
        const text = (await readFile(join(this.snapDir, name), 'utf8')).trim();
        if (!/^\d+$/.test(text))
          throw new StorageCorruptError(join(this.snapDir, name), 0, `not an epoch number: "${text}"`, 'Fix or remove the file.');
        return Number(text);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw e;
      }
    };
    return { acceptedEpoch: await read('acceptedEpoch'), currentEpoch: await read('currentEpoch') };
  }

  /** Writes an epoch file durably (temporary file, fsync, rename, directory fsync). */
  async writeEpoch(name: 'acceptedEpoch' | 'currentEpoch', value: number): Promise<void> {
    const path = join(this.snapDir, name);
    const tmp = `${path}.tmp`;
    const h = await open(tmp, 'w');
    try {
      await h.writeFile(`${value}\n`);
      if (this.opts.forceSync) await h.datasync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
    if (this.opts.forceSync) await syncDir(this.snapDir);
  }

  /** A log writer for an ensemble member, which batches its own fsyncs. */
  /** FileTxnLog.commit: time every fsync, warn about slow ones in Apache's words. */
  private fsynced(ms: number, fileBytes: number): void {
    this.fsyncObserver?.(ms);
    const threshold = this.opts.fsyncWarningThresholdMs ?? 1000;
    if (ms > threshold) {
      this.fsyncThresholdExceedCount++;
      this.opts.log.warn(
        { fsyncMs: Math.round(ms), fileBytes, thresholdMs: threshold, dir: this.logDir },
        `fsync-ing the write ahead log took ${Math.round(ms)}ms which will adversely effect operation latency. File size is ${fileBytes} bytes. See the ZooKeeper troubleshooting guide`,
      );
    }
  }

  createWriter(): TxnLogWriter {
    this.writer = new TxnLogWriter({
      dir: this.logDir,
      forceSync: this.opts.forceSync,
      preAllocBytes: this.opts.preAllocBytes,
      io: this.opts.io ?? nodeStorageIo,
      onFsync: (ms, fileBytes) => this.fsynced(ms, fileBytes),
    });
    return this.writer;
  }

  /** Drops every logged txn after `zxid` (TRUNC from a leader). The writer must be closed. */
  async truncateLogAfter(zxid: number): Promise<void> {
    for (const f of await listLogs(this.logDir)) {
      if (f.zxid > zxid) {
        await unlink(f.path);
        continue;
      }
      const buf = await readFile(f.path);
      if (checkLogHeader(buf)) continue;
      const parser = new TxnLogParser(buf, this.opts.entryBytesMax);
      for (let e = parser.next(); e; e = parser.next()) {
        if (e.zxid > zxid) {
          await truncate(f.path, e.offset);
          break;
        }
      }
    }
    // Snapshots past the cut hold txns that no longer exist.
    for (const s of await listSnapshots(this.snapDir)) if (s.zxid > zxid) await unlink(s.path);
  }

  /** Replaces everything with a leader's snapshot (SNAP). The writer must be closed. */
  async installSnapshot(zxid: number, bytes: Uint8Array): Promise<void> {
    const path = join(this.snapDir, `snapshot.${zxidHex(zxid)}`);
    const tmp = join(this.snapDir, `tmp.snapshot.${zxidHex(zxid)}`);
    const h = await open(tmp, 'w');
    try {
      await h.writeFile(bytes);
      if (this.opts.forceSync) await h.datasync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
    for (const f of await listLogs(this.logDir)) await unlink(f.path);
    for (const s of await listSnapshots(this.snapDir)) if (s.zxid !== zxid) await unlink(s.path);
    if (this.opts.forceSync) await syncDir(this.snapDir);
  }

  /** The sync stage that writes this directory's log. */
  createSyncStage(onRoll: () => void, onFailure: (reason: string, error: Error) => void): DurableSyncStage {
    this.writer = new TxnLogWriter({
      dir: this.logDir,
      forceSync: this.opts.forceSync,
      preAllocBytes: this.opts.preAllocBytes,
      io: this.opts.io ?? nodeStorageIo,
      onFsync: (ms, fileBytes) => this.fsynced(ms, fileBytes),
    });
    return new DurableSyncStage(this.writer, {
      snapCount: this.opts.snapCount,
      batchBytesMax: this.batchBytesMax,
      random: this.opts.random ?? Math.random,
      onRoll,
      onFailure,
    });
  }

  /** Starts a snapshot unless one is running ("too busy to snap"); resolves when it is on disk. */
  snapshot(tree: DataTree, sessions: ReadonlyMap<bigint, number>): Promise<SnapshotWritten | undefined> {
    if (this.snapshotting || this.closed) {
      this.opts.log.warn('a snapshot is still being written; skipping this one');
      return Promise.resolve(undefined);
    }
    const run = (async () => {
      try {
        const s = await writeSnapshot(this.snapDir, tree, new Map(sessions), this.opts.forceSync);
        this.lastSnapshot = s;
        this.opts.log.info({ file: s.path, nodes: s.nodes, bytes: s.bytes }, 'snapshot written');
        return s;
      } catch (e) {
        // The log still holds everything: a failed snapshot costs recovery time, not data.
        this.opts.log.error(
          { dir: this.snapDir, error: (e as Error).message },
          'snapshot failed; the transaction log still has every change',
        );
        return undefined;
      } finally {
        this.snapshotting = undefined;
      }
    })();
    this.snapshotting = run;
    return run;
  }

  /**
   * Keeps the newest `retain` snapshots and the logs needed to replay from the oldest of them
   * (PurgeTxnLog); returns the files removed.
   */
  async purge(retain: number): Promise<string[]> {
    const snaps = await listSnapshots(this.snapDir);
    if (snaps.length <= retain) return [];
    const kept = snaps.slice(-retain);
    const oldestKept = kept[0]!.zxid;
    const logs = await listLogs(this.logDir);
    let neededFrom = 0;
    for (let i = 0; i < logs.length; i++) if (logs[i]!.zxid <= oldestKept) neededFrom = i;
    const doomed = [...snaps.slice(0, -retain), ...logs.slice(0, neededFrom)].map((f) => f.path);
    for (const p of doomed) await unlink(p).catch(() => {});
    if (doomed.length > 0) this.opts.log.info({ removed: doomed.length }, 'purged old snapshots and logs');
    return doomed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.snapshotting;
    await this.writer?.close();
    for (const u of this.unlocks) u();
  }
}
