// Request body builders for the differential scenarios (encoded with our record codecs).

import { enc, encodeMulti } from '../../helpers/rawClient.js';
import {
  AddWatchRequest,
  AuthPacket,
  CheckVersionRequest,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  GetChildrenRequest,
  GetDataRequest,
  GetEphemeralsRequest,
  PathRequest,
  SetACLRequest,
  SetDataRequest,
  SetWatches,
  SetWatches2,
  WatchTypeRequest,
  type AclT,
} from '../../../src/zookeeper/protocol/records.js';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { digestOf } from '../../../src/zookeeper/protocol/acls.js';

export const OPEN: AclT[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
export const READ_ONLY: AclT[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

export function acl(perms: number, scheme: string, id: string): AclT {
  return { perms, id: { scheme, id } };
}

/** The digest ACL id for `user:password`. */
export function digest(userPassword: string): string {
  return digestOf(userPassword);
}

const text = (s: string | Buffer | null): Buffer | null => (typeof s === 'string' ? Buffer.from(s) : s);

export const B = {
  create: (path: string, data: string | Buffer | null = '', flags = 0, a: AclT[] | null = OPEN): Buffer =>
    enc(CreateRequest, { path, data: text(data), acl: a as AclT[], flags }),
  createTTL: (path: string, data: string | Buffer | null, flags: number, ttl: number, a: AclT[] = OPEN): Buffer =>
    enc(CreateTTLRequest, { path, data: text(data), acl: a, flags, ttl }),
  delete: (path: string, version = -1): Buffer => enc(DeleteRequest, { path, version }),
  exists: (path: string, watch = false): Buffer => enc(GetDataRequest, { path, watch }),
  getData: (path: string, watch = false): Buffer => enc(GetDataRequest, { path, watch }),
  setData: (path: string, data: string | Buffer | null, version = -1): Buffer => enc(SetDataRequest, { path, data: text(data), version }),
  getACL: (path: string): Buffer => enc(PathRequest, { path }),
  setACL: (path: string, a: AclT[], version = -1): Buffer => enc(SetACLRequest, { path, acl: a, version }),
  getChildren: (path: string, watch = false): Buffer => enc(GetChildrenRequest, { path, watch }),
  sync: (path: string): Buffer => enc(PathRequest, { path }),
  path: (path: string): Buffer => enc(PathRequest, { path }),
  check: (path: string, version: number): Buffer => enc(CheckVersionRequest, { path, version }),
  watchType: (path: string, type: number): Buffer => enc(WatchTypeRequest, { path, type }),
  addWatch: (path: string, mode: number): Buffer => enc(AddWatchRequest, { path, mode }),
  auth: (scheme: string, auth: string): Buffer => enc(AuthPacket, { type: 0, scheme, auth: Buffer.from(auth) }),
  ephemerals: (prefixPath: string): Buffer => enc(GetEphemeralsRequest, { prefixPath }),
  setWatches: (relativeZxid: number, data: string[], exist: string[], child: string[]): Buffer =>
    enc(SetWatches, { relativeZxid, dataWatches: data, existWatches: exist, childWatches: child }),
  setWatches2: (
    relativeZxid: number,
    data: string[],
    exist: string[],
    child: string[],
    persistent: string[],
    recursive: string[],
  ): Buffer =>
    enc(SetWatches2, {
      relativeZxid,
      dataWatches: data,
      existWatches: exist,
      childWatches: child,
      persistentWatches: persistent,
      persistentRecursiveWatches: recursive,
    }),
  multi: (ops: { type: number; body: Buffer }[]): Buffer => encodeMulti(ops),
};

/** Sub-ops for multi bodies. */
export const M = {
  create: (path: string, data: string | null = '', flags = 0, a: AclT[] = OPEN) => ({
    type: OpCode.create,
    body: B.create(path, data, flags, a),
  }),
  create2: (path: string, data: string | null = '', flags = 0, a: AclT[] = OPEN) => ({
    type: OpCode.create2,
    body: B.create(path, data, flags, a),
  }),
  delete: (path: string, version = -1) => ({ type: OpCode.delete, body: B.delete(path, version) }),
  setData: (path: string, data: string | null, version = -1) => ({ type: OpCode.setData, body: B.setData(path, data, version) }),
  check: (path: string, version: number) => ({ type: OpCode.check, body: B.check(path, version) }),
  getData: (path: string) => ({ type: OpCode.getData, body: B.getData(path) }),
  getChildren: (path: string) => ({ type: OpCode.getChildren, body: B.getChildren(path) }),
};
