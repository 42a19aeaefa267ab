// ZooKeeper 3.8 snapshots (FileSnap): FileHeader {ZKSN, 2, dbid -1}; sessions {long id, int
// timeout}; the ACL table {long ref, vector<ACL>}; nodes in pre-order {ustring path, buffer data,
// long aclRef, StatPersisted} ending with the path "/"; a seal {long Adler32 of everything so
// far, ustring "/"}; then the tree digest {long zxid, int version, long digest} and a second seal.
//
// Snapshots are fuzzy, as ZooKeeper's are: the tree is written in chunks while writes go on, and
// recovery replays the log from the zxid the snapshot is named after. Nodes created after the
// snapshot began are left out (their creation is in the replayed log), which keeps every node's
// ACL reference inside the ACL table written up front.

import { gunzipSync } from 'node:zlib';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OPEN_ACL_UNSAFE } from '../protocol/acls.js';
import { JuteReader, JuteWriter } from '../protocol/jute.js';
import { ACL, StatPersisted, type AclT } from '../protocol/records.js';
import type { DataTree, ZNode } from '../server/datatree.js';
import { NO_SLOT } from '../server/nodeTable.js';
import { DIGEST_VERSION } from '../server/digest.js';
import { FORMAT_VERSION, SNAP_MAGIC, syncDir, zxidHex } from './files.js';
import { adler32, encodeFileHeader } from './txnLog.js';

/** Bytes buffered before a chunk goes to the file (and other work gets the event loop). */
const CHUNK_BYTES = 1 << 20;
/** The ACL reference of world:anyone with every permission, which the ACL table leaves out. */
const OPEN_ACL_REF = -1;

export class SnapshotFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface SnapshotWritten {
  path: string;
  zxid: number;
  nodes: number;
  bytes: number;
}

/**
 * The bytes of a snapshot of `tree` at its lastProcessedZxid, in chunks. Each chunk is a view into
 * a reused buffer: consume it before asking for the next. Between chunks the tree may change (a
 * fuzzy snapshot); drained without pause it is an exact one.
 */
export function* snapshotChunks(
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  chunkBytes = CHUNK_BYTES,
): Generator<Buffer, SnapshotStats> {
  const zxid = tree.lastProcessedZxid;
  let checksum = 1; // Adler32 of nothing
  let bytes = 0;
  const w = new JuteWriter(chunkBytes + 64 * 1024);
  w.raw(encodeFileHeader(SNAP_MAGIC, -1n));
  w.int(sessions.size);
  for (const [id, timeout] of sessions) {
    w.long(id);
    w.int(timeout);
  }
  const openAcl = tree.internAcl(OPEN_ACL_UNSAFE);
  // The ACL table as it stands now; nodes name their list by its id (index) in it.
  const aclLists = [...tree.aclLists()];
  const aclRefs: number[] = [];
  w.int(aclLists.length - 1);
  let ref = 0;
  for (const acl of aclLists) {
    if (acl === openAcl) {
      aclRefs.push(OPEN_ACL_REF);
      continue;
    }
    aclRefs.push(++ref);
    w.longN(ref);
    w.int(acl.length);
    for (const a of acl) ACL.encode(w, a);
  }
  let nodes = 0;
  const t = tree.table;
  // Paths, not slots: between chunks a node may go and its slot be reused by another. Each path
  // is pushed with the slot it had then, which findFrom takes when the slot still holds the path
  // (always, unless the tree changed at a yield in between).
  const paths: string[] = ['/'];
  const slots: number[] = [t.find('/')];
  while (paths.length > 0) {
    const path = paths.pop()!;
    const slot = t.findFrom(slots.pop()!, path);
    // Gone since its parent was written, or created after the snapshot began: the log has it.
    if (slot === NO_SLOT || t.czxidAt(slot) > zxid) continue;
    w.ustring(path === '/' ? '' : path);
    // The value's bytes straight from the tree's store into the chunk.
    t.encodeValue(slot, w);
    // A list interned after the table was written belongs to a setACL the log replays. (After a
    // reset of the tree, ids name other lists: those are not the ones in the table.)
    const aclId = t.aclIdAt(slot);
    w.longN(aclId < aclLists.length && aclLists[aclId] === tree.aclAt(slot) ? aclRefs[aclId]! : OPEN_ACL_REF);
    t.encodeStatPersisted(slot, w);
    nodes++;
    for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) {
      paths.push(t.pathAt(c));
      slots.push(c);
    }
    if (w.pos >= chunkBytes) {
      const chunk = w.buf.subarray(0, w.pos);
      checksum = adler32(chunk, checksum);
      bytes += chunk.length;
      yield chunk;
      w.reset();
    }
  }
  w.ustring('/');
  // Checksum everything still buffered, then append the seals.
  checksum = adler32(w.buf.subarray(0, w.pos), checksum);
  writeSealAndDigest(w, checksum, tree);
  bytes += w.pos;
  yield w.buf.subarray(0, w.pos);
  return { zxid, nodes, bytes };
}

interface SnapshotStats {
  zxid: number;
  nodes: number;
  bytes: number;
}

/** An exact snapshot in memory (what a leader sends a learner that needs SNAP). */
export function serializeSnapshot(tree: DataTree, sessions: ReadonlyMap<bigint, number>): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of snapshotChunks(tree, sessions)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/**
 * Writes `snapshot.<lastProcessedZxid>` into `dir`: first under a temporary name, then fsynced and
 * renamed, so a crash never leaves a half-written file under a snapshot name.
 */
export async function writeSnapshot(
  dir: string,
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  fsync: boolean,
): Promise<SnapshotWritten> {
  const zxid = tree.lastProcessedZxid;
  const finalPath = join(dir, `snapshot.${zxidHex(zxid)}`);
  const tmpPath = join(dir, `tmp.snapshot.${zxidHex(zxid)}`);
  const file = await open(tmpPath, 'w');
  let position = 0;
  let nodes = 0;
  try {
    const chunks = snapshotChunks(tree, sessions);
    for (let r = chunks.next(); ; r = chunks.next()) {
      if (r.done) {
        nodes = r.value.nodes;
        break;
      }
      // Awaiting each write is what lets other work in between (a fuzzy snapshot).
      await file.write(r.value, 0, r.value.length, position);
      position += r.value.length;
    }
    if (fsync) await file.datasync();
  } catch (e) {
    await file.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw e;
  }
  await file.close();
  await rename(tmpPath, finalPath);
  if (fsync) await syncDir(dir);
  return { path: finalPath, zxid, nodes, bytes: position };
}

/**
 * Appends, at the writer's current end, {seal; digest; seal}. `checksum` covers every byte of the
 * file before the first seal.
 */
function writeSealAndDigest(w: JuteWriter, checksum: number, tree: DataTree): void {
  let at = w.pos;
  w.longN(checksum);
  w.ustring('/');
  let sum = adler32(w.buf.subarray(at, w.pos), checksum);
  at = w.pos;
  w.longN(tree.lastProcessedZxid);
  w.int(DIGEST_VERSION);
  w.long(tree.digest.value);
  sum = adler32(w.buf.subarray(at, w.pos), sum);
  w.longN(sum);
  w.ustring('/');
}

export interface SnapshotDigest {
  zxid: number;
  version: number;
  digest: bigint;
}

export interface SnapshotContents {
  sessions: Map<bigint, number>;
  nodeCount: number;
  digest: SnapshotDigest | undefined;
  acls: Map<bigint, AclT[]>;
}

/** Gunzips `.gz` snapshots; snappy ones are refused with a clear reason. */
export function snapshotBytes(name: string, raw: Buffer): Buffer {
  if (name.endsWith('.gz')) return gunzipSync(raw);
  if (name.endsWith('.snappy')) {
    throw new SnapshotFormatError(
      'snappy-compressed snapshots are not supported; set snapshot.compression.method=none in Apache ZooKeeper and take a new snapshot',
      0,
    );
  }
  return raw;
}

/**
 * Parses a snapshot, handing each node to `onNode` in file order (parents first). Throws
 * SnapshotFormatError (with the byte offset) on anything malformed, including a bad seal.
 */
export function parseSnapshot(
  buf: Buffer,
  /**
   * `unresolvedAclRef` is set when the node names an ACL the table lacks: a fuzzy snapshot wrote the
   * table before a later create or setACL added that ACL (Apache's ReferenceCountedACLCache then
   * ignores the reference, and replaying that txn restores the ACL). Such a node comes with an
   * empty ACL (no one but a super user may touch it) until the replay gives it its own.
   */
  onNode: (path: string, node: ZNode, unresolvedAclRef?: bigint) => void,
  /** Called with the sessions and ACL table before the first node (so a dump of a damaged file has them). */
  onTables?: (sessions: Map<bigint, number>, acls: Map<bigint, AclT[]>) => void,
): SnapshotContents {
  const r = new JuteReader(buf);
  const fail = (why: string): never => {
    throw new SnapshotFormatError(why, r.pos);
  };
  try {
    if (buf.length < 16) fail(`file is ${buf.length} bytes, shorter than the snapshot header`);
    const magic = r.int();
    if (magic !== SNAP_MAGIC) fail(`bad magic 0x${(magic >>> 0).toString(16)} (a snapshot starts with ZKSN)`);
    const version = r.int();
    if (version !== FORMAT_VERSION) fail(`unsupported snapshot format version ${version}`);
    r.long();
    const sessions = new Map<bigint, number>();
    const sessionCount = r.int();
    if (sessionCount < 0 || sessionCount * 12 > r.remaining) fail(`session count ${sessionCount} out of range`);
    for (let i = 0; i < sessionCount; i++) sessions.set(r.long(), r.int());
    const acls = new Map<bigint, AclT[]>([[BigInt(OPEN_ACL_REF), OPEN_ACL_UNSAFE as AclT[]]]);
    const aclCount = r.int();
    if (aclCount < 0 || aclCount > r.remaining) fail(`ACL table size ${aclCount} out of range`);
    for (let i = 0; i < aclCount; i++) {
      const ref = r.long();
      const n = r.vectorCount();
      const list: AclT[] = [];
      for (let j = 0; j < n; j++) list.push(ACL.decode(r));
      acls.set(ref, list);
    }
    onTables?.(sessions, acls);
    let nodeCount = 0;
    for (;;) {
      const path = r.ustring() ?? '';
      if (path === '/') break;
      const data = r.buffer();
      const ref = r.long();
      const s = StatPersisted.decode(r);
      const acl = acls.get(ref);
      const node: ZNode = {
        // A view into `buf`: loadNode copies the bytes into the tree.
        data,
        acl: acl ?? [],
        czxid: s.czxid,
        mzxid: s.mzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeralOwner: s.ephemeralOwner,
        pzxid: s.pzxid,
        numChildren: 0,
      };
      onNode(path === '' ? '/' : path, node, acl ? undefined : ref);
      nodeCount++;
    }
    let sum = adler32(buf.subarray(0, r.pos));
    const sealAt = r.pos;
    const sealed = r.longN();
    r.ustring();
    if (sealed !== sum) throw new SnapshotFormatError(`checksum mismatch (stored ${sealed}, computed ${sum})`, sealAt);
    let digest: SnapshotDigest | undefined;
    if (r.remaining > 0) {
      const digestAt = r.pos;
      const zxid = r.longN();
      const v = r.int();
      // Digest version 1 stored the value as a hex string.
      const value = v < 2 ? BigInt.asIntN(64, BigInt(`0x${r.ustring() ?? '0'}`)) : r.long();
      sum = adler32(buf.subarray(0, r.pos));
      const sealed2 = r.longN();
      r.ustring();
      if (sealed2 !== sum) throw new SnapshotFormatError(`digest checksum mismatch (stored ${sealed2}, computed ${sum})`, digestAt);
      if (zxid > 0) digest = { zxid, version: v, digest: value };
    }
    return { sessions, nodeCount, digest, acls };
  } catch (e) {
    if (e instanceof SnapshotFormatError) throw e;
    throw new SnapshotFormatError((e as Error).message, r.pos);
  }
}

/** Loads a snapshot into `tree` (emptied first); returns its sessions and digest. */
export function loadSnapshot(buf: Buffer, tree: DataTree): SnapshotContents {
  tree.beginLoad();
  const out = parseSnapshot(buf, (path, node, unresolvedAclRef) => tree.loadNode(path, node, unresolvedAclRef !== undefined));
  tree.finishLoad();
  return out;
}
