// File names and directory housekeeping of ZooKeeper's on-disk layout:
// <dataDir>/version-2/snapshot.<zxid hex> and <dataLogDir>/version-2/log.<zxid hex>, plus the
// lock that keeps two servers off one data directory.

import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const VERSION_DIR = 'version-2';
export const TXNLOG_MAGIC = 0x5a4b4c47; // "ZKLG"
export const SNAP_MAGIC = 0x5a4b534e; // "ZKSN"
export const FORMAT_VERSION = 2;

export interface NamedFile {
  path: string;
  name: string;
  zxid: number;
}

/** zxids are below 2^53 in practice (epoch < 2^21); names are Long.toHexString. */
export function zxidHex(zxid: number): string {
  return zxid.toString(16);
}

const LOG_RE = /^log\.([0-9a-fA-F]+)$/;
const SNAP_RE = /^snapshot\.([0-9a-fA-F]+)(\.gz|\.snappy)?$/;

async function list(dir: string, re: RegExp): Promise<NamedFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: NamedFile[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) out.push({ path: join(dir, name), name, zxid: parseInt(m[1]!, 16) });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/** Log files, oldest first. */
export function listLogs(logDir: string): Promise<NamedFile[]> {
  return list(logDir, LOG_RE);
}

/** Snapshot files, oldest first. */
export function listSnapshots(snapDir: string): Promise<NamedFile[]> {
  return list(snapDir, SNAP_RE);
}

/** Makes a new directory entry (a created or renamed file) durable. */
export async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export class DataDirLockedError extends Error {}

const LOCK_NAME = '.clustergenie.lock';
const heldLocks = new Set<string>();

/** Start time of a process (field 22 of /proc/<pid>/stat), so a reused pid is not mistaken. */
function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The directory's identity (device and inode): a lock file copied along with a data dir (a backup) names another one. */
function dirIdentity(dir: string): string {
  const st = statSync(dir);
  return `${st.dev}:${st.ino}`;
}

function lockOwnerAlive(text: string, dir: string): number | undefined {
  const [pidText, start, , identity] = text.split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // Written for another directory: this one is a copy, and its lock holder serves the original.
  if (identity && identity !== dirIdentity(dir)) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  const now = processStartTicks(pid);
  if (start && now && start !== now) return undefined; // the pid was reused by another process
  return pid;
}

/**
 * Takes `<dir>/.clustergenie.lock` (pid, start time, host and the directory's device:inode). A lock
 * left by a process that is gone (kill -9), or copied from another directory (a backup restored),
 * is taken over; a live holder of this directory, in this process or another, is refused.
 */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_NAME);
  if (heldLocks.has(path)) {
    throw new DataDirLockedError(`data directory ${dir} is already used by a server in this process`);
  }
  const me = `${process.pid} ${processStartTicks(process.pid) ?? ''} ${hostname()} ${dirIdentity(dir)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw e;
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue; // removed meanwhile: try again
      }
      const pid = lockOwnerAlive(text, dir);
      if (pid !== undefined && pid !== process.pid) {
        throw new DataDirLockedError(
          `data directory ${dir} is in use by process ${pid} (lock file ${path}); ` +
            'stop that server first, or delete the lock file if that process is not a ZooKeeper server',
        );
      }
      try {
        unlinkSync(path); // stale: its holder is gone
      } catch {
        // raced with another taker: the next attempt decides
      }
    }
  }
  heldLocks.add(path);
  return () => {
    heldLocks.delete(path);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
