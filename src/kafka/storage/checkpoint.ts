// The small text files Kafka keeps next to its logs: offset checkpoints (`version\ncount\nentries`),
// leader-epoch-checkpoint, partition.metadata, meta.properties. Writes go to `<file>.tmp`, are fsynced
// and renamed over the old file, then the directory is fsynced, so a crash leaves the old or new file whole.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bound on a checkpoint file we are willing to read (a few hundred thousand partitions fit). */
export const checkpointFileBytesMax = 64 * 1024 * 1024;

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

function readSmallFile(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (st.size > checkpointFileBytesMax) throw new Error(`${file}: ${st.size} bytes is over ${checkpointFileBytesMax}`);
  return fs.readFileSync(file, 'utf8');
}

/** Kafka's CheckpointFile text: version line, entry count line, one line per entry, each ending in '\n'. */
export function formatCheckpoint(version: number, lines: readonly string[]): string {
  let s = `${version}\n${lines.length}\n`;
  for (const l of lines) s += `${l}\n`;
  return s;
}

/** Entry lines of a checkpoint; throws on a wrong version, count or shape (the caller decides what that means). */
export function parseCheckpoint(text: string, version: number, file: string, fieldsPerLine: number): string[][] {
  // Kafka creates checkpoint files empty before their first write; an empty file has no entries.
  if (text.trim() === '') return [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const v = Number(lines[0]);
  if (lines.length < 2 || !Number.isInteger(v)) throw new Error(`${file}: malformed checkpoint header`);
  if (v !== version) throw new Error(`${file}: unrecognized checkpoint version ${lines[0]}`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0) throw new Error(`${file}: malformed entry count ${lines[1]}`);
  if (lines.length - 2 !== count) throw new Error(`${file}: expected ${count} entries, found ${lines.length - 2}`);
  const out: string[][] = [];
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i].trim().split(/\s+/);
    if (parts.length !== fieldsPerLine) throw new Error(`${file}: malformed line ${JSON.stringify(lines[i])}`);
    out.push(parts);
  }
  return out;
}

function parseOffset(s: string, file: string): number {
  if (!/^-?\d+$/.test(s)) throw new Error(`${file}: malformed number ${JSON.stringify(s)}`);
  return Number(s);
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const PARTITION_METADATA_FILE = 'partition.metadata';
export const META_PROPERTIES_FILE = 'meta.properties';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

export function tpKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function writeOffsetCheckpoint(file: string, entries: Iterable<TopicPartitionOffset>): void {
  const lines: string[] = [];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  writeFileAtomic(file, formatCheckpoint(0, lines));
}

/** Offsets keyed by `tpKey`; a missing file reads as empty. */
export function readOffsetCheckpoint(file: string): Map<string, number> {
  const text = readSmallFile(file);
  const out = new Map<string, number>();
  if (text === undefined) return out;
  for (const [topic, p, o] of parseCheckpoint(text, 0, file, 3)) {
    out.set(tpKey(topic, parseOffset(p, file)), parseOffset(o, file));
  }
  return out;
}

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export function writeLeaderEpochCheckpoint(file: string, entries: readonly EpochEntry[]): void {
  writeFileAtomic(
    file,
    formatCheckpoint(
      0,
      entries.map((e) => `${e.epoch} ${e.startOffset}`),
    ),
  );
}

/**
 * The same file written off the event loop (open, write, fsync on the libuv pool). The rename is
 * synchronous and only made while `stillCurrent()` holds, so a synchronous write made meanwhile
 * (a truncation) is never replaced by this older content. Resolves false when it was dropped.
 */
export async function writeLeaderEpochCheckpointAsync(
  file: string,
  entries: readonly EpochEntry[],
  stillCurrent: () => boolean,
): Promise<boolean> {
  const text = formatCheckpoint(
    0,
    entries.map((e) => `${e.epoch} ${e.startOffset}`),
  );
  const tmp = `${file}.async.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (!stillCurrent()) {
    fs.rmSync(tmp, { force: true });
    return false;
  }
  fs.renameSync(tmp, file);
  const dir = await fs.promises.open(path.dirname(file), 'r');
  await dir.sync().catch(() => undefined);
  await dir.close();
  return true;
}

export function readLeaderEpochCheckpoint(file: string): EpochEntry[] {
  const text = readSmallFile(file);
  if (text === undefined) return [];
  return parseCheckpoint(text, 0, file, 2).map(([e, o]) => ({ epoch: parseOffset(e, file), startOffset: parseOffset(o, file) }));
}

/** partition.metadata: exactly `version: 0\ntopic_id: <id>` (no trailing newline), as Kafka writes it. */
export function writePartitionMetadata(dir: string, topicId: string): void {
  writeFileAtomic(path.join(dir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}`);
}

export function readPartitionMetadata(dir: string): string | undefined {
  const file = path.join(dir, PARTITION_METADATA_FILE);
  const text = readSmallFile(file);
  if (text === undefined) return undefined;
  const m = /^version: (\d+)\ntopic_id: (\S+)\s*$/.exec(text);
  if (!m) throw new Error(`${file}: malformed partition metadata`);
  if (m[1] !== '0') throw new Error(`${file}: unrecognized version ${m[1]}`);
  return m[2];
}

/** Java Properties text (key=value lines, '#' comments), the subset Kafka writes. */
export function readProperties(file: string): Record<string, string> | undefined {
  const text = readSmallFile(file);
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const i = line.search(/[=:]/);
    if (i < 0) out[line] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function writeMetaProperties(dir: string, brokerId: number, clusterId: string, now: Date): void {
  // Properties.store writes a comment line and a date line first; readers ignore both.
  const text = `#\n#${now.toUTCString()}\ncluster.id=${clusterId}\nversion=0\nbroker.id=${brokerId}\n`;
  writeFileAtomic(path.join(dir, META_PROPERTIES_FILE), text);
}
