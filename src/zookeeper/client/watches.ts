// The client's own watch tables (ZKWatchManager): which callbacks a server event fires, and the
// paths to re-arm with SetWatches/SetWatches2 after a reconnect. Paths here are client paths.

import { EventType, WatcherType } from '../protocol/constants.js';
import type { Watcher } from './types.js';

type Table = Map<string, Set<Watcher>>;

export interface WatchPaths {
  data: string[];
  exist: string[];
  child: string[];
  persistent: string[];
  persistentRecursive: string[];
}

export interface RemovedWatcher {
  watcher: Watcher;
  /** The client-generated event type to deliver: DataWatchRemoved, ChildWatchRemoved, PersistentWatchRemoved. */
  eventType: number;
}

function add(t: Table, path: string, w: Watcher): void {
  let s = t.get(path);
  if (s === undefined) {
    s = new Set();
    t.set(path, s);
  }
  s.add(w);
}

function take(t: Table, path: string, out: Set<Watcher>): void {
  const s = t.get(path);
  if (s === undefined) return;
  t.delete(path);
  for (const w of s) out.add(w);
}

function copyInto(t: Table, path: string, out: Set<Watcher>): void {
  const s = t.get(path);
  if (s !== undefined) for (const w of s) out.add(w);
}

export class WatchManager {
  readonly data: Table = new Map();
  readonly exist: Table = new Map();
  readonly child: Table = new Map();
  readonly persistent: Table = new Map();
  readonly persistentRecursive: Table = new Map();

  addData(path: string, w: Watcher): void {
    add(this.data, path, w);
  }
  addExist(path: string, w: Watcher): void {
    add(this.exist, path, w);
  }
  addChild(path: string, w: Watcher): void {
    add(this.child, path, w);
  }
  addPersistent(path: string, w: Watcher, recursive: boolean): void {
    add(recursive ? this.persistentRecursive : this.persistent, path, w);
  }

  /** Watchers a server event fires; one-shot watchers are removed from their tables. */
  trigger(type: number, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take(this.data, path, out);
        take(this.exist, path, out);
        break;
      case EventType.NodeChildrenChanged:
        take(this.child, path, out);
        break;
      case EventType.NodeDeleted:
        take(this.data, path, out);
        take(this.exist, path, out);
        take(this.child, path, out);
        break;
      default:
        break;
    }
    copyInto(this.persistent, path, out);
    // Recursive watches see the node and every descendant, but never NodeChildrenChanged.
    if (type !== EventType.NodeChildrenChanged && this.persistentRecursive.size > 0) {
      let p = path;
      for (;;) {
        copyInto(this.persistentRecursive, p, out);
        if (p === '/') break;
        const i = p.lastIndexOf('/');
        p = i <= 0 ? '/' : p.slice(0, i);
      }
    }
    return out;
  }

  /** Does the table set for `type` hold `watcher` (any watcher when omitted) on `path`? */
  contains(path: string, type: number, watcher?: Watcher): boolean {
    const has = (t: Table): boolean => {
      const s = t.get(path);
      return s !== undefined && s.size > 0 && (watcher === undefined || s.has(watcher));
    };
    return this.tablesFor(type).some(([t]) => has(t));
  }

  /**
   * Remove watchers of `type` on `path` (only `watcher` if given). Returns what was removed, and
   * whether any watcher of that kind is left on the path (then the server watch must stay).
   */
  remove(path: string, type: number, watcher?: Watcher): { removed: RemovedWatcher[]; remaining: boolean } {
    const removed: RemovedWatcher[] = [];
    const seen = new Set<Watcher>();
    let remaining = false;
    for (const [t, eventType] of this.tablesFor(type)) {
      const s = t.get(path);
      if (s === undefined) continue;
      if (watcher === undefined) {
        for (const w of s) {
          if (!seen.has(w)) removed.push({ watcher: w, eventType });
          seen.add(w);
        }
        t.delete(path);
      } else if (s.delete(watcher)) {
        if (!seen.has(watcher)) removed.push({ watcher, eventType });
        seen.add(watcher);
        if (s.size === 0) t.delete(path);
        else remaining = true;
      } else if (s.size > 0) {
        remaining = true;
      }
    }
    return { removed, remaining };
  }

  /** Would removing `watcher` leave other watchers of `type`'s kinds on `path`? */
  othersRemain(path: string, type: number, watcher: Watcher): boolean {
    for (const [t] of this.tablesFor(type)) {
      const s = t.get(path);
      if (s !== undefined) for (const w of s) if (w !== watcher) return true;
    }
    return false;
  }

  private tablesFor(type: number): [Table, number][] {
    const data: [Table, number] = [this.data, EventType.DataWatchRemoved];
    const exist: [Table, number] = [this.exist, EventType.DataWatchRemoved];
    const child: [Table, number] = [this.child, EventType.ChildWatchRemoved];
    const pers: [Table, number] = [this.persistent, EventType.PersistentWatchRemoved];
    const rec: [Table, number] = [this.persistentRecursive, EventType.PersistentWatchRemoved];
    switch (type) {
      case WatcherType.Children:
        return [child];
      case WatcherType.Data:
        return [data, exist];
      case WatcherType.Persistent:
        return [pers];
      case WatcherType.PersistentRecursive:
        return [rec];
      case WatcherType.Any:
        return [data, exist, child, pers, rec];
      default:
        return [];
    }
  }

  /** Paths to re-arm after a reconnect. */
  paths(): WatchPaths {
    return {
      data: [...this.data.keys()],
      exist: [...this.exist.keys()],
      child: [...this.child.keys()],
      persistent: [...this.persistent.keys()],
      persistentRecursive: [...this.persistentRecursive.keys()],
    };
  }

  get isEmpty(): boolean {
    return (
      this.data.size === 0 &&
      this.exist.size === 0 &&
      this.child.size === 0 &&
      this.persistent.size === 0 &&
      this.persistentRecursive.size === 0
    );
  }

  /** Drop every watch; returns each distinct watcher with one path it was set on. */
  clear(): Map<Watcher, string> {
    const out = new Map<Watcher, string>();
    for (const t of [this.data, this.exist, this.child, this.persistent, this.persistentRecursive]) {
      for (const [path, s] of t) for (const w of s) if (!out.has(w)) out.set(w, path);
      t.clear();
    }
    return out;
  }
}

/**
 * Split the watch paths into SetWatches packets of about `maxBytes` of paths each (the Java
 * client's SET_WATCHES_MAX_LENGTH is 128 KB), filling the lists in order.
 */
export function batchSetWatches(all: WatchPaths, maxBytes: number): WatchPaths[] {
  const lists = [all.data, all.exist, all.child, all.persistent, all.persistentRecursive];
  const idx = [0, 0, 0, 0, 0];
  const out: WatchPaths[] = [];
  while (idx.some((i, k) => i < lists[k]!.length)) {
    const batch: string[][] = [[], [], [], [], []];
    let bytes = 0;
    for (let k = 0; k < 5; k++) {
      const l = lists[k]!;
      while (idx[k]! < l.length && bytes < maxBytes) {
        const path = l[idx[k]!++]!;
        batch[k]!.push(path);
        bytes += Buffer.byteLength(path) + 4;
      }
    }
    const [data, exist, child, persistent, persistentRecursive] = batch as [string[], string[], string[], string[], string[]];
    out.push({ data, exist, child, persistent, persistentRecursive });
  }
  return out;
}
