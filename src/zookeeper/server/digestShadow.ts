// The tree digest each txn will produce, known at prep time so the log can carry it (Apache's
// PrecalculatedDigest): the nodes a pending txn touches are copied into a shadow, changed there
// as DataTree will change them, and the digest moves by the difference of their hashes. Entries
// are dropped once the tree has applied their txn; with nothing pending the digest is the tree's.

import { CONTAINER_OWNER, ttlOwner, type DataTree } from './datatree.js';
import { nodeDigest, TreeDigest, type StatLike } from './digest.js';
import { parentOf } from '../protocol/paths.js';
import { NO_SLOT } from './nodeTable.js';
import type { SubTxn, Txn } from './txn.js';
import { Fifo } from '../../util/fifo.js';

interface ShadowNode extends StatLike {
  /** Bytes from a txn, or a copy of the tree's value. */
  data: Uint8Array | null;
  hash: number;
}

interface Entry {
  zxid: number;
  path: string;
  /** null: deleted by a pending txn. */
  node: ShadowNode | null;
}

export class DigestShadow {
  private readonly byPath = new Map<string, Entry>();
  /** Entries in zxid order, dropped as soon as applied so that they die young. */
  private readonly order = new Fifo<Entry>();
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

  /** Drops the entries of txns the tree has applied (their effect is in the tree now). */
  applied(zxid: number): void {
    const order = this.order;
    while (order.length > 0 && order.peek()!.zxid <= zxid) {
      const e = order.shift()!;
      if (this.byPath.get(e.path) === e) this.byPath.delete(e.path);
    }
  }

  private get(path: string): ShadowNode | null {
    const e = this.byPath.get(path);
    if (e) return e.node;
    const t = this.tree.table;
    const slot = this.tree.find(path);
    if (slot === NO_SLOT) return null;
    return { ...t.persistedStatAt(slot), data: t.valueAt(slot), hash: t.digestAt(slot) };
  }

  private put(path: string, zxid: number, node: ShadowNode | null, before: ShadowNode | null): void {
    if (before) this.pending.remove(before.hash);
    if (node) {
      node.hash = nodeDigest(path, node.data, node);
      this.pending.add(node.hash);
    }
    const e: Entry = { zxid, path, node };
    this.byPath.set(path, e);
    this.order.push(e);
  }

  private apply(t: SubTxn, clientId: bigint, zxid: number, time: number): void {
    switch (t.kind) {
      case 'create': {
        const parentPath = parentOf(t.path);
        const parent = this.get(parentPath);
        if (!parent || this.get(t.path)) return;
        const p = { ...parent };
        const cv = t.parentCVersion === -1 ? parent.cversion + 1 : t.parentCVersion;
        if (cv > p.cversion) {
          p.cversion = cv;
          p.pzxid = zxid;
        }
        this.put(parentPath, zxid, p, parent);
        const owner =
          t.nodeType === 'container' ? CONTAINER_OWNER : t.nodeType === 'ttl' ? ttlOwner(t.ttl) : t.nodeType === 'ephemeral' ? clientId : 0n;
        const node: ShadowNode = {
          data: t.data,
          czxid: zxid,
          mzxid: zxid,
          ctime: time,
          mtime: time,
          version: 0,
          cversion: 0,
          aversion: 0,
          ephemeralOwner: owner,
          pzxid: zxid,
          hash: 0,
        };
        this.put(t.path, zxid, node, null);
        return;
      }
      case 'delete':
        this.remove(t.path, zxid);
        return;
      case 'setData': {
        const n = this.get(t.path);
        if (!n) return;
        this.put(t.path, zxid, { ...n, data: t.data, version: t.version, mzxid: zxid, mtime: time }, n);
        return;
      }
      case 'setACL': {
        const n = this.get(t.path);
        if (!n) return;
        this.put(t.path, zxid, { ...n, aversion: t.version }, n);
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
    this.put(parentPath, zxid, { ...parent, pzxid: Math.max(parent.pzxid, zxid) }, parent);
    const n = this.get(path);
    if (n) this.put(path, zxid, null, n);
  }
}
