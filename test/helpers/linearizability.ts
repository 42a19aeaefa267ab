// Linearizability checker for ZooKeeper histories, plus a recorder that builds histories around
// client calls.
//
// The model: every key (znode path) is an independent register holding (value, version). A missing
// node is (null, -1); create makes it (value, 0); a successful setData makes it (value, version + 1);
// delete makes it missing again. Keys are independent, so the history is checked one key at a time
// (linearizability is compositional: a history is linearizable iff each key's sub-history is).
//
// The search is the Wing & Gong algorithm with Lowe's memoization, as in porcupine and Knossos:
// walk the history's call/return events in time order, linearize a pending call whenever the model
// allows it, backtrack when a return is reached whose call has not been linearized, and remember
// every (set of linearized ops, register state) configuration already explored so it is never
// explored twice. A step budget (and an optional deadline) turn a pathological search into an
// 'unknown' answer instead of a hang.
//
// Operations whose outcome is unknown (connection loss, timeout, session expiry) may have taken
// effect at any moment after their invocation, or never: their completion is +infinity. An unknown
// read constrains nothing and is dropped. An unknown mutation is only tried where it would change
// the register: placing it where it is a no-op is equivalent to placing it after everything, which
// is always allowed. The search succeeds once every operation with a known outcome is linearized.
//
// Prunings beyond plain WGL, each a dominance argument spelled out where it is implemented, and
// each checked against an exhaustive reference checker in test/zookeeper/linearizability.test.ts:
//  - an op that is legal and leaves the register unchanged (a read, a failed write) is never worth
//    postponing: if placing it now fails, the configuration fails (`preserving`);
//  - an unknown mutation that can never apply again is placed as a no-op at once, so it stops being
//    rescanned (versions only grow on a key without deletes);
//  - unknown mutations of the same kind and expected version whose values nobody read are
//    interchangeable: only the earliest pending one is tried (`shadowed`);
//  - an unknown write whose value a read returned, and which is the only op that could have
//    written it, must produce exactly the version read (`pinVer`);
//  - version lookahead: on a key without deletes, a placement that lifts the version above what a
//    still-unplaced completed op needs is a dead end (`needTree`).
// Together they keep typical histories (thousands of ops per key, tens of clients, many unknown
// outcomes) at about one configuration per op, accepted or refuted.

// Real-time order: `a` must precede `b` iff a.completeMs < b.invokeMs (strictly). Operations whose
// timestamps touch are treated as concurrent, which can only make the checker more permissive, never
// reject a history that a finer clock would accept.

import { performance } from 'node:perf_hooks';
import { Err } from '../../src/zookeeper/protocol/constants.js';
import { prng } from './prng.js';

// ---------------------------------------------------------------- history types

/** What every recorded operation carries. Times are milliseconds on one monotonic clock. */
export interface OpTiming {
  /** The znode path (one register per key). */
  key: string;
  /** Who issued the operation (client/session/worker id); only used in explanations. */
  client: string | number;
  invokeMs: number;
  /** Required for ok/fail outcomes; ignored for 'unknown' (may hold the time the client gave up). */
  completeMs?: number;
}

export type FailCode = 'BADVERSION' | 'NONODE' | 'NODEEXISTS';
export interface UnknownResult {
  status: 'unknown';
  /** Why the outcome is unknown (e.g. 'CONNECTIONLOSS'); informational. */
  reason?: string;
}

/** setData(key, value, expectedVersion); expectedVersion -1 means any version. */
export interface WriteOp extends OpTiming {
  kind: 'write';
  value: string;
  expectedVersion: number;
  result: { status: 'ok'; version: number } | { status: 'fail'; code: 'BADVERSION' | 'NONODE' } | UnknownResult;
}

/** getData(key) (after sync). A missing node reads as value null, version -1. */
export interface ReadOp extends OpTiming {
  kind: 'read';
  result: { status: 'ok'; value: string | null; version: number } | UnknownResult;
}

/** create(key, value): the node starts at version 0. */
export interface CreateOp extends OpTiming {
  kind: 'create';
  value: string;
  result: { status: 'ok' } | { status: 'fail'; code: 'NODEEXISTS' } | UnknownResult;
}

/** delete(key, expectedVersion); expectedVersion -1 means any version. */
export interface DeleteOp extends OpTiming {
  kind: 'delete';
  expectedVersion: number;
  result: { status: 'ok' } | { status: 'fail'; code: 'BADVERSION' | 'NONODE' } | UnknownResult;
}

export type HistoryOp = WriteOp | ReadOp | CreateOp | DeleteOp;

export interface RegisterState {
  value: string | null;
  version: number;
}

export const MISSING: RegisterState = Object.freeze({ value: null, version: -1 });

// ---------------------------------------------------------------- checker API

export interface CheckOptions {
  /** Search steps allowed per key before answering 'unknown'. Default 5,000,000 (about a second,
   * and at most ~150 MB of memoized configurations). */
  budgetSteps?: number;
  /** Wall-clock limit for the whole check, in ms, before answering 'unknown'. Default none. */
  timeoutMs?: number;
  /** The register state of keys before the history starts. Default: every key missing. */
  initial?: Record<string, RegisterState>;
  /** Return one linearization per key on success (for tests that verify the checker). It holds
   * every op with a known outcome and the unknown-outcome ops that took effect. */
  witness?: boolean;
}

export interface CheckStats {
  keys: number;
  /** Operations considered (unknown reads are dropped). */
  ops: number;
  /** Search steps over all keys. */
  steps: number;
  /** Memoized configurations over all keys. */
  configurations: number;
  elapsedMs: number;
}

export interface Candidate {
  op: HistoryOp;
  /** Index of the op in the history passed to checkLinearizable. */
  index: number;
  why: string;
}

export interface FailureDetail {
  key: string;
  /** The longest linearizable prefix found, in linearization order (unknown-outcome ops only where
   * they took effect). */
  prefix: HistoryOp[];
  /** The register after that prefix. */
  state: RegisterState;
  /** The operation whose completion was reached while it still could not be placed. */
  stuck: HistoryOp;
  /** Every operation that could have been linearized next at that point, and why none worked. */
  candidates: Candidate[];
  /** Operations whose intervals overlap the stuck one's (the window a human has to look at). */
  window: HistoryOp[];
}

export type CheckResult =
  | { ok: true; stats: CheckStats; linearization?: Record<string, HistoryOp[]> }
  | { ok: false; key: string; explanation: string; detail: FailureDetail; stats: CheckStats }
  | { ok: 'unknown'; key: string; reason: string; stats: CheckStats };

/**
 * Decides whether `history` is linearizable with respect to the ZooKeeper register model, key by
 * key. A definite failure on any key wins over a budget exhaustion on another.
 */
export function checkLinearizable(history: readonly HistoryOp[], opts: CheckOptions = {}): CheckResult {
  const t0 = performance.now();
  const budget = opts.budgetSteps ?? 5_000_000;
  const deadline = opts.timeoutMs === undefined ? Infinity : t0 + opts.timeoutMs;
  const byKey = new Map<string, number[]>();
  history.forEach((op, i) => {
    validate(op, i);
    if (op.kind === 'read' && op.result.status === 'unknown') return; // constrains nothing
    let l = byKey.get(op.key);
    if (!l) {
      l = [];
      byKey.set(op.key, l);
    }
    l.push(i);
  });
  const stats: CheckStats = { keys: byKey.size, ops: 0, steps: 0, configurations: 0, elapsedMs: 0 };
  const linearization: Record<string, HistoryOp[]> = {};
  let unknown: { key: string; reason: string } | undefined;
  for (const [key, indices] of byKey) {
    const r = checkKey(key, history, indices, opts.initial?.[key] ?? MISSING, budget, deadline);
    stats.ops += indices.length;
    stats.steps += r.steps;
    stats.configurations += r.configurations;
    if (r.verdict === 'ok') {
      if (opts.witness) linearization[key] = r.order.map((i) => history[i]!);
    } else if (r.verdict === 'fail') {
      stats.elapsedMs = performance.now() - t0;
      return { ok: false, key, explanation: r.explanation, detail: r.detail, stats };
    } else if (!unknown) {
      unknown = { key, reason: r.reason };
    }
  }
  stats.elapsedMs = performance.now() - t0;
  if (unknown) return { ok: 'unknown', key: unknown.key, reason: unknown.reason, stats };
  return opts.witness ? { ok: true, stats, linearization } : { ok: true, stats };
}

function validate(op: HistoryOp, i: number): void {
  const bad = (m: string): never => {
    throw new TypeError(`history[${i}] (${op.kind} ${op.key}): ${m}`);
  };
  if (!Number.isFinite(op.invokeMs)) bad('invokeMs must be a finite number');
  if (op.result.status !== 'unknown') {
    if (op.completeMs === undefined || !Number.isFinite(op.completeMs)) bad('a completed operation needs a finite completeMs');
    if (op.completeMs! < op.invokeMs) bad(`completeMs ${op.completeMs} is before invokeMs ${op.invokeMs}`);
  }
  if ((op.kind === 'write' || op.kind === 'delete') && (!Number.isInteger(op.expectedVersion) || op.expectedVersion < -1)) {
    bad('expectedVersion must be an integer >= -1');
  }
  if (op.kind === 'write' && op.result.status === 'ok' && !Number.isInteger(op.result.version)) bad('ok write needs a version');
  if (op.kind === 'read' && op.result.status === 'ok' && !Number.isInteger(op.result.version)) bad('ok read needs a version');
}

// ---------------------------------------------------------------- the search for one key

const K_WRITE = 0;
const K_READ = 1;
const K_CREATE = 2;
const K_DELETE = 3;
const S_OK = 0;
const S_FAIL = 1;
const S_UNKNOWN = 2;
const F_BADVERSION = 1;
const F_NONODE = 2;
const F_NODEEXISTS = 3;

type KeyVerdict =
  | { verdict: 'ok'; order: number[]; steps: number; configurations: number }
  | { verdict: 'fail'; explanation: string; detail: FailureDetail; steps: number; configurations: number }
  | { verdict: 'unknown'; reason: string; steps: number; configurations: number };

/** A linearized op on the (persistent) stack of the search. */
interface Frame {
  op: number;
  prevVid: number;
  prevVer: number;
  maxIdx: number;
  depth: number;
  /** The op left the register unchanged (see the dominance argument in checkKey). */
  preserving: boolean;
  prev: Frame | null;
}

interface CacheEntry {
  h2: number;
  vid: number;
  ver: number;
  maxIdx: number;
  holes: number[];
}

// Zobrist keys for hashing the linearized set incrementally; fixed seed so runs are reproducible.
let zobrist1 = new Int32Array(0);
let zobrist2 = new Int32Array(0);
function ensureZobrist(n: number): void {
  if (zobrist1.length >= n) return;
  const size = Math.max(n, zobrist1.length * 2, 1024);
  const r = prng(0x2a5f1e3d);
  zobrist1 = new Int32Array(size);
  zobrist2 = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    zobrist1[i] = (r() * 4294967296) | 0;
    zobrist2[i] = (r() * 4294967296) | 0;
  }
}

function checkKey(
  key: string,
  history: readonly HistoryOp[],
  indices: number[],
  init: RegisterState,
  budget: number,
  deadline: number,
): KeyVerdict {
  // Ops of this key in invocation order (ties: history order).
  const ops = indices.slice().sort((a, b) => history[a]!.invokeMs - history[b]!.invokeMs || a - b);
  const n = ops.length;
  const H = (i: number): HistoryOp => history[ops[i]!]!;

  // Values are interned; null (missing node) is -1.
  const valueIds = new Map<string, number>();
  const values: string[] = [];
  const vidOf = (v: string | null): number => {
    if (v === null) return -1;
    let id = valueIds.get(v);
    if (id === undefined) {
      id = values.length;
      values.push(v);
      valueIds.set(v, id);
    }
    return id;
  };

  const kind = new Uint8Array(n);
  const status = new Uint8Array(n);
  const fail = new Uint8Array(n);
  const argVid = new Int32Array(n);
  const expVer = new Int32Array(n);
  const resVid = new Int32Array(n);
  const resVer = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const op = H(i);
    const r = op.result;
    status[i] = r.status === 'ok' ? S_OK : r.status === 'fail' ? S_FAIL : S_UNKNOWN;
    if (r.status === 'fail') fail[i] = r.code === 'BADVERSION' ? F_BADVERSION : r.code === 'NONODE' ? F_NONODE : F_NODEEXISTS;
    switch (op.kind) {
      case 'write':
        kind[i] = K_WRITE;
        argVid[i] = vidOf(op.value);
        expVer[i] = op.expectedVersion;
        if (op.result.status === 'ok') resVer[i] = op.result.version;
        break;
      case 'read':
        kind[i] = K_READ;
        if (op.result.status === 'ok') {
          resVer[i] = op.result.version;
          resVid[i] = op.result.version < 0 ? -1 : vidOf(op.result.value);
        }
        break;
      case 'create':
        kind[i] = K_CREATE;
        argVid[i] = vidOf(op.value);
        break;
      case 'delete':
        kind[i] = K_DELETE;
        expVer[i] = op.expectedVersion;
        break;
    }
  }

  let hasCreate = false;
  let hasDelete = false;
  for (let i = 0; i < n; i++) {
    if (kind[i] === K_CREATE) hasCreate = true;
    if (kind[i] === K_DELETE) hasDelete = true;
  }

  // Interchangeable unknown mutations. Two unknown ops of the same kind and expected version whose
  // values no successful read ever returned are indistinguishable once both are invoked: no
  // completed op can tell which one's value is in the register. So a linearization that applies
  // the later one while the earlier one is still pending can apply the earlier one instead (and the
  // later one wherever the earlier one went, or nowhere). The search therefore only ever tries the
  // earliest pending member of such a class, which turns k pending never-applied unknown writes
  // from 2^k configurations into k + 1.
  const observed = new Set<number>();
  for (let i = 0; i < n; i++) if (kind[i] === K_READ && status[i] === S_OK && resVer[i]! >= 0) observed.add(resVid[i]!);

  // Pinned unknown writes. If a successful read returned (x, V) and exactly one op of this key
  // could ever put x in the register (an unknown write, and x is not the initial value), that
  // write has to take effect, producing exactly version V. It is then only tried where it does;
  // without this, an unknown blind write may be tried at every point until its value is read.
  const pinVer = new Int32Array(n).fill(-2);
  {
    const producers = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (kind[i] !== K_WRITE && kind[i] !== K_CREATE) continue;
      const l = producers.get(argVid[i]!);
      if (l) l.push(i);
      else producers.set(argVid[i]!, [i]);
    }
    const initVid = init.version >= 0 ? vidOf(init.value) : -3;
    const readVersions = new Map<number, number>(); // value -> version read (-3: reads disagree)
    for (let i = 0; i < n; i++) {
      if (kind[i] !== K_READ || status[i] !== S_OK || resVer[i]! < 0) continue;
      const v = readVersions.get(resVid[i]!);
      readVersions.set(resVid[i]!, v === undefined || v === resVer[i] ? resVer[i]! : -3);
    }
    for (const [x, v] of readVersions) {
      const p = producers.get(x);
      if (v < 1 || x === initVid || p === undefined || p.length !== 1) continue;
      const i = p[0]!;
      if (kind[i] === K_WRITE && status[i] === S_UNKNOWN) pinVer[i] = v;
    }
  }
  const classOf = new Int32Array(n).fill(-1);
  const members: number[][] = [];
  {
    const ids = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      if (status[i] !== S_UNKNOWN || kind[i] === K_READ) continue;
      if (kind[i] !== K_DELETE && observed.has(argVid[i]!)) continue;
      const name = `${kind[i]}:${kind[i] === K_CREATE ? 0 : expVer[i]}`;
      let c = ids.get(name);
      if (c === undefined) {
        c = members.length;
        ids.set(name, c);
        members.push([]);
      }
      classOf[i] = c;
      members[c]!.push(i); // in index (= invocation) order
    }
  }
  const posInClass = new Int32Array(n);
  for (const m of members)
    m.forEach((i, p) => {
      posInClass[i] = p;
    });
  /** Per class, the position of its first member not linearized (kept by setLin/clearLin). */
  const firstPending = new Int32Array(members.length);
  /** True if an earlier member of op i's class is still pending (then i is not tried). */
  const shadowed = (i: number): boolean => {
    const c = classOf[i]!;
    return c >= 0 && members[c]![firstPending[c]!] !== i;
  };

  // The model. step() answers whether op i can be linearized in state (vid, ver) with its recorded
  // outcome, leaving the next state in outVid/outVer. Unknown mutations answer false where they
  // would be a no-op (see the header comment), except where they can never apply again: then they
  // are placed as a no-op (same as placing them at the end, and it keeps the event list short).
  let outVid = 0;
  let outVer = 0;
  const step = (i: number, vid: number, ver: number): boolean => {
    const exists = ver >= 0;
    outVid = vid;
    outVer = ver;
    switch (kind[i]) {
      case K_WRITE: {
        const matches = exists && (expVer[i] === -1 || expVer[i] === ver);
        if (status[i] === S_OK) {
          if (!matches || resVer[i] !== ver + 1) return false;
        } else if (status[i] === S_FAIL) {
          return fail[i] === F_NONODE ? !exists : fail[i] === F_BADVERSION && exists && !matches;
        } else if (!matches) {
          // Unknown and not applicable here. If it can never apply again (versions only grow
          // without deletes), place it now as a no-op so the search stops rescanning it.
          return !hasDelete && (exists ? expVer[i]! < ver || (pinVer[i]! > -2 && pinVer[i]! <= ver) : !hasCreate);
        } else if (pinVer[i]! > -2 && pinVer[i] !== ver + 1) {
          return !hasDelete && pinVer[i]! <= ver; // pinned elsewhere; dead once passed
        }
        outVid = argVid[i]!;
        outVer = ver + 1;
        return true;
      }
      case K_READ:
        return ver === resVer[i] && (ver < 0 || vid === resVid[i]);
      case K_CREATE:
        if (status[i] === S_FAIL) return exists; // NODEEXISTS
        if (exists) return status[i] === S_UNKNOWN && !hasDelete; // unknown: dead for good, as above
        outVid = argVid[i]!;
        outVer = 0;
        return true;
      default: {
        const matches = exists && (expVer[i] === -1 || expVer[i] === ver);
        if (status[i] === S_FAIL) {
          return fail[i] === F_NONODE ? !exists : fail[i] === F_BADVERSION && exists && !matches;
        }
        if (!matches) return false;
        outVid = -1;
        outVer = -1;
        return true;
      }
    }
  };

  // Events: one call per op, one return per op with a known outcome. Sorted by time; at equal
  // times calls come first, so touching intervals are concurrent.
  const callEv = new Int32Array(n);
  const retEv = new Int32Array(n).fill(-1);
  const evOp: number[] = [];
  const evTime: number[] = [];
  const evIsCall: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const op = H(i);
    evOp.push(i);
    evTime.push(op.invokeMs);
    evIsCall.push(true);
    if (status[i] !== S_UNKNOWN) {
      evOp.push(i);
      evTime.push(op.completeMs!);
      evIsCall.push(false);
    }
  }
  const E = evOp.length;
  const order = Array.from({ length: E }, (_, e) => e).sort(
    (a, b) => evTime[a]! - evTime[b]! || Number(evIsCall[b]) - Number(evIsCall[a]) || evOp[a]! - evOp[b]! || a - b,
  );
  // Linked list over events in `order`; node E is the head sentinel.
  const HEAD = E;
  const next = new Int32Array(E + 1).fill(-1);
  const prev = new Int32Array(E + 1).fill(-1);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
    if (evIsCall[e]) callEv[evOp[e]!] = e;
    else retEv[evOp[e]!] = e;
  }
  const lift = (i: number): void => {
    const c = callEv[i]!;
    next[prev[c]!] = next[c]!;
    if (next[c]! >= 0) prev[next[c]!] = prev[c]!;
    const r = retEv[i]!;
    if (r >= 0) {
      next[prev[r]!] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = prev[r]!;
    }
  };
  const unlift = (i: number): void => {
    const r = retEv[i]!;
    if (r >= 0) {
      next[prev[r]!] = r;
      if (next[r]! >= 0) prev[next[r]!] = r;
    }
    const c = callEv[i]!;
    next[prev[c]!] = c;
    if (next[c]! >= 0) prev[next[c]!] = c;
  };

  // The linearized set: a bitset, two Zobrist hashes, and the highest linearized index (kept on
  // the stack). A cache entry stores the set exactly but compactly: the highest index and the
  // unlinearized indices below it (few: the concurrency window plus pending unknown ops).
  ensureZobrist(n);
  const lin = new Uint32Array((n >> 5) + 1);
  const scratch: number[] = [];
  const holesOf = (maxIdx: number): number[] => {
    scratch.length = 0;
    const lastWord = maxIdx >> 5;
    for (let w = 0; w <= lastWord; w++) {
      let inv = ~lin[w]! >>> 0;
      if (w === lastWord) {
        const bits = (maxIdx & 31) + 1;
        if (bits < 32) inv &= (1 << bits) - 1;
      }
      while (inv !== 0) {
        const low = inv & -inv;
        scratch.push((w << 5) + 31 - Math.clz32(low));
        inv = (inv ^ low) >>> 0;
      }
    }
    return scratch;
  };
  const cache = new Map<number, CacheEntry | CacheEntry[]>();
  let configurations = 0;
  const sameHoles = (a: number[], b: number[]): boolean => {
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  };
  /** True if the configuration was seen before; otherwise remembers it and returns false. */
  const seenOrAdd = (h1: number, h2: number, vid: number, ver: number, maxIdx: number): boolean => {
    const k = (h1 ^ Math.imul(vid + 2, 0x9e3779b1) ^ Math.imul(ver + 2, 0x85ebca77)) | 0;
    const slot = cache.get(k);
    let holes: number[] | undefined;
    const match = (e: CacheEntry): boolean => {
      if (e.h2 !== h2 || e.vid !== vid || e.ver !== ver || e.maxIdx !== maxIdx) return false;
      holes ??= holesOf(maxIdx);
      return sameHoles(e.holes, holes);
    };
    if (slot !== undefined) {
      if (Array.isArray(slot)) {
        for (const e of slot) if (match(e)) return true;
      } else if (match(slot)) return true;
    }
    holes ??= holesOf(maxIdx);
    const entry: CacheEntry = { h2, vid, ver, maxIdx, holes: holes.slice() };
    if (slot === undefined) cache.set(k, entry);
    else if (Array.isArray(slot)) slot.push(entry);
    else cache.set(k, [slot, entry]);
    configurations++;
    return false;
  };
  // Version lookahead. Without deletes, versions never go down along a linearization, and every
  // completed op pins the version it needs: an ok write needs v = newVersion - 1, an ok read needs
  // its version, a NONODE failure needs the node missing (-1). So a placement that raises the
  // version above what some op still to be placed needs is a dead end, whatever comes next. A
  // min-segment-tree over the pending ops' needs answers that in O(1) (updates O(log n)). This is
  // what keeps the refutation of a long history with unknown blind writes near-linear: without it
  // every pending unknown write is tried at every point, and each try dies only a few ops later.
  const NONE = 0x3fffffff;
  const monotone = !hasDelete;
  const need = new Int32Array(n).fill(NONE);
  if (monotone) {
    for (let i = 0; i < n; i++) {
      if (status[i] === S_OK && kind[i] === K_WRITE) need[i] = resVer[i]! - 1;
      else if (status[i] === S_OK && kind[i] === K_READ) need[i] = resVer[i]!;
      else if (status[i] === S_FAIL && fail[i] === F_NONODE) need[i] = -1;
      else if (status[i] === S_OK && kind[i] === K_CREATE) need[i] = -1;
    }
  }
  let leaves = 1;
  while (leaves < n) leaves <<= 1;
  const needTree = new Int32Array(2 * leaves).fill(NONE);
  needTree.set(need, leaves);
  for (let p = leaves - 1; p >= 1; p--) needTree[p] = Math.min(needTree[2 * p]!, needTree[2 * p + 1]!);
  const setNeed = (i: number, v: number): void => {
    let p = leaves + i;
    needTree[p] = v;
    for (p >>= 1; p >= 1; p >>= 1) needTree[p] = Math.min(needTree[2 * p]!, needTree[2 * p + 1]!);
  };

  const isLin = (i: number): boolean => (lin[i >> 5]! & (1 << (i & 31))) !== 0;
  const setLin = (i: number): void => {
    lin[i >> 5]! |= 1 << (i & 31);
    if (need[i] !== NONE) setNeed(i, NONE);
    const c = classOf[i]!;
    if (c >= 0 && members[c]![firstPending[c]!] === i) {
      const m = members[c]!;
      let p = firstPending[c]! + 1;
      while (p < m.length && isLin(m[p]!)) p++;
      firstPending[c] = p;
    }
  };
  const clearLin = (i: number): void => {
    lin[i >> 5]! &= ~(1 << (i & 31));
    if (need[i] !== NONE) setNeed(i, need[i]!);
    const c = classOf[i]!;
    if (c >= 0 && posInClass[i]! < firstPending[c]!) firstPending[c] = posInClass[i]!;
  };

  let remaining = 0; // ops with a known outcome not yet linearized
  for (let i = 0; i < n; i++) if (status[i] !== S_UNKNOWN) remaining++;

  let vid = vidOf(init.value);
  let ver = init.version;
  if (ver < 0) vid = -1;
  let h1 = 0;
  let h2 = 0;
  let stack = null as Frame | null;
  let steps = 0;
  // The deepest dead end, for the explanation.
  let best: { frame: Frame | null; vid: number; ver: number; stuck: number; candidates: number[] } | null = null;

  let entry = next[HEAD]!;
  /** The current configuration has no linearizable continuation: pop the top frame and resume
   * with the alternatives after it; a popped state-preserving frame proves its parent fails too
   * (see `preserving`), so pop on. Returns false when the root fails. */
  const backtrack = (): boolean => {
    for (;;) {
      const f = stack;
      if (f === null) return false;
      stack = f.prev;
      vid = f.prevVid;
      ver = f.prevVer;
      h1 ^= zobrist1[f.op]!;
      h2 ^= zobrist2[f.op]!;
      clearLin(f.op);
      unlift(f.op);
      if (status[f.op] !== S_UNKNOWN) remaining++;
      if (!f.preserving) {
        entry = next[callEv[f.op]!]!;
        return true;
      }
    }
  };
  while (remaining > 0) {
    if (++steps > budget || ((steps & 4095) === 0 && performance.now() > deadline)) {
      const why = steps > budget ? `search budget of ${budget} steps exhausted` : `deadline reached after ${steps} steps`;
      let hint = '';
      if (best !== null) {
        const b = best;
        hint = `; deepest dead end so far: ${b.frame?.depth ?? 0} ops placed, then ${describeOp(H(b.stuck), ops[b.stuck]!, H(0).invokeMs)} could not be`;
      }
      return { verdict: 'unknown', reason: `key ${key}: ${why} (${n} ops)${hint}`, steps, configurations };
    }
    if (entry < 0) throw new Error('linearizability checker: ran off the event list (bug)');
    if (evIsCall[entry]) {
      const i = evOp[entry]!;
      if (step(i, vid, ver) && !shadowed(i)) {
        // A legal op that leaves the register unchanged (a read, a failed write/create/delete)
        // dominates: if the configuration has any linearizable continuation, it has one that
        // places this op now (move the op to the front: no state changes, and every op that had
        // to precede it is already placed because its call was reached before any pending
        // return). So if placing it now fails, the configuration fails; no alternatives.
        const preserving = outVid === vid && outVer === ver;
        const n1 = h1 ^ zobrist1[i]!;
        const n2 = h2 ^ zobrist2[i]!;
        const top: Frame | null = stack;
        const maxIdx: number = top === null ? i : Math.max(top.maxIdx, i);
        setLin(i);
        // Some op still to be placed needs a lower version than this would leave (see needTree)?
        const doomed = monotone && outVer > ver && outVer > needTree[1]!;
        if (!doomed && !seenOrAdd(n1, n2, outVid, outVer, maxIdx)) {
          stack = { op: i, prevVid: vid, prevVer: ver, maxIdx, depth: top === null ? 1 : top.depth + 1, preserving, prev: top };
          vid = outVid;
          ver = outVer;
          h1 = n1;
          h2 = n2;
          lift(i);
          if (status[i] !== S_UNKNOWN) remaining--;
          entry = next[HEAD]!;
          continue;
        }
        clearLin(i);
        if (preserving) {
          if (!backtrack()) break;
          continue;
        }
      }
      entry = next[entry]!;
    } else {
      // A return whose call is not linearized: dead end.
      const depth = stack?.depth ?? 0;
      if (best === null || depth > (best.frame?.depth ?? 0)) {
        const candidates: number[] = [];
        for (let e = next[HEAD]!; e !== entry; e = next[e]!) if (evIsCall[e]) candidates.push(evOp[e]!);
        best = { frame: stack, vid, ver, stuck: evOp[entry]!, candidates };
      }
      if (!backtrack()) break;
    }
  }

  if (remaining === 0) {
    const seq: number[] = [];
    // Unknown ops placed as a no-op stand for "never took effect": they are not in the witness.
    for (let f = stack; f; f = f.prev) if (!(f.preserving && status[f.op] === S_UNKNOWN)) seq.push(ops[f.op]!);
    return { verdict: 'ok', order: seq.reverse(), steps, configurations };
  }

  // ---- not linearizable: explain the deepest dead end.
  const b = best!;
  const prefixIdx: number[] = [];
  for (let f = b.frame; f; f = f.prev) if (!(f.preserving && status[f.op] === S_UNKNOWN)) prefixIdx.push(f.op);
  prefixIdx.reverse();
  const valueAt = (v: number): string | null => (v < 0 ? null : values[v]!);
  const state: RegisterState = b.ver < 0 ? { value: null, version: -1 } : { value: valueAt(b.vid), version: b.ver };
  const t0 = H(0).invokeMs;
  const show = (i: number): string => describeOp(H(i), ops[i]!, t0);

  // Why could none of the candidates go next? Rebuild the linearized set of the dead end to tell a
  // model mismatch from a version some later op still needs, from "allowed, but every
  // continuation fails".
  lin.fill(0);
  firstPending.fill(0);
  needTree.fill(NONE);
  needTree.set(need, leaves);
  for (let p = leaves - 1; p >= 1; p--) needTree[p] = Math.min(needTree[2 * p]!, needTree[2 * p + 1]!);
  for (const i of prefixIdx) setLin(i);
  const blockers = new Set<number>();
  const candidates: Candidate[] = b.candidates.map((i) => {
    let why: string;
    if (!step(i, b.vid, b.ver)) why = mismatch(H(i), state);
    else if (shadowed(i)) why = 'interchangeable with an earlier pending unknown-outcome operation, which is tried instead';
    else {
      const nv = outVer;
      setLin(i);
      if (monotone && nv > b.ver && nv > needTree[1]!) {
        let p = 1;
        while (p < leaves) p = needTree[2 * p] === needTree[p] ? 2 * p : 2 * p + 1;
        const j = p - leaves;
        blockers.add(j);
        why = `allowed here, but it makes the version v${nv} while ${show(j)} still needs v${need[j]} (no deletes: versions never go back)`;
      } else why = 'allowed here, but every continuation after it fails';
      clearLin(i);
    }
    return { op: H(i), index: ops[i]!, why };
  });
  const stuckOp = H(b.stuck);
  const lo = stuckOp.invokeMs;
  const hi = stuckOp.completeMs!;
  const windowIdx: number[] = [];
  for (let i = 0; i < n; i++) {
    const op = H(i);
    // Unknown-outcome ops only when they were candidates (their intervals never end).
    const overlaps = status[i] !== S_UNKNOWN && op.invokeMs <= hi && op.completeMs! >= lo;
    if (overlaps || blockers.has(i) || b.candidates.includes(i)) windowIdx.push(i);
  }
  const posInPrefix = new Map(prefixIdx.map((i, p) => [i, p + 1]));

  const lines: string[] = [];
  const unknownCount = Array.from(status).filter((s) => s === S_UNKNOWN).length;
  lines.push(`key ${key}: the history is not linearizable.`);
  lines.push(
    `  ${n} operations on this key (${unknownCount} with unknown outcome; unknown reads dropped); ` +
      `times are ms after the key's first invocation.`,
  );
  lines.push(
    `  Longest linearizable prefix found: ${prefixIdx.length} operations, after which the register is ${fmtState(state)}` +
      ` (initially ${fmtState(init)}).`,
  );
  const tail = prefixIdx.slice(-8);
  if (tail.length > 0) {
    lines.push(`  Its last ${tail.length} operations, in linearization order, with the register after each:`);
    let sv = vidOf(init.value);
    let sr = init.version;
    if (sr < 0) sv = -1;
    const after = new Map<number, string>();
    for (const i of prefixIdx) {
      if (step(i, sv, sr)) {
        sv = outVid;
        sr = outVer;
      }
      after.set(i, sr < 0 ? 'missing' : fmtState({ value: valueAt(sv), version: sr }));
    }
    for (const i of tail) lines.push(`    ${show(i)}   => ${after.get(i)}`);
  }
  lines.push(`  Cannot be placed: ${show(b.stuck)}`);
  lines.push(`    it completed, so it must take effect by ${fmtT(hi - t0)}, but no operation pending then can go next:`);
  for (const c of candidates) {
    lines.push(`    ${describeOp(c.op, c.index, t0)}: ${c.why}`);
  }
  lines.push(
    `  Window: the operations overlapping [${fmtT(lo - t0)}, ${fmtT(hi - t0)}]` +
      (blockers.size > 0 ? ', and those named above as still needing a lower version:' : ':'),
  );
  for (const i of windowIdx) {
    const p = posInPrefix.get(i);
    lines.push(`    ${show(i)}${p !== undefined ? `   (prefix #${p})` : '   (not placed)'}`);
  }
  const detail: FailureDetail = {
    key,
    prefix: prefixIdx.map(H),
    state,
    stuck: stuckOp,
    candidates,
    window: windowIdx.map(H),
  };
  return { verdict: 'fail', explanation: lines.join('\n'), detail, steps, configurations };
}

// ---------------------------------------------------------------- explanation helpers

function fmtT(ms: number): string {
  return ms === Infinity ? '∞' : ms.toFixed(3);
}

function fmtState(s: RegisterState): string {
  return s.version < 0 ? 'missing' : `(${JSON.stringify(s.value)}, v${s.version})`;
}

/** One line describing an operation: `#12 c3 write("x", if v4) -> ok v5  [1.000, 2.500]`. */
export function describeOp(op: HistoryOp, index: number, t0 = 0): string {
  const ev = (v: number): string => (v === -1 ? 'any version' : `if v${v}`);
  let call: string;
  switch (op.kind) {
    case 'write':
      call = `write(${JSON.stringify(op.value)}, ${ev(op.expectedVersion)})`;
      break;
    case 'read':
      call = 'read';
      break;
    case 'create':
      call = `create(${JSON.stringify(op.value)})`;
      break;
    case 'delete':
      call = `delete(${ev(op.expectedVersion)})`;
      break;
  }
  const r = op.result;
  let res: string;
  if (r.status === 'unknown') res = `unknown${r.reason ? ` (${r.reason})` : ''}`;
  else if (r.status === 'fail') res = `fail ${r.code}`;
  else if (op.kind === 'write' && 'version' in r) res = `ok v${r.version}`;
  else if (op.kind === 'read' && 'value' in r) res = `ok ${fmtState({ value: r.value, version: r.version })}`;
  else res = 'ok';
  const end = r.status === 'unknown' ? '∞' : fmtT(op.completeMs! - t0);
  return `#${index} ${op.client} ${call} -> ${res}  [${fmtT(op.invokeMs - t0)}, ${end}]`;
}

/** Why `op` with its recorded outcome cannot be linearized in state `s`. */
function mismatch(op: HistoryOp, s: RegisterState): string {
  const exists = s.version >= 0;
  const here = `the register is ${fmtState(s)}`;
  switch (op.kind) {
    case 'read': {
      const r = op.result;
      return r.status === 'ok' ? `${here}, but the read returned ${fmtState({ value: r.value, version: r.version })}` : here;
    }
    case 'write':
    case 'delete': {
      const r = op.result;
      if (r.status === 'fail') {
        if (r.code === 'NONODE') return `${here}, so it would not fail with NONODE`;
        return exists ? `${here}, so the version check would pass` : `${here}, so it would fail with NONODE, not BADVERSION`;
      }
      if (!exists) return `${here}, so it would fail with NONODE`;
      if (op.expectedVersion !== -1 && op.expectedVersion !== s.version) {
        return `it expects version ${op.expectedVersion} but ${here}`;
      }
      if (op.kind === 'write' && op.result.status === 'ok') {
        return `it reports new version ${op.result.version} but would produce v${s.version + 1}`;
      }
      return `${here}; it would be a no-op (not applicable)`;
    }
    case 'create':
      if (op.result.status === 'fail') return `${here}, so it would not fail with NODEEXISTS`;
      return exists ? `${here}, so it would fail with NODEEXISTS` : `${here}; it would be a no-op`;
  }
}

// ---------------------------------------------------------------- recorder

const INDETERMINATE = new Map<number, string>([
  [Err.CONNECTIONLOSS, 'CONNECTIONLOSS'],
  [Err.OPERATIONTIMEOUT, 'OPERATIONTIMEOUT'],
  [Err.SESSIONEXPIRED, 'SESSIONEXPIRED'],
  [Err.REQUESTTIMEOUT, 'REQUESTTIMEOUT'],
]);

function errCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

function toText(d: Buffer | Uint8Array | string | null | undefined): string {
  if (d === null || d === undefined) return ''; // the model does not tell null data from empty data
  return typeof d === 'string' ? d : Buffer.from(d).toString('utf8');
}

/** What a recorded operation returns to the caller (for the test's own control flow). */
export type Recorded<R> = Exclude<R, UnknownResult> | { status: 'unknown'; reason: string; error: unknown };

/**
 * Records operations with invoke/complete timestamps around any promise-returning call (our
 * ZooKeeperClient or a fake), mapping ZooKeeper error codes (`err.code`) to outcomes:
 * BADVERSION/NONODE/NODEEXISTS are definite failures (NONODE on a read is "missing");
 * CONNECTIONLOSS, OPERATIONTIMEOUT, SESSIONEXPIRED and REQUESTTIMEOUT make the outcome unknown.
 * Any other error is recorded as unknown (it constrains nothing) and rethrown.
 * An operation still in flight when the history is checked counts as unknown.
 */
export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** setData with an expected version (-1 = any); `fn` resolves with the new Stat (or anything with .version). */
  write(
    client: string | number,
    key: string,
    value: string,
    expectedVersion: number,
    fn: () => Promise<{ version: number }>,
  ): Promise<Recorded<WriteOp['result']>> {
    const op: WriteOp = {
      kind: 'write',
      key,
      client,
      value,
      expectedVersion,
      invokeMs: this.now(),
      result: { status: 'unknown', reason: 'in flight' },
    };
    return this.run(
      op,
      fn,
      (s) => ({ status: 'ok', version: s.version }),
      (code) =>
        code === Err.BADVERSION
          ? { status: 'fail', code: 'BADVERSION' }
          : code === Err.NONODE
            ? { status: 'fail', code: 'NONODE' }
            : undefined,
    );
  }

  /** getData (the caller does sync first); `fn` resolves with { data, stat } as ZooKeeperClient.getData does. */
  read(
    client: string | number,
    key: string,
    fn: () => Promise<{ data: Buffer | Uint8Array | string | null; stat: { version: number } }>,
  ): Promise<Recorded<ReadOp['result']>> {
    const op: ReadOp = { kind: 'read', key, client, invokeMs: this.now(), result: { status: 'unknown', reason: 'in flight' } };
    return this.run(
      op,
      fn,
      (r) => ({ status: 'ok', value: toText(r.data), version: r.stat.version }),
      (code) => (code === Err.NONODE ? { status: 'ok', value: null, version: -1 } : undefined),
    );
  }

  create(client: string | number, key: string, value: string, fn: () => Promise<unknown>): Promise<Recorded<CreateOp['result']>> {
    const op: CreateOp = { kind: 'create', key, client, value, invokeMs: this.now(), result: { status: 'unknown', reason: 'in flight' } };
    return this.run(
      op,
      fn,
      () => ({ status: 'ok' }),
      (code) => (code === Err.NODEEXISTS ? { status: 'fail', code: 'NODEEXISTS' } : undefined),
    );
  }

  delete(client: string | number, key: string, expectedVersion: number, fn: () => Promise<unknown>): Promise<Recorded<DeleteOp['result']>> {
    const op: DeleteOp = {
      kind: 'delete',
      key,
      client,
      expectedVersion,
      invokeMs: this.now(),
      result: { status: 'unknown', reason: 'in flight' },
    };
    return this.run(
      op,
      fn,
      () => ({ status: 'ok' }),
      (code) =>
        code === Err.BADVERSION
          ? { status: 'fail', code: 'BADVERSION' }
          : code === Err.NONODE
            ? { status: 'fail', code: 'NONODE' }
            : undefined,
    );
  }

  /** A copy of the history so far. */
  history(): HistoryOp[] {
    return structuredClone(this.ops);
  }

  check(opts?: CheckOptions): CheckResult {
    return checkLinearizable(this.ops, opts);
  }

  private async run<O extends HistoryOp, T>(
    op: O,
    fn: () => Promise<T>,
    onOk: (v: T) => Exclude<O['result'], UnknownResult>,
    onError: (code: number) => Exclude<O['result'], UnknownResult> | undefined,
  ): Promise<Recorded<O['result']>> {
    this.ops.push(op);
    let v: T;
    try {
      v = await fn();
    } catch (e) {
      const completeMs = this.now();
      const code = errCode(e);
      const definite = code === undefined ? undefined : onError(code);
      if (definite) {
        op.result = definite;
        op.completeMs = completeMs;
        return definite as Recorded<O['result']>;
      }
      const reason = code !== undefined ? (INDETERMINATE.get(code) ?? `error code ${code}`) : String((e as Error)?.message ?? e);
      op.result = { status: 'unknown', reason };
      op.completeMs = completeMs; // informational: when the client gave up
      if (code === undefined || !INDETERMINATE.has(code)) throw e;
      return { status: 'unknown', reason, error: e };
    }
    const res = onOk(v);
    op.result = res;
    op.completeMs = this.now();
    return res as Recorded<O['result']>;
  }
}
