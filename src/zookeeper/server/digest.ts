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

const STAT_BYTES = 60;
/** Path, value and stat are hashed in one crc32 call when they fit; bigger nodes take three. */
const SCRATCH_BYTES = 4096;
const scratch = Buffer.alloc(SCRATCH_BYTES);
const statOnly = Buffer.alloc(STAT_BYTES);

function putLong(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi | 0, at);
  buf.writeUInt32BE(v - hi * TWO_32, at + 4);
}

function putStat(
  buf: Buffer,
  at: number,
  czxid: number,
  mzxid: number,
  pzxid: number,
  ctime: number,
  mtime: number,
  version: number,
  cversion: number,
  aversion: number,
  owner: bigint,
): void {
  putLong(buf, at, czxid);
  putLong(buf, at + 8, mzxid);
  putLong(buf, at + 16, pzxid);
  putLong(buf, at + 24, ctime);
  putLong(buf, at + 32, mtime);
  buf.writeInt32BE(version | 0, at + 40);
  buf.writeInt32BE(cversion | 0, at + 44);
  buf.writeInt32BE(aversion | 0, at + 48);
  // Most nodes have no owner: skip the BigInt arithmetic (it allocates) for them.
  if (owner === 0n) {
    buf.writeInt32BE(0, at + 52);
    buf.writeInt32BE(0, at + 56);
  } else {
    buf.writeBigInt64BE(BigInt.asIntN(64, owner), at + 52);
  }
}

/**
 * The node's digest (an unsigned 32-bit value), or 0 for nodes outside the digest. `value` is the
 * node's data: bytes, or a one-byte string as the tree stores it (one char per byte).
 */
export function nodeDigestOf(
  path: string,
  value: Uint8Array | string | null,
  czxid: number,
  mzxid: number,
  pzxid: number,
  ctime: number,
  mtime: number,
  version: number,
  cversion: number,
  aversion: number,
  owner: bigint,
): number {
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
    putStat(scratch, at, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner);
    return crc32(scratch.subarray(0, at + STAT_BYTES));
  }
  let crc = crc32(name);
  // Never hand zlib an empty buffer: one without a backing store has a null data pointer, and
  // zlib's crc32 answers 0 (its initial value) for that instead of leaving the CRC as it is.
  if (valueBytes > 0) crc = crc32(typeof value === 'string' ? Buffer.from(value, 'latin1') : value!, crc);
  putStat(statOnly, 0, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner);
  return crc32(statOnly, crc);
}

/** nodeDigestOf for a record of the stat fields. */
export function nodeDigest(path: string, data: Uint8Array | string | null, s: StatLike): number {
  return nodeDigestOf(path, data, s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.ephemeralOwner);
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
