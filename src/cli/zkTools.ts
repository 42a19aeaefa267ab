// `clustergenie zookeeper-tools`: inspect and repair a ZooKeeper 3.8 data directory, as Apache's
// TxnLogToolkit, SnapshotFormatter and PurgeTxnLog (zkCleanup.sh) do. Every file is read through
// the parsers of src/zookeeper/persistence, so the tools see exactly what recovery sees.
//
// Exit codes: 0 done / file intact, 1 damaged file or refused operation, 2 usage error.

import { existsSync } from 'node:fs';
import { readFile, truncate } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errName, opName } from '../zookeeper/protocol/constants.js';
import type { AclT } from '../zookeeper/protocol/records.js';
import type { SubTxn, TxnBody } from '../zookeeper/server/txn.js';
import { defaultServerOptions } from '../zookeeper/server/options.js';
import type { ZNode } from '../zookeeper/server/datatree.js';
import { silentLogger } from '../util/log.js';
import { DataDirLockedError, listLogs, listSnapshots, lockDataDir, VERSION_DIR } from '../zookeeper/persistence/files.js';
import { checkLogHeader, TxnLogParser, type LogEntry, type LogEnd } from '../zookeeper/persistence/txnLog.js';
import { parseSnapshot, snapshotBytes, SnapshotFormatError, type SnapshotContents } from '../zookeeper/persistence/snapshot.js';
import { Storage } from '../zookeeper/persistence/store.js';

export const ZK_TOOLS_USAGE = `usage:
  clustergenie zookeeper-tools log-dump <log file> [--json] [--jute-maxbuffer <bytes>]
  clustergenie zookeeper-tools snapshot-dump <snapshot file> [--data] [--json]
  clustergenie zookeeper-tools log-truncate <log file> --zxid <zxid: 0x<hex> or decimal>
  clustergenie zookeeper-tools purge --data-dir <dir> [--data-log-dir <dir>] [--retain <N>=3>]
exit status: 0 ok, 1 damaged file or refused operation, 2 usage error
`;

class UsageError extends Error {}
/** A file or directory the tool cannot work on: exit 1 with this message. */
class ToolError extends Error {}

/** Runs one tool; resolves with the exit code. */
export async function runZkTools(argv: string[]): Promise<number> {
  const [tool, ...args] = argv;
  try {
    switch (tool) {
      case 'log-dump':
        return await logDump(args);
      case 'snapshot-dump':
        return await snapshotDump(args);
      case 'log-truncate':
        return await logTruncate(args);
      case 'purge':
        return await purge(args);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(ZK_TOOLS_USAGE);
        return 0;
      case undefined:
        throw new UsageError('which tool?');
      default:
        throw new UsageError(`unknown tool "${tool}"`);
    }
  } catch (e) {
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const usage = e instanceof UsageError || String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS');
    const msg = (e as Error).message;
    process.stderr.write(`clustergenie zookeeper-tools${tool ? ` ${tool}` : ''}: ${msg}\n${usage ? ZK_TOOLS_USAGE : ''}`);
    return usage ? 2 : 1;
  }
}

// ------------------------------------------------------------------ shared

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

function oneFile(args: string[], options: Options) {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'a file argument is required' : `one file expected, got ${positionals.length}`);
  return { values: values as Record<string, string | boolean | undefined>, file: resolve(positionals[0]!) };
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ToolError(`${file}: no such file`);
    if (code === 'EISDIR') throw new ToolError(`${file} is a directory, not a file`);
    throw new ToolError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
const sessionHex = (id: bigint): string => hex(BigInt.asUintN(64, id));
const iso = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : `${ms}`);
const PERM_LETTERS: [number, string][] = [
  [4, 'c'],
  [8, 'd'],
  [1, 'r'],
  [2, 'w'],
  [16, 'a'],
];
const perms = (p: number): string => PERM_LETTERS.map(([bit, l]) => (p & bit ? l : '')).join('') || '-';
const aclText = (acl: readonly AclT[]): string => acl.map((a) => `${a.id.scheme}:${a.id.id}:${perms(a.perms)}`).join(',') || '(empty)';
const aclJson = (acl: readonly AclT[]) => acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: perms(a.perms) }));

function dataText(d: Buffer | null): string {
  if (d === null) return 'data=null';
  const printable = d.length > 0 && d.every((b) => b >= 0x20 && b < 0x7f);
  const preview = printable ? JSON.stringify(d.subarray(0, 48).toString('latin1')) : `hex:${d.subarray(0, 16).toString('hex')}`;
  return d.length === 0 ? 'data=0B' : `data=${d.length}B ${preview}${d.length > (printable ? 48 : 16) ? '...' : ''}`;
}

/** Writes lines in chunks (dumps can be large). */
class Out {
  private lines: string[] = [];
  line(s: string): void {
    this.lines.push(s);
    if (this.lines.length >= 2000) this.flush();
  }
  flush(): void {
    if (this.lines.length > 0) process.stdout.write(`${this.lines.join('\n')}\n`);
    this.lines = [];
  }
}

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

// ------------------------------------------------------------------ log-dump

function subText(t: SubTxn): string {
  switch (t.kind) {
    case 'create':
      return `${t.path} ${dataText(t.data)} acl=${aclText(t.acl)} ${t.nodeType === 'ttl' ? `ttl=${t.ttl}` : t.nodeType} parentCVersion=${t.parentCVersion}`;
    case 'delete':
      return t.path;
    case 'setData':
      return `${t.path} ${dataText(t.data)} version=${t.version}`;
    case 'setACL':
      return `${t.path} acl=${aclText(t.acl)} version=${t.version}`;
    case 'check':
      return `${t.path} version=${t.version}`;
    case 'error':
      return `err=${t.err} (${errName(t.err)})`;
  }
}

function bodyJson(b: TxnBody): Record<string, unknown> {
  switch (b.kind) {
    case 'multi':
      return { ops: b.txns.map((t) => ({ type: opName(t.op), ...bodyJson(t) })) };
    case 'create':
    case 'setData':
    case 'setACL': {
      const { kind: _k, op: _o, ...rest } = b as Record<string, unknown>;
      const out: Record<string, unknown> = { ...rest };
      if ('data' in b) {
        out['dataLength'] = b.data ? b.data.length : null;
        out['data'] = b.data ? b.data.toString('base64') : null;
      }
      if ('acl' in b) out['acl'] = aclJson(b.acl);
      return out;
    }
    default: {
      const { kind: _k, op: _o, ...rest } = b as Record<string, unknown>;
      if (b.kind === 'error') rest['errName'] = errName(b.err);
      return rest;
    }
  }
}

function endText(end: LogEnd, lastGood: LogEntry | undefined): string {
  if (end.kind === 'eof') return `end: clean, at offset ${end.offset} (the rest is preallocated zeros or the end of the file)`;
  return (
    `end: DAMAGED entry at offset ${end.offset}: ${end.reason}; ${end.dataAfterBytes} bytes from there to the last non-zero byte` +
    (lastGood
      ? ` (the last good transaction is ${hex(lastGood.zxid)}; log-truncate --zxid ${hex(lastGood.zxid)} cuts the file there)`
      : ' (no transaction before it is readable)')
  );
}

const DEFAULT_ENTRY_BYTES_MAX = defaultServerOptions().frameBytesMax + 1024; // as server.ts does

function entryBytesMax(v: string | boolean | undefined): number {
  if (v === undefined) return DEFAULT_ENTRY_BYTES_MAX;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--jute-maxbuffer wants a byte count, got "${v}"`);
  return Number(v) + 1024;
}

/** Parses a whole log file (header errors are ToolErrors). */
function parseLog(
  file: string,
  buf: Buffer,
  max: number,
): { entries: LogEntry[]; end: LogEnd; header: ReturnType<typeof TxnLogParser.header> } {
  const bad = checkLogHeader(buf);
  if (bad) throw new ToolError(`${file} is not a ZooKeeper transaction log: ${bad}`);
  const parser = new TxnLogParser(buf, max);
  const entries: LogEntry[] = [];
  for (let e = parser.next(); e; e = parser.next()) entries.push(e);
  return { entries, end: parser.end!, header: TxnLogParser.header(buf) };
}

async function logDump(args: string[]): Promise<number> {
  const { values, file } = oneFile(args, { json: { type: 'boolean' }, 'jute-maxbuffer': { type: 'string' } });
  const buf = await readInput(file);
  const { entries, end, header } = parseLog(file, buf, entryBytesMax(values['jute-maxbuffer']));
  const headerJson = { magic: 'ZKLG', version: header.version, dbid: header.dbid };
  if (values['json']) {
    const txns = entries.map((e) => {
      const h = e.decoded.txn.header;
      const d = e.decoded.digest;
      return {
        offset: e.offset,
        bytes: e.bytes,
        zxid: hex(e.zxid),
        time: iso(h.time),
        session: sessionHex(h.clientId),
        cxid: h.cxid,
        type: opName(h.type),
        ...bodyJson(e.decoded.txn.body),
        ...(d ? { digest: { version: d.version, value: d.treeDigest } } : {}),
      };
    });
    process.stdout.write(`${json({ file, fileBytes: buf.length, header: headerJson, txns, end })}\n`);
    return end.kind === 'eof' ? 0 : 1;
  }
  const out = new Out();
  out.line(`ZooKeeper transaction log ${file} (${buf.length} bytes)`);
  out.line(`header: magic ZKLG (${hex(header.magic)}), version ${header.version}, dbid ${header.dbid}`);
  for (const e of entries) {
    const { header: h, body } = e.decoded.txn;
    const digest = e.decoded.digest ? ` digest=v${e.decoded.digest.version}:${e.decoded.digest.treeDigest}` : '';
    const head = `${hex(e.zxid)} ${iso(h.time)} session=${sessionHex(h.clientId)} cxid=${h.cxid} ${opName(h.type)}`;
    const at = ` @${e.offset}+${e.bytes}`;
    if (body.kind === 'multi') {
      out.line(`${head} ${body.txns.length} ops${digest}${at}`);
      for (const t of body.txns) out.line(`    ${opName(t.op)} ${subText(t)}`);
    } else if (body.kind === 'createSession') out.line(`${head} timeout=${body.timeOut}${digest}${at}`);
    else if (body.kind === 'closeSession') out.line(`${head} paths2Delete=[${body.paths2Delete.join(',')}]${digest}${at}`);
    else out.line(`${head} ${subText(body)}${digest}${at}`);
  }
  const range = entries.length > 0 ? `, zxids ${hex(entries[0]!.zxid)}..${hex(entries.at(-1)!.zxid)}` : '';
  out.line(`${entries.length} transactions${range}`);
  out.line(endText(end, entries.at(-1)));
  out.flush();
  return end.kind === 'eof' ? 0 : 1;
}

// ------------------------------------------------------------------ snapshot-dump

async function snapshotDump(args: string[]): Promise<number> {
  const { values, file } = oneFile(args, { json: { type: 'boolean' }, data: { type: 'boolean' } });
  const raw = await readInput(file);
  let buf: Buffer;
  try {
    buf = snapshotBytes(basename(file), raw);
  } catch (e) {
    throw new ToolError(`${file}: ${(e as Error).message}`);
  }
  const nodes: { path: string; node: ZNode }[] = [];
  let contents: SnapshotContents | undefined;
  let damage: { offset: number; reason: string } | undefined;
  try {
    contents = parseSnapshot(buf, (path, node) => nodes.push({ path, node }));
  } catch (e) {
    if (!(e instanceof SnapshotFormatError)) throw e;
    damage = { offset: e.offset, reason: e.message };
  }
  const header = buf.length >= 16 ? TxnLogParser.header(buf) : undefined;
  const refOf = new Map<AclT[], bigint>();
  for (const [ref, list] of contents?.acls ?? []) refOf.set(list, ref);
  const withData = values['data'] === true;
  const nodeJson = ({ path, node: n }: { path: string; node: ZNode }) => ({
    path,
    czxid: hex(n.czxid),
    mzxid: hex(n.mzxid),
    ctime: iso(n.ctime),
    mtime: iso(n.mtime),
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    ephemeralOwner: sessionHex(n.ephemeralOwner),
    pzxid: hex(n.pzxid),
    // A damaged file gives no ACL table (parseSnapshot returns it only at the end): the list itself then.
    aclRef: refOf.get(n.acl) ?? null,
    ...(refOf.has(n.acl) ? {} : { acl: aclJson(n.acl) }),
    dataLength: n.data ? n.data.length : null,
    ...(withData ? { data: n.data ? n.data.toString('base64') : null } : {}),
  });
  const seal = damage ? { ok: false, ...damage } : { ok: true };
  if (values['json']) {
    process.stdout.write(
      `${json({
        file,
        fileBytes: buf.length,
        header: header && { magic: hex(header.magic), version: header.version, dbid: header.dbid },
        sessions: contents && [...contents.sessions].map(([id, timeout]) => ({ id: sessionHex(id), timeout })),
        acls: contents && [...contents.acls].filter(([ref]) => ref !== -1n).map(([ref, acl]) => ({ ref, acl: aclJson(acl) })),
        nodes: nodes.map(nodeJson),
        digest: contents?.digest && { zxid: hex(contents.digest.zxid), version: contents.digest.version, value: contents.digest.digest },
        seal,
      })}\n`,
    );
    return damage ? 1 : 0;
  }
  const out = new Out();
  out.line(`ZooKeeper snapshot ${file} (${buf.length} bytes)`);
  if (header) out.line(`header: magic ${hex(header.magic)}, version ${header.version}, dbid ${header.dbid}`);
  if (contents) {
    out.line(`sessions (${contents.sessions.size}):`);
    for (const [id, timeout] of contents.sessions) out.line(`  ${sessionHex(id)} timeout=${timeout}`);
    const table = [...contents.acls].filter(([ref]) => ref !== -1n);
    out.line(`ACL table (${table.length}; ref -1 is the implicit open ACL):`);
    for (const [ref, acl] of table) out.line(`  ${ref}: ${aclText(acl)}`);
  } else {
    out.line('sessions and ACL table: not shown (the file is damaged; nodes read before the damage follow)');
  }
  out.line(`nodes (${nodes.length}):`);
  for (const { path, node: n } of nodes) {
    const ref = refOf.get(n.acl);
    out.line(
      `  ${path} czxid=${hex(n.czxid)} mzxid=${hex(n.mzxid)} pzxid=${hex(n.pzxid)} ctime=${iso(n.ctime)} mtime=${iso(n.mtime)} ` +
        `version=${n.version} cversion=${n.cversion} aversion=${n.aversion} ephemeralOwner=${sessionHex(n.ephemeralOwner)} ` +
        `acl=${ref !== undefined ? ref : aclText(n.acl)} dataLength=${n.data ? n.data.length : 'null'}` +
        (withData ? ` ${dataText(n.data)}` : ''),
    );
  }
  if (contents) {
    const d = contents.digest;
    out.line(d ? `digest: zxid ${hex(d.zxid)}, version ${d.version}, value ${d.digest}` : 'digest: none');
    out.line('seal: ok (checksums match)');
  } else {
    out.line(`seal: DAMAGED at offset ${damage!.offset}: ${damage!.reason}`);
  }
  out.flush();
  return damage ? 1 : 0;
}

// ------------------------------------------------------------------ log-truncate

function parseZxid(v: string | boolean | undefined): number {
  if (typeof v !== 'string') throw new UsageError('--zxid <zxid> is required');
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--zxid wants 0x<hex> or a decimal number, got "${v}"`);
  return n;
}

/** Holds the lock of the data directory a version-2 file lives in, if it is one. */
function lockOwningDir(file: string): () => void {
  const dir = dirname(file);
  if (basename(dir) !== VERSION_DIR) return () => {};
  try {
    return lockDataDir(dirname(dir));
  } catch (e) {
    if (e instanceof DataDirLockedError) throw new ToolError(`refusing to change ${file} while a server uses it: ${e.message}`);
    throw e;
  }
}

async function logTruncate(args: string[]): Promise<number> {
  const { values, file } = oneFile(args, { zxid: { type: 'string' }, 'jute-maxbuffer': { type: 'string' } });
  const zxid = parseZxid(values['zxid']);
  const max = entryBytesMax(values['jute-maxbuffer']);
  await readInput(file); // a clear error for a missing file before the lock is tried
  const unlock = lockOwningDir(file);
  try {
    const buf = await readInput(file);
    const { entries, end } = parseLog(file, buf, max);
    const i = entries.findIndex((e) => e.zxid === zxid);
    if (i < 0) {
      const held =
        entries.length > 0 ? `it holds ${hex(entries[0]!.zxid)}..${hex(entries.at(-1)!.zxid)}` : 'it holds no readable transaction';
      const tail = end.kind === 'bad' ? `, then damage at offset ${end.offset} (${end.reason})` : '';
      throw new ToolError(`transaction ${hex(zxid)} is not in ${file} (${held}${tail}); nothing changed`);
    }
    const keep = entries[i]!;
    const cutAt = keep.offset + keep.bytes;
    const removed = entries.slice(i + 1);
    await truncate(file, cutAt);
    const lines = [`${file}: cut at offset ${cutAt} (was ${buf.length} bytes), right after transaction ${hex(zxid)}`];
    lines.push(
      removed.length > 0
        ? `removed ${removed.length} transactions: ${removed.map((e) => `${hex(e.zxid)} ${opName(e.decoded.txn.header.type)}`).join(', ')}`
        : 'removed 0 transactions',
    );
    if (end.kind === 'bad')
      lines.push(
        `removed the damaged data from offset ${end.offset} (${end.reason}; ${end.dataAfterBytes} bytes from there to the last non-zero byte)`,
      );
    const later = (await listLogs(dirname(file))).filter((l) => l.zxid > entries[0]!.zxid);
    if (later.length > 0) {
      lines.push(
        `note: later log files exist (${later.map((l) => l.name).join(', ')}); recovery will refuse the gap after ${hex(zxid)} ` +
          'unless they are moved away too (their transactions are then lost)',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    unlock();
  }
}

// ------------------------------------------------------------------ purge

async function purge(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'data-log-dir': { type: 'string' }, retain: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values['data-dir']) throw new UsageError('--data-dir <dir> is required');
  const retainText = values.retain ?? '3';
  const retain = /^\d+$/.test(retainText) ? Number(retainText) : NaN;
  if (!(retain >= 3)) throw new UsageError(`--retain must be a number >= 3 (as autopurge.snapRetainCount), got "${retainText}"`);
  const dataDir = resolve(values['data-dir']);
  const dataLogDir = resolve(values['data-log-dir'] ?? dataDir);
  for (const d of new Set([dataDir, dataLogDir])) {
    if (!existsSync(resolve(d, VERSION_DIR))) throw new ToolError(`${d} holds no ZooKeeper data (no ${VERSION_DIR} directory)`);
  }
  let storage: Storage;
  try {
    storage = await Storage.open({
      dataDir,
      dataLogDir,
      forceSync: true,
      snapCount: defaultServerOptions().snapCount,
      preAllocBytes: 0,
      entryBytesMax: DEFAULT_ENTRY_BYTES_MAX,
      log: silentLogger,
    });
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      throw new ToolError(
        `purge refuses while a server runs on the directory (a running server purges itself with autopurge.purgeInterval): ${e.message}`,
      );
    }
    throw e;
  }
  try {
    const removed = await storage.purge(retain);
    const snaps = await listSnapshots(storage.snapDir);
    const logs = await listLogs(storage.logDir);
    const lines =
      removed.length > 0
        ? [`removed ${removed.length} files:`, ...removed.map((p) => `  ${p}`)]
        : [`nothing to remove (${snaps.length} snapshots, retain ${retain})`];
    lines.push(`kept ${snaps.length} snapshots: ${snaps.map((s) => s.name).join(', ') || '(none)'}`);
    lines.push(`kept ${logs.length} logs: ${logs.map((l) => l.name).join(', ') || '(none)'}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
