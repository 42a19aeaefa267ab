// Request helpers shared by single operations and multi: data conversion, create-mode planning,
// and the multi / multiRead request and response bodies.

import { CreateMode, Err, errName, OpCode, TTL_MAX_MS } from '../protocol/constants.js';
import type { JuteReader, JuteWriter } from '../protocol/jute.js';
import {
  CheckVersionRequest,
  Create2Response,
  CreateRequest,
  CreateResponse,
  CreateTTLRequest,
  DeleteRequest,
  ErrorResponse,
  GetChildrenRequest,
  GetChildrenResponse,
  GetDataRequest,
  GetDataResponse,
  MultiHeader,
  SetDataRequest,
  SetDataResponse,
  type AclT,
} from '../protocol/records.js';
import { OPEN_ACL_UNSAFE } from './acl.js';
import { validatePath, type Chroot } from './connectString.js';
import { badArguments, ZooKeeperError } from './errors.js';
import type { CreateModeValue, CreateOptions, Data, OpResult, ReadOp as ReadOpT, ReadResult } from './types.js';

export function toData(d: Data): Buffer | null {
  if (d === null || d === undefined) return null;
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (Buffer.isBuffer(d)) return d;
  if (d instanceof Uint8Array) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  throw badArguments(undefined, 'data must be a Buffer, Uint8Array, string or null');
}

/** Copy a zero-copy view out of a reply frame so callers may keep it. */
export function copyData(b: Buffer | null): Buffer | null {
  return b === null ? null : Buffer.from(b);
}

export interface CreatePlan {
  op: number;
  flags: CreateModeValue;
  ttl: number | undefined;
  acl: AclT[];
}

const isTtl = (m: number): boolean => m === CreateMode.PERSISTENT_WITH_TTL || m === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
const isSequential = (m: number): boolean =>
  m === CreateMode.PERSISTENT_SEQUENTIAL || m === CreateMode.EPHEMERAL_SEQUENTIAL || m === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;

/**
 * Which create opcode a mode needs, as the Java client chooses: TTL modes use createTTL (21),
 * containers createContainer (19), others create (1) or create2 (15) when a Stat is wanted.
 */
export function planCreate(path: string, options: CreateOptions | undefined, withStat: boolean): CreatePlan {
  const mode = options?.mode ?? CreateMode.PERSISTENT;
  if (!Number.isInteger(mode) || mode < 0 || mode > 6) throw badArguments(path, `invalid create mode ${mode}`);
  validatePath(path, isSequential(mode));
  const ttl = options?.ttl;
  if (isTtl(mode)) {
    if (ttl === undefined || !Number.isInteger(ttl) || ttl <= 0 || ttl > TTL_MAX_MS) {
      throw badArguments(path, `TTL modes need 0 < ttl <= ${TTL_MAX_MS}`);
    }
  } else if (ttl !== undefined && ttl !== -1) {
    throw badArguments(path, 'ttl is only allowed with the *_WITH_TTL modes');
  }
  const acl = (options?.acl ?? OPEN_ACL_UNSAFE) as AclT[];
  if (!Array.isArray(acl) || acl.length === 0) throw new ZooKeeperError(Err.INVALIDACL, path, 'empty ACL');
  const op = isTtl(mode)
    ? OpCode.createTTL
    : mode === CreateMode.CONTAINER
      ? OpCode.createContainer
      : withStat
        ? OpCode.create2
        : OpCode.create;
  return { op, flags: mode as CreateModeValue, ttl: isTtl(mode) ? ttl : undefined, acl };
}

export function encodeCreate(w: JuteWriter, serverPath: string, data: Buffer | null, plan: CreatePlan): void {
  if (plan.op === OpCode.createTTL) {
    CreateTTLRequest.encode(w, { path: serverPath, data, acl: plan.acl, flags: plan.flags, ttl: plan.ttl! });
  } else {
    CreateRequest.encode(w, { path: serverPath, data, acl: plan.acl, flags: plan.flags });
  }
}

// ---- multi

export type Op =
  | { type: 'create'; path: string; data?: Data; options?: CreateOptions; withStat?: boolean }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data: Data; version?: number }
  | { type: 'check'; path: string; version: number };

/** Constructors for multi ops. */
export const Op = {
  create: (path: string, data?: Data, options?: CreateOptions & { withStat?: boolean }): Op => ({
    type: 'create',
    path,
    data,
    options,
    withStat: options?.withStat ?? false,
  }),
  delete: (path: string, version = -1): Op => ({ type: 'delete', path, version }),
  setData: (path: string, data: Data, version = -1): Op => ({ type: 'setData', path, data, version }),
  check: (path: string, version: number): Op => ({ type: 'check', path, version }),
};

export type ReadOp = ReadOpT;
export const ReadOp = {
  getData: (path: string): ReadOp => ({ type: 'getData', path }),
  getChildren: (path: string): ReadOp => ({ type: 'getChildren', path }),
};

type Prepared =
  | { kind: 'create'; path: string; data: Buffer | null; plan: CreatePlan }
  | { kind: 'delete' | 'check'; path: string; version: number }
  | { kind: 'setData'; path: string; data: Buffer | null; version: number };

/** Validate every op before anything is written. */
function prepare(ops: readonly Op[]): Prepared[] {
  return ops.map((o): Prepared => {
    switch (o.type) {
      case 'create':
        return { kind: 'create', path: o.path, data: toData(o.data), plan: planCreate(o.path, o.options, o.withStat ?? false) };
      case 'delete':
      case 'check':
        validatePath(o.path);
        return { kind: o.type, path: o.path, version: o.version ?? -1 };
      case 'setData':
        validatePath(o.path);
        return { kind: 'setData', path: o.path, data: toData(o.data), version: o.version ?? -1 };
      default:
        throw badArguments(undefined, `unknown multi op ${(o as { type: string }).type}`);
    }
  });
}

export function multiEncoder(ops: readonly Op[], chroot: Chroot): (w: JuteWriter) => void {
  const prepared = prepare(ops);
  return (w) => {
    for (const p of prepared) {
      const path = chroot.toServer(p.path);
      switch (p.kind) {
        case 'create':
          MultiHeader.encode(w, { type: p.plan.op, done: false, err: -1 });
          encodeCreate(w, path, p.data, p.plan);
          break;
        case 'delete':
          MultiHeader.encode(w, { type: OpCode.delete, done: false, err: -1 });
          DeleteRequest.encode(w, { path, version: p.version });
          break;
        case 'check':
          MultiHeader.encode(w, { type: OpCode.check, done: false, err: -1 });
          CheckVersionRequest.encode(w, { path, version: p.version });
          break;
        case 'setData':
          MultiHeader.encode(w, { type: OpCode.setData, done: false, err: -1 });
          SetDataRequest.encode(w, { path, data: p.data, version: p.version });
          break;
      }
    }
    MultiHeader.encode(w, { type: -1, done: true, err: -1 });
  };
}

/** Decode a MultiResponse; throws MultiError-ready data via the caller (see client.multi). */
export function decodeMulti(r: JuteReader, chroot: Chroot): OpResult[] {
  const out: OpResult[] = [];
  for (;;) {
    const h = MultiHeader.decode(r);
    if (h.done) break;
    switch (h.type) {
      case OpCode.create:
        out.push({ type: 'create', path: chroot.toClient(CreateResponse.decode(r).path), stat: null });
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const c = Create2Response.decode(r);
        out.push({ type: 'create', path: chroot.toClient(c.path), stat: c.stat });
        break;
      }
      case OpCode.delete:
        out.push({ type: 'delete' });
        break;
      case OpCode.check:
        out.push({ type: 'check' });
        break;
      case OpCode.setData:
        out.push({ type: 'setData', stat: SetDataResponse.decode(r).stat });
        break;
      case OpCode.error: {
        const err = ErrorResponse.decode(r).err;
        out.push({ type: 'error', err, codeName: errName(err) });
        break;
      }
      default:
        throw new ZooKeeperError(Err.MARSHALLINGERROR, undefined, `unexpected multi result type ${h.type}`);
    }
  }
  return out;
}

export function multiReadEncoder(ops: readonly ReadOp[], chroot: Chroot): (w: JuteWriter) => void {
  for (const o of ops) {
    if (o.type !== 'getData' && o.type !== 'getChildren') throw badArguments(undefined, `multiRead supports getData and getChildren only`);
    validatePath(o.path);
  }
  return (w) => {
    for (const o of ops) {
      const path = chroot.toServer(o.path);
      if (o.type === 'getData') {
        MultiHeader.encode(w, { type: OpCode.getData, done: false, err: -1 });
        GetDataRequest.encode(w, { path, watch: false });
      } else {
        MultiHeader.encode(w, { type: OpCode.getChildren, done: false, err: -1 });
        GetChildrenRequest.encode(w, { path, watch: false });
      }
    }
    MultiHeader.encode(w, { type: -1, done: true, err: -1 });
  };
}

export function decodeMultiRead(r: JuteReader): ReadResult[] {
  const out: ReadResult[] = [];
  for (;;) {
    const h = MultiHeader.decode(r);
    if (h.done) break;
    switch (h.type) {
      case OpCode.getData: {
        const d = GetDataResponse.decode(r);
        out.push({ type: 'getData', data: copyData(d.data), stat: d.stat });
        break;
      }
      case OpCode.getChildren:
        out.push({ type: 'getChildren', children: GetChildrenResponse.decode(r).children });
        break;
      case OpCode.error: {
        const err = ErrorResponse.decode(r).err;
        out.push({ type: 'error', err, codeName: errName(err) });
        break;
      }
      default:
        throw new ZooKeeperError(Err.MARSHALLINGERROR, undefined, `unexpected multiRead result type ${h.type}`);
    }
  }
  return out;
}

/** The first failing op of a multi result list, or -1. */
export function firstFailure(results: readonly OpResult[]): number {
  return results.findIndex((r) => r.type === 'error' && r.err !== 0);
}
