// Transactions <-> the bytes of one transaction-log entry, as ZooKeeper 3.8 writes them
// (Util.marshallTxnEntry): TxnHeader, then the txn record chosen by the header's type, then an
// optional TxnDigest. The record tables live in protocol/records.ts.

import { OpCode } from '../protocol/constants.js';
import { JuteReader, JuteWriter } from '../protocol/jute.js';
import {
  CheckVersionTxn,
  CloseSessionTxn,
  CreateContainerTxn,
  CreateSessionTxn,
  CreateTTLTxn,
  CreateTxn,
  DeleteTxn,
  ErrorTxn,
  MultiTxn,
  SetACLTxn,
  SetDataTxn,
  TxnDigest,
  TxnHeader,
} from '../protocol/records.js';
import type { SubTxn, Txn, TxnBody } from '../server/txn.js';
import { DIGEST_VERSION } from '../server/digest.js';

export class TxnFormatError extends Error {}

export interface DigestT {
  version: number;
  treeDigest: bigint;
}

const scratch = new JuteWriter(1024);

function writeSub(w: JuteWriter, t: SubTxn): void {
  switch (t.kind) {
    case 'create':
      if (t.op === OpCode.createContainer) {
        CreateContainerTxn.encode(w, { path: t.path, data: t.data, acl: t.acl, parentCVersion: t.parentCVersion });
      } else if (t.op === OpCode.createTTL) {
        CreateTTLTxn.encode(w, { path: t.path, data: t.data, acl: t.acl, parentCVersion: t.parentCVersion, ttl: t.ttl });
      } else {
        CreateTxn.encode(w, {
          path: t.path,
          data: t.data,
          acl: t.acl,
          ephemeral: t.nodeType === 'ephemeral',
          parentCVersion: t.parentCVersion,
        });
      }
      return;
    case 'delete':
      DeleteTxn.encode(w, { path: t.path });
      return;
    case 'setData':
      SetDataTxn.encode(w, { path: t.path, data: t.data, version: t.version });
      return;
    case 'setACL':
      SetACLTxn.encode(w, { path: t.path, acl: t.acl, version: t.version });
      return;
    case 'check':
      CheckVersionTxn.encode(w, { path: t.path, version: t.version });
      return;
    case 'error':
      ErrorTxn.encode(w, { err: t.err });
      return;
  }
}

function writeBody(w: JuteWriter, body: TxnBody): void {
  switch (body.kind) {
    case 'multi':
      // MultiTxn{vector<Txn{int type; buffer data}>}, each sub-record written in place.
      w.int(body.txns.length);
      for (const t of body.txns) {
        w.int(t.kind === 'error' ? OpCode.error : t.op);
        const at = w.beginFrame();
        writeSub(w, t);
        w.endFrame(at);
      }
      return;
    case 'createSession':
      CreateSessionTxn.encode(w, { timeOut: body.timeOut });
      return;
    case 'closeSession':
      CloseSessionTxn.encode(w, { paths2Delete: body.paths2Delete });
      return;
    default:
      writeSub(w, body);
  }
}

/** The entry payload: header + record + digest (given, or the txn's own when it has one). */
export function encodeTxn(
  txn: Txn,
  digest: DigestT | undefined = txn.digest === undefined ? undefined : { version: DIGEST_VERSION, treeDigest: txn.digest },
): Buffer {
  const w = scratch;
  w.reset();
  const h = txn.header;
  TxnHeader.encode(w, { clientId: h.clientId, cxid: h.cxid, zxid: h.zxid, time: h.time, type: h.type });
  writeBody(w, txn.body);
  if (digest) TxnDigest.encode(w, digest);
  return w.toBuffer();
}

function readSub(r: JuteReader, type: number): SubTxn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2: {
      const t = CreateTxn.decode(r);
      return {
        kind: 'create',
        op: type,
        path: t.path,
        data: t.data,
        acl: t.acl,
        nodeType: t.ephemeral ? 'ephemeral' : 'persistent',
        parentCVersion: t.parentCVersion,
        ttl: 0,
      };
    }
    case OpCode.createContainer: {
      const t = CreateContainerTxn.decode(r);
      return {
        kind: 'create',
        op: type,
        path: t.path,
        data: t.data,
        acl: t.acl,
        nodeType: 'container',
        parentCVersion: t.parentCVersion,
        ttl: 0,
      };
    }
    case OpCode.createTTL: {
      const t = CreateTTLTxn.decode(r);
      return {
        kind: 'create',
        op: type,
        path: t.path,
        data: t.data,
        acl: t.acl,
        nodeType: 'ttl',
        parentCVersion: t.parentCVersion,
        ttl: t.ttl,
      };
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { kind: 'delete', op: type, path: DeleteTxn.decode(r).path };
    case OpCode.setData:
    case OpCode.reconfig: {
      // reconfig is logged as a SetDataTxn on /zookeeper/config.
      const t = SetDataTxn.decode(r);
      return { kind: 'setData', op: OpCode.setData, path: t.path, data: t.data, version: t.version };
    }
    case OpCode.setACL: {
      const t = SetACLTxn.decode(r);
      return { kind: 'setACL', op: type, path: t.path, acl: t.acl, version: t.version };
    }
    case OpCode.check: {
      const t = CheckVersionTxn.decode(r);
      return { kind: 'check', op: type, path: t.path, version: t.version };
    }
    case OpCode.error:
      return { kind: 'error', op: type, err: ErrorTxn.decode(r).err };
    default:
      throw new TxnFormatError(`unknown transaction type ${type}`);
  }
}

function readBody(r: JuteReader, type: number): TxnBody {
  switch (type) {
    case OpCode.multi: {
      const { txns } = MultiTxn.decode(r);
      const sub = new JuteReader(Buffer.alloc(0));
      return {
        kind: 'multi',
        op: type,
        txns: txns.map((t) => {
          sub.reset(t.data ?? Buffer.alloc(0));
          return readSub(sub, t.type);
        }),
      };
    }
    case OpCode.createSession:
      return { kind: 'createSession', op: type, timeOut: CreateSessionTxn.decode(r).timeOut };
    case OpCode.closeSession:
      // Before 3.6 (or with closeSessionTxn disabled) the body is empty.
      return { kind: 'closeSession', op: type, paths2Delete: r.remaining > 0 ? CloseSessionTxn.decode(r).paths2Delete : [] };
    default:
      return readSub(r, type);
  }
}

export interface DecodedTxn {
  txn: Txn;
  digest: DigestT | undefined;
}

/** Parses an entry payload; throws TxnFormatError (or JuteError) if it is not a valid txn. */
export function decodeTxn(payload: Buffer): DecodedTxn {
  const r = new JuteReader(payload);
  const h = TxnHeader.decode(r);
  const body = readBody(r, h.type);
  // The digest is optional: logs written with digests off (or by us) end after the record.
  const digest = r.remaining >= 12 ? TxnDigest.decode(r) : undefined;
  return { txn: { header: { clientId: h.clientId, cxid: h.cxid, zxid: h.zxid, time: h.time, type: h.type }, body }, digest };
}
