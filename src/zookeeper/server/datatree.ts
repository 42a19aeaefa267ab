// The in-memory znode tree and the application of committed transactions to it
// (ZooKeeper's DataTree.processTxn). Pure: no I/O, no clock; times and zxids come in the txns.

import { Err, EventType } from '../protocol/constants.js';
import type { AclT, StatT } from '../protocol/records.js';
import { aclKey } from './acl.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../protocol/acls.js';
import { baseName, parentOf } from '../protocol/paths.js';
import type { Txn, TxnBody } from './txn.js';
import { WatchManager } from './watches.js';
import { formatStatsTrack, LIMIT_NODE, parseStatsTrack, QUOTA_ROOT, QuotaPrefixes, STAT_NODE } from './quota.js';
import { nodeDigest, TreeDigest } from './digest.js';

/** ephemeralOwner values that mark containers and TTL nodes (EphemeralType). */
export const CONTAINER_OWNER = -0x8000000000000000n;
const TTL_MASK = 0xff00000000000000n;
export const TTL_TAG = -0x100000000000000n; // 0xFF00_0000_0000_0000 as a signed long

export function ttlOwner(ttlMs: number): bigint {
  return TTL_TAG | BigInt(ttlMs);
}
export function isTtlOwner(owner: bigint): boolean {
  // Top byte 0xFF (EphemeralType.EXTENDED_MASK). The owner is a signed bigint, so `owner & mask`
  // is the positive mask value, never the negative TTL_TAG.
  return (owner & TTL_MASK) === TTL_MASK;
}
export function ttlOfOwner(owner: bigint): number {
  // EphemeralType.EXTENDED_FEATURE_VALUE_MASK: the low 40 bits.
  return Number(owner & 0xffffffffffn);
}
/** A real session owner (ephemeral node), not container/TTL/none. */
export function isSessionOwner(owner: bigint): boolean {
  return owner !== 0n && owner !== CONTAINER_OWNER && !isTtlOwner(owner);
}

/** Values up to this size are packed into the tree's own arena slabs (see ownBytes). */
const ARENA_VALUE_BYTES_MAX = 1024;
const ARENA_SLAB_BYTES = 64 * 1024;
let arena = Buffer.allocUnsafeSlow(0);
let arenaPos = 0;

/**
 * Node data as bytes of its own. Decoded data is a view into the frame it arrived in (a socket
 * read of up to 64 KiB); kept as is, every stored node would pin its whole read buffer. Small
 * values are copied into slabs that hold node values only: Node's shared pool would interleave
 * them with short-lived buffers, and one live value would pin a slab of garbage. A slab is freed
 * once all its values are replaced or deleted.
 */
function ownBytes(data: Buffer | null): Buffer | null {
  if (data === null || data.byteLength === data.buffer.byteLength) return data;
  const n = data.byteLength;
  if (n === 0) return Buffer.alloc(0);
  if (n > ARENA_VALUE_BYTES_MAX) {
    const own = Buffer.allocUnsafeSlow(n);
    data.copy(own);
    return own;
  }
  if (arenaPos + n > arena.byteLength) {
    arena = Buffer.allocUnsafeSlow(ARENA_SLAB_BYTES);
    arenaPos = 0;
  }
  data.copy(arena, arenaPos);
  const own = arena.subarray(arenaPos, arenaPos + n);
  arenaPos += n;
  return own;
}

export class ZNode {
  children: Set<string> | null = null;
  /** This node's share of the tree digest (see digest.ts), cached between changes. */
  digest = 0;
  constructor(
    public data: Buffer | null,
    public acl: AclT[],
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    /** Stored cversion: counts child creations only (see statOf). */
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: number,
  ) {}

  get numChildren(): number {
    return this.children ? this.children.size : 0;
  }
}

/** Client-visible Stat. cversion is reported as 2*stored - numChildren, as DataNode.copyStat does. */
export function statOf(n: ZNode): StatT {
  const numChildren = n.numChildren;
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion * 2 - numChildren,
    aversion: n.aversion,
    ephemeralOwner: isSessionOwner(n.ephemeralOwner) ? n.ephemeralOwner : 0n,
    dataLength: n.data ? n.data.length : 0,
    numChildren,
    pzxid: n.pzxid,
  };
}

export interface TxnResult {
  err: number;
  path: string;
  stat: StatT | undefined;
  /** Present for multi: one result per sub-txn (type is the sub-txn's op, or -1 for errors). */
  multi: { type: number; err: number; path: string; stat: StatT | undefined }[] | undefined;
}

export class DataTree {
  readonly nodes = new Map<string, ZNode>();
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  readonly watches = new WatchManager();
  readonly quotas = new QuotaPrefixes();
  private readonly aclCache = new Map<string, AclT[]>();
  lastProcessedZxid = 0;
  /** ZooKeeper's tree digest, kept up to date by every change. */
  readonly digest = new TreeDigest();
  /** Sum of path lengths and data sizes; starts with the built-in nodes ("", /, /zookeeper, ...), as Apache counts. */
  approximateDataSize = 44;

  constructor() {
    this.init();
  }

  /** Back to a fresh tree (an ensemble learner rebuilds its state after TRUNC or SNAP). */
  reset(): void {
    this.beginLoad();
    this.lastProcessedZxid = 0;
    this.approximateDataSize = 44;
    this.init();
  }

  private init(): void {
    const root = new ZNode(Buffer.alloc(0), this.internAcl(OPEN_ACL_UNSAFE), 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    this.nodes.set('/', root);
    this.hashIn('/', root);
    this.addSystemNode('/zookeeper', OPEN_ACL_UNSAFE);
    this.addSystemNode('/zookeeper/quota', OPEN_ACL_UNSAFE);
    // DataTree.addConfigNode sets the ACL with setACL(..., -1), which stores -1 as aversion.
    this.addSystemNode('/zookeeper/config', READ_ACL_UNSAFE, -1);
  }

  private addSystemNode(path: string, acl: readonly AclT[], aversion = 0): void {
    const n = new ZNode(Buffer.alloc(0), this.internAcl(acl), 0, 0, 0, 0, 0, 0, aversion, 0n, 0);
    this.nodes.set(path, n);
    this.hashIn(path, n);
    const parent = this.nodes.get(parentOf(path))!;
    (parent.children ??= new Set()).add(baseName(path));
  }

  /** Adds the node's (re)computed hash to the tree digest (NodeHashMap.postChange). */
  private hashIn(path: string, n: ZNode): void {
    n.digest = nodeDigest(path, n.data, n);
    this.digest.add(n.digest);
  }

  /** Takes the node's hash out before a change (NodeHashMap.preChange). */
  private hashOut(n: ZNode): void {
    this.digest.remove(n.digest);
  }

  /** Empties the tree before a snapshot is loaded into it with loadNode. */
  beginLoad(): void {
    this.nodes.clear();
    this.ephemerals.clear();
    this.containers.clear();
    this.ttls.clear();
    this.aclCache.clear();
    this.quotas.clear();
    this.digest.reset();
  }

  /** Adds a node read from a snapshot; parents come before children (pre-order). */
  loadNode(path: string, n: ZNode): void {
    if (path === '/') {
      this.nodes.set('/', n);
    } else {
      const parent = this.nodes.get(parentOf(path));
      if (!parent) throw new Error(`snapshot lists ${path} before its parent`);
      (parent.children ??= new Set()).add(baseName(path));
      this.nodes.set(path, n);
    }
    n.acl = this.internAcl(n.acl);
    this.hashIn(path, n);
    this.trackOwner(path, n.ephemeralOwner);
  }

  /** Indexes a new node by its owner: containers, TTL nodes, a session's ephemerals. */
  private trackOwner(path: string, owner: bigint): void {
    if (owner === CONTAINER_OWNER) this.containers.add(path);
    else if (isTtlOwner(owner)) this.ttls.add(path);
    else if (owner !== 0n) {
      let s = this.ephemerals.get(owner);
      if (!s) this.ephemerals.set(owner, (s = new Set()));
      s.add(path);
    }
  }

  /** After loadNode: quota table, quota stat nodes and size accounting, as DataTree.setupQuota. */
  finishLoad(): void {
    if (!this.nodes.has('/')) throw new Error('snapshot has no root node');
    const quotaRoot = this.nodes.get(QUOTA_ROOT);
    const limits: string[] = [];
    if (quotaRoot) {
      const walk = (p: string): void => {
        const n = this.nodes.get(p);
        if (!n?.children) return;
        for (const c of n.children) {
          if (c === LIMIT_NODE) limits.push(p.slice(QUOTA_ROOT.length));
          else walk(`${p}/${c}`);
        }
      };
      walk(QUOTA_ROOT);
    }
    for (const q of limits) {
      this.quotas.add(q);
      this.recountQuota(q);
    }
    // ZooKeeper's node map holds the root twice ("" and "/"): its data counts twice.
    const root = this.nodes.get('/')!;
    let size = root.data ? root.data.length : 0;
    for (const [p, n] of this.nodes) size += p.length + (n.data ? n.data.length : 0);
    this.approximateDataSize = size;
  }

  /** One shared array per distinct ACL list, like ZooKeeper's ReferenceCountedACLCache. */
  internAcl(acl: readonly AclT[]): AclT[] {
    const key = aclKey(acl);
    let v = this.aclCache.get(key);
    if (!v) {
      v = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
      Object.freeze(v);
      this.aclCache.set(key, v);
    }
    return v;
  }

  /** Every distinct ACL list in use (the interned arrays nodes point to). */
  aclLists(): IterableIterator<AclT[]> {
    return this.aclCache.values();
  }

  get(path: string): ZNode | undefined {
    // ZooKeeper's node map also holds "" as an alias of the root, so reads of "" see "/".
    return this.nodes.get(path) ?? (path === '' ? this.nodes.get('/') : undefined);
  }

  /** Node count as ZooKeeper reports it (its map also holds "" as an alias of "/"). */
  get nodeCount(): number {
    return this.nodes.size + 1;
  }

  get ephemeralCount(): number {
    let n = 0;
    for (const s of this.ephemerals.values()) n += s.size;
    return n;
  }

  allChildrenNumber(path: string): number {
    // ZooKeeper counts the keys starting with `path + "/"`: for "" that is every node, root included.
    if (path === '') return this.nodes.size;
    const n = this.nodes.get(path);
    if (!n || !n.children) return 0;
    let count = 0;
    for (const c of n.children) count += 1 + this.allChildrenNumber(path === '/' ? `/${c}` : `${path}/${c}`);
    return count;
  }

  processTxn(txn: Txn): TxnResult {
    const { header, body } = txn;
    const res = this.apply(header.type, body, header.clientId, header.zxid, header.time);
    if (header.zxid > this.lastProcessedZxid) this.lastProcessedZxid = header.zxid;
    return res;
  }

  private apply(type: number, body: TxnBody, clientId: bigint, zxid: number, time: number): TxnResult {
    const res: TxnResult = { err: 0, path: '', stat: undefined, multi: undefined };
    switch (body.kind) {
      case 'create': {
        res.path = body.path;
        const owner =
          body.nodeType === 'container'
            ? CONTAINER_OWNER
            : body.nodeType === 'ttl'
              ? ttlOwner(body.ttl)
              : body.nodeType === 'ephemeral'
                ? clientId
                : 0n;
        const err = this.createNode(body.path, body.data, body.acl, owner, body.parentCVersion, zxid, time);
        res.err = err;
        if (err === 0) res.stat = statOf(this.nodes.get(body.path)!);
        // Only while replaying over a fuzzy snapshot (prep rules it out otherwise): the node was
        // deleted and re-created after the snapshot saw its parent, so bring the parent forward.
        else if (err === Err.NODEEXISTS) this.setCversionPzxid(parentOf(body.path), body.parentCVersion, zxid);
        break;
      }
      case 'delete':
        res.path = body.path;
        res.err = this.deleteNode(body.path, zxid);
        break;
      case 'setData': {
        res.path = body.path;
        const n = this.nodes.get(body.path);
        if (!n) {
          res.err = Err.NONODE;
          break;
        }
        const old = n.data ? n.data.length : 0;
        this.hashOut(n);
        n.data = ownBytes(body.data);
        this.approximateDataSize += (body.data ? body.data.length : 0) - old;
        const prefix = this.quotas.maxPrefix(body.path);
        if (prefix !== undefined) this.updateQuotaStat(prefix, (body.data ? body.data.length : 0) - old, 0);
        n.version = body.version;
        n.mzxid = zxid;
        n.mtime = time;
        this.hashIn(body.path, n);
        res.stat = statOf(n);
        this.watches.nodeDataChanged(body.path, zxid, n.acl);
        break;
      }
      case 'setACL': {
        res.path = body.path;
        const n = this.nodes.get(body.path);
        if (!n) {
          res.err = Err.NONODE;
          break;
        }
        this.hashOut(n);
        n.acl = this.internAcl(body.acl);
        n.aversion = body.version;
        this.hashIn(body.path, n);
        res.stat = statOf(n);
        break;
      }
      case 'check':
        res.path = body.path;
        break;
      case 'error':
        res.err = body.err;
        break;
      case 'createSession':
        break;
      case 'closeSession':
        this.killSession(clientId, zxid);
        break;
      case 'multi': {
        const failed = body.txns.some((t) => t.kind === 'error');
        let postFailed = false;
        res.multi = [];
        for (const sub of body.txns) {
          let r: TxnResult;
          let subType = sub.op;
          if (sub.kind === 'error') {
            postFailed = true;
            r = this.apply(-1, sub, clientId, zxid, time);
            subType = -1;
          } else if (failed) {
            r = { err: postFailed ? Err.RUNTIMEINCONSISTENCY : Err.OK, path: '', stat: undefined, multi: undefined };
            subType = -1;
          } else {
            r = this.apply(sub.op, sub, clientId, zxid, time);
          }
          res.multi.push({ type: subType, err: r.err, path: r.path, stat: r.stat });
          if (r.err !== 0 && res.err === 0) res.err = r.err;
        }
        break;
      }
    }
    void type;
    return res;
  }

  createNode(
    path: string,
    data: Buffer | null,
    acl: readonly AclT[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
  ): number {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!parent) return Err.NONODE;
    const name = baseName(path);
    const children = (parent.children ??= new Set());
    if (children.has(name)) return Err.NODEEXISTS;
    this.hashOut(parent);
    if (parentCVersion === -1) parentCVersion = parent.cversion + 1;
    // Only move forward: a fuzzy snapshot may already contain this change.
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion;
      parent.pzxid = zxid;
    }
    this.hashIn(parentPath, parent);
    const node = new ZNode(ownBytes(data), this.internAcl(acl), zxid, zxid, time, time, 0, 0, 0, owner, zxid);
    children.add(name);
    this.nodes.set(path, node);
    this.hashIn(path, node);
    this.approximateDataSize += path.length + (data ? data.length : 0);
    this.trackOwner(path, owner);
    if (parentPath.startsWith(QUOTA_ROOT)) {
      const quotaPath = parentPath.slice(QUOTA_ROOT.length);
      if (name === LIMIT_NODE) this.quotas.add(quotaPath);
      if (name === STAT_NODE) this.recountQuota(quotaPath);
    }
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, data ? data.length : 0, 1);
    this.watches.nodeCreated(path, parentPath, zxid, node.acl, parent.acl);
    return 0;
  }

  deleteNode(path: string, zxid: number): number {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!parent) return Err.NONODE;
    // The parent's pzxid moves even when the child is already gone: replaying a delete over a
    // fuzzy snapshot must leave the parent as the original delete did (DataTree.deleteNode).
    this.hashOut(parent);
    parent.children?.delete(baseName(path));
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.hashIn(parentPath, parent);
    const node = this.nodes.get(path);
    if (!node) return Err.NONODE;
    this.nodes.delete(path);
    this.hashOut(node);
    this.approximateDataSize -= path.length + (node.data ? node.data.length : 0);
    const owner = node.ephemeralOwner;
    if (owner === CONTAINER_OWNER) this.containers.delete(path);
    else if (isTtlOwner(owner)) this.ttls.delete(path);
    else if (owner !== 0n) {
      const s = this.ephemerals.get(owner);
      if (s) {
        s.delete(path);
        if (s.size === 0) this.ephemerals.delete(owner);
      }
    }
    if (parentPath.startsWith(QUOTA_ROOT) && baseName(path) === LIMIT_NODE) {
      this.quotas.delete(parentPath.slice(QUOTA_ROOT.length));
    }
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, -(node.data ? node.data.length : 0), -1);
    this.watches.nodeDeleted(path, parentPath, zxid, node.acl, parent.acl);
    return 0;
  }

  private setCversionPzxid(path: string, cversion: number, zxid: number): void {
    const n = this.nodes.get(path);
    if (!n) return;
    if (cversion === -1) cversion = n.cversion + 1;
    if (cversion <= n.cversion) return;
    this.hashOut(n);
    n.cversion = cversion;
    n.pzxid = zxid;
    this.hashIn(path, n);
  }

  /** Adds to the `count`/`bytes` of the quota'd path's stat node, in place. */
  private updateQuotaStat(quotaPath: string, bytesDiff: number, countDiff: number): void {
    const statNode = this.nodes.get(`${QUOTA_ROOT}${quotaPath}/${STAT_NODE}`);
    if (!statNode) return;
    const stats = parseStatsTrack(statNode.data ? statNode.data.toString('utf8') : '');
    stats.set('count', (stats.get('count') ?? -1) + countDiff);
    stats.set('bytes', (stats.get('bytes') ?? -1) + bytesDiff);
    statNode.data = Buffer.from(formatStatsTrack(stats), 'utf8');
  }

  /** Counts the subtree at `quotaPath` into its stat node (when the stat node is created or loaded). */
  recountQuota(quotaPath: string): void {
    const statNode = this.nodes.get(`${QUOTA_ROOT}${quotaPath}/${STAT_NODE}`);
    if (!statNode) return;
    let count = 0;
    let bytes = 0;
    const walk = (p: string): void => {
      const n = this.nodes.get(p);
      if (!n) return;
      count++;
      bytes += n.data ? n.data.length : 0;
      if (n.children) for (const c of n.children) walk(p === '/' ? `/${c}` : `${p}/${c}`);
    };
    walk(quotaPath);
    statNode.data = Buffer.from(formatStatsTrack(new Map([['count', count], ['bytes', bytes]])), 'utf8');
  }

  /** Deletes every ephemeral of the session, deepest paths first. */
  killSession(sessionId: bigint, zxid: number): void {
    const paths = this.ephemerals.get(sessionId);
    if (!paths) return;
    const sorted = [...paths].sort((a, b) => b.length - a.length);
    for (const p of sorted) this.deleteNode(p, zxid);
    this.ephemerals.delete(sessionId);
  }

  /** Paths of the session's ephemerals (for CloseSessionTxn and getEphemerals). */
  ephemeralsOf(sessionId: bigint): string[] {
    return [...(this.ephemerals.get(sessionId) ?? [])];
  }

  /** SetWatches reconciliation on reconnect (DataTree.setWatches). */
  setWatches(
    relativeZxid: number,
    dataWatches: string[],
    existWatches: string[],
    childWatches: string[],
    persistent: string[],
    persistentRecursive: string[],
    w: import('./watches.js').Watcher,
  ): void {
    const { data, child } = this.watches;
    for (const p of dataWatches) {
      const n = this.nodes.get(p);
      if (!n) w.notify(EventType.NodeDeleted, p, -1);
      else if (n.mzxid > relativeZxid) w.notify(EventType.NodeDataChanged, p, -1);
      else data.add(p, w, 1);
    }
    for (const p of existWatches) {
      if (this.nodes.has(p)) w.notify(EventType.NodeCreated, p, -1);
      else data.add(p, w, 1);
    }
    for (const p of childWatches) {
      const n = this.nodes.get(p);
      if (!n) w.notify(EventType.NodeDeleted, p, -1);
      else if (n.pzxid > relativeZxid) w.notify(EventType.NodeChildrenChanged, p, -1);
      else child.add(p, w, 1);
    }
    for (const p of persistent) this.watches.addWatch(p, w, 0);
    for (const p of persistentRecursive) this.watches.addWatch(p, w, 1);
  }
}
