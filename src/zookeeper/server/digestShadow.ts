// The tree digest each txn will produce, known at prep time so the log can carry it (Apache's
// PrecalculatedDigest): the nodes a pending txn touches get a shadow, changed as DataTree will
// change them, and the digest moves by the difference of their hashes. A shadow is dropped once
// the tree has applied the last txn that touched it; with nothing pending the digest is the tree's.
//
// Built for the write path's garbage: one shadow per path, changed in place by each txn that
// touches it (a create's parent is touched by every create under it), and a shadow of a tree node
// keeps reading the node's value from the tree until a txn replaces it, instead of a copy.

import { CONTAINER_OWNER, ttlOwner, type DataTree } from './datatree.js';
import { nodeDigest, storedNodeDigest, TreeDigest, type StatLike } from './digest.js';
import { parentOf } from '../protocol/paths.js';
import { NO_SLOT } from './nodeTable.js';
import type { SubTxn, Txn } from './txn.js';
import { Fifo } from '../../util/fifo.js';

interface Shadow extends StatLike {
  readonly path: string;
  /** The last pending txn that touched it. */
  zxid: number;
  /** false: deleted by a pending txn. */
  exists: boolean;
  /** The value from a txn, or undefined: still the value of the tree's node at `slot`. */
  data: Uint8Array | null | undefined;
  slot: number;
  hash: number;
}

export class DigestShadow {
  private readonly byPath = new Map<string, Shadow>();
  /** Touches stamped with their zxid (a shadow once per txn that touched it), for dropping applied ones. */
  private readonly touches = new Fifo<Shadow>();
  private readonly pending = new TreeDigest();
  private synced = false;

  constructor(private readonly tree: DataTree) {}

  /** The tree digest once `txn` is applied; call for every txn in zxid order. */
  after(txn: Txn): bigint {
    if (this.byPath.size === 0 || !this.synced) {
      this.pending.copyFrom(this.tree.digest);
      this.synced = true;
    }
    const { body, header } = txn;
    if (body.kind === 'multi') {
      // A failed multi changes nothing; a successful one applies its ops in order.
      if (!body.txns.some((t) => t.kind === 'error')) for (const t of body.txns) this.apply(t, header.clientId, header.zxid, header.time);
    } else if (body.kind === 'closeSession') {
      const paths = [...body.paths2Delete].sort((a, b) => b.length - a.length);
      for (const p of paths) this.remove(p, header.zxid);
    } else if (body.kind !== 'createSession') {
      this.apply(body, header.clientId, header.zxid, header.time);
    }
    return this.pending.value;
  }

  /** Drops the shadows whose last txn the tree has applied (their effect is in the tree now). */
  applied(zxid: number): void {
    const touches = this.touches;
    while (touches.length > 0 && touches.peekStamp() <= zxid) {
      const s = touches.shift()!;
      // A shadow touched again later stays until that touch is applied.
      if (s.zxid <= zxid && this.byPath.get(s.path) === s) this.byPath.delete(s.path);
    }
  }

  /** The node as pending txns leave it, or null if it does not exist then. */
  private get(path: string): Shadow | null {
    const s = this.byPath.get(path);
    if (s) return s.exists ? s : null;
    const tree = this.tree;
    const slot = tree.find(path);
    if (slot === NO_SLOT) return null;
    const t = tree.table;
    return {
      path,
      zxid: -1,
      exists: true,
      data: undefined,
      slot,
      hash: t.digestAt(slot),
      czxid: t.czxidAt(slot),
      mzxid: t.mzxidAt(slot),
      pzxid: t.pzxidAt(slot),
      ctime: t.ctimeAt(slot),
      mtime: t.mtimeAt(slot),
      version: t.versionAt(slot),
      cversion: t.cversionAt(slot),
      aversion: t.aversionAt(slot),
      ephemeralOwner: t.ownerAt(slot),
    };
  }

  /**
   * Records that txn `zxid` changed `s` (its fields are already updated) and rehashes it; `hashed`:
   * its old hash is in the digest (false for a node the txn creates).
   */
  private touch(s: Shadow, zxid: number, hashed = true): void {
    if (s.exists) {
      if (hashed) this.pending.remove(s.hash);
      s.hash = s.data === undefined ? storedNodeDigest(s.path, this.tree.table, s.slot, s) : nodeDigest(s.path, s.data, s);
      this.pending.add(s.hash);
    }
    s.zxid = zxid;
    if (this.byPath.get(s.path) !== s) this.byPath.set(s.path, s);
    this.touches.push(s, zxid);
  }

  private apply(t: SubTxn, clientId: bigint, zxid: number, time: number): void {
    switch (t.kind) {
      case 'create': {
        const parentPath = parentOf(t.path);
        const parent = this.get(parentPath);
        if (!parent || this.get(t.path)) return;
        const cv = t.parentCVersion === -1 ? parent.cversion + 1 : t.parentCVersion;
        if (cv > parent.cversion) {
          parent.cversion = cv;
          parent.pzxid = zxid;
        }
        this.touch(parent, zxid);
        const owner =
          t.nodeType === 'container'
            ? CONTAINER_OWNER
            : t.nodeType === 'ttl'
              ? ttlOwner(t.ttl)
              : t.nodeType === 'ephemeral'
                ? clientId
                : 0n;
        // A shadow of a pending delete of this path is reused; its old hash left the digest then.
        const s: Shadow = this.byPath.get(t.path) ?? {
          path: t.path,
          zxid: -1,
          exists: true,
          data: null,
          slot: NO_SLOT,
          hash: 0,
          czxid: 0,
          mzxid: 0,
          pzxid: 0,
          ctime: 0,
          mtime: 0,
          version: 0,
          cversion: 0,
          aversion: 0,
          ephemeralOwner: 0n,
        };
        s.exists = true;
        s.data = t.data;
        s.slot = NO_SLOT;
        s.czxid = s.mzxid = s.pzxid = zxid;
        s.ctime = s.mtime = time;
        s.version = s.cversion = s.aversion = 0;
        s.ephemeralOwner = owner;
        this.touch(s, zxid, false);
        return;
      }
      case 'delete':
        this.remove(t.path, zxid);
        return;
      case 'setData': {
        const n = this.get(t.path);
        if (!n) return;
        n.data = t.data;
        n.version = t.version;
        n.mzxid = zxid;
        n.mtime = time;
        this.touch(n, zxid);
        return;
      }
      case 'setACL': {
        const n = this.get(t.path);
        if (!n) return;
        n.aversion = t.version;
        this.touch(n, zxid);
        return;
      }
      case 'check':
      case 'error':
        return;
    }
  }

  private remove(path: string, zxid: number): void {
    const parentPath = parentOf(path);
    const parent = this.get(parentPath);
    if (!parent) return;
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.touch(parent, zxid);
    const n = this.get(path);
    if (!n) return;
    this.pending.remove(n.hash);
    n.exists = false;
    this.touch(n, zxid);
  }
}
