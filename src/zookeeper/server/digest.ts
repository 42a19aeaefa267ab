// ZooKeeper's data tree digest (DigestCalculator version 2 + AdHash): each znode hashes to the
// CRC32 of its path, data and persisted stat; the tree digest is the 64-bit sum of the node
// hashes, excluding the /zookeeper/ subtree. Snapshots carry it so that a load can be checked
// against the tree it rebuilds, by us and by Apache ZooKeeper.

import { crc32 } from 'node:zlib';
import { putInt32, putLong, putLongNFrom } from '../protocol/jute.js';

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
const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
/** Views of the scratch by length, made once: crc32 takes no length, and a view per hash is garbage. */
const scratchViews: (Buffer | undefined)[] = [];
const statScratch = Buffer.alloc(STAT_BYTES);
const statLongs = new Float64Array(5);

/** The persisted stat fields in the order the hash covers them (czxid, mzxid, pzxid, ctime, mtime, versions, owner). */
export function putPersistedStat(buf: Buffer, at: number, s: StatLike): void {
  // Through a typed array, not as arguments: see putLongNFrom.
  const longs = statLongs;
  longs[0] = s.czxid;
  longs[1] = s.mzxid;
  longs[2] = s.pzxid;
  longs[3] = s.ctime;
  longs[4] = s.mtime;
  for (let i = 0; i < 5; i++) putLongNFrom(buf, at + 8 * i, longs, i);
  putInt32(buf, at + 40, s.version);
  putInt32(buf, at + 44, s.cversion);
  putInt32(buf, at + 48, s.aversion);
  putLong(buf, at + 52, s.ephemeralOwner);
}

/** Whether a node of this name (UTF-16 units, ≤3 UTF-8 bytes each) and value fits the scratch. */
function fitsScratch(name: string, valueBytes: number): boolean {
  return name.length * 3 + valueBytes + STAT_BYTES <= SCRATCH_BYTES;
}

/** Appends the stat to the name and value already in the scratch, and hashes the lot. */
function crcScratch(at: number, stat: Buffer): number {
  stat.copy(scratch, at, 0, STAT_BYTES);
  const n = at + STAT_BYTES;
  let view = scratchViews[n];
  if (view === undefined) {
    view = scratch.subarray(0, n);
    scratchViews[n] = view;
  }
  return crc32(view);
}

/** The root is hashed under the name "" (its key in ZooKeeper's node map). */
function hashedName(path: string): string {
  return path === '/' ? '' : path;
}

/**
 * The node's digest (an unsigned 32-bit value), or 0 for nodes outside the digest, from its path,
 * its data and its persisted stat (`stat`: exactly STAT_BYTES, see putPersistedStat).
 */
export function hashNode(path: string, value: Uint8Array | null, stat: Buffer): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  const name = hashedName(path);
  const valueBytes = value === null ? 0 : value.length;
  if (fitsScratch(name, valueBytes)) {
    let at = scratch.write(name, 0, 'utf8');
    if (value !== null) {
      scratch.set(value, at);
      at += valueBytes;
    }
    return crcScratch(at, stat);
  }
  let crc = crc32(name);
  // Never hand zlib an empty buffer: one without a backing store has a null data pointer, and
  // zlib's crc32 answers 0 (its initial value) for that instead of leaving the CRC as it is.
  if (valueBytes > 0) crc = crc32(value!, crc);
  return crc32(stat, crc);
}

/** Where a stored node's value is read from (NodeTable), without a copy of its own. */
export interface StoredValues {
  dataLengthAt(slot: number): number;
  copyValue(slot: number, target: DataView, at: number): number;
  valueView(slot: number): Buffer | null;
}

/** hashNode for a node of the table: its value is copied straight into the scratch. */
export function hashStoredNode(path: string, values: StoredValues, slot: number, stat: Buffer): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  const name = hashedName(path);
  if (!fitsScratch(name, values.dataLengthAt(slot))) return hashNode(path, values.valueView(slot), stat);
  const at = scratch.write(name, 0, 'utf8');
  return crcScratch(at + values.copyValue(slot, scratchView, at), stat);
}

/** hashStoredNode with the stat fields from a record instead of the node's own. */
export function storedNodeDigest(path: string, values: StoredValues, slot: number, s: StatLike): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  putPersistedStat(statScratch, 0, s);
  return hashStoredNode(path, values, slot, statScratch);
}

/** hashNode for a record of the stat fields. */
export function nodeDigest(path: string, data: Uint8Array | null, s: StatLike): number {
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
