// Following one file path, looked at on each pass of the shipper's loop (woken by a directory
// watch, fileWatch.ts, else by the poll): reads appended bytes in bounded chunks, notices rotation
// (a new inode at the path: the old one is read to its end first, then the new file from 0),
// truncation (copytruncate: the size drops below the position, reading restarts at 0) and files
// that appear later (read from 0).
//
// Each inode (and each restart of a truncated one) is a Generation with its own AckTracker, so the
// checkpoint names the oldest generation that still has unacknowledged lines: after kill -9 the
// shipper finds that inode again, even renamed beside the path, and resumes where Kafka's
// acknowledgements ended.

import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from '../../../util/log.js';
import { AckTracker, type CheckpointEntry } from './checkpoint.js';
import { type Line, LineSplitter } from './lines.js';

/** Directory entries looked at when searching for a rotated file at startup. */
export const rotatedScanEntriesMax = 1000;

export interface Generation {
  readonly dev: string;
  readonly ino: string;
  readonly tracker: AckTracker;
  /** No more lines will come from it (rotated away or truncated). */
  finished: boolean;
}

export type StartMode = 'end' | 'beginning';

export interface FileTailOptions {
  lineBytesMax: number;
  readChunkBytes: number;
  /** Where a file with no checkpoint entry starts when it exists at startup. */
  start: StartMode;
  /** The checkpoint's entry for this path, if any. */
  checkpoint?: CheckpointEntry;
  /**
   * How long a file renamed away is still read (a writer may append to it for a moment) before it
   * is finished and the new file at the path is followed. Default 0: the next pass finishes it.
   */
  rotationGraceMs?: number;
  logger: Logger;
}

type Emit = (gen: Generation, line: Line) => void;

interface FileId {
  dev: string;
  ino: string;
  size: number;
}

async function statId(path: string): Promise<FileId | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return s.isFile() ? { dev: String(s.dev), ino: String(s.ino), size: Number(s.size) } : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** A file beside `path` whose name starts like it (app.log.1, app-2026.log) with the given inode. */
async function findRotated(path: string, dev: string, ino: string): Promise<string | undefined> {
  const dir = dirname(path);
  const base = basename(path);
  const stem = basename(path, extname(path));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  let looked = 0;
  for (const name of names) {
    if (name === base || !name.startsWith(stem)) continue;
    if (++looked > rotatedScanEntriesMax) break;
    const id = await statId(join(dir, name)).catch(() => undefined);
    if (id && id.dev === dev && id.ino === ino) return join(dir, name);
  }
  return undefined;
}

export class FileTail {
  readonly generations: Generation[] = [];
  private fh: FileHandle | undefined;
  private current: Generation | undefined;
  private readonly splitter: LineSplitter;
  private readonly chunk: Buffer;
  private started = false;
  /** The open file is no longer at the path: finish it once a read finds nothing more. */
  private rotationPending = false;
  /** When rotationPending was seen (Date.now()); 0 for a rotated file found at startup (no grace). */
  private rotationSeenAtMs = 0;
  private warnedOpen = false;
  private closed = false;
  /** Bytes read from the file(s) so far. */
  bytesRead = 0;

  constructor(
    readonly path: string,
    private readonly opts: FileTailOptions,
  ) {
    this.splitter = new LineSplitter(opts.lineBytesMax);
    this.chunk = Buffer.allocUnsafe(opts.readChunkBytes);
  }

  /**
   * Reads while `room()` (lines the caller can take now) allows; returns true when it stopped with
   * bytes still unread (the caller polls again soon rather than after the interval).
   */
  async poll(room: () => number, emit: Emit): Promise<boolean> {
    if (this.closed) return false;
    if (!this.started) {
      this.started = true;
      await this.openAtStart();
    } else if (this.fh === undefined) {
      await this.openNew(0);
    }
    while (this.fh !== undefined && this.current !== undefined) {
      const linesMax = room();
      if (linesMax <= 0) return true;
      const position = this.splitter.readPosition;
      const { bytesRead } = await this.fh.read(this.chunk, 0, this.chunk.length, position);
      if (bytesRead > 0) {
        const gen = this.current;
        for (const line of this.splitter.push(this.chunk, bytesRead, [], linesMax)) emit(gen, line);
        this.bytesRead += this.splitter.readPosition - position;
        continue;
      }
      // At the end of what is there: has the path moved on, or the file shrunk?
      if (!(await this.checkIdentity(position, emit))) return false;
    }
    return false;
  }

  /** When this file wants to be looked at again regardless of changes (the end of a rotation's grace), if ever. */
  get wakeAtMs(): number | undefined {
    return this.rotationPending && this.rotationSeenAtMs > 0 ? this.rotationSeenAtMs + (this.opts.rotationGraceMs ?? 0) : undefined;
  }

  /** The checkpoint entry for this path: the oldest generation with unacknowledged lines. */
  checkpointEntry(): CheckpointEntry | undefined {
    while (this.generations.length > 1) {
      const g = this.generations[0]!;
      if (!g.finished || g.tracker.outstanding > 0) break;
      this.generations.shift();
    }
    const g = this.generations[0];
    if (g === undefined) return this.opts.checkpoint;
    return { path: this.path, dev: g.dev, ino: g.ino, position: g.tracker.committed };
  }

  async close(): Promise<void> {
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  /**
   * Returns true when reading should go on at once (a new file or generation began), false when
   * there is nothing more for now.
   */
  private async checkIdentity(position: number, emit: Emit): Promise<boolean> {
    const gen = this.current!;
    const atPath = await statId(this.path).catch(() => undefined);
    if (atPath === undefined && !this.rotationPending) return false; // deleted or moved away; keep the open file until a new one appears
    if (this.rotationPending || atPath!.dev !== gen.dev || atPath!.ino !== gen.ino) {
      // A writer may still append to the renamed file for a moment: give it one more poll, and at
      // least rotationGraceMs (with a file watch, the next pass may come at once).
      if (!this.rotationPending) {
        this.rotationPending = true;
        this.rotationSeenAtMs = Date.now();
        return false;
      }
      if (atPath === undefined) return false; // found at startup under another name; wait for the path
      const wakeAt = this.wakeAtMs;
      if (wakeAt !== undefined && Date.now() < wakeAt) return false;
      const rest = this.splitter.finish();
      if (rest) emit(gen, rest);
      gen.finished = true;
      this.rotationPending = false;
      await this.closeFile();
      this.opts.logger.info({ path: this.path, ino: atPath.ino }, 'file rotated; following the new file from its start');
      await this.openNew(0);
      return this.fh !== undefined;
    }
    const size = Number((await this.fh!.stat({ bigint: true })).size);
    if (size < position) {
      this.opts.logger.info({ path: this.path, size, position }, 'file truncated; reading it again from its start');
      gen.finished = true;
      this.splitter.reset(0);
      this.pushGeneration(gen.dev, gen.ino, 0);
      return true;
    }
    return false;
  }

  private async openAtStart(): Promise<void> {
    const cp = this.opts.checkpoint;
    const atPath = await statId(this.path).catch(() => undefined);
    if (cp && (atPath === undefined || atPath.dev !== cp.dev || atPath.ino !== cp.ino)) {
      // Rotated while we were away: finish the old inode from the checkpoint, if it is still beside the path.
      const old = await findRotated(this.path, cp.dev, cp.ino);
      if (old !== undefined && (await this.openFile(old, cp.position, true))) {
        this.rotationPending = true;
        this.rotationSeenAtMs = 0;
        this.opts.logger.info({ path: this.path, rotated: old, position: cp.position }, 'finishing the rotated file first');
        return;
      }
      await this.openNew(0);
      return;
    }
    if (atPath === undefined) return; // appears later: read from 0 then
    const start = cp ? cp.position : this.opts.start === 'end' ? atPath.size : 0;
    await this.openNew(start > atPath.size ? 0 : start);
  }

  private async openNew(position: number): Promise<void> {
    await this.openFile(this.path, position, false);
  }

  private async openFile(path: string, position: number, exactInode: boolean): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && !this.warnedOpen) {
        this.warnedOpen = true;
        this.opts.logger.warn({ path, err: (e as Error).message }, 'cannot open file; will try again');
      }
      return false;
    }
    this.warnedOpen = false;
    const s = await fh.stat({ bigint: true });
    const id = { dev: String(s.dev), ino: String(s.ino) };
    const cp = this.opts.checkpoint;
    if (exactInode && cp && (id.dev !== cp.dev || id.ino !== cp.ino)) {
      await fh.close();
      return false;
    }
    const start = position > Number(s.size) ? 0 : position;
    this.fh = fh;
    this.splitter.reset(start);
    this.pushGeneration(id.dev, id.ino, start);
    return true;
  }

  private pushGeneration(dev: string, ino: string, start: number): void {
    const gen: Generation = { dev, ino, tracker: new AckTracker(start), finished: false };
    this.generations.push(gen);
    this.current = gen;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.current = undefined;
    await fh?.close().catch(() => undefined);
  }
}
