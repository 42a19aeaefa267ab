// Watch tables, as ZooKeeper's WatchManager keeps them: one table for data/exist watches and
// one for child watches. A watcher (a connection) may hold several modes on one path at once:
// a one-shot standard watch plus a persistent one, so modes are bit flags.

import type { AclT, IdT } from '../protocol/records.js';
import { EventType } from '../protocol/constants.js';
import { checkAcl } from './acl.js';

export const WatchMode = {
  STANDARD: 1,
  PERSISTENT: 2,
  PERSISTENT_RECURSIVE: 4,
} as const;

export interface Watcher {
  /** Sends a notification (xid -1) on this connection. */
  notify(type: number, path: string, zxid: number): void;
  /** Auth ids used to filter events the session may not read (CVE-2024-23944). */
  readonly authIds: readonly IdT[];
}

export class WatchTable {
  readonly byPath = new Map<string, Map<Watcher, number>>();
  readonly byWatcher = new Map<Watcher, Map<string, number>>();
  private recursiveCount = 0;

  add(path: string, w: Watcher, mode: number): void {
    let ws = this.byPath.get(path);
    if (!ws) {
      ws = new Map();
      this.byPath.set(path, ws);
    }
    const prev = ws.get(w) ?? 0;
    if (prev & mode) return;
    ws.set(w, prev | mode);
    let ps = this.byWatcher.get(w);
    if (!ps) {
      ps = new Map();
      this.byWatcher.set(w, ps);
    }
    ps.set(path, prev | mode);
    if (mode === WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount++;
  }

  /** Clears `mask` bits of w's watch on path; returns true if any were set. */
  remove(path: string, w: Watcher, mask: number): boolean {
    const ws = this.byPath.get(path);
    const prev = ws?.get(w);
    if (!ws || prev === undefined || (prev & mask) === 0) return false;
    const next = prev & ~mask;
    if (prev & mask & WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount--;
    const ps = this.byWatcher.get(w)!;
    if (next === 0) {
      ws.delete(w);
      if (ws.size === 0) this.byPath.delete(path);
      ps.delete(path);
      if (ps.size === 0) this.byWatcher.delete(w);
    } else {
      ws.set(w, next);
      ps.set(path, next);
    }
    return true;
  }

  has(path: string, w: Watcher, mask: number): boolean {
    return ((this.byPath.get(path)?.get(w) ?? 0) & mask) !== 0;
  }

  removeWatcher(w: Watcher): void {
    const ps = this.byWatcher.get(w);
    if (!ps) return;
    for (const [path, mode] of ps) {
      if (mode & WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount--;
      const ws = this.byPath.get(path)!;
      ws.delete(w);
      if (ws.size === 0) this.byPath.delete(path);
    }
    this.byWatcher.delete(w);
  }

  /**
   * Fires `type` for `path`: watchers on the path itself, plus persistent-recursive watchers on
   * any ancestor. Standard watches are consumed. Each watcher gets at most one event; those in
   * `suppress` get none. Returns the watchers that matched (delivered or filtered by ACL).
   */
  trigger(
    path: string,
    type: number,
    zxid: number,
    acl: readonly AclT[] | undefined,
    suppress?: ReadonlySet<Watcher>,
  ): ReadonlySet<Watcher> {
    const ws = this.byPath.get(path);
    // The common case on the write path: nobody watches. No set allocated per write.
    if (!ws && (this.recursiveCount === 0 || path === '/')) return NO_WATCHERS;
    const hit = new Set<Watcher>();
    if (ws) {
      for (const [w, mode] of ws) {
        if (mode & WatchMode.STANDARD) this.remove(path, w, WatchMode.STANDARD);
        hit.add(w);
      }
    }
    if (this.recursiveCount > 0 && path !== '/') {
      let p = path;
      while (p !== '/') {
        const i = p.lastIndexOf('/');
        p = i === 0 ? '/' : p.slice(0, i);
        const aws = this.byPath.get(p);
        if (!aws) continue;
        for (const [w, mode] of aws) if (mode & WatchMode.PERSISTENT_RECURSIVE) hit.add(w);
      }
    }
    for (const w of hit) {
      if (suppress?.has(w)) continue;
      if (acl && !checkAcl(acl, 1, w.authIds, false)) continue;
      w.notify(type, path, zxid);
    }
    return hit;
  }

  get watchCount(): number {
    let n = 0;
    for (const ws of this.byPath.values()) n += ws.size;
    return n;
  }
}

const NO_WATCHERS: ReadonlySet<Watcher> = new Set();

export class WatchManager {
  readonly data = new WatchTable();
  readonly child = new WatchTable();

  addWatch(path: string, w: Watcher, mode: 0 | 1): void {
    if (mode === 0) {
      this.data.add(path, w, WatchMode.PERSISTENT);
      this.child.add(path, w, WatchMode.PERSISTENT);
    } else {
      this.data.add(path, w, WatchMode.PERSISTENT_RECURSIVE);
    }
  }

  removeWatcher(w: Watcher): void {
    this.data.removeWatcher(w);
    this.child.removeWatcher(w);
  }

  nodeCreated(path: string, parent: string, zxid: number, acl: readonly AclT[], parentAcl: readonly AclT[]): void {
    this.data.trigger(path, EventType.NodeCreated, zxid, acl);
    this.child.trigger(parent, EventType.NodeChildrenChanged, zxid, parentAcl);
  }

  nodeDeleted(path: string, parent: string, zxid: number, acl: readonly AclT[], parentAcl: readonly AclT[]): void {
    const fired = this.data.trigger(path, EventType.NodeDeleted, zxid, acl);
    this.child.trigger(path, EventType.NodeDeleted, zxid, acl, fired);
    this.child.trigger(parent, EventType.NodeChildrenChanged, zxid, parentAcl);
  }

  nodeDataChanged(path: string, zxid: number, acl: readonly AclT[]): void {
    this.data.trigger(path, EventType.NodeDataChanged, zxid, acl);
  }
}
