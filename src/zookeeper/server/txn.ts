// Transactions as the pipeline carries them: the TxnHeader plus a typed body. The body kinds map
// one-to-one onto ZooKeeper's txn records (CreateTxn, DeleteTxn, ...); the persistence layer
// encodes them with the jute codecs in records.ts.

import type { AclT } from '../protocol/records.js';

export interface TxnHeaderFields {
  clientId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  /** OpCode of the request (create2, createTTL, ...), or -1 (error). */
  type: number;
}

export type NodeType = 'persistent' | 'ephemeral' | 'container' | 'ttl';

export type SubTxn =
  | {
      kind: 'create';
      /** create(1), create2(15), createContainer(19) or createTTL(21): picks the record and reply. */
      op: number;
      path: string;
      data: Buffer | null;
      acl: AclT[];
      nodeType: NodeType;
      parentCVersion: number;
      ttl: number;
    }
  | { kind: 'delete'; op: number; path: string }
  | { kind: 'setData'; op: number; path: string; data: Buffer | null; version: number }
  | { kind: 'setACL'; op: number; path: string; acl: AclT[]; version: number }
  | { kind: 'check'; op: number; path: string; version: number }
  | { kind: 'error'; op: number; err: number };

export type TxnBody =
  | SubTxn
  | { kind: 'multi'; op: number; txns: SubTxn[] }
  | { kind: 'createSession'; op: number; timeOut: number }
  | { kind: 'closeSession'; op: number; paths2Delete: string[] };

export interface Txn {
  header: TxnHeaderFields;
  body: TxnBody;
  /** The tree digest after this txn (logged as its TxnDigest); absent for error txns. */
  digest?: bigint;
}
