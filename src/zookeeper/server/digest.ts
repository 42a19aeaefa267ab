// ZooKeeper's data tree digest (DigestCalculator version 2 + AdHash): each znode hashes to the
// CRC32 of its path, data and persisted stat; the tree digest is the 64-bit sum of the node
// hashes, excluding the /zookeeper/ subtree. Snapshots carry it so that a load can be checked
// against the tree it rebuilds, by us and by Apache ZooKeeper.

import { crc32 } from 'node:zlib';

export const DIGEST_VERSION = 2;
const SYSTEM_SUBTREE = '/zookeeper/';
const TWO_32 = 0x1_0000_0000;

/** The persisted stat fields a node's digest covers. */
export interface StatLike {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
}

/** Bytes of the persisted stat a node hash covers (see putPersistedStat). */
export const STAT_BYTES = 60;
/** Path, value and stat are hashed in one crc32 call when they fit; bigger nodes take three. */
const SCRATCH_BYTES = 4096;
const scratch = Buffer.alloc(SCRATCH_BYTES);
/** Views of the scratch by length, made once: crc32 takes no length, and a view per hash is garbage. */
const scratchViews: (Buffer | undefined)[] = [];
const statScratch = Buffer.alloc(STAT_BYTES);

/**
 * A long as Java writes it, with byte stores only: numbers above 2^31 passed to a call that is not
 * inlined are boxed, which on the write path is garbage per field per hash.
 */
export function putLong(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  buf[at] = hi >>> 24;
  buf[at + 1] = (hi >>> 16) & 0xff;
  buf[at + 2] = (hi >>> 8) & 0xff;
  buf[at + 3] = hi & 0xff;
  buf[at + 4] = lo >>> 24;
  buf[at + 5] = (lo >>> 16) & 0xff;
  buf[at + 6] = (lo >>> 8) & 0xff;
  buf[at + 7] = lo & 0xff;
}

export function putInt(buf: Buffer, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/** The 8 bytes of an ephemeralOwner; most nodes have none, which needs no BigInt arithmetic. */
export function putOwner(buf: Buffer, at: number, owner: bigint): void {
  if (owner === 0n) buf.fill(0, at, at + 8);
  else buf.writeBigInt64BE(BigInt.asIntN(64, owner), at);
}

/** The persisted stat fields in the order the hash covers them (czxid, mzxid, pzxid, ctime, mtime, versions, owner). */
export function putPersistedStat(buf: Buffer, at: number, s: StatLike): void {
  putLong(buf, at, s.czxid);
  putLong(buf, at + 8, s.mzxid);
  putLong(buf, at + 16, s.pzxid);
  putLong(buf, at + 24, s.ctime);
  putLong(buf, at + 32, s.mtime);
  putInt(buf, at + 40, s.version);
  putInt(buf, at + 44, s.cversion);
  putInt(buf, at + 48, s.aversion);
  putOwner(buf, at + 52, s.ephemeralOwner);
}

/**
 * The node's digest (an unsigned 32-bit value), or 0 for nodes outside the digest, from its path,
 * its data (bytes, or a one-byte string as the tree stores it: one char per byte) and the
 * STAT_BYTES of its persisted stat.
 */
export function hashNode(path: string, value: Uint8Array | string | null, stat: Buffer): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  // The root is hashed under the name "" (its key in ZooKeeper's node map).
  const name = path === '/' ? '' : path;
  const valueBytes = value === null ? 0 : value.length;
  if (name.length * 3 + valueBytes + STAT_BYTES <= SCRATCH_BYTES) {
    let at = scratch.write(name, 0, 'utf8');
    if (typeof value === 'string') at += scratch.write(value, at, 'latin1');
    else if (value !== null) {
      scratch.set(value, at);
      at += valueBytes;
    }
    stat.copy(scratch, at, 0, STAT_BYTES);
    const n = at + STAT_BYTES;
    return crc32((scratchViews[n] ??= scratch.subarray(0, n)));
  }
  let crc = crc32(name);
  // Never hand zlib an empty buffer: one without a backing store has a null data pointer, and
  // zlib's crc32 answers 0 (its initial value) for that instead of leaving the CRC as it is.
  if (valueBytes > 0) crc = crc32(typeof value === 'string' ? Buffer.from(value, 'latin1') : value!, crc);
  return crc32(stat.length === STAT_BYTES ? stat : stat.subarray(0, STAT_BYTES), crc);
}

/** hashNode for a record of the stat fields. */
export function nodeDigest(path: string, data: Uint8Array | string | null, s: StatLike): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  putPersistedStat(statScratch, 0, s);
  return hashNode(path, data, statScratch);
}

/**
 * A 64-bit wrapping sum of 32-bit values, kept as two numbers so that adding and removing stays
 * exact without BigInt on the write path.
 */
export class TreeDigest {
  private lo = 0;
  private hi = 0;

  add(d: number): void {
    this.lo += d;
    if (this.lo >= TWO_32) {
      this.lo -= TWO_32;
      this.hi++;
    }
  }

  remove(d: number): void {
    this.lo -= d;
    if (this.lo < 0) {
      this.lo += TWO_32;
      this.hi--;
    }
  }

  copyFrom(o: TreeDigest): void {
    this.lo = o.lo;
    this.hi = o.hi;
  }

  reset(): void {
    this.lo = 0;
    this.hi = 0;
  }

  /** The digest as Java's signed long. */
  get value(): bigint {
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) + BigInt(this.lo));
  }
}
