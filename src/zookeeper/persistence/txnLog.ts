// ZooKeeper 3.8's transaction log files (FileTxnLog): a FileHeader {ZKLG, 2, dbid 0}, then entries
// of {long Adler32 of the payload; int length; payload; byte 'B'}, the file preallocated with
// zeros so that the end of the log is a zero-length entry. The writer appends whole group-commit
// batches; the parser walks a file and says exactly where and why it stops.

import { join } from 'node:path';
import { decodeTxn, type DecodedTxn } from './txnCodec.js';
import { FORMAT_VERSION, syncDir, TXNLOG_MAGIC, zxidHex } from './files.js';
import type { LogFile, StorageIo } from './io.js';

export const FILE_HEADER_BYTES = 16;
/** Per entry: checksum (8) + length (4) + end-of-record byte (1). */
export const ENTRY_OVERHEAD_BYTES = 13;
const END_OF_RECORD = 0x42; // 'B'
/** ZooKeeper grows the file when the write position comes within this of its end. */
const PAD_MARGIN_BYTES = 4096;

/**
 * Adler-32 (RFC 1950, java.util.zip.Adler32) of `buf`, continuing from `seed` (an earlier result;
 * 1 starts afresh). Written out here: the CommonJS package it replaces cost ~2 ms of CPU per
 * server start to load through the ESM loader (docs/PERFORMANCE.md, cold start).
 */
export function adler32(buf: Uint8Array, seed = 1): number {
  let a = seed & 0xffff;
  let b = (seed >>> 16) & 0xffff;
  const n = buf.length;
  for (let i = 0; i < n; ) {
    // Over this many bytes the sums stay below 2^31 (small integers for V8), then they are
    // folded: 65536 = 15 (mod 65521).
    const end = Math.min(n, i + 2654);
    // Four bytes per step: b gains a four times plus the bytes weighted by how many of the
    // step's additions each one is in (a shorter dependency chain; ~1.7x the bytes per second).
    for (const end4 = end - 3; i < end4; i += 4) {
      const x0 = buf[i]!;
      const x1 = buf[i + 1]!;
      const x2 = buf[i + 2]!;
      const x3 = buf[i + 3]!;
      b += 4 * (a + x0) + 3 * x1 + 2 * x2 + x3;
      a += x0 + x1 + x2 + x3;
    }
    for (; i < end; i++) {
      a += buf[i]!;
      b += a;
    }
    a = 15 * (a >>> 16) + (a & 0xffff);
    b = 15 * (b >>> 16) + (b & 0xffff);
  }
  return (((b % 65521) << 16) | (a % 65521)) >>> 0;
}

export function encodeFileHeader(magic: number, dbid: bigint): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  b.writeInt32BE(magic, 0);
  b.writeInt32BE(FORMAT_VERSION, 4);
  b.writeBigInt64BE(dbid, 8);
  return b;
}

/** Appends one framed entry for `payload` to `out` at `at`; returns the new offset. */
export function frameEntry(out: Buffer, at: number, payload: Uint8Array): number {
  out.writeUInt32BE(0, at); // the checksum is a Java long holding an unsigned 32-bit value
  out.writeUInt32BE(adler32(payload), at + 4);
  out.writeInt32BE(payload.length, at + 8);
  out.set(payload, at + 12);
  out[at + 12 + payload.length] = END_OF_RECORD;
  return at + ENTRY_OVERHEAD_BYTES + payload.length;
}

export interface TxnLogWriterOptions {
  /** The version-2 directory the log files live in. */
  dir: string;
  forceSync: boolean;
  /** preAllocSize: the file grows in steps of this many bytes. */
  preAllocBytes: number;
  io: StorageIo;
  /** Told how long each fsync of the log took (ms) and the file's size then (for FileTxnLog's warning). */
  onFsync?: (ms: number, fileBytes: number) => void;
}

/**
 * Appends batches to the current log file, opening a new file (named by the batch's first zxid)
 * after roll() or at the first append. Not re-entrant: the caller awaits each append.
 */
export class TxnLogWriter {
  private file: LogFile | undefined;
  private filePath = '';
  private position = 0;
  private fileBytes = 0;
  private rollRequested = false;
  /** Log files this writer created, oldest first (for tools and tests). */
  readonly created: string[] = [];

  constructor(private readonly opts: TxnLogWriterOptions) {}

  get currentFile(): string {
    return this.filePath;
  }

  /** The next append starts a new file. */
  roll(): void {
    this.rollRequested = true;
  }

  /** Writes `entries` (already framed) whose first txn is `firstZxid`, then fsyncs if forceSync. */
  async append(firstZxid: number, entries: Buffer): Promise<void> {
    if (this.rollRequested || !this.file) {
      this.rollRequested = false;
      await this.closeFile();
      await this.openFile(firstZxid);
    }
    const file = this.file!;
    const end = this.position + entries.length;
    if (end + PAD_MARGIN_BYTES > this.fileBytes && this.opts.preAllocBytes > 0) {
      let size = this.fileBytes;
      while (end + PAD_MARGIN_BYTES > size) size += this.opts.preAllocBytes;
      await file.truncate(size);
      this.fileBytes = size;
    }
    await file.write(entries, this.position);
    this.position = end;
    if (this.opts.forceSync) {
      const t0 = performance.now();
      await file.datasync();
      this.opts.onFsync?.(performance.now() - t0, this.fileBytes);
    }
  }

  private async openFile(firstZxid: number): Promise<void> {
    const path = join(this.opts.dir, `log.${zxidHex(firstZxid)}`);
    const file = await this.opts.io.create(path);
    this.file = file;
    this.filePath = path;
    this.fileBytes = 0;
    this.position = 0;
    await file.write(encodeFileHeader(TXNLOG_MAGIC, 0n), 0);
    this.position = FILE_HEADER_BYTES;
    this.created.push(path);
    // The new name must survive a crash along with the entries synced into it.
    if (this.opts.forceSync) await syncDir(this.opts.dir);
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f) await f.close();
  }

  async close(): Promise<void> {
    await this.closeFile();
  }
}

export interface LogEntry {
  offset: number;
  /** Bytes of the whole framed entry. */
  bytes: number;
  zxid: number;
  decoded: DecodedTxn;
  /** The entry's payload (a view into the file buffer). */
  payload: Buffer;
}

/** Why a log file stops where it does. */
export type LogEnd =
  | { kind: 'eof'; offset: number }
  /** A damaged entry: `dataAfterBytes` counts the bytes from `offset` to the last non-zero byte. */
  | { kind: 'bad'; offset: number; reason: string; dataAfterBytes: number };

export class LogHeaderError extends Error {}

/** Walks a log file held in memory. */
export class TxnLogParser {
  private at = FILE_HEADER_BYTES;
  end: LogEnd | undefined;

  /** `entryBytesMax` bounds one payload (a larger length field is corruption, not a txn). */
  constructor(
    readonly buf: Buffer,
    private readonly entryBytesMax: number,
  ) {
    const bad = checkLogHeader(buf);
    if (bad) throw new LogHeaderError(bad);
  }

  static header(buf: Buffer): { magic: number; version: number; dbid: bigint } {
    return { magic: buf.readInt32BE(0), version: buf.readInt32BE(4), dbid: buf.readBigInt64BE(8) };
  }

  /** The next entry, or undefined at the end (then `end` says why). */
  next(): LogEntry | undefined {
    if (this.end) return undefined;
    const buf = this.buf;
    const at = this.at;
    if (at + 12 > buf.length) return this.stop(buf.length - at === 0 || isZero(buf, at, buf.length) ? undefined : 'entry header cut short');
    const len = buf.readInt32BE(at + 8);
    if (len === 0) {
      // Preallocated zeros: the end of the log (a zero checksum must come with it).
      return this.stop(buf.readUInt32BE(at) === 0 && buf.readUInt32BE(at + 4) === 0 ? undefined : 'zero-length entry with a checksum');
    }
    if (len < 0 || len > this.entryBytesMax) return this.stop(`entry length ${len} out of range`);
    if (at + 12 + len + 1 > buf.length) return this.stop('entry cut short');
    const payload = buf.subarray(at + 12, at + 12 + len);
    const expect = buf.readUInt32BE(at + 4);
    if (buf.readUInt32BE(at) !== 0 || adler32(payload) !== expect) return this.stop('CRC check failed');
    if (buf[at + 12 + len] !== END_OF_RECORD) return this.stop('entry not terminated by B (partial transaction)');
    let decoded: DecodedTxn;
    try {
      // A copy, so that data kept in the tree does not pin the whole file buffer.
      decoded = decodeTxn(Buffer.from(payload));
    } catch (e) {
      return this.stop(`undecodable transaction: ${(e as Error).message}`);
    }
    const bytes = ENTRY_OVERHEAD_BYTES + len;
    this.at = at + bytes;
    return { offset: at, bytes, zxid: decoded.txn.header.zxid, decoded, payload };
  }

  private stop(reason: string | undefined): undefined {
    if (reason === undefined) this.end = { kind: 'eof', offset: this.at };
    else this.end = { kind: 'bad', offset: this.at, reason, dataAfterBytes: lastNonZero(this.buf, this.at) - this.at };
    return undefined;
  }
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** One past the last non-zero byte at or after `from` (or `from`). */
function lastNonZero(buf: Buffer, from: number): number {
  let i = buf.length;
  while (i > from && buf[i - 1] === 0) i--;
  return i;
}

/** Validates a log file header; returns a reason when it is not a ZooKeeper log. */
export function checkLogHeader(buf: Buffer): string | undefined {
  if (buf.length < FILE_HEADER_BYTES) return `file is ${buf.length} bytes, shorter than the log header`;
  const h = TxnLogParser.header(buf);
  if (h.magic !== TXNLOG_MAGIC) return `bad magic 0x${(h.magic >>> 0).toString(16)} (a log starts with ZKLG)`;
  if (h.version !== FORMAT_VERSION) return `unsupported log format version ${h.version}`;
  return undefined;
}
