// Wakes the shipper's file loop as soon as a followed file changes, instead of at the next poll.
// One fs.watch (inotify on Linux) per directory holding followed files: a directory watch reports
// writes to its files, and also a file created at a followed path and a rename beside it, which a
// watch on the file itself (its inode) would not. The events of `coalesceMs` after the first one
// become one `onChange` call, one more pass of the shipper's loop, which reads each file once: a
// writer writing line by line costs a read and a Produce per window, not per line, and a file is
// never read twice at once.
//
// The poll stays as the fallback: fs.watch does not fire on some file systems (NFS, some FUSE and
// container overlays), for a symlink's target in another directory, or once the inotify watch limit
// is reached; those files are simply read at the poll interval, as before.

import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import type { Logger } from '../../../util/log.js';

interface DirWatch {
  watcher: FSWatcher | undefined;
  /** Base names of followed files in this directory. */
  readonly names: Set<string>;
  /** Their stems (app for app.log): a rotated sibling (app.log.1, app-2026.log) starts with one. */
  readonly stems: Set<string>;
}

/** Whether a change to `name` in a directory may concern one of its followed files. */
export function concernsFollowed(name: string | null, names: ReadonlySet<string>, stems: ReadonlySet<string>): boolean {
  if (name === null) return true; // the platform did not say which file: look
  if (names.has(name)) return true;
  for (const s of stems) if (name.startsWith(s)) return true;
  return false;
}

export class FileWatches {
  private readonly dirs = new Map<string, DirWatch>();
  private closed = false;
  private warned = false;
  private coalesceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
    private readonly coalesceMs = 0,
  ) {}

  add(path: string): void {
    const dir = dirname(path);
    let d = this.dirs.get(dir);
    if (d === undefined) {
      d = { watcher: undefined, names: new Set(), stems: new Set() };
      this.dirs.set(dir, d);
    }
    d.names.add(basename(path));
    const stem = basename(path, extname(path));
    if (stem !== '') d.stems.add(stem);
    if (d.watcher === undefined) this.open(dir, d);
  }

  /** Tries again to watch directories that could not be watched (missing then, or the watch failed); once per poll. */
  retry(): void {
    for (const [dir, d] of this.dirs) if (d.watcher === undefined) this.open(dir, d);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.coalesceTimer);
    for (const d of this.dirs.values()) {
      d.watcher?.close();
      d.watcher = undefined;
    }
  }

  private open(dir: string, d: DirWatch): void {
    if (this.closed) return;
    let w: FSWatcher;
    try {
      // Not persistent: the shipper's own timers decide how long the process lives.
      w = watch(dir, { persistent: false }, (_event, name) => {
        if (concernsFollowed(typeof name === 'string' ? name : null, d.names, d.stems)) this.changed();
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A missing directory may appear later (retried each poll); anything else (ENOSPC: the inotify
      // watch limit, fs.inotify.max_user_watches) is said once and polled.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && !this.warned) {
        this.warned = true;
        this.log.warn({ dir, err: (e as Error).message }, 'cannot watch the directory; its files are polled only');
      }
      return;
    }
    w.on('error', (e: Error) => {
      // E.g. the directory was removed: drop the watch, poll, and try again at the next poll.
      this.log.debug({ dir, err: e.message }, 'directory watch ended; polling until it can be watched again');
      w.close();
      if (d.watcher === w) d.watcher = undefined;
      this.changed();
    });
    d.watcher = w;
  }

  private changed(): void {
    if (this.coalesceTimer !== undefined || this.closed) return;
    if (this.coalesceMs <= 0) {
      this.onChange();
      return;
    }
    this.coalesceTimer = setTimeout(() => {
      this.coalesceTimer = undefined;
      if (!this.closed) this.onChange();
    }, this.coalesceMs);
  }
}
