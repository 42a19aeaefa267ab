// The prep stage (ZooKeeper's PrepRequestProcessor): validates a write against the tree plus
// the changes of writes already prepped but not yet applied, assigns its zxid and turns it into
// a transaction. Pure: the time and the session check come in from the caller.

import { CreateMode, Err, OpCode, Perms, TTL_MAX_MS } from '../protocol/constants.js';
import type { AclT, IdT } from '../protocol/records.js';
import { type AclProviders, checkAcl, fixupAcl } from './acl.js';
import { CONTAINER_OWNER, type DataTree, isSessionOwner, ttlOwner } from './datatree.js';
import { NO_SLOT } from './nodeTable.js';
import { pathError, sequenceSuffix } from '../protocol/paths.js';
import type { NodeType, SubTxn, Txn, TxnBody } from './txn.js';
import { DigestShadow } from './digestShadow.js';
import { Fifo } from '../../util/fifo.js';
import { checkQuota, type QuotaExceeded } from './quota.js';

export class KeeperError extends Error {
  constructor(
    readonly code: number,
    readonly path?: string,
  ) {
    super(`keeper error ${code}${path ? ` for ${path}` : ''}`);
  }
}

/**
 * A failure ZooKeeper hits outside its KeeperException handling (a ClassCastException in prep):
 * the whole request, even a whole multi, becomes one MARSHALLINGERROR ErrorTxn.
 */
export class MarshallingAbort extends Error {}

interface ChangeRecord {
  zxid: number;
  path: string;
  exists: boolean;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  childCount: number;
  acl: AclT[];
  /** The node's data length as it will be (setData's quota check takes the old length from here). */
  dataLength: number;
}

export interface CreateReq {
  path: string;
  data: Buffer | null;
  acl: AclT[];
  flags: number;
  ttl?: number;
}

/** A decoded write sub-request; `op` is its opcode. */
export type WriteOp =
  | { op: 1 | 15 | 19 | 21; req: CreateReq }
  | { op: 2; req: { path: string; version: number } }
  | { op: 20; req: { path: string } }
  | { op: 5; req: { path: string; data: Buffer | null; version: number } }
  | { op: 7; req: { path: string; acl: AclT[]; version: number } }
  | { op: 13; req: { path: string; version: number } };

export interface PrepContext {
  sessionId: bigint;
  cxid: number;
  auth: readonly IdT[];
  time: number;
  /** Throws SESSIONEXPIRED if the session is gone or closing. */
  checkSession(): void;
  /**
   * An ephemeral create's check (validateCreateRequest): throws the request's local-session
   * refusal if it carries one, SESSIONEXPIRED if the session is not a live global one. Without
   * it (no local sessions: tools, tests) ephemeral creates use checkSession.
   */
  checkGlobalSession?(): void;
}

export interface PrepOptions {
  extendedTypesEnabled: boolean;
  skipAcl: boolean;
  /** zookeeper.enforceQuota: hard quota limits refuse writes (QUOTAEXCEEDED). */
  enforceQuota?: boolean;
  /** Told of every limit a write goes past (soft ones only warn), for the log and metrics. */
  onQuotaExceeded?: (q: QuotaExceeded, time: number) => void;
  /** x509 ACL ids are valid: the x509 provider is registered (a TLS client port, tls/). */
  x509Enabled?: boolean;
  /** authProvider.N=SASLAuthenticationProvider: `sasl` ACLs are valid. */
  saslAcl?: boolean;
}

export class PrepStage {
  /** Last zxid handed out. */
  lastZxid: number;
  private readonly pending = new Map<string, ChangeRecord>();
  /** Change records in zxid order, dropped as soon as applied so that they die young. */
  private readonly pendingOrder = new Fifo<ChangeRecord>();
  private readonly digests: DigestShadow;
  private readonly aclProviders: AclProviders;

  constructor(
    private readonly tree: DataTree,
    private readonly opts: PrepOptions,
  ) {
    this.aclProviders = { x509: opts.x509Enabled ?? false, sasl: opts.saslAcl ?? false };
    this.lastZxid = tree.lastProcessedZxid;
    this.digests = new DigestShadow(tree);
  }

  /** Attaches the post-txn tree digest (ZooKeeper logs none for error txns). */
  private withDigest(txn: Txn): Txn {
    if (txn.body.kind !== 'error') txn.digest = this.digests.after(txn);
    return txn;
  }

  nextZxid(): number {
    return ++this.lastZxid;
  }

  /** Drops change records of applied txns (FinalRequestProcessor's outstandingChanges pruning). */
  applied(zxid: number): void {
    this.digests.applied(zxid);
    const order = this.pendingOrder;
    while (order.length > 0 && order.peek()!.zxid <= zxid) {
      const cr = order.shift()!;
      if (this.pending.get(cr.path) === cr) this.pending.delete(cr.path);
    }
  }

  private record(path: string): ChangeRecord {
    const cr = this.pending.get(path);
    if (cr) {
      if (!cr.exists) throw new KeeperError(Err.NONODE, path);
      return cr;
    }
    const tree = this.tree;
    const slot = tree.find(path);
    if (slot === NO_SLOT) throw new KeeperError(Err.NONODE, path);
    const t = tree.table;
    return {
      zxid: 0,
      path,
      exists: true,
      version: t.versionAt(slot),
      cversion: t.cversionAt(slot),
      aversion: t.aversionAt(slot),
      ephemeralOwner: t.ownerAt(slot),
      childCount: t.childCountAt(slot),
      acl: tree.aclAt(slot),
      dataLength: t.dataLengthAt(slot),
    };
  }

  private exists(path: string): boolean {
    const cr = this.pending.get(path);
    if (cr) return cr.exists;
    return this.tree.find(path) !== NO_SLOT;
  }

  private addChange(cr: ChangeRecord, undo: (() => void)[] | undefined): void {
    const prev = this.pending.get(cr.path);
    this.pending.set(cr.path, cr);
    this.pendingOrder.push(cr);
    if (undo) {
      undo.push(() => {
        if (prev) this.pending.set(cr.path, prev);
        else this.pending.delete(cr.path);
      });
    }
  }

  private checkAcl(acl: readonly AclT[], perm: number, ctx: PrepContext): void {
    if (!checkAcl(acl, perm, ctx.auth, this.opts.skipAcl)) throw new KeeperError(Err.NOAUTH);
  }

  /** Validates one write and records its pending effects; returns the sub-txn. */
  private prepOne(w: WriteOp, zxid: number, ctx: PrepContext, undo: (() => void)[] | undefined): SubTxn {
    switch (w.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.prepCreate(w.op, w.req, zxid, ctx, undo);
      case OpCode.delete: {
        ctx.checkSession();
        const { path, version } = w.req;
        const parentPath = this.parentAndValidate(path);
        const parent = this.record(parentPath);
        this.checkAcl(parent.acl, Perms.DELETE, ctx);
        const node = this.record(path);
        checkVersion(node.version, version, path);
        if (node.childCount > 0) throw new KeeperError(Err.NOTEMPTY, path);
        this.addChange({ ...parent, zxid, childCount: parent.childCount - 1 }, undo);
        this.addChange(deletedRecord(zxid, path), undo);
        return { kind: 'delete', op: w.op, path };
      }
      case OpCode.deleteContainer: {
        const { path } = w.req;
        const parentPath = this.parentAndValidate(path);
        const node = this.record(path);
        if (node.childCount > 0) throw new KeeperError(Err.NOTEMPTY, path);
        if (isSessionOwner(node.ephemeralOwner) || node.ephemeralOwner === 0n) throw new KeeperError(Err.BADVERSION, path);
        const parent = this.record(parentPath);
        this.addChange({ ...parent, zxid, childCount: parent.childCount - 1 }, undo);
        this.addChange(deletedRecord(zxid, path), undo);
        return { kind: 'delete', op: w.op, path };
      }
      case OpCode.setData: {
        ctx.checkSession();
        const { path, data, version } = w.req;
        this.validate(path);
        const node = this.record(path);
        this.checkAcl(node.acl, Perms.WRITE, ctx);
        const dataLength = data ? data.length : 0;
        // ZooKeeper checks the quota after the ACL and before the version.
        this.checkQuota(path, dataLength - node.dataLength, 0, ctx);
        const newVersion = checkVersion(node.version, version, path);
        this.addChange({ ...node, zxid, version: newVersion, dataLength }, undo);
        return { kind: 'setData', op: w.op, path, data: data ? Buffer.from(data) : null, version: newVersion };
      }
      case OpCode.setACL: {
        ctx.checkSession();
        const { path, acl, version } = w.req;
        this.validate(path);
        const fixed = fixupAcl(acl, ctx.auth, this.aclProviders);
        if (typeof fixed === 'number') throw new KeeperError(fixed, path);
        const node = this.record(path);
        this.checkAcl(node.acl, Perms.ADMIN, ctx);
        const newVersion = checkVersion(node.aversion, version, path);
        this.addChange({ ...node, zxid, aversion: newVersion, acl: fixed }, undo);
        return { kind: 'setACL', op: w.op, path, acl: fixed, version: newVersion };
      }
      case OpCode.check: {
        ctx.checkSession();
        const { path, version } = w.req;
        this.validate(path);
        const node = this.record(path);
        this.checkAcl(node.acl, Perms.READ, ctx);
        checkVersion(node.version, version, path);
        return { kind: 'check', op: w.op, path, version };
      }
    }
  }

  private prepCreate(op: 1 | 15 | 19 | 21, req: CreateReq, zxid: number, ctx: PrepContext, undo: (() => void)[] | undefined): SubTxn {
    // A multi sub-op whose TTL flags came without a CreateTTLRequest (requests.ts multiCreateOp):
    // ZooKeeper casts the CreateRequest to CreateTTLRequest and fails.
    if (op === OpCode.createTTL && req.ttl === undefined) throw new MarshallingAbort();
    const flags = req.flags;
    if (flags < 0 || flags > 6) throw new KeeperError(Err.BADARGUMENTS, req.path);
    const isTtl = flags === CreateMode.PERSISTENT_WITH_TTL || flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const isContainer = flags === CreateMode.CONTAINER;
    const isEphemeral = flags === CreateMode.EPHEMERAL || flags === CreateMode.EPHEMERAL_SEQUENTIAL;
    const isSequential =
      flags === CreateMode.PERSISTENT_SEQUENTIAL ||
      flags === CreateMode.EPHEMERAL_SEQUENTIAL ||
      flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const ttl = op === OpCode.createTTL ? (req.ttl ?? -1) : -1;
    if (isTtl && !this.opts.extendedTypesEnabled) throw new KeeperError(Err.UNIMPLEMENTED, req.path);
    if (isTtl ? ttl <= 0 || ttl > TTL_MAX_MS : ttl >= 0) throw new KeeperError(Err.BADARGUMENTS, req.path);
    // createTTL with a non-TTL mode and ttl -1 passes ZooKeeper's validateTTL and then kills the
    // server when the txn is applied (TTL.toEphemeralOwner(-1) throws in the SyncThread). We
    // refuse it instead (docs/COMPATIBILITY.md).
    if (op === OpCode.createTTL && !isTtl) throw new KeeperError(Err.BADARGUMENTS, req.path);
    if (isEphemeral && ctx.checkGlobalSession) ctx.checkGlobalSession();
    else ctx.checkSession();
    let path = req.path;
    // validatePathForCreate: only the basic shape here; the full check runs after the suffix.
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.indexOf('\0') !== -1) throw new KeeperError(Err.BADARGUMENTS, path);
    const parentPath = lastSlash === 0 ? '/' : path.slice(0, lastSlash);
    const acl = fixupAcl(req.acl, ctx.auth, this.aclProviders);
    if (typeof acl === 'number') throw new KeeperError(acl, path);
    const parent = this.record(parentPath);
    this.checkAcl(parent.acl, Perms.CREATE, ctx);
    if (isSequential) path += sequenceSuffix(parent.cversion);
    if (pathError(path) !== undefined) throw new KeeperError(Err.BADARGUMENTS, path);
    if (this.exists(path)) throw new KeeperError(Err.NODEEXISTS, path);
    if (isSessionOwner(parent.ephemeralOwner)) throw new KeeperError(Err.NOCHILDRENFOREPHEMERALS, path);
    const newCversion = parent.cversion + 1;
    const dataLength = req.data ? req.data.length : 0;
    this.checkQuota(path, dataLength, 1, ctx);
    const nodeType: NodeType =
      op === OpCode.createContainer ? 'container' : op === OpCode.createTTL ? 'ttl' : isEphemeral ? 'ephemeral' : 'persistent';
    const owner = isContainer ? CONTAINER_OWNER : isTtl ? ttlOwner(ttl) : isEphemeral ? ctx.sessionId : 0n;
    this.addChange({ ...parent, zxid, childCount: parent.childCount + 1, cversion: newCversion }, undo);
    this.addChange(
      { zxid, path, exists: true, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, childCount: 0, acl, dataLength },
      undo,
    );
    return {
      kind: 'create',
      op,
      path,
      data: req.data ? Buffer.from(req.data) : null,
      acl,
      nodeType,
      parentCVersion: newCversion,
      ttl: isTtl ? ttl : 0,
    };
  }

  /** ZooKeeperServer.checkQuota, when enforceQuota is set: a hard limit refuses the write. */
  private checkQuota(path: string, bytesDiff: number, countDiff: number, ctx: PrepContext): void {
    if (!this.opts.enforceQuota) return;
    for (const q of checkQuota(this.tree, path, bytesDiff, countDiff)) {
      this.opts.onQuotaExceeded?.(q, ctx.time);
      if (q.hard) throw new KeeperError(Err.QUOTAEXCEEDED, q.prefix);
    }
  }

  private validate(path: string): void {
    if (pathError(path) !== undefined) throw new KeeperError(Err.BADARGUMENTS, path);
  }

  /**
   * getParentPathAndValidate: deletes get no full PathUtils check, only "has a slash, no NUL, not
   * a special node". A malformed path such as `/a/` then fails the lookup (NONODE), as in ZooKeeper.
   */
  private parentAndValidate(path: string): string {
    const lastSlash = path.lastIndexOf('/');
    if (
      lastSlash === -1 ||
      path.indexOf('\0') !== -1 ||
      path === '/' ||
      path === '/zookeeper' ||
      path === '/zookeeper/quota' ||
      path === '/zookeeper/config'
    ) {
      throw new KeeperError(Err.BADARGUMENTS, path);
    }
    return lastSlash === 0 ? '/' : path.slice(0, lastSlash);
  }

  /** Prep a single write request; failures become an error txn that still takes a zxid. */
  prepareWrite(w: WriteOp, ctx: PrepContext): Txn {
    const zxid = this.nextZxid();
    const header = { clientId: ctx.sessionId, cxid: ctx.cxid, zxid, time: ctx.time, type: w.op as number };
    try {
      return this.withDigest({ header, body: this.prepOne(w, zxid, ctx, undefined) });
    } catch (e) {
      if (!(e instanceof KeeperError) && !(e instanceof MarshallingAbort)) throw e;
      header.type = OpCode.error;
      return { header, body: { kind: 'error', op: OpCode.error, err: e instanceof KeeperError ? e.code : Err.MARSHALLINGERROR } };
    }
  }

  /** Prep a multi: all sub-ops share one zxid; the first failure rolls back pending changes. */
  prepareMulti(ops: WriteOp[], ctx: PrepContext): Txn {
    const zxid = this.nextZxid();
    const header = { clientId: ctx.sessionId, cxid: ctx.cxid, zxid, time: ctx.time, type: OpCode.multi as number };
    const undo: (() => void)[] = [];
    const txns: SubTxn[] = [];
    let failed = false;
    for (const w of ops) {
      if (failed) {
        txns.push({ kind: 'error', op: OpCode.error, err: Err.RUNTIMEINCONSISTENCY });
        continue;
      }
      try {
        txns.push(this.prepOne(w, zxid, ctx, undo));
      } catch (e) {
        if (e instanceof MarshallingAbort) {
          for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
          header.type = OpCode.error;
          return { header, body: { kind: 'error', op: OpCode.error, err: Err.MARSHALLINGERROR } };
        }
        if (!(e instanceof KeeperError)) throw e;
        failed = true;
        txns.push({ kind: 'error', op: OpCode.error, err: e.code });
        for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      }
    }
    return this.withDigest({ header, body: { kind: 'multi', op: OpCode.multi, txns } });
  }

  /** The session's ephemerals as they will be once pending writes apply (for CloseSessionTxn). */
  ephemeralsForClose(sessionId: bigint): string[] {
    const es = new Set(this.tree.ephemeralsOf(sessionId));
    // The latest pending change of each path decides (ZooKeeper walks all outstanding changes in
    // order, to the same effect): gone, or there again under another owner (which took a pending
    // delete of this session's node first), means not this session's to delete.
    for (const cr of this.pending.values()) {
      if (cr.exists && cr.ephemeralOwner === sessionId) es.add(cr.path);
      else es.delete(cr.path);
    }
    return [...es];
  }

  /** A txn with no validation (createSession/closeSession, marshalling errors). */
  prepareRaw(type: number, body: TxnBody, sessionId: bigint, cxid: number, time: number): Txn {
    const zxid = this.nextZxid();
    if (body.kind === 'closeSession') {
      // Ephemerals the session owns, including ones still pending creation, are deleted.
      for (const p of body.paths2Delete) this.addChange(deletedRecord(zxid, p), undefined);
    }
    return this.withDigest({ header: { clientId: sessionId, cxid, zxid, time, type }, body });
  }
}

function deletedRecord(zxid: number, path: string): ChangeRecord {
  return { zxid, path, exists: false, version: -1, cversion: 0, aversion: 0, ephemeralOwner: 0n, childCount: 0, acl: [], dataLength: 0 };
}

/** -1 matches any version; returns the incremented version. */
function checkVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new KeeperError(Err.BADVERSION, path);
  return (current + 1) | 0;
}
