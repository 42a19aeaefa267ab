// Checkpoint bookkeeping. AckTracker (pure) turns acknowledgements, which may come in any order,
// into the position before which every line was acknowledged: only that position may be written
// to the checkpoint file, so a restart after kill -9 repeats at most the unacknowledged tail and
// never skips a line. The file is written atomically (temp file, fsync, rename).

import { open, readFile, rename, rm } from 'node:fs/promises';

/** A position read and not yet known to be acknowledged. */
export interface AckToken {
  endPosition: number;
  acked: boolean;
}

/** Per file generation: the end positions of lines in flight, oldest first. */
export class AckTracker {
  private readonly pending: AckToken[] = [];
  /** Index of the oldest entry still in `pending` (entries before it were removed lazily). */
  private head = 0;
  private committedPosition: number;

  constructor(startPosition: number) {
    this.committedPosition = startPosition;
  }

  /** Every line before this position is acknowledged. */
  get committed(): number {
    return this.committedPosition;
  }

  /** Lines (or read-only advances) not yet folded into `committed`. */
  get outstanding(): number {
    return this.pending.length - this.head;
  }

  /**
   * A line ending at `endPosition` was handed on; returns the token to acknowledge it with. Lines
   * must be added in position order.
   */
  add(endPosition: number): AckToken {
    const p = { endPosition, acked: false };
    this.pending.push(p);
    return p;
  }

  /** Bytes read that carry no line (empty lines): committed as soon as everything before is. */
  advance(endPosition: number): void {
    if (this.outstanding === 0) this.committedPosition = Math.max(this.committedPosition, endPosition);
    else this.pending.push({ endPosition, acked: true });
  }

  /** Marks a line acknowledged; returns true when `committed` moved. */
  ack(token: AckToken): boolean {
    token.acked = true;
    let moved = false;
    while (this.head < this.pending.length && this.pending[this.head]!.acked) {
      this.committedPosition = Math.max(this.committedPosition, this.pending[this.head]!.endPosition);
      this.head++;
      moved = true;
    }
    // Compact now and then rather than shift() per ack (O(n) each).
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }
}

/** One tailed file in the checkpoint: where its next unacknowledged line starts. */
export interface CheckpointEntry {
  path: string;
  /** stat's dev and ino as decimal strings (inode numbers can exceed 2^53). */
  dev: string;
  ino: string;
  position: number;
}

export interface CheckpointFile {
  version: 1;
  files: CheckpointEntry[];
}

/** Entries kept in a checkpoint file at most (files tailed once and never again are dropped oldest first). */
export const checkpointEntriesMax = 10_000;

/** Parses a checkpoint file's text; throws a clear error for anything malformed. */
export function parseCheckpoint(text: string): Map<string, CheckpointEntry> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint is not JSON: ${(e as Error).message}`);
  }
  const files = (v as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new Error('checkpoint has no "files" array');
  const out = new Map<string, CheckpointEntry>();
  for (const f of files) {
    const e = f as Record<string, unknown>;
    const idOk = (x: unknown): x is string | number =>
      (typeof x === 'string' && /^\d+$/.test(x)) || (typeof x === 'number' && Number.isInteger(x));
    if (
      typeof e.path !== 'string' ||
      !idOk(e.dev) ||
      !idOk(e.ino) ||
      typeof e.position !== 'number' ||
      !Number.isSafeInteger(e.position) ||
      e.position < 0
    )
      throw new Error(`checkpoint entry is malformed: ${JSON.stringify(f).slice(0, 200)}`);
    out.set(e.path, { path: e.path, dev: String(e.dev), ino: String(e.ino), position: e.position });
  }
  return out;
}

export function serializeCheckpoint(entries: Iterable<CheckpointEntry>): string {
  const files = [...entries].slice(-checkpointEntriesMax);
  const body: CheckpointFile = { version: 1, files };
  return `${JSON.stringify(body, null, 1)}\n`;
}

/** The entries of the checkpoint at `path`; empty when it does not exist yet. */
export async function loadCheckpoint(path: string): Promise<Map<string, CheckpointEntry>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  try {
    return parseCheckpoint(text);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Writes the checkpoint so that a crash leaves either the old or the new one whole. */
export async function writeCheckpoint(path: string, entries: Iterable<CheckpointEntry>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(serializeCheckpoint(entries));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
