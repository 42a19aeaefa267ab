// Request bodies: decoding per opcode, the read operations (served from the local tree), and the
// encoding of write results into reply bodies, including multi/multiRead responses.

import { CreateMode, Err, OpCode, Perms, WatcherType } from '../protocol/constants.js';
import type { JuteReader, JuteWriter } from '../protocol/jute.js';
import {
  AddWatchRequest,
  CheckVersionRequest,
  Create2Response,
  CreateRequest,
  CreateResponse,
  CreateTTLRequest,
  DeleteRequest,
  ErrorResponse,
  GetACLResponse,
  GetAllChildrenNumberResponse,
  GetChildren2Response,
  GetChildrenRequest,
  GetChildrenResponse,
  GetDataRequest,
  GetDataResponse,
  GetEphemeralsRequest,
  GetEphemeralsResponse,
  MultiHeader,
  PathRequest,
  SetACLRequest,
  SetDataRequest,
  SetWatches,
  SetWatches2,
  StatResponse,
  SyncResponse,
  WatchTypeRequest,
  WhoAmIResponse,
  type AclT,
  type IdT,
} from '../protocol/records.js';
import { checkAcl } from './acl.js';
import type { DataTree, TxnResult } from './datatree.js';
import { NO_SLOT } from './nodeTable.js';
import { KeeperError, type WriteOp } from './prep.js';
import { WatchMode, type Watcher } from './watches.js';

export type Decoded =
  | { cls: 'write'; w: WriteOp }
  | { cls: 'multi'; ops: WriteOp[] }
  | { cls: 'multiRead'; ops: { op: number; path: string }[] }
  // biome-ignore lint/suspicious/noExplicitAny: the decoded request record; executeRead switches on op to its type
  | { cls: 'read'; op: number; body: any }
  | { cls: 'sync'; path: string | null }
  | { cls: 'closeSession' };

const WRITE_OPS = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
]);

function decodeWrite(op: number, r: JuteReader): WriteOp {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { op, req: CreateRequest.decode(r) } as WriteOp;
    case OpCode.createTTL:
      return { op, req: CreateTTLRequest.decode(r) } as WriteOp;
    case OpCode.delete:
      return { op, req: DeleteRequest.decode(r) } as WriteOp;
    case OpCode.setData:
      return { op, req: SetDataRequest.decode(r) } as WriteOp;
    case OpCode.setACL:
      return { op, req: SetACLRequest.decode(r) } as WriteOp;
    case OpCode.check:
      return { op, req: CheckVersionRequest.decode(r) } as WriteOp;
  }
  throw new KeeperError(Err.MARSHALLINGERROR);
}

/**
 * MultiOperationRecord rebuilds each create with Op.create(), whose opcode comes from the flags
 * (unknown flags count as PERSISTENT), not from the MultiHeader: create2 becomes create (a
 * path-only CreateResult), container flags become createContainer, and TTL flags become
 * createTTL, which without a CreateTTLRequest body (no ttl) fails in prep (MarshallingAbort).
 */
function multiCreateOp(w: WriteOp): WriteOp {
  if (w.op !== OpCode.create && w.op !== OpCode.create2 && w.op !== OpCode.createContainer && w.op !== OpCode.createTTL) return w;
  const flags = w.req.flags;
  if (flags === CreateMode.PERSISTENT_WITH_TTL || flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL) {
    return w.op === OpCode.createTTL ? w : { op: OpCode.createTTL, req: { ...w.req, ttl: undefined } };
  }
  const op = flags === CreateMode.CONTAINER ? OpCode.createContainer : OpCode.create;
  return { op, req: { ...w.req, ttl: undefined } };
}

/** True if the next field is a null ustring (length -1); our codecs decode it as ''. */
function nullPathAhead(r: JuteReader): boolean {
  return r.remaining >= 4 && r.buf.readInt32BE(r.pos) === -1;
}

/** Request kinds whose null path (Java null) makes ZooKeeper throw a NullPointerException. */
const NULL_PATH_MARSHALLING = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.exists,
  OpCode.getData,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getACL,
  OpCode.getAllChildrenNumber,
  OpCode.checkWatches,
  OpCode.addWatch,
]);

/** Decodes a request body. Throws JuteError on malformed bytes, KeeperError(MARSHALLINGERROR) on bad multi. */
export function decodeRequest(op: number, r: JuteReader): Decoded {
  // ZooKeeper keeps a null path null and fails on it with MARSHALLINGERROR (a NullPointerException
  // caught as a marshalling error); setData/setACL instead reject it as BADARGUMENTS like "".
  if (NULL_PATH_MARSHALLING.has(op) && nullPathAhead(r)) throw new KeeperError(Err.MARSHALLINGERROR);
  if (WRITE_OPS.has(op)) return { cls: 'write', w: decodeWrite(op, r) };
  switch (op) {
    case OpCode.multi:
    case OpCode.multiRead: {
      const writes: WriteOp[] = [];
      const reads: { op: number; path: string }[] = [];
      let nullPath = false;
      for (;;) {
        const h = MultiHeader.decode(r);
        if (h.done) break;
        if (nullPathAhead(r)) nullPath = true;
        if (op === OpCode.multi) {
          if (h.type !== OpCode.check && !WRITE_OPS.has(h.type)) throw new KeeperError(Err.MARSHALLINGERROR);
          if (h.type === OpCode.setACL) throw new KeeperError(Err.MARSHALLINGERROR);
          writes.push(multiCreateOp(decodeWrite(h.type, r)));
        } else {
          if (h.type !== OpCode.getData && h.type !== OpCode.getChildren) throw new KeeperError(Err.MARSHALLINGERROR);
          reads.push({ op: h.type, path: GetChildrenRequest.decode(r).path });
        }
      }
      // A null sub-op path makes ZooKeeper fail the whole request with a NullPointerException,
      // reported as MARSHALLINGERROR (see docs/COMPATIBILITY.md for the body it also sends).
      if (nullPath) throw new KeeperError(Err.MARSHALLINGERROR);
      return op === OpCode.multi ? { cls: 'multi', ops: writes } : { cls: 'multiRead', ops: reads };
    }
    case OpCode.sync: {
      // A null path is echoed back as null (SyncResponse written with a -1 length).
      const isNull = nullPathAhead(r);
      const path = PathRequest.decode(r).path;
      return { cls: 'sync', path: isNull ? null : path };
    }
    case OpCode.closeSession:
      return { cls: 'closeSession' };
    case OpCode.exists:
    case OpCode.getData:
      return { cls: 'read', op, body: GetDataRequest.decode(r) };
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { cls: 'read', op, body: GetChildrenRequest.decode(r) };
    case OpCode.getACL:
    case OpCode.getAllChildrenNumber:
      return { cls: 'read', op, body: PathRequest.decode(r) };
    case OpCode.setWatches:
      return { cls: 'read', op, body: { ...SetWatches.decode(r), persistentWatches: [], persistentRecursiveWatches: [] } };
    case OpCode.setWatches2:
      return { cls: 'read', op, body: SetWatches2.decode(r) };
    case OpCode.addWatch:
      return { cls: 'read', op, body: AddWatchRequest.decode(r) };
    case OpCode.checkWatches:
    case OpCode.removeWatches: {
      const isNull = nullPathAhead(r);
      const body = WatchTypeRequest.decode(r);
      // removeWatches(null) finds no watch: NOWATCHER.
      return { cls: 'read', op, body: isNull ? { ...body, path: null } : body };
    }
    case OpCode.getEphemerals:
      return { cls: 'read', op, body: GetEphemeralsRequest.decode(r) };
    case OpCode.whoAmI:
    case OpCode.ping:
      return { cls: 'read', op, body: undefined };
  }
  throw new KeeperError(Err.UNIMPLEMENTED);
}

export interface ReadContext {
  tree: DataTree;
  sessionId: bigint;
  auth: readonly IdT[];
  watcher: Watcher;
  skipAcl: boolean;
}

/** Result of a read: an error code, or a body encoder. */
export type ReadResult = { err: number; encode?: (w: JuteWriter) => void };

const OK_EMPTY: ReadResult = { err: 0 };

function readable(ctx: ReadContext, acl: readonly AclT[], perm: number = Perms.READ): boolean {
  return checkAcl(acl, perm, ctx.auth, ctx.skipAcl);
}

// biome-ignore lint/suspicious/noExplicitAny: the record decoded for op; each case reads the fields of its own type
export function executeRead(op: number, body: any, ctx: ReadContext): ReadResult {
  const { tree } = ctx;
  switch (op) {
    case OpCode.ping:
      return OK_EMPTY;
    case OpCode.exists: {
      const path: string = body.path;
      if (path.indexOf('\0') !== -1) return { err: Err.BADARGUMENTS };
      const slot = tree.find(path);
      if (slot !== NO_SLOT && !readable(ctx, tree.aclAt(slot))) return { err: Err.NOAUTH };
      if (body.watch) tree.watches.data.add(path, ctx.watcher, WatchMode.STANDARD);
      if (slot === NO_SLOT) return { err: Err.NONODE };
      const stat = tree.statAt(slot);
      return { err: 0, encode: (w) => StatResponse.encode(w, { stat }) };
    }
    case OpCode.getData: {
      const slot = tree.find(body.path);
      if (slot === NO_SLOT) return { err: Err.NONODE };
      if (!readable(ctx, tree.aclAt(slot))) return { err: Err.NOAUTH };
      if (body.watch) tree.watches.data.add(body.path, ctx.watcher, WatchMode.STANDARD);
      const stat = tree.statAt(slot);
      // A copy: the reply may be encoded after a later change to the node.
      const value = tree.table.valueAt(slot);
      return { err: 0, encode: (w) => GetDataResponse.encode(w, { data: value, stat }) };
    }
    case OpCode.getChildren:
    case OpCode.getChildren2: {
      const slot = tree.find(body.path);
      if (slot === NO_SLOT) return { err: Err.NONODE };
      if (!readable(ctx, tree.aclAt(slot))) return { err: Err.NOAUTH };
      if (body.watch) tree.watches.child.add(body.path, ctx.watcher, WatchMode.STANDARD);
      const children = tree.childrenAt(slot);
      if (op === OpCode.getChildren) return { err: 0, encode: (w) => GetChildrenResponse.encode(w, { children }) };
      const stat = tree.statAt(slot);
      return { err: 0, encode: (w) => GetChildren2Response.encode(w, { children, stat }) };
    }
    case OpCode.getACL: {
      const slot = tree.find(body.path);
      if (slot === NO_SLOT) return { err: Err.NONODE };
      const nodeAcl = tree.aclAt(slot);
      if (!readable(ctx, nodeAcl, Perms.READ | Perms.ADMIN)) return { err: Err.NOAUTH };
      const stat = tree.statAt(slot);
      // Without ADMIN, digest ids are masked so password hashes do not leak (3.6+).
      const acl = readable(ctx, nodeAcl, Perms.ADMIN)
        ? nodeAcl
        : nodeAcl.map((a) =>
            a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a,
          );
      return { err: 0, encode: (w) => GetACLResponse.encode(w, { acl, stat }) };
    }
    case OpCode.getAllChildrenNumber: {
      const slot = tree.find(body.path);
      if (slot === NO_SLOT) return { err: Err.NONODE };
      if (!readable(ctx, tree.aclAt(slot))) return { err: Err.NOAUTH };
      const totalNumber = tree.allChildrenNumber(body.path);
      return { err: 0, encode: (w) => GetAllChildrenNumberResponse.encode(w, { totalNumber }) };
    }
    case OpCode.setWatches:
    case OpCode.setWatches2:
      tree.setWatches(
        body.relativeZxid,
        body.dataWatches,
        body.existWatches,
        body.childWatches,
        body.persistentWatches,
        body.persistentRecursiveWatches,
        ctx.watcher,
      );
      return OK_EMPTY;
    case OpCode.addWatch: {
      // AddWatchMode.fromValue throws on an unknown mode: a marshalling error in ZooKeeper.
      if (body.mode !== 0 && body.mode !== 1) return { err: Err.MARSHALLINGERROR };
      tree.watches.addWatch(body.path, ctx.watcher, body.mode);
      return { err: 0, encode: (w) => ErrorResponse.encode(w, { err: 0 }) };
    }
    case OpCode.checkWatches:
    case OpCode.removeWatches: {
      const masks = WATCHER_TYPE_MASKS.get(body.type);
      // WatcherType.fromInt throws on an unknown type: a marshalling error in ZooKeeper.
      if (!masks) return { err: Err.MARSHALLINGERROR };
      if (body.path === null) return { err: Err.NOWATCHER };
      if (op === OpCode.checkWatches) {
        // WatchManager.containsWatcher walks PathParentIterator: it yields nothing for "", and
        // for a path without a slash it fails computing the parent (a marshalling error).
        if (body.path === '') return { err: Err.NOWATCHER };
        if (body.path.indexOf('/') === -1) return { err: Err.MARSHALLINGERROR };
      }
      const { data, child } = tree.watches;
      let found = false;
      if (op === OpCode.checkWatches) {
        found =
          (masks.data !== 0 && data.has(body.path, ctx.watcher, masks.data)) ||
          (masks.child !== 0 && child.has(body.path, ctx.watcher, masks.child));
      } else {
        if (masks.data !== 0 && data.remove(body.path, ctx.watcher, masks.data)) found = true;
        if (masks.child !== 0 && child.remove(body.path, ctx.watcher, masks.child)) found = true;
      }
      return found ? OK_EMPTY : { err: Err.NOWATCHER };
    }
    case OpCode.getEphemerals: {
      const prefix: string = body.prefixPath ?? '';
      const all = tree.ephemeralsOf(ctx.sessionId);
      const t = prefix.trim();
      const ephemerals = t === '' || t === '/' ? all : all.filter((p) => p.startsWith(prefix));
      return { err: 0, encode: (w) => GetEphemeralsResponse.encode(w, { ephemerals }) };
    }
    case OpCode.whoAmI: {
      const clientInfo = ctx.auth.map((id) => ({ authScheme: id.scheme, user: id.scheme === 'digest' ? id.id.split(':')[0]! : id.id }));
      return { err: 0, encode: (w) => WhoAmIResponse.encode(w, { clientInfo }) };
    }
  }
  return { err: Err.UNIMPLEMENTED };
}

const ALL_MODES = WatchMode.STANDARD | WatchMode.PERSISTENT | WatchMode.PERSISTENT_RECURSIVE;

/** WatcherType -> which modes to match in the data and child tables. */
const WATCHER_TYPE_MASKS = new Map<number, { data: number; child: number }>([
  [WatcherType.Children, { data: 0, child: WatchMode.STANDARD }],
  [WatcherType.Data, { data: WatchMode.STANDARD, child: 0 }],
  [WatcherType.Any, { data: ALL_MODES, child: ALL_MODES }],
  [WatcherType.Persistent, { data: WatchMode.PERSISTENT, child: WatchMode.PERSISTENT }],
  [WatcherType.PersistentRecursive, { data: WatchMode.PERSISTENT_RECURSIVE, child: 0 }],
]);

/** multiRead: per-op results, never aborts. */
export function executeMultiRead(ops: { op: number; path: string }[], ctx: ReadContext, w: JuteWriter): void {
  for (const { op, path } of ops) {
    const r = executeRead(op, { path, watch: false }, ctx);
    if (r.err !== 0) {
      MultiHeader.encode(w, { type: -1, done: false, err: r.err });
      ErrorResponse.encode(w, { err: r.err });
    } else {
      MultiHeader.encode(w, { type: op, done: false, err: 0 });
      r.encode!(w);
    }
  }
  MultiHeader.encode(w, { type: -1, done: true, err: -1 });
}

/** Encodes a multi's results (MultiResponse). */
export function encodeMultiResult(res: TxnResult, w: JuteWriter): void {
  for (const sub of res.multi ?? []) {
    if (sub.type === -1 || sub.err !== 0) {
      MultiHeader.encode(w, { type: -1, done: false, err: sub.err });
      ErrorResponse.encode(w, { err: sub.err });
      continue;
    }
    switch (sub.type) {
      case OpCode.create:
        MultiHeader.encode(w, { type: OpCode.create, done: false, err: 0 });
        CreateResponse.encode(w, { path: sub.path });
        break;
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        MultiHeader.encode(w, { type: OpCode.create2, done: false, err: 0 });
        Create2Response.encode(w, { path: sub.path, stat: sub.stat! });
        break;
      case OpCode.setData:
        MultiHeader.encode(w, { type: OpCode.setData, done: false, err: 0 });
        StatResponse.encode(w, { stat: sub.stat! });
        break;
      default: // delete, check: no body
        MultiHeader.encode(w, { type: sub.type, done: false, err: 0 });
    }
  }
  MultiHeader.encode(w, { type: -1, done: true, err: -1 });
}

/** Reply body for a single applied write (only when err == 0). */
export function encodeWriteResult(op: number, res: TxnResult, w: JuteWriter): void {
  switch (op) {
    case OpCode.create:
      CreateResponse.encode(w, { path: res.path });
      return;
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      Create2Response.encode(w, { path: res.path, stat: res.stat! });
      return;
    case OpCode.setData:
    case OpCode.setACL:
      StatResponse.encode(w, { stat: res.stat! });
      return;
    case OpCode.multi:
      encodeMultiResult(res, w);
      return;
    case OpCode.sync:
      SyncResponse.encode(w, { path: res.path });
      return;
  }
}
