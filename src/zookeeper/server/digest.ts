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

const statBytes = Buffer.alloc(60);

function putLong(at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  statBytes.writeInt32BE(hi | 0, at);
  statBytes.writeUInt32BE(v - hi * TWO_32, at + 4);
}

/** The node's digest (an unsigned 32-bit value), or 0 for nodes outside the digest. */
export function nodeDigest(path: string, data: Buffer | null, s: StatLike): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  putLong(0, s.czxid);
  putLong(8, s.mzxid);
  putLong(16, s.pzxid);
  putLong(24, s.ctime);
  putLong(32, s.mtime);
  statBytes.writeInt32BE(s.version | 0, 40);
  statBytes.writeInt32BE(s.cversion | 0, 44);
  statBytes.writeInt32BE(s.aversion | 0, 48);
  statBytes.writeBigInt64BE(BigInt.asIntN(64, s.ephemeralOwner), 52);
  // The root is hashed under the name "" (its key in ZooKeeper's node map).
  let crc = crc32(path === '/' ? '' : path);
  // Never hand zlib an empty buffer: one without a backing store has a null data pointer, and
  // zlib's crc32 answers 0 (its initial value) for that instead of leaving the CRC as it is.
  if (data && data.length > 0) crc = crc32(data, crc);
  return crc32(statBytes, crc);
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
