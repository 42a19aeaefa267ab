// The znode store behind DataTree, laid out for memory: a node is a slot number, its numeric
// fields live in typed-array columns, its value is a one-byte string (each char one byte), and
// children hang off their parent in a doubly linked sibling list. With one object per field the
// tree cost ~400 bytes of V8 heap per znode (boxed zxids and times, a Buffer per value, a child
// set per parent); here it is the path, the value, one map entry and ~90 bytes of columns.
// Pure: DataTree decides what changes, this only stores it.

import { putInt32, putLong, putLongN } from '../protocol/jute.js';
import type { StatLike } from './digest.js';

export const NO_SLOT = -1;

// Float64 columns (zxids and times exceed a 32-bit integer).
const F_CZXID = 0;
const F_MZXID = 1;
const F_PZXID = 2;
const F_CTIME = 3;
const F_MTIME = 4;
const F_STRIDE = 5;

// Int32 columns.
const I_VERSION = 0;
const I_CVERSION = 1;
const I_AVERSION = 2;
const I_ACL = 3;
const I_DIGEST = 4;
const I_PARENT = 5;
const I_FIRST_CHILD = 6;
const I_LAST_CHILD = 7;
const I_PREV = 8;
const I_NEXT = 9;
const I_CHILD_COUNT = 10;
const I_STRIDE = 11;

const INITIAL_SLOTS = 1024;
const GROW_BY_QUARTER_FROM_SLOTS = 256 * 1024;

/** What a node is created with. */
export interface NodeFields extends StatLike {
  /** The value as a one-byte string (see toStoredValue), or null for a node created with null data. */
  value: string | null;
  aclId: number;
}

/** The read side of the table, for the request and snapshot code outside DataTree. */
export interface NodeReader {
  /** The node's slot, or NO_SLOT. */
  find(path: string): number;
  pathAt(slot: number): string;
  /** The stored value (one char per byte), or null. */
  valueAt(slot: number): string | null;
  dataLengthAt(slot: number): number;
  czxidAt(slot: number): number;
  mzxidAt(slot: number): number;
  pzxidAt(slot: number): number;
  ctimeAt(slot: number): number;
  mtimeAt(slot: number): number;
  versionAt(slot: number): number;
  /** The stored cversion (child creations only; Stat reports 2*stored - numChildren). */
  cversionAt(slot: number): number;
  aversionAt(slot: number): number;
  ownerAt(slot: number): bigint;
  /** The persisted stat fields as a fresh record. */
  persistedStatAt(slot: number): StatLike;
  aclIdAt(slot: number): number;
  digestAt(slot: number): number;
  childCountAt(slot: number): number;
  firstChildAt(slot: number): number;
  nextSiblingAt(slot: number): number;
  /** The last path segment. */
  nameAt(slot: number): string;
}

/** A node value held as a one-byte string: no Buffer object per value, and V8 stores it compactly. */
export function toStoredValue(data: Uint8Array | null): string | null {
  if (data === null) return null;
  if (data.length === 0) return '';
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return bytes.toString('latin1');
}

export function fromStoredValue(value: string | null): Buffer | null {
  return value === null ? null : Buffer.from(value, 'latin1');
}

export class NodeTable implements NodeReader {
  private readonly index = new Map<string, number>();
  private paths: (string | undefined)[] = [];
  private values: (string | null)[] = [];
  private f = new Float64Array(INITIAL_SLOTS * F_STRIDE);
  private i = new Int32Array(INITIAL_SLOTS * I_STRIDE);
  /** Non-zero ephemeralOwner values (sessions, containers, TTLs); most nodes have none. */
  private readonly owners = new Map<number, bigint>();
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;

  get size(): number {
    return this.index.size;
  }

  clear(): void {
    this.index.clear();
    this.paths = [];
    this.values = [];
    this.f = new Float64Array(INITIAL_SLOTS * F_STRIDE);
    this.i = new Int32Array(INITIAL_SLOTS * I_STRIDE);
    this.owners.clear();
    this.freeSlots.length = 0;
    this.slotsUsed = 0;
  }

  find(path: string): number {
    return this.index.get(path) ?? NO_SLOT;
  }

  allPaths(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Stores a node under `parent` (NO_SLOT for the root); the caller has checked it is new. */
  add(path: string, parent: number, n: NodeFields): number {
    const slot = this.allocate();
    this.index.set(path, slot);
    this.paths[slot] = path;
    this.values[slot] = n.value;
    const f = this.f;
    const fb = slot * F_STRIDE;
    f[fb + F_CZXID] = n.czxid;
    f[fb + F_MZXID] = n.mzxid;
    f[fb + F_PZXID] = n.pzxid;
    f[fb + F_CTIME] = n.ctime;
    f[fb + F_MTIME] = n.mtime;
    const iv = this.i;
    const ib = slot * I_STRIDE;
    iv[ib + I_VERSION] = n.version;
    iv[ib + I_CVERSION] = n.cversion;
    iv[ib + I_AVERSION] = n.aversion;
    iv[ib + I_ACL] = n.aclId;
    iv[ib + I_DIGEST] = 0;
    iv[ib + I_PARENT] = parent;
    iv[ib + I_FIRST_CHILD] = NO_SLOT;
    iv[ib + I_LAST_CHILD] = NO_SLOT;
    iv[ib + I_NEXT] = NO_SLOT;
    iv[ib + I_CHILD_COUNT] = 0;
    if (n.ephemeralOwner !== 0n) this.owners.set(slot, n.ephemeralOwner);
    if (parent !== NO_SLOT) {
      // Appended last: getChildren lists children in creation order.
      const pb = parent * I_STRIDE;
      const last = iv[pb + I_LAST_CHILD]!;
      iv[ib + I_PREV] = last;
      if (last === NO_SLOT) iv[pb + I_FIRST_CHILD] = slot;
      else iv[last * I_STRIDE + I_NEXT] = slot;
      iv[pb + I_LAST_CHILD] = slot;
      iv[pb + I_CHILD_COUNT]!++;
    } else {
      iv[ib + I_PREV] = NO_SLOT;
    }
    return slot;
  }

  /** Drops the node; its children (only a replay over a fuzzy snapshot leaves any) are orphaned, not freed. */
  remove(slot: number): void {
    const iv = this.i;
    const ib = slot * I_STRIDE;
    const parent = iv[ib + I_PARENT]!;
    const prev = iv[ib + I_PREV]!;
    const next = iv[ib + I_NEXT]!;
    if (parent !== NO_SLOT) {
      const pb = parent * I_STRIDE;
      if (prev === NO_SLOT) iv[pb + I_FIRST_CHILD] = next;
      else iv[prev * I_STRIDE + I_NEXT] = next;
      if (next === NO_SLOT) iv[pb + I_LAST_CHILD] = prev;
      else iv[next * I_STRIDE + I_PREV] = prev;
      iv[pb + I_CHILD_COUNT]!--;
    }
    // Orphans must not point at a slot that will be reused by another node.
    for (let c = iv[ib + I_FIRST_CHILD]!; c !== NO_SLOT; c = iv[c * I_STRIDE + I_NEXT]!) {
      iv[c * I_STRIDE + I_PARENT] = NO_SLOT;
    }
    this.index.delete(this.paths[slot]!);
    this.paths[slot] = undefined;
    this.values[slot] = null;
    this.owners.delete(slot);
    this.freeSlots.push(slot);
  }

  private allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.slotsUsed++;
    if (slot * I_STRIDE >= this.i.length) {
      // Doubling while small; past that a quarter more each time: doubling a million-slot table
      // for one more node would hold ~85 MB of empty columns.
      const now = this.i.length / I_STRIDE;
      const slots = now < GROW_BY_QUARTER_FROM_SLOTS ? now * 2 : Math.ceil(now * 1.25);
      const f = new Float64Array(slots * F_STRIDE);
      f.set(this.f);
      this.f = f;
      const iv = new Int32Array(slots * I_STRIDE);
      iv.set(this.i);
      this.i = iv;
    }
    return slot;
  }

  // ---- reads

  pathAt(slot: number): string {
    return this.paths[slot]!;
  }
  valueAt(slot: number): string | null {
    return this.values[slot]!;
  }
  dataLengthAt(slot: number): number {
    const v = this.values[slot];
    return v ? v.length : 0;
  }
  czxidAt(slot: number): number {
    return this.f[slot * F_STRIDE + F_CZXID]!;
  }
  mzxidAt(slot: number): number {
    return this.f[slot * F_STRIDE + F_MZXID]!;
  }
  pzxidAt(slot: number): number {
    return this.f[slot * F_STRIDE + F_PZXID]!;
  }
  ctimeAt(slot: number): number {
    return this.f[slot * F_STRIDE + F_CTIME]!;
  }
  mtimeAt(slot: number): number {
    return this.f[slot * F_STRIDE + F_MTIME]!;
  }
  versionAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_VERSION]!;
  }
  cversionAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_CVERSION]!;
  }
  aversionAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_AVERSION]!;
  }
  ownerAt(slot: number): bigint {
    return this.owners.get(slot) ?? 0n;
  }
  persistedStatAt(slot: number): StatLike {
    return {
      czxid: this.czxidAt(slot),
      mzxid: this.mzxidAt(slot),
      pzxid: this.pzxidAt(slot),
      ctime: this.ctimeAt(slot),
      mtime: this.mtimeAt(slot),
      version: this.versionAt(slot),
      cversion: this.cversionAt(slot),
      aversion: this.aversionAt(slot),
      ephemeralOwner: this.ownerAt(slot),
    };
  }
  aclIdAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_ACL]!;
  }
  digestAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_DIGEST]! >>> 0;
  }
  childCountAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_CHILD_COUNT]!;
  }
  firstChildAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_FIRST_CHILD]!;
  }
  nextSiblingAt(slot: number): number {
    return this.i[slot * I_STRIDE + I_NEXT]!;
  }
  nameAt(slot: number): string {
    const p = this.paths[slot]!;
    return p.slice(p.lastIndexOf('/') + 1);
  }

  /** The node's persisted stat as its hash covers it (digest.ts putPersistedStat), from the columns. */
  putPersistedStat(slot: number, buf: Buffer, at: number): void {
    const f = this.f;
    const fb = slot * F_STRIDE;
    putLongN(buf, at, f[fb + F_CZXID]!);
    putLongN(buf, at + 8, f[fb + F_MZXID]!);
    putLongN(buf, at + 16, f[fb + F_PZXID]!);
    putLongN(buf, at + 24, f[fb + F_CTIME]!);
    putLongN(buf, at + 32, f[fb + F_MTIME]!);
    const iv = this.i;
    const ib = slot * I_STRIDE;
    putInt32(buf, at + 40, iv[ib + I_VERSION]!);
    putInt32(buf, at + 44, iv[ib + I_CVERSION]!);
    putInt32(buf, at + 48, iv[ib + I_AVERSION]!);
    putLong(buf, at + 52, this.owners.get(slot) ?? 0n);
  }

  // ---- writes (DataTree keeps the digest in step)

  setValue(slot: number, value: string | null): void {
    this.values[slot] = value;
  }
  setVersion(slot: number, v: number): void {
    this.i[slot * I_STRIDE + I_VERSION] = v;
  }
  setCversion(slot: number, v: number): void {
    this.i[slot * I_STRIDE + I_CVERSION] = v;
  }
  setAversion(slot: number, v: number): void {
    this.i[slot * I_STRIDE + I_AVERSION] = v;
  }
  setAclId(slot: number, id: number): void {
    this.i[slot * I_STRIDE + I_ACL] = id;
  }
  setDigest(slot: number, d: number): void {
    this.i[slot * I_STRIDE + I_DIGEST] = d | 0;
  }
  setMzxid(slot: number, zxid: number): void {
    this.f[slot * F_STRIDE + F_MZXID] = zxid;
  }
  setMtime(slot: number, t: number): void {
    this.f[slot * F_STRIDE + F_MTIME] = t;
  }
  setPzxid(slot: number, zxid: number): void {
    this.f[slot * F_STRIDE + F_PZXID] = zxid;
  }
}
