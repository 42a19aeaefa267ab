// The in-memory znode tree and the application of committed transactions to it
// (ZooKeeper's DataTree.processTxn). Pure: no I/O, no clock; times and zxids come in the txns.

import { Err, EventType, OpCode } from '../protocol/constants.js';
import type { AclT, StatT } from '../protocol/records.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../protocol/acls.js';
import { baseName, parentOf } from '../protocol/paths.js';
import type { Txn, TxnBody } from './txn.js';
import { WatchManager } from './watches.js';
import { LIMIT_NODE, QUOTA_ROOT, QuotaPrefixes, STAT_NODE } from './quota.js';
import { addToQuotaStat, quotaLimitPaths, recountQuotaStat } from './quotaStats.js';
import { hashStoredNode, STAT_BYTES, TreeDigest, type StatLike } from './digest.js';
import { NO_SLOT, NodeTable, type NodeReader } from './nodeTable.js';
import { AclCache } from './aclCache.js';
import { CONTAINER_OWNER, isSessionOwner, isTtlOwner, ttlOwner } from './ephemeralOwner.js';

// The ephemeralOwner encoding moved to its own module; importers of this one keep working.
export { CONTAINER_OWNER, isSessionOwner, isTtlOwner, TTL_TAG, ttlOfOwner, ttlOwner } from './ephemeralOwner.js';

/**
 * A node's fields as one record: what a snapshot load hands to loadNode and what get() returns
 * (a copy: later changes to the tree do not show in it).
 */
export interface ZNode extends StatLike {
  data: Buffer | null;
  acl: AclT[];
  numChildren: number;
}

export interface TxnResult {
  err: number;
  path: string;
  stat: StatT | undefined;
  /** Present for multi: one result per sub-txn (type is the sub-txn's op, or -1 for errors). */
  multi: { type: number; err: number; path: string; stat: StatT | undefined }[] | undefined;
}

/** Where hashIn puts a node's stat bytes. */
const statBytes = Buffer.alloc(STAT_BYTES);
/** The system nodes' (empty, non-null) value. */
const NO_DATA = Buffer.alloc(0);
const EMPTY_ACL: AclT[] = Object.freeze([]) as unknown as AclT[];

export class DataTree {
  private readonly nodes = new NodeTable();
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  readonly watches = new WatchManager();
  readonly quotas = new QuotaPrefixes();
  /** Interned ACL lists: nodes hold an id into it (ZooKeeper's ReferenceCountedACLCache). */
  private readonly acls = new AclCache();
  /**
   * Nodes a fuzzy snapshot loaded with an ACL its table lacked (snapshot.ts parseSnapshot); the
   * replayed create (NODEEXISTS) or setACL that made that ACL gives it back.
   */
  private readonly aclPending = new Set<string>();
  lastProcessedZxid = 0;
  /** ZooKeeper's tree digest, kept up to date by every change. */
  readonly digest = new TreeDigest();
  /** Sum of path lengths and data sizes; starts with the built-in nodes ("", /, /zookeeper, ...), as Apache counts. */
  approximateDataSize = 44;

  constructor() {
    this.init();
  }

  /** The node store, for reads by slot (requests, snapshots); changes go through this class. */
  get table(): NodeReader {
    return this.nodes;
  }

  /** Back to a fresh tree (an ensemble learner rebuilds its state after TRUNC or SNAP). */
  reset(): void {
    this.beginLoad();
    this.lastProcessedZxid = 0;
    this.approximateDataSize = 44;
    this.init();
  }

  private init(): void {
    const root = this.nodes.add('/', NO_SLOT, this.fields(NO_DATA, this.acls.idOf(OPEN_ACL_UNSAFE), 0, 0, 0, 0n));
    this.hashIn(root);
    this.addSystemNode('/zookeeper', OPEN_ACL_UNSAFE);
    this.addSystemNode('/zookeeper/quota', OPEN_ACL_UNSAFE);
    // DataTree.addConfigNode sets the ACL with setACL(..., -1), which stores -1 as aversion.
    this.addSystemNode('/zookeeper/config', READ_ACL_UNSAFE, -1);
  }

  private fields(data: Uint8Array | null, aclId: number, zxid: number, time: number, aversion: number, owner: bigint) {
    return {
      data,
      aclId,
      czxid: zxid,
      mzxid: zxid,
      pzxid: zxid,
      ctime: time,
      mtime: time,
      version: 0,
      cversion: 0,
      aversion,
      ephemeralOwner: owner,
    };
  }

  private addSystemNode(path: string, acl: readonly AclT[], aversion = 0): void {
    const slot = this.nodes.add(path, this.nodes.find(parentOf(path)), this.fields(NO_DATA, this.acls.idOf(acl), 0, 0, aversion, 0n));
    this.hashIn(slot);
  }

  /** Adds the node's (re)computed hash to the tree digest (NodeHashMap.postChange). */
  private hashIn(slot: number): void {
    const t = this.nodes;
    t.putPersistedStat(slot, statBytes, 0);
    const d = hashStoredNode(t.pathAt(slot), t, slot, statBytes);
    t.setDigest(slot, d);
    this.digest.add(d);
  }

  /** Takes the node's hash out before a change (NodeHashMap.preChange). */
  private hashOut(slot: number): void {
    this.digest.remove(this.nodes.digestAt(slot));
  }

  /** Empties the tree before a snapshot is loaded into it with loadNode. */
  beginLoad(): void {
    this.nodes.clear();
    this.ephemerals.clear();
    this.containers.clear();
    this.ttls.clear();
    this.acls.clear();
    this.aclPending.clear();
    this.quotas.clear();
    this.digest.reset();
  }

  /** Adds a node read from a snapshot; parents come before children (pre-order). */
  loadNode(path: string, n: StatLike & { data: Buffer | null; acl: readonly AclT[] }, aclPending = false): void {
    let parent = NO_SLOT;
    if (path !== '/') {
      parent = this.nodes.find(parentOf(path));
      if (parent === NO_SLOT) throw new Error(`snapshot lists ${path} before its parent`);
    }
    if (this.nodes.find(path) !== NO_SLOT) throw new Error(`snapshot lists ${path} twice`);
    const slot = this.nodes.add(path, parent, { ...n, aclId: this.acls.idOf(n.acl) });
    this.hashIn(slot);
    this.trackOwner(path, n.ephemeralOwner);
    if (aclPending) this.aclPending.add(path);
  }

  /** Nodes whose ACL a loaded snapshot lacked and no replayed txn has restored yet. */
  aclPendingPaths(): string[] {
    return [...this.aclPending];
  }

  /** Indexes a new node by its owner: containers, TTL nodes, a session's ephemerals. */
  private trackOwner(path: string, owner: bigint): void {
    if (owner === CONTAINER_OWNER) this.containers.add(path);
    else if (isTtlOwner(owner)) this.ttls.add(path);
    else if (owner !== 0n) {
      let s = this.ephemerals.get(owner);
      if (!s) {
        s = new Set();
        this.ephemerals.set(owner, s);
      }
      s.add(path);
    }
  }

  /** After loadNode: quota table, quota stat nodes and size accounting, as DataTree.setupQuota. */
  finishLoad(): void {
    const t = this.nodes;
    if (t.find('/') === NO_SLOT) throw new Error('snapshot has no root node');
    for (const q of quotaLimitPaths(t)) {
      this.quotas.add(q);
      this.recountQuota(q);
    }
    // ZooKeeper's node map holds the root twice ("" and "/"): its data counts twice.
    let size = t.dataLengthAt(t.find('/'));
    t.forEachNode((p, slot) => {
      size += p.length + t.dataLengthAt(slot);
    });
    this.approximateDataSize = size;
  }

  /** One shared array per distinct ACL list, like ZooKeeper's ReferenceCountedACLCache. */
  internAcl(acl: readonly AclT[]): AclT[] {
    return this.acls.at(this.acls.idOf(acl))!;
  }

  /** Every distinct ACL list in use (the interned arrays nodes point to). */
  aclLists(): IterableIterator<AclT[]> {
    return this.acls.values();
  }

  /** The node's slot in `table`, or NO_SLOT. */
  find(path: string): number {
    const slot = this.nodes.find(path);
    // ZooKeeper's node map also holds "" as an alias of the root, so reads of "" see "/".
    return slot === NO_SLOT && path === '' ? this.nodes.find('/') : slot;
  }

  /** A copy of the node's fields, or undefined. */
  get(path: string): ZNode | undefined {
    const slot = this.find(path);
    return slot === NO_SLOT ? undefined : this.nodeAt(slot);
  }

  nodeAt(slot: number): ZNode {
    const t = this.nodes;
    return {
      ...t.persistedStatAt(slot),
      data: t.valueAt(slot),
      acl: this.aclAt(slot),
      numChildren: t.childCountAt(slot),
    };
  }

  /** Client-visible Stat. cversion is reported as 2*stored - numChildren, as DataNode.copyStat does. */
  statAt(slot: number): StatT {
    const t = this.nodes;
    const numChildren = t.childCountAt(slot);
    const owner = t.ownerAt(slot);
    return {
      czxid: t.czxidAt(slot),
      mzxid: t.mzxidAt(slot),
      ctime: t.ctimeAt(slot),
      mtime: t.mtimeAt(slot),
      version: t.versionAt(slot),
      cversion: t.cversionAt(slot) * 2 - numChildren,
      aversion: t.aversionAt(slot),
      ephemeralOwner: isSessionOwner(owner) ? owner : 0n,
      dataLength: t.dataLengthAt(slot),
      numChildren,
      pzxid: t.pzxidAt(slot),
    };
  }

  /** The node's value as a fresh Buffer (null for a node created with null data). */
  dataAt(slot: number): Buffer | null {
    return this.nodes.valueAt(slot);
  }

  aclAt(slot: number): AclT[] {
    return this.acls.at(this.nodes.aclIdAt(slot)) ?? EMPTY_ACL;
  }

  childrenAt(slot: number): string[] {
    const t = this.nodes;
    const out: string[] = [];
    for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) out.push(t.nameAt(c));
    return out;
  }

  /** Every node's path (the root as "/"). */
  paths(): IterableIterator<string> {
    return this.nodes.allPaths();
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
    const t = this.nodes;
    const count = (slot: number): number => {
      let n = 0;
      for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) n += 1 + count(c);
      return n;
    };
    const slot = t.find(path);
    return slot === NO_SLOT ? 0 : count(slot);
  }

  /**
   * ZKDatabase.initConfigInZKDatabase: an ensemble member's configuration written into
   * /zookeeper/config outside any txn (version -1, mzxid = the configuration's version).
   */
  setConfigNode(data: Buffer, configVersion: number, time: number): void {
    const t = this.nodes;
    const slot = t.find('/zookeeper/config');
    if (slot === NO_SLOT) return;
    this.hashOut(slot);
    this.approximateDataSize += data.length - t.dataLengthAt(slot);
    t.setValue(slot, data);
    t.setVersion(slot, -1);
    t.setMzxid(slot, configVersion);
    t.setMtime(slot, time);
    this.hashIn(slot);
  }

  processTxn(txn: Txn): TxnResult {
    const { header, body } = txn;
    const res = this.apply(header.type, body, header.clientId, header.zxid, header.time);
    if (header.zxid > this.lastProcessedZxid) this.lastProcessedZxid = header.zxid;
    return res;
  }

  private apply(type: number, body: TxnBody, clientId: bigint, zxid: number, time: number): TxnResult {
    const res: TxnResult = { err: 0, path: '', stat: undefined, multi: undefined };
    const t = this.nodes;
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
        const slot = this.createNode(body.path, body.data, body.acl, owner, body.parentCVersion, zxid, time);
        res.err = Math.min(slot, 0);
        // Only create2 and its kin answer with the new node's stat; a plain create, the usual
        // one, answers with the path alone.
        if (slot >= 0) {
          if (body.op !== OpCode.create) res.stat = this.statAt(slot);
        }
        // Only while replaying over a fuzzy snapshot (prep rules it out otherwise): the node was
        // deleted and re-created after the snapshot saw its parent, so bring the parent forward.
        else if (slot === Err.NODEEXISTS) {
          this.setCversionPzxid(parentOf(body.path), body.parentCVersion, zxid);
          if (this.aclPending.delete(body.path)) t.setAclId(t.find(body.path), this.acls.idOf(body.acl));
        }
        break;
      }
      case 'delete':
        res.path = body.path;
        res.err = this.deleteNode(body.path, zxid);
        break;
      case 'setData': {
        res.path = body.path;
        const slot = t.find(body.path);
        if (slot === NO_SLOT) {
          res.err = Err.NONODE;
          break;
        }
        const old = t.dataLengthAt(slot);
        const now = body.data ? body.data.length : 0;
        this.hashOut(slot);
        t.setValue(slot, body.data);
        this.approximateDataSize += now - old;
        const prefix = this.quotas.maxPrefix(body.path);
        if (prefix !== undefined) addToQuotaStat(this.nodes, prefix, now - old, 0);
        t.setVersion(slot, body.version);
        t.setMzxid(slot, zxid);
        t.setMtime(slot, time);
        this.hashIn(slot);
        res.stat = this.statAt(slot);
        this.watches.nodeDataChanged(body.path, zxid, this.aclAt(slot));
        break;
      }
      case 'setACL': {
        res.path = body.path;
        const slot = t.find(body.path);
        if (slot === NO_SLOT) {
          res.err = Err.NONODE;
          break;
        }
        this.hashOut(slot);
        t.setAclId(slot, this.acls.idOf(body.acl));
        this.aclPending.delete(body.path);
        t.setAversion(slot, body.version);
        this.hashIn(slot);
        res.stat = this.statAt(slot);
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
        this.killSession(clientId, zxid, body.paths2Delete);
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

  /** Returns the new node's slot, or a (negative) error code: NONODE or NODEEXISTS. */
  createNode(
    path: string,
    data: Buffer | null,
    acl: readonly AclT[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
  ): number {
    const t = this.nodes;
    const parentPath = parentOf(path);
    const parent = t.find(parentPath);
    if (parent === NO_SLOT) return Err.NONODE;
    if (t.find(path) !== NO_SLOT) return Err.NODEEXISTS;
    this.hashOut(parent);
    if (parentCVersion === -1) parentCVersion = t.cversionAt(parent) + 1;
    // Only move forward: a fuzzy snapshot may already contain this change.
    if (parentCVersion > t.cversionAt(parent)) {
      t.setCversion(parent, parentCVersion);
      t.setPzxid(parent, zxid);
    }
    this.hashIn(parent);
    const slot = t.add(path, parent, this.fields(data, this.acls.idOf(acl), zxid, time, 0, owner));
    this.hashIn(slot);
    this.approximateDataSize += path.length + (data ? data.length : 0);
    this.trackOwner(path, owner);
    if (parentPath.startsWith(QUOTA_ROOT)) {
      const quotaPath = parentPath.slice(QUOTA_ROOT.length);
      const name = baseName(path);
      if (name === LIMIT_NODE) this.quotas.add(quotaPath);
      if (name === STAT_NODE) this.recountQuota(quotaPath);
    }
    const prefix = this.quotas.maxPrefix(path);
    if (prefix !== undefined) addToQuotaStat(this.nodes, prefix, data ? data.length : 0, 1);
    this.watches.nodeCreated(path, parentPath, zxid, this.aclAt(slot), this.aclAt(parent));
    return slot;
  }

  deleteNode(path: string, zxid: number): number {
    const t = this.nodes;
    const parentPath = parentOf(path);
    const parent = t.find(parentPath);
    if (parent === NO_SLOT) return Err.NONODE;
    // The parent's pzxid moves even when the child is already gone: replaying a delete over a
    // fuzzy snapshot must leave the parent as the original delete did (DataTree.deleteNode).
    const slot = t.find(path);
    this.aclPending.delete(path);
    this.hashOut(parent);
    let dataLength = 0;
    let owner = 0n;
    let acl = EMPTY_ACL;
    if (slot !== NO_SLOT) {
      dataLength = t.dataLengthAt(slot);
      owner = t.ownerAt(slot);
      acl = this.aclAt(slot);
      this.hashOut(slot);
      t.remove(slot);
    }
    if (zxid > t.pzxidAt(parent)) t.setPzxid(parent, zxid);
    this.hashIn(parent);
    if (slot === NO_SLOT) return Err.NONODE;
    this.approximateDataSize -= path.length + dataLength;
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
    if (prefix !== undefined) addToQuotaStat(this.nodes, prefix, -dataLength, -1);
    this.watches.nodeDeleted(path, parentPath, zxid, acl, this.aclAt(parent));
    return 0;
  }

  private setCversionPzxid(path: string, cversion: number, zxid: number): void {
    const t = this.nodes;
    const slot = t.find(path);
    if (slot === NO_SLOT) return;
    if (cversion === -1) cversion = t.cversionAt(slot) + 1;
    if (cversion <= t.cversionAt(slot)) return;
    this.hashOut(slot);
    t.setCversion(slot, cversion);
    t.setPzxid(slot, zxid);
    this.hashIn(slot);
  }

  /** Counts the subtree at `quotaPath` into its stat node (when the stat node is created or loaded). */
  recountQuota(quotaPath: string): void {
    recountQuotaStat(this.nodes, quotaPath);
  }

  /** Deletes the session's ephemerals (and whatever its CloseSessionTxn lists), deepest paths first. */
  killSession(sessionId: bigint, zxid: number, paths2Delete: readonly string[] = []): void {
    // As ZooKeeper's killSession: the paths the CloseSessionTxn lists go first, whoever owns them
    // now, then any ephemeral of the session the txn did not list (deleteNode took the listed
    // ones out of the session's set).
    for (const p of [...paths2Delete].sort(longestFirst)) this.deleteNode(p, zxid);
    const rest = this.ephemerals.get(sessionId);
    if (rest) for (const p of [...rest].sort(longestFirst)) this.deleteNode(p, zxid);
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
    const t = this.nodes;
    for (const p of dataWatches) {
      const slot = t.find(p);
      if (slot === NO_SLOT) w.notify(EventType.NodeDeleted, p, -1);
      else if (t.mzxidAt(slot) > relativeZxid) w.notify(EventType.NodeDataChanged, p, -1);
      else data.add(p, w, 1);
    }
    for (const p of existWatches) {
      if (t.find(p) !== NO_SLOT) w.notify(EventType.NodeCreated, p, -1);
      else data.add(p, w, 1);
    }
    for (const p of childWatches) {
      const slot = t.find(p);
      if (slot === NO_SLOT) w.notify(EventType.NodeDeleted, p, -1);
      else if (t.pzxidAt(slot) > relativeZxid) w.notify(EventType.NodeChildrenChanged, p, -1);
      else child.add(p, w, 1);
    }
    for (const p of persistent) this.watches.addWatch(p, w, 0);
    for (const p of persistentRecursive) this.watches.addWatch(p, w, 1);
  }
}

function longestFirst(a: string, b: string): number {
  return b.length - a.length;
}
