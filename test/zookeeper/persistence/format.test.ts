// The on-disk format pieces on their own: txn records, log framing and its end detection,
// snapshot write/read with the tree digest, and group commit in the durable sync stage.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import type { Txn, TxnBody } from '../../../src/zookeeper/server/txn.js';
import { decodeTxn, encodeTxn } from '../../../src/zookeeper/persistence/txnCodec.js';
import {
  adler32,
  encodeFileHeader,
  ENTRY_OVERHEAD_BYTES,
  frameEntry,
  TxnLogParser,
  TxnLogWriter,
} from '../../../src/zookeeper/persistence/txnLog.js';
import { loadSnapshot, parseSnapshot, writeSnapshot } from '../../../src/zookeeper/persistence/snapshot.js';
import { DurableSyncStage } from '../../../src/zookeeper/persistence/durableSync.js';
import { TXNLOG_MAGIC } from '../../../src/zookeeper/persistence/files.js';
import { nodeStorageIo, type StorageIo } from '../../../src/zookeeper/persistence/io.js';

const digestAcl = [{ perms: 31, id: { scheme: 'digest', id: 'u:abc=' } }];

function txn(zxid: number, type: number, body: TxnBody, clientId = 0x1234n): Txn {
  return { header: { clientId, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type }, body };
}

const samples: Txn[] = [
  txn(1, OpCode.create, {
    kind: 'create',
    op: OpCode.create,
    path: '/a',
    data: Buffer.from('x'),
    acl: [...OPEN_ACL_UNSAFE],
    nodeType: 'persistent',
    parentCVersion: 1,
    ttl: 0,
  }),
  txn(2, OpCode.create2, {
    kind: 'create',
    op: OpCode.create2,
    path: '/a/e',
    data: null,
    acl: digestAcl,
    nodeType: 'ephemeral',
    parentCVersion: 1,
    ttl: 0,
  }),
  txn(3, OpCode.createContainer, {
    kind: 'create',
    op: OpCode.createContainer,
    path: '/c',
    data: Buffer.alloc(0),
    acl: [...OPEN_ACL_UNSAFE],
    nodeType: 'container',
    parentCVersion: 2,
    ttl: 0,
  }),
  txn(4, OpCode.createTTL, {
    kind: 'create',
    op: OpCode.createTTL,
    path: '/t',
    data: Buffer.from('t'),
    acl: [...OPEN_ACL_UNSAFE],
    nodeType: 'ttl',
    parentCVersion: 3,
    ttl: 5000,
  }),
  txn(5, OpCode.setData, { kind: 'setData', op: OpCode.setData, path: '/a', data: Buffer.from('yy'), version: 1 }),
  txn(6, OpCode.setACL, { kind: 'setACL', op: OpCode.setACL, path: '/a', acl: [...READ_ACL_UNSAFE], version: 1 }),
  txn(7, OpCode.delete, { kind: 'delete', op: OpCode.delete, path: '/t' }),
  txn(8, OpCode.deleteContainer, { kind: 'delete', op: OpCode.deleteContainer, path: '/c' }),
  txn(9, OpCode.error, { kind: 'error', op: OpCode.error, err: -101 }),
  txn(10, OpCode.createSession, { kind: 'createSession', op: OpCode.createSession, timeOut: 30_000 }),
  txn(11, OpCode.closeSession, { kind: 'closeSession', op: OpCode.closeSession, paths2Delete: ['/a/e'] }),
  txn(12, OpCode.multi, {
    kind: 'multi',
    op: OpCode.multi,
    txns: [
      { kind: 'check', op: OpCode.check, path: '/a', version: 1 },
      {
        kind: 'create',
        op: OpCode.create,
        path: '/m',
        data: Buffer.from('m'),
        acl: [...OPEN_ACL_UNSAFE],
        nodeType: 'persistent',
        parentCVersion: 5,
        ttl: 0,
      },
      { kind: 'error', op: OpCode.error, err: 0 },
    ],
  }),
];

test('every txn kind survives encode/decode, with and without a digest', () => {
  for (const t of samples) {
    assert.deepEqual(decodeTxn(encodeTxn(t)).txn, t, `type ${t.header.type}`);
    const d = decodeTxn(encodeTxn(t, { version: 2, treeDigest: -5n }));
    assert.deepEqual(d.txn, t);
    assert.deepEqual(d.digest, { version: 2, treeDigest: -5n });
  }
});

test('a pre-3.6 closeSession without a body decodes with no paths', () => {
  const full = encodeTxn(samples[10]!);
  // TxnHeader is 8+4+8+8+4 = 32 bytes; drop the CloseSessionTxn after it.
  const d = decodeTxn(full.subarray(0, 32));
  assert.deepEqual(d.txn.body, { kind: 'closeSession', op: OpCode.closeSession, paths2Delete: [] });
});

function logFile(entries: Buffer[], padBytes = 0): Buffer {
  const size = entries.reduce((n, p) => n + p.length + ENTRY_OVERHEAD_BYTES, 0);
  const body = Buffer.alloc(size + padBytes);
  let at = 0;
  for (const p of entries) at = frameEntry(body, at, p);
  return Buffer.concat([encodeFileHeader(TXNLOG_MAGIC, 0n), body]);
}

test('the log parser reads entries up to the preallocated zeros, and names the first damaged entry', () => {
  const payloads = samples.map((t) => encodeTxn(t));
  const clean = logFile(payloads, 4096);
  const p = new TxnLogParser(clean, 1 << 20);
  const zxids: number[] = [];
  for (let e = p.next(); e; e = p.next()) zxids.push(e.zxid);
  assert.deepEqual(
    zxids,
    samples.map((t) => t.header.zxid),
  );
  assert.equal(p.end?.kind, 'eof');

  // Flip one byte inside the 5th entry's payload: the parser stops there with a CRC failure.
  let off = 16;
  for (let i = 0; i < 4; i++) off += payloads[i]!.length + ENTRY_OVERHEAD_BYTES;
  const flipped = Buffer.from(clean);
  flipped[off + 12 + 3]! ^= 0x40;
  const q = new TxnLogParser(flipped, 1 << 20);
  let n = 0;
  while (q.next()) n++;
  assert.equal(n, 4);
  assert.deepEqual({ kind: q.end?.kind, offset: q.end?.offset }, { kind: 'bad', offset: off });
  assert.match((q.end as { reason: string }).reason, /CRC/);

  // Cut in the middle of the last entry (a torn write followed by nothing).
  const torn = clean.subarray(0, clean.length - 4096 - 5);
  const r = new TxnLogParser(torn, 1 << 20);
  n = 0;
  while (r.next()) n++;
  assert.equal(n, samples.length - 1);
  assert.equal(r.end?.kind, 'bad');
});

test('Adler32 matches java.util.zip.Adler32 on known vectors', () => {
  // Values from java.util.zip.Adler32 (and zlib's adler32()).
  assert.equal(adler32(Buffer.alloc(0)), 1);
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  // Incremental (seeded) checksums, as the snapshot writer uses across chunks.
  assert.equal(adler32(Buffer.from('pedia'), adler32(Buffer.from('Wiki'))), 0x11e60398);
});

test('Adler32 matches zlib on long, worst-case and split buffers', () => {
  // A zlib stream ends with the Adler-32 of its uncompressed bytes.
  const zlibAdler = (b: Buffer): number => {
    const z = deflateSync(b, { level: 0 });
    return z.readUInt32BE(z.length - 4);
  };
  let x = 0x9e3779b9;
  const nextByte = (): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x >>> 24;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, nextByte));
  // 0xFF runs make the sums grow fastest between the folds.
  for (const b of [Buffer.alloc(2654, 0xff), Buffer.alloc(2655, 0xff), Buffer.alloc(300_000, 0xff), bytes(1), bytes(5553), bytes(70_001)]) {
    const whole = adler32(b);
    assert.equal(whole, zlibAdler(b), `length ${b.length}`);
    for (const cut of [0, 1, Math.floor(b.length / 3), b.length])
      assert.equal(adler32(b.subarray(cut), adler32(b.subarray(0, cut))), whole, `split at ${cut}`);
  }
});

function sampleTree(): DataTree {
  const tree = new DataTree();
  let zxid = 0;
  for (const t of samples.slice(0, 8)) {
    tree.processTxn({ ...t, header: { ...t.header, zxid: ++zxid } });
  }
  for (let i = 0; i < 300; i++) {
    tree.processTxn(
      txn(
        ++zxid,
        OpCode.create,
        {
          kind: 'create',
          op: OpCode.create,
          path: `/n${i}`,
          data: Buffer.alloc(i % 50, i),
          acl: i % 3 ? [...OPEN_ACL_UNSAFE] : digestAcl,
          nodeType: i % 7 ? 'persistent' : 'ephemeral',
          parentCVersion: -1,
          ttl: 0,
        },
        BigInt((i % 4) + 1),
      ),
    );
  }
  return tree;
}

function treeState(tree: DataTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of [...tree.paths()].sort()) {
    const n = tree.get(p)!;
    out[p] = {
      stat: tree.statAt(tree.find(p)),
      data: n.data?.toString('hex') ?? null,
      acl: n.acl,
      children: tree.childrenAt(tree.find(p)).sort(),
    };
  }
  return out;
}

test('a snapshot written and loaded again gives the same tree, sessions and digest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-snap-'));
  try {
    const tree = sampleTree();
    const sessions = new Map([
      [1n, 30_000],
      [2n, 6_000],
    ]);
    const w = await writeSnapshot(dir, tree, sessions, false);
    assert.equal(w.path, join(dir, `snapshot.${tree.lastProcessedZxid.toString(16)}`));
    const back = new DataTree();
    const contents = loadSnapshot(await readFile(w.path), back);
    assert.deepEqual(treeState(back), treeState(tree));
    assert.deepEqual(contents.sessions, sessions);
    assert.equal(back.digest.value, tree.digest.value);
    assert.deepEqual(contents.digest, { zxid: tree.lastProcessedZxid, version: 2, digest: tree.digest.value });
    assert.equal(back.approximateDataSize, tree.approximateDataSize);
    assert.deepEqual([...back.ephemerals.keys()].sort(), [...tree.ephemerals.keys()].sort());

    // Any flipped byte makes the load fail (the seal covers the whole file).
    const buf = await readFile(w.path);
    for (const at of [20, Math.floor(buf.length / 2), buf.length - 30]) {
      const bad = Buffer.from(buf);
      bad[at]! ^= 0x01;
      assert.throws(() => parseSnapshot(bad, () => {}), `flip at ${at} went unnoticed`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the tree digest follows every change and equals a fresh recomputation', () => {
  const tree = sampleTree();
  tree.processTxn(txn(1000, OpCode.setData, { kind: 'setData', op: OpCode.setData, path: '/n5', data: Buffer.from('new'), version: 1 }));
  tree.processTxn(txn(1001, OpCode.delete, { kind: 'delete', op: OpCode.delete, path: '/n6' }));
  tree.processTxn(txn(1002, OpCode.setACL, { kind: 'setACL', op: OpCode.setACL, path: '/n7', acl: [...READ_ACL_UNSAFE], version: 1 }));
  const rebuilt = new DataTree();
  rebuilt.beginLoad();
  const byDepth = [...tree.paths()].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  for (const p of byDepth) rebuilt.loadNode(p, tree.get(p)!);
  assert.equal(rebuilt.digest.value, tree.digest.value);
});

test('group commit: writes queued during an fsync go out together in the next one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-gc-'));
  let syncs = 0;
  let release: (() => void) | undefined;
  const io: StorageIo = {
    async create(path) {
      const f = await nodeStorageIo.create(path);
      return {
        ...f,
        write: (b, p) => f.write(b, p),
        truncate: (n) => f.truncate(n),
        close: () => f.close(),
        async datasync() {
          syncs++;
          // Hold the first fsync until every other txn has been submitted.
          if (syncs === 1) await new Promise<void>((r) => (release = r));
          await f.datasync();
        },
      };
    },
  };
  try {
    const writer = new TxnLogWriter({ dir, forceSync: true, preAllocBytes: 65536, io });
    let rolls = 0;
    const stage = new DurableSyncStage(writer, {
      snapCount: 1000,
      batchBytesMax: 1 << 20,
      random: () => 0,
      onRoll: () => rolls++,
      onFailure: () => {},
    });
    const done: number[] = [];
    const mk = (z: number): Txn =>
      txn(z, OpCode.setData, { kind: 'setData', op: OpCode.setData, path: '/x', data: Buffer.from('d'), version: z });
    stage.submit(mk(1), () => done.push(1));
    while (!release) await new Promise((r) => setImmediate(r));
    for (let z = 2; z <= 101; z++) stage.submit(mk(z), () => done.push(z));
    assert.deepEqual(done, [], 'nothing may complete before its fsync');
    release();
    await stage.close();
    assert.deepEqual(
      done,
      Array.from({ length: 101 }, (_, i) => i + 1),
    );
    assert.equal(syncs, 2, 'the 100 txns queued behind the first fsync share one');
    assert.equal(stage.stats.batches, 2);
    const parser = new TxnLogParser(await readFile(join(dir, 'log.1')), 1 << 20);
    let n = 0;
    while (parser.next()) n++;
    assert.equal(n, 101);
    assert.equal(rolls, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the digest prep attaches to each txn is the tree digest after it, with many txns pending', async () => {
  const { PrepStage } = await import('../../../src/zookeeper/server/prep.js');
  const tree = new DataTree();
  const prep = new PrepStage(tree, { extendedTypesEnabled: true, skipAcl: false });
  const ctx = (id: bigint) => ({ sessionId: id, cxid: 1, auth: [], time: 1000, checkSession() {} });
  const open = [...OPEN_ACL_UNSAFE];
  const txns: Txn[] = [];
  // Everything prepped before anything is applied, so later txns see earlier ones only in prep's overlay.
  txns.push(prep.prepareRaw(OpCode.createSession, { kind: 'createSession', op: OpCode.createSession, timeOut: 5000 }, 7n, 0, 1000));
  txns.push(prep.prepareWrite({ op: 1, req: { path: '/a', data: Buffer.from('a'), acl: open, flags: 0 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 1, req: { path: '/a/s', data: null, acl: open, flags: 2 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 15, req: { path: '/a/e', data: Buffer.from('e'), acl: open, flags: 1 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 19, req: { path: '/c', data: null, acl: open, flags: 4 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 21, req: { path: '/t', data: null, acl: open, flags: 5, ttl: 100 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 5, req: { path: '/a', data: Buffer.from('b'), version: 0 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 7, req: { path: '/a', acl: [...READ_ACL_UNSAFE], version: 0 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 2, req: { path: '/t', version: -1 } }, ctx(7n)));
  txns.push(prep.prepareWrite({ op: 2, req: { path: '/nope', version: -1 } }, ctx(7n))); // fails: no digest
  txns.push(
    prep.prepareMulti(
      [
        { op: 1, req: { path: '/m', data: null, acl: open, flags: 0 } },
        { op: 5, req: { path: '/m', data: Buffer.from('m'), version: 0 } },
      ],
      ctx(7n),
    ),
  );
  txns.push(
    prep.prepareMulti(
      [
        { op: 1, req: { path: '/m2', data: null, acl: open, flags: 0 } },
        { op: 13, req: { path: '/m', version: 9 } },
      ],
      ctx(7n),
    ),
  );
  txns.push(
    prep.prepareRaw(
      OpCode.closeSession,
      { kind: 'closeSession', op: OpCode.closeSession, paths2Delete: prep.ephemeralsForClose(7n) },
      7n,
      0,
      2000,
    ),
  );
  txns.push(prep.prepareWrite({ op: 1, req: { path: '/after', data: null, acl: open, flags: 0 } }, ctx(8n)));
  for (const t of txns) {
    tree.processTxn(t);
    prep.applied(t.header.zxid);
    if (t.body.kind === 'error') assert.equal(t.digest, undefined);
    else assert.equal(t.digest, tree.digest.value, `zxid ${t.header.zxid} (${t.body.kind})`);
  }
  assert.equal(tree.get('/a/e'), undefined, 'the ephemeral went with its session');
});
