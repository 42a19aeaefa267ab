// The znode store behind DataTree, laid out for memory: a node is a slot number, its numeric
// fields live in typed-array columns, its value in an off-heap arena (valueStore.ts), and
// children hang off their parent in a doubly linked sibling list. With one object per field the
// tree cost ~400 bytes of V8 heap per znode (boxed zxids and times, a Buffer per value, a child
// set per parent); here the only heap object is the path string, plus an index entry
// (pathIndex.ts), ~90 bytes of columns and the value bytes.
// Pure: DataTree decides what changes, this only stores it.

import { putInt32, putLong, putLongNFrom, type JuteWriter } from '../protocol/jute.js';
import type { StatLike } from './digest.js';
import { NO_SLOT, PathIndex } from './pathIndex.js';
import { ValueStore } from './valueStore.js';

export { NO_SLOT };

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
/** Value length in bytes, -1 for null data. */
const I_VALUE_LENGTH = 11;
/** Where ValueStore keeps the value. */
const I_VALUE_REF = 12;
const I_STRIDE = 13;

/** Slots per column chunk (~375 KB of columns). */
const CHUNK_SHIFT = 12;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SLOTS - 1;

/** The size of a StatPersisted record: six longs and three ints. */
const STAT_PERSISTED_BYTES = 60;

/** What a node is created with. */
export interface NodeFields extends StatLike {
  /** The value (copied in), or null for a node created with null data. */
  data: Uint8Array | null;
  aclId: number;
}

/** The read side of the table, for the request and snapshot code outside DataTree. */
export interface NodeReader {
  /** The node's slot, or NO_SLOT. */
  find(path: string): number;
  /** find(path), answered from `hint` (a slot the path had) when that slot still holds the path. */
  findFrom(hint: number, path: string): number;
  pathAt(slot: number): string;
  /** A copy of the value, or null for null data. */
  valueAt(slot: number): Buffer | null;
  /** Copies the value's bytes into `target` at `at` (the caller makes room); returns their count. */
  copyValue(slot: number, target: DataView, at: number): number;
  /** The value's bytes in place, or null: valid only until the tree next changes. */
  valueView(slot: number): Buffer | null;
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
  /** Appends the value as a jute buffer (int length, -1 for null, then the bytes), copied from the store. */
  encodeValue(slot: number, w: JuteWriter): void;
  /** Appends the node's StatPersisted record (records.ts; what a snapshot stores) from the columns. */
  encodeStatPersisted(slot: number, w: JuteWriter): void;
  aclIdAt(slot: number): number;
  digestAt(slot: number): number;
  childCountAt(slot: number): number;
  firstChildAt(slot: number): number;
  nextSiblingAt(slot: number): number;
  /** The last path segment. */
  nameAt(slot: number): string;
}

export class NodeTable implements NodeReader {
  private readonly index = new PathIndex();
  private readonly values = new ValueStore();
  /** Columns in chunks of CHUNK_SLOTS slots: growing never copies, and never holds a dead copy until the next GC. */
  private fc: Float64Array[] = [];
  private ic: Int32Array[] = [];
  /** Non-zero ephemeralOwner values (sessions, containers, TTLs); most nodes have none. */
  private readonly owners = new Map<number, bigint>();
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;

  get size(): number {
    return this.index.size;
  }

  clear(): void {
    this.index.clear();
    this.values.clear();
    this.fc = [];
    this.ic = [];
    this.owners.clear();
    this.freeSlots.length = 0;
    this.slotsUsed = 0;
  }

  find(path: string): number {
    return this.index.find(path);
  }

  findFrom(hint: number, path: string): number {
    // The index maps a path to a slot exactly when the slot holds that path (add and remove
    // change both together), so a hint that still holds the path is what find would answer.
    return hint >= 0 && this.index.pathAt(hint) === path ? hint : this.index.find(path);
  }

  allPaths(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Calls `f` with each node's path and slot. */
  forEachNode(f: (path: string, slot: number) => void): void {
    this.index.forEach(f);
  }

  private getF(slot: number, field: number): number {
    return this.fc[slot >>> CHUNK_SHIFT]![(slot & CHUNK_MASK) * F_STRIDE + field]!;
  }
  private setF(slot: number, field: number, v: number): void {
    this.fc[slot >>> CHUNK_SHIFT]![(slot & CHUNK_MASK) * F_STRIDE + field] = v;
  }
  private getI(slot: number, field: number): number {
    return this.ic[slot >>> CHUNK_SHIFT]![(slot & CHUNK_MASK) * I_STRIDE + field]!;
  }
  private setI(slot: number, field: number, v: number): void {
    this.ic[slot >>> CHUNK_SHIFT]![(slot & CHUNK_MASK) * I_STRIDE + field] = v;
  }

  /** Stores a node under `parent` (NO_SLOT for the root); the caller has checked it is new. */
  add(path: string, parent: number, n: NodeFields): number {
    const slot = this.allocate();
    this.index.add(path, slot);
    const f = this.fc[slot >>> CHUNK_SHIFT]!;
    const fb = (slot & CHUNK_MASK) * F_STRIDE;
    f[fb + F_CZXID] = n.czxid;
    f[fb + F_MZXID] = n.mzxid;
    f[fb + F_PZXID] = n.pzxid;
    f[fb + F_CTIME] = n.ctime;
    f[fb + F_MTIME] = n.mtime;
    const iv = this.ic[slot >>> CHUNK_SHIFT]!;
    const ib = (slot & CHUNK_MASK) * I_STRIDE;
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
    iv[ib + I_VALUE_LENGTH] = n.data === null ? -1 : n.data.length;
    iv[ib + I_VALUE_REF] = n.data === null ? 0 : this.values.store(n.data);
    if (n.ephemeralOwner !== 0n) this.owners.set(slot, n.ephemeralOwner);
    if (parent !== NO_SLOT) {
      // Appended last: getChildren lists children in creation order.
      const last = this.getI(parent, I_LAST_CHILD);
      iv[ib + I_PREV] = last;
      if (last === NO_SLOT) this.setI(parent, I_FIRST_CHILD, slot);
      else this.setI(last, I_NEXT, slot);
      this.setI(parent, I_LAST_CHILD, slot);
      this.setI(parent, I_CHILD_COUNT, this.getI(parent, I_CHILD_COUNT) + 1);
    } else {
      iv[ib + I_PREV] = NO_SLOT;
    }
    return slot;
  }

  /** Drops the node; its children (only a replay over a fuzzy snapshot leaves any) are orphaned, not freed. */
  remove(slot: number): void {
    const parent = this.getI(slot, I_PARENT);
    const prev = this.getI(slot, I_PREV);
    const next = this.getI(slot, I_NEXT);
    if (parent !== NO_SLOT) {
      if (prev === NO_SLOT) this.setI(parent, I_FIRST_CHILD, next);
      else this.setI(prev, I_NEXT, next);
      if (next === NO_SLOT) this.setI(parent, I_LAST_CHILD, prev);
      else this.setI(next, I_PREV, prev);
      this.setI(parent, I_CHILD_COUNT, this.getI(parent, I_CHILD_COUNT) - 1);
    }
    // Orphans must not point at a slot that will be reused by another node.
    for (let c = this.getI(slot, I_FIRST_CHILD); c !== NO_SLOT; c = this.getI(c, I_NEXT)) this.setI(c, I_PARENT, NO_SLOT);
    this.index.remove(slot);
    this.values.release(this.getI(slot, I_VALUE_REF), this.getI(slot, I_VALUE_LENGTH));
    this.setI(slot, I_VALUE_LENGTH, -1);
    this.owners.delete(slot);
    this.freeSlots.push(slot);
  }

  private allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.slotsUsed++;
    if (slot >>> CHUNK_SHIFT === this.ic.length) {
      this.fc.push(new Float64Array(CHUNK_SLOTS * F_STRIDE));
      this.ic.push(new Int32Array(CHUNK_SLOTS * I_STRIDE));
    }
    return slot;
  }

  // ---- reads

  pathAt(slot: number): string {
    return this.index.pathAt(slot)!;
  }
  valueAt(slot: number): Buffer | null {
    const view = this.valueView(slot);
    return view === null ? null : Buffer.from(view);
  }
  copyValue(slot: number, target: DataView, at: number): number {
    return this.values.copyOut(this.getI(slot, I_VALUE_REF), this.getI(slot, I_VALUE_LENGTH), target, at);
  }
  valueView(slot: number): Buffer | null {
    const length = this.getI(slot, I_VALUE_LENGTH);
    return length < 0 ? null : this.values.view(this.getI(slot, I_VALUE_REF), length);
  }
  dataLengthAt(slot: number): number {
    return Math.max(0, this.getI(slot, I_VALUE_LENGTH));
  }
  /** Bytes the value store holds (arena chunks and large values). */
  get valueBytesReserved(): number {
    return this.values.bytesReserved;
  }
  czxidAt(slot: number): number {
    return this.getF(slot, F_CZXID);
  }
  mzxidAt(slot: number): number {
    return this.getF(slot, F_MZXID);
  }
  pzxidAt(slot: number): number {
    return this.getF(slot, F_PZXID);
  }
  ctimeAt(slot: number): number {
    return this.getF(slot, F_CTIME);
  }
  mtimeAt(slot: number): number {
    return this.getF(slot, F_MTIME);
  }
  versionAt(slot: number): number {
    return this.getI(slot, I_VERSION);
  }
  cversionAt(slot: number): number {
    return this.getI(slot, I_CVERSION);
  }
  aversionAt(slot: number): number {
    return this.getI(slot, I_AVERSION);
  }
  ownerAt(slot: number): bigint {
    // Most trees have few owners, and most nodes none: no Map lookup while there are none.
    return this.owners.size === 0 ? 0n : (this.owners.get(slot) ?? 0n);
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
    return this.getI(slot, I_ACL);
  }
  digestAt(slot: number): number {
    return this.getI(slot, I_DIGEST) >>> 0;
  }
  childCountAt(slot: number): number {
    return this.getI(slot, I_CHILD_COUNT);
  }
  firstChildAt(slot: number): number {
    return this.getI(slot, I_FIRST_CHILD);
  }
  nextSiblingAt(slot: number): number {
    return this.getI(slot, I_NEXT);
  }
  nameAt(slot: number): string {
    const p = this.index.pathAt(slot)!;
    return p.slice(p.lastIndexOf('/') + 1);
  }

  /** The node's persisted stat as its hash covers it (digest.ts putPersistedStat), from the columns. */
  putPersistedStat(slot: number, buf: Buffer, at: number): void {
    const f = this.fc[slot >>> CHUNK_SHIFT]!;
    const fb = (slot & CHUNK_MASK) * F_STRIDE;
    putLongNFrom(buf, at, f, fb + F_CZXID);
    putLongNFrom(buf, at + 8, f, fb + F_MZXID);
    putLongNFrom(buf, at + 16, f, fb + F_PZXID);
    putLongNFrom(buf, at + 24, f, fb + F_CTIME);
    putLongNFrom(buf, at + 32, f, fb + F_MTIME);
    const iv = this.ic[slot >>> CHUNK_SHIFT]!;
    const ib = (slot & CHUNK_MASK) * I_STRIDE;
    putInt32(buf, at + 40, iv[ib + I_VERSION]!);
    putInt32(buf, at + 44, iv[ib + I_CVERSION]!);
    putInt32(buf, at + 48, iv[ib + I_AVERSION]!);
    putLong(buf, at + 52, this.ownerAt(slot));
  }

  encodeValue(slot: number, w: JuteWriter): void {
    const iv = this.ic[slot >>> CHUNK_SHIFT]!;
    const ib = (slot & CHUNK_MASK) * I_STRIDE;
    const length = iv[ib + I_VALUE_LENGTH]!;
    w.ensure(4 + Math.max(0, length));
    const view = w.view;
    view.setInt32(w.pos, length);
    w.pos += 4 + this.values.copyOut(iv[ib + I_VALUE_REF]!, length, view, w.pos + 4);
  }

  encodeStatPersisted(slot: number, w: JuteWriter): void {
    w.ensure(STAT_PERSISTED_BYTES);
    const buf = w.buf;
    const at = w.pos;
    const f = this.fc[slot >>> CHUNK_SHIFT]!;
    const fb = (slot & CHUNK_MASK) * F_STRIDE;
    putLongNFrom(buf, at, f, fb + F_CZXID);
    putLongNFrom(buf, at + 8, f, fb + F_MZXID);
    putLongNFrom(buf, at + 16, f, fb + F_CTIME);
    putLongNFrom(buf, at + 24, f, fb + F_MTIME);
    const iv = this.ic[slot >>> CHUNK_SHIFT]!;
    const ib = (slot & CHUNK_MASK) * I_STRIDE;
    putInt32(buf, at + 32, iv[ib + I_VERSION]!);
    putInt32(buf, at + 36, iv[ib + I_CVERSION]!);
    putInt32(buf, at + 40, iv[ib + I_AVERSION]!);
    putLong(buf, at + 44, this.ownerAt(slot));
    putLongNFrom(buf, at + 52, f, fb + F_PZXID);
    w.pos = at + STAT_PERSISTED_BYTES;
  }

  // ---- writes (DataTree keeps the digest in step)

  setValue(slot: number, data: Uint8Array | null): void {
    const iv = this.ic[slot >>> CHUNK_SHIFT]!;
    const ib = (slot & CHUNK_MASK) * I_STRIDE;
    const ref = iv[ib + I_VALUE_REF]!;
    const oldLength = iv[ib + I_VALUE_LENGTH]!;
    if (data === null) {
      this.values.release(ref, oldLength);
      iv[ib + I_VALUE_LENGTH] = -1;
      return;
    }
    iv[ib + I_VALUE_REF] = oldLength < 0 ? this.values.store(data) : this.values.replace(ref, oldLength, data);
    iv[ib + I_VALUE_LENGTH] = data.length;
  }
  setVersion(slot: number, v: number): void {
    this.setI(slot, I_VERSION, v);
  }
  setCversion(slot: number, v: number): void {
    this.setI(slot, I_CVERSION, v);
  }
  setAversion(slot: number, v: number): void {
    this.setI(slot, I_AVERSION, v);
  }
  setAclId(slot: number, id: number): void {
    this.setI(slot, I_ACL, id);
  }
  setDigest(slot: number, d: number): void {
    this.setI(slot, I_DIGEST, d | 0);
  }
  setMzxid(slot: number, zxid: number): void {
    this.setF(slot, F_MZXID, zxid);
  }
  setMtime(slot: number, t: number): void {
    this.setF(slot, F_MTIME, t);
  }
  setPzxid(slot: number, zxid: number): void {
    this.setF(slot, F_PZXID, zxid);
  }
}
