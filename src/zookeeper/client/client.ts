// ZooKeeperClient: the typed, promise-based operations on top of the session engine.
// Paths are client paths (the chroot is added on the way out and stripped on the way back);
// every failure rejects with a ZooKeeperError.

import { AddWatchMode, Err, OpCode } from '../protocol/constants.js';
import {
  AddWatchRequest,
  Create2Response,
  CreateResponse,
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
  PathRequest,
  SetACLRequest,
  SetDataRequest,
  SetDataResponse,
  StatResponse,
  SyncResponse,
  WatchTypeRequest,
  WhoAmIResponse,
  type AclT,
} from '../protocol/records.js';
import { validatePath } from './connectString.js';
import { badArguments, MultiError, ZooKeeperError } from './errors.js';
import {
  copyData,
  decodeMulti,
  decodeMultiRead,
  encodeCreate,
  firstFailure,
  multiEncoder,
  multiReadEncoder,
  Op,
  planCreate,
  toData,
} from './requests.js';
import { ZooKeeperSession } from './session.js';
import type { Acl, ClientInfo, ClientOptions, CreateOptions, Data, OpResult, ReadOp, ReadResult, Stat, Watcher } from './types.js';

function check(err: number, path: string | undefined): void {
  if (err !== 0) throw new ZooKeeperError(err, path);
}

function checkWatcher(w: Watcher | undefined): void {
  if (w !== undefined && typeof w !== 'function') throw badArguments(undefined, 'watcher must be a function');
}

export class ZooKeeperClient extends ZooKeeperSession {
  constructor(options: ClientOptions) {
    super(options);
  }

  /** The chroot of the connect string ('' if none). */
  get chrootPath(): string {
    return this.chroot.prefix;
  }

  // ---- create / delete

  /** Create a node; resolves with its actual path (sequential suffix included). */
  async create(path: string, data?: Data, options?: CreateOptions): Promise<string> {
    const plan = planCreate(path, options, false);
    const buf = toData(data);
    return this.submit(
      plan.op,
      path,
      (w) => encodeCreate(w, this.chroot.toServer(path), buf, plan),
      (err, r) => {
        check(err, path);
        // create (1) answers CreateResponse; createContainer/createTTL answer Create2Response.
        const p = plan.op === OpCode.create ? CreateResponse.decode(r).path : Create2Response.decode(r).path;
        return this.chroot.toClient(p);
      },
    );
  }

  /** Create a node and return its Stat too (create2, or createContainer/createTTL). */
  async createWithStat(path: string, data?: Data, options?: CreateOptions): Promise<{ path: string; stat: Stat }> {
    const plan = planCreate(path, options, true);
    const buf = toData(data);
    return this.submit(
      plan.op,
      path,
      (w) => encodeCreate(w, this.chroot.toServer(path), buf, plan),
      (err, r) => {
        check(err, path);
        const c = Create2Response.decode(r);
        return { path: this.chroot.toClient(c.path), stat: c.stat };
      },
    );
  }

  /** Delete a node; version -1 means any version. */
  async delete(path: string, version = -1): Promise<void> {
    validatePath(path);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.delete,
      path,
      (w) => DeleteRequest.encode(w, { path: sp, version }),
      (err) => check(err, path),
    );
  }

  // ---- reads (optionally leaving a one-shot watch)

  /** Stat of the node, or null if it does not exist. A watcher is armed in both cases. */
  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    validatePath(path);
    checkWatcher(watcher);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.exists,
      path,
      (w) => GetDataRequest.encode(w, { path: sp, watch: watcher !== undefined }),
      (err, r) => {
        if (err === Err.NONODE) {
          if (watcher) this.watches.addExist(path, watcher);
          return null;
        }
        check(err, path);
        const stat = StatResponse.decode(r).stat;
        if (watcher) this.watches.addData(path, watcher);
        return stat;
      },
    );
  }

  async getData(path: string, watcher?: Watcher): Promise<{ data: Buffer | null; stat: Stat }> {
    validatePath(path);
    checkWatcher(watcher);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.getData,
      path,
      (w) => GetDataRequest.encode(w, { path: sp, watch: watcher !== undefined }),
      (err, r) => {
        check(err, path);
        const d = GetDataResponse.decode(r);
        if (watcher) this.watches.addData(path, watcher);
        return { data: copyData(d.data), stat: d.stat };
      },
    );
  }

  /** Set data; version -1 means any version. Resolves with the new Stat. */
  async setData(path: string, data: Data, version = -1): Promise<Stat> {
    validatePath(path);
    const buf = toData(data);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.setData,
      path,
      (w) => SetDataRequest.encode(w, { path: sp, data: buf, version }),
      (err, r) => {
        check(err, path);
        return SetDataResponse.decode(r).stat;
      },
    );
  }

  async getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }> {
    validatePath(path);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.getACL,
      path,
      (w) => PathRequest.encode(w, { path: sp }),
      (err, r) => {
        check(err, path);
        return GetACLResponse.decode(r);
      },
    );
  }

  /** Replace the ACL; `aclVersion` is checked against the node's aversion (-1 = any). */
  async setACL(path: string, acl: readonly Acl[], aclVersion = -1): Promise<Stat> {
    validatePath(path);
    if (!Array.isArray(acl) || acl.length === 0) throw new ZooKeeperError(Err.INVALIDACL, path, 'empty ACL');
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.setACL,
      path,
      (w) => SetACLRequest.encode(w, { path: sp, acl: acl as AclT[], version: aclVersion }),
      (err, r) => {
        check(err, path);
        return StatResponse.decode(r).stat;
      },
    );
  }

  /** Child names (unordered, as the server returns them). Op 8. */
  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    validatePath(path);
    checkWatcher(watcher);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.getChildren,
      path,
      (w) => GetChildrenRequest.encode(w, { path: sp, watch: watcher !== undefined }),
      (err, r) => {
        check(err, path);
        const children = GetChildrenResponse.decode(r).children;
        if (watcher) this.watches.addChild(path, watcher);
        return children;
      },
    );
  }

  /** Child names and the parent's Stat. Op 12. */
  async getChildren2(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat }> {
    validatePath(path);
    checkWatcher(watcher);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.getChildren2,
      path,
      (w) => GetChildrenRequest.encode(w, { path: sp, watch: watcher !== undefined }),
      (err, r) => {
        check(err, path);
        const res = GetChildren2Response.decode(r);
        if (watcher) this.watches.addChild(path, watcher);
        return res;
      },
    );
  }

  /** Wait until the server we talk to has caught up with the leader. Resolves with the path. */
  async sync(path: string): Promise<string> {
    validatePath(path);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.sync,
      path,
      (w) => PathRequest.encode(w, { path: sp }),
      (err, r) => {
        check(err, path);
        return this.chroot.toClient(SyncResponse.decode(r).path);
      },
    );
  }

  /** Number of all descendants of the node. */
  async getAllChildrenNumber(path: string): Promise<number> {
    validatePath(path);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.getAllChildrenNumber,
      path,
      (w) => PathRequest.encode(w, { path: sp }),
      (err, r) => {
        check(err, path);
        return GetAllChildrenNumberResponse.decode(r).totalNumber;
      },
    );
  }

  /**
   * Paths of this session's ephemeral nodes whose path starts with `prefix` (a string prefix,
   * as the server matches it). With a chroot, only nodes inside it are returned, chroot stripped.
   */
  async getEphemerals(prefix = '/'): Promise<string[]> {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw badArguments(prefix, 'prefix must start with /');
    const sp = this.chroot.toServer(prefix);
    return this.submit(
      OpCode.getEphemerals,
      prefix,
      (w) => GetEphemeralsRequest.encode(w, { prefixPath: sp }),
      (err, r) => {
        check(err, prefix);
        const all = GetEphemeralsResponse.decode(r).ephemerals;
        return all.filter((p) => this.chroot.contains(p)).map((p) => this.chroot.toClient(p));
      },
    );
  }

  /** The auth identities the server holds for this connection (3.7+). */
  async whoAmI(): Promise<ClientInfo[]> {
    return this.submit(OpCode.whoAmI, undefined, null, (err, r) => {
      check(err, undefined);
      return WhoAmIResponse.decode(r).clientInfo.map((c) => ({ scheme: c.authScheme, user: c.user }));
    });
  }

  // ---- auth

  /**
   * Add an auth identity (e.g. 'digest', 'user:password'). It is re-sent after every reconnect.
   * An unknown scheme or bad credentials make the server answer AUTHFAILED and close the
   * connection; the client then enters the terminal authFailed state.
   */
  async addAuth(scheme: string, auth: Buffer | string): Promise<void> {
    if (typeof scheme !== 'string' || scheme === '') throw badArguments(undefined, 'scheme must be a non-empty string');
    return this.sendAuth(scheme, typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth);
  }

  // ---- multi

  /** Atomic multi-op (op 14). Rejects with MultiError (carrying every op's result) on failure. */
  async multi(ops: readonly Op[]): Promise<OpResult[]> {
    const body = multiEncoder(ops, this.chroot);
    return this.submit(OpCode.multi, undefined, body, (err, r) => {
      check(err, undefined);
      const results = decodeMulti(r, this.chroot);
      const i = firstFailure(results);
      if (i >= 0) {
        const failed = results[i] as { err: number };
        throw new MultiError(failed.err, ops[i]?.path, i, results);
      }
      return results;
    });
  }

  /** Fluent multi builder: `client.transaction().create(...).check(...).commit()`. */
  transaction(): Transaction {
    return new Transaction(this);
  }

  /** Non-atomic batch of reads (op 22, 3.6+); each result is data, children or an error. */
  async multiRead(ops: readonly ReadOp[]): Promise<ReadResult[]> {
    const body = multiReadEncoder(ops, this.chroot);
    return this.submit(OpCode.multiRead, undefined, body, (err, r) => {
      check(err, undefined);
      return decodeMultiRead(r);
    });
  }

  // ---- watches

  /**
   * Add a persistent watch (mode Persistent: the node's own events, children changes included)
   * or a persistent-recursive one (the node and all descendants, no NodeChildrenChanged). It
   * stays until removeWatches and is re-armed after reconnects.
   */
  async addWatch(path: string, watcher: Watcher, mode: number = AddWatchMode.Persistent): Promise<void> {
    validatePath(path);
    if (typeof watcher !== 'function') throw badArguments(path, 'watcher must be a function');
    if (mode !== AddWatchMode.Persistent && mode !== AddWatchMode.PersistentRecursive) {
      throw badArguments(path, `invalid addWatch mode ${mode}`);
    }
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.addWatch,
      path,
      (w) => AddWatchRequest.encode(w, { path: sp, mode }),
      (err, r) => {
        check(err, path);
        // The reply body is an ErrorResponse (4 bytes) in Apache ZooKeeper.
        if (r.remaining >= 4) check(ErrorResponse.decode(r).err, path);
        this.watches.addPersistent(path, watcher, mode === AddWatchMode.PersistentRecursive);
      },
    );
  }

  /**
   * Remove watches of `type` (WatcherType) on `path`: just `watcher`, or all of that type.
   * NOWATCHER if the client holds no such watch. If other local watchers of the same kind
   * remain, the server's watch is kept and no request is sent. Removed watchers receive a
   * DataWatchRemoved / ChildWatchRemoved / PersistentWatchRemoved event.
   * (Apache ZooKeeper 3.8 accepts types Children, Data and Any only; Any removes persistent
   * watches too.)
   */
  async removeWatches(path: string, type: number, watcher?: Watcher): Promise<void> {
    validatePath(path);
    if (!this.watches.contains(path, type, watcher)) throw new ZooKeeperError(Err.NOWATCHER, path);
    const local = (): void => {
      const { removed } = this.watches.remove(path, type, watcher);
      for (const { watcher: w, eventType } of removed) this.callWatcher(w, { type: eventType, state: 3, path });
    };
    if (watcher !== undefined) {
      // Keep the server watch while other watchers of these kinds still want it.
      if (this.watches.othersRemain(path, type, watcher)) {
        local();
        return;
      }
    }
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.removeWatches,
      path,
      (w) => WatchTypeRequest.encode(w, { path: sp, type }),
      (err) => {
        // NOWATCHER: the server watch already fired or went; the local one is stale. Drop it.
        if (err !== 0 && err !== Err.NOWATCHER) check(err, path);
        local();
      },
    );
  }

  /** Ask the server whether this connection holds a watch of `type` on `path` (NOWATCHER if not). */
  async checkWatches(path: string, type: number): Promise<void> {
    validatePath(path);
    const sp = this.chroot.toServer(path);
    return this.submit(
      OpCode.checkWatches,
      path,
      (w) => WatchTypeRequest.encode(w, { path: sp, type }),
      (err) => check(err, path),
    );
  }
}

/** Builder for multi(); ops are validated when committed. */
export class Transaction {
  private readonly ops: Op[] = [];
  constructor(private readonly client: ZooKeeperClient) {}

  create(path: string, data?: Data, options?: CreateOptions & { withStat?: boolean }): this {
    this.ops.push(Op.create(path, data, options));
    return this;
  }
  delete(path: string, version = -1): this {
    this.ops.push(Op.delete(path, version));
    return this;
  }
  setData(path: string, data: Data, version = -1): this {
    this.ops.push(Op.setData(path, data, version));
    return this;
  }
  check(path: string, version: number): this {
    this.ops.push(Op.check(path, version));
    return this;
  }
  get size(): number {
    return this.ops.length;
  }
  commit(): Promise<OpResult[]> {
    return this.client.multi(this.ops);
  }
}
