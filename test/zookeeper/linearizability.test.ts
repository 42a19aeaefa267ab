// The linearizability checker (test/helpers/linearizability.ts) is itself tested here: hand-made
// histories with known answers, randomized histories from a simulated linearizable register (all
// must be accepted, with a witness we verify independently), targeted corruptions (rejected when
// they provably break linearizability), a cross-check against a tiny exhaustive checker on
// thousands of small histories, the recorder, performance, and a live run against our server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  checkLinearizable,
  HistoryRecorder,
  MISSING,
  type CheckResult,
  type CreateOp,
  type DeleteOp,
  type HistoryOp,
  type ReadOp,
  type RegisterState,
  type WriteOp,
} from '../helpers/linearizability.js';
import { prng } from '../helpers/prng.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { Err, waitConnected, ZooKeeperClient, ZooKeeperError } from '../../src/zookeeper/client/index.js';
import { startTcpProxy } from '../helpers/tcpProxy.js';

// ---------------------------------------------------------------- builders for hand-made histories

type WRes = number | 'BADVERSION' | 'NONODE' | '?';
const K = '/k';
function W(client: string, inv: number, comp: number, value: string, ev: number, res: WRes, key = K): WriteOp {
  const result: WriteOp['result'] =
    res === '?' ? { status: 'unknown' } : typeof res === 'number' ? { status: 'ok', version: res } : { status: 'fail', code: res };
  return { kind: 'write', key, client, invokeMs: inv, completeMs: comp, value, expectedVersion: ev, result };
}
function R(client: string, inv: number, comp: number, value: string | null, version: number | '?', key = K): ReadOp {
  return {
    kind: 'read',
    key,
    client,
    invokeMs: inv,
    completeMs: comp,
    result: version === '?' ? { status: 'unknown' } : { status: 'ok', value, version },
  };
}
function C(client: string, inv: number, comp: number, value: string, res: 'ok' | 'NODEEXISTS' | '?', key = K): CreateOp {
  const result: CreateOp['result'] = res === '?' ? { status: 'unknown' } : res === 'ok' ? { status: 'ok' } : { status: 'fail', code: res };
  return { kind: 'create', key, client, invokeMs: inv, completeMs: comp, value, result };
}
function D(client: string, inv: number, comp: number, ev: number, res: 'ok' | 'BADVERSION' | 'NONODE' | '?', key = K): DeleteOp {
  const result: DeleteOp['result'] = res === '?' ? { status: 'unknown' } : res === 'ok' ? { status: 'ok' } : { status: 'fail', code: res };
  return { kind: 'delete', key, client, invokeMs: inv, completeMs: comp, expectedVersion: ev, result };
}
const at0 = (value: string): Record<string, RegisterState> => ({ [K]: { value, version: 0 } });

function accepts(h: HistoryOp[], initial?: Record<string, RegisterState>): void {
  const r = checkLinearizable(h, { initial, witness: true });
  assert.equal(r.ok, true, r.ok === false ? r.explanation : r.ok === 'unknown' ? r.reason : '');
  assert.equal(verifyWitness(h, (r as { linearization: Record<string, HistoryOp[]> }).linearization, initial ?? {}), null);
}
function rejects(h: HistoryOp[], initial?: Record<string, RegisterState>): Extract<CheckResult, { ok: false }> {
  const r = checkLinearizable(h, { initial });
  assert.equal(r.ok, false, 'expected the history to be rejected');
  const f = r as Extract<CheckResult, { ok: false }>;
  assert.equal(verifyPrefix(h, f.detail.prefix, initial?.[f.key] ?? MISSING), null, 'the reported prefix is a valid partial linearization');
  return f;
}

// ---------------------------------------------------------------- an independent reference model

/** The register model written again, naively: the state after `op`, or null if its outcome is impossible. */
function apply(op: HistoryOp, s: RegisterState): RegisterState | null {
  const exists = s.version >= 0;
  switch (op.kind) {
    case 'read': {
      const r = op.result;
      if (r.status === 'unknown') return s;
      return r.version === s.version && (s.version < 0 || r.value === s.value) ? s : null;
    }
    case 'write': {
      const r = op.result;
      const versionOk = op.expectedVersion === -1 || op.expectedVersion === s.version;
      const actual = !exists ? 'NONODE' : !versionOk ? 'BADVERSION' : 'ok';
      const next = actual === 'ok' ? { value: op.value, version: s.version + 1 } : s;
      if (r.status === 'unknown') return next;
      if (r.status === 'fail') return r.code === actual ? s : null;
      return actual === 'ok' && r.version === s.version + 1 ? next : null;
    }
    case 'create': {
      const r = op.result;
      const actual = exists ? 'NODEEXISTS' : 'ok';
      const next = actual === 'ok' ? { value: op.value, version: 0 } : s;
      if (r.status === 'unknown') return next;
      return (r.status === 'ok' ? 'ok' : r.code) === actual ? next : null;
    }
    case 'delete': {
      const r = op.result;
      const versionOk = op.expectedVersion === -1 || op.expectedVersion === s.version;
      const actual = !exists ? 'NONODE' : !versionOk ? 'BADVERSION' : 'ok';
      const next = actual === 'ok' ? MISSING : s;
      if (r.status === 'unknown') return next;
      return (r.status === 'ok' ? 'ok' : r.code) === actual ? next : null;
    }
  }
}
const end = (op: HistoryOp): number => (op.result.status === 'unknown' ? Infinity : op.completeMs!);
/** a must come before b in any linearization containing both. */
const precedes = (a: HistoryOp, b: HistoryOp): boolean => end(a) < b.invokeMs;

/**
 * Exhaustive reference for one key (<= 8 ops): for every subset of the unknown-outcome ops that
 * took effect, try every order of the chosen ops that respects real time and the model.
 */
function bruteForce(history: HistoryOp[], init: RegisterState = MISSING): boolean {
  const ops = history.filter((o) => !(o.kind === 'read' && o.result.status === 'unknown'));
  assert.ok(ops.length <= 10, 'bruteForce is for tiny histories');
  const unknown = ops.filter((o) => o.result.status === 'unknown');
  for (let mask = 0; mask < 1 << unknown.length; mask++) {
    const chosen = ops.filter((o) => o.result.status !== 'unknown' || (mask & (1 << unknown.indexOf(o))) !== 0);
    const dfs = (placed: boolean[], s: RegisterState, count: number): boolean => {
      if (count === chosen.length) return true;
      for (let j = 0; j < chosen.length; j++) {
        if (placed[j]) continue;
        if (chosen.some((o, k) => !placed[k] && k !== j && precedes(o, chosen[j]!))) continue;
        const next = apply(chosen[j]!, s);
        if (next === null) continue;
        placed[j] = true;
        if (dfs(placed, next, count + 1)) return true;
        placed[j] = false;
      }
      return false;
    };
    if (
      dfs(
        chosen.map(() => false),
        init,
        0,
      )
    )
      return true;
  }
  return false;
}

/** Checks a witness linearization independently; returns null if valid, else what is wrong. */
function verifyWitness(history: HistoryOp[], lin: Record<string, HistoryOp[]>, initial: Record<string, RegisterState>): string | null {
  const keys = new Set(history.map((o) => o.key));
  for (const key of keys) {
    const seq = lin[key] ?? [];
    const mine = new Set(history.filter((o) => o.key === key));
    const inSeq = new Set(seq);
    if (inSeq.size !== seq.length) return `${key}: an op appears twice`;
    for (const o of seq) if (!mine.has(o)) return `${key}: foreign op in witness`;
    for (const o of mine) if (o.result.status !== 'unknown' && !inSeq.has(o)) return `${key}: completed op missing from witness`;
    const bad = verifyPrefix(history, seq, initial[key] ?? MISSING);
    if (bad) return bad;
  }
  return null;
}

/** A (partial) linearization of one key is valid if the model accepts it in order, it respects
 * real time, and every op that must precede one of its ops is in it. */
function verifyPrefix(history: HistoryOp[], seq: HistoryOp[], init: RegisterState): string | null {
  let s: RegisterState | null = init;
  for (const [p, o] of seq.entries()) {
    s = apply(o, s);
    if (s === null) return `model rejects op ${p} of the sequence`;
  }
  // Real time: no later op of the sequence may have completed before an earlier one was invoked.
  let minEndAfter = Infinity;
  for (let p = seq.length - 1; p >= 0; p--) {
    if (minEndAfter < seq[p]!.invokeMs) return `real-time order violated at position ${p}`;
    minEndAfter = Math.min(minEndAfter, end(seq[p]!));
  }
  if (seq.length === 0) return null;
  const key = seq[0]!.key;
  const inSeq = new Set(seq);
  const maxInvoke = Math.max(...seq.map((o) => o.invokeMs));
  for (const a of history) {
    if (a.key === key && a.result.status !== 'unknown' && !inSeq.has(a) && end(a) < maxInvoke)
      return 'an op that must come first is missing';
  }
  return null;
}

// ---------------------------------------------------------------- a simulated linearizable register

interface SimOptions {
  clients: number;
  ops: number;
  keys: string[];
  pRead: number;
  pUnknown: number;
  /** Writes with expectedVersion -1. */
  pBlind: number;
  /** Writes with a stale expected version. */
  pStale: number;
  /** Mix in creates and deletes (versions then repeat). */
  createDelete: boolean;
  /** Integer times, so intervals often touch. */
  intTimes: boolean;
  initExists: boolean;
}

interface Sim {
  history: HistoryOp[];
  initial: Record<string, RegisterState>;
}

/** Clients issue ops against one true register per key; each op takes effect at a random instant
 * inside its interval (unknown ops: at a random later instant, or never). */
function simulate(seed: number, o: SimOptions): Sim {
  const rand = prng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
  const dur = (): number => (o.intTimes ? Math.floor(rand() * 4) : rand() * 3);
  const initial: Record<string, RegisterState> = {};
  const reg = new Map<string, RegisterState>();
  for (const k of o.keys) {
    initial[k] = o.initExists ? { value: `init${k}`, version: 0 } : MISSING;
    reg.set(k, initial[k]!);
  }
  const history: HistoryOp[] = [];
  type Ev = { t: number; rank: number; seq: number; fn: () => void };
  const q: Ev[] = [];
  let seq = 0;
  const push = (t: number, rank: number, fn: () => void): void => void q.push({ t, rank, seq: seq++, fn });
  let issued = 0;
  let valueSeq = 0;

  /** Runs op on the true register; returns its real outcome. */
  const execute = (op: HistoryOp): HistoryOp['result'] => {
    const s = reg.get(op.key)!;
    const exists = s.version >= 0;
    switch (op.kind) {
      case 'read':
        return { status: 'ok', value: s.value, version: s.version };
      case 'write':
        if (!exists) return { status: 'fail', code: 'NONODE' };
        if (op.expectedVersion !== -1 && op.expectedVersion !== s.version) return { status: 'fail', code: 'BADVERSION' };
        reg.set(op.key, { value: op.value, version: s.version + 1 });
        return { status: 'ok', version: s.version + 1 };
      case 'create':
        if (exists) return { status: 'fail', code: 'NODEEXISTS' };
        reg.set(op.key, { value: op.value, version: 0 });
        return { status: 'ok' };
      case 'delete':
        if (!exists) return { status: 'fail', code: 'NONODE' };
        if (op.expectedVersion !== -1 && op.expectedVersion !== s.version) return { status: 'fail', code: 'BADVERSION' };
        reg.set(op.key, MISSING);
        return { status: 'ok' };
    }
  };

  const invoke = (client: string, known: Map<string, number>, t: number): void => {
    if (issued >= o.ops) return;
    issued++;
    const key = pick(o.keys);
    const kv = known.get(key) ?? initial[key]!.version;
    const value = `${client}.${valueSeq++}`;
    const base = { key, client, invokeMs: t, result: { status: 'unknown' as const } };
    const x = rand();
    let op: HistoryOp;
    if (o.createDelete && x < 0.12) op = { ...base, kind: 'create', value };
    else if (o.createDelete && x < 0.22) op = { ...base, kind: 'delete', expectedVersion: rand() < 0.5 ? -1 : kv };
    else if (x < o.pRead) op = { ...base, kind: 'read' };
    else {
      const y = rand();
      const ev = y < o.pBlind ? -1 : y < o.pBlind + o.pStale ? Math.max(0, kv - 1 - Math.floor(rand() * 2)) : Math.max(kv, 0);
      op = { ...base, kind: 'write', value, expectedVersion: ev };
    }
    history.push(op);
    const onDone = (tc: number): void => {
      const tn = tc + dur();
      push(tn, 2, () => invoke(client, known, tn));
    };
    if (rand() < o.pUnknown) {
      // Unknown outcome: takes effect later (maybe after the client gave up), or never.
      if (rand() < 0.6) {
        const late = t + dur() * (rand() < 0.3 ? 8 : 1);
        push(late, 0, () => void execute(op));
      }
      const giveUp = t + dur() + 1;
      op.completeMs = giveUp;
      push(giveUp, 1, () => onDone(giveUp));
    } else {
      const tl = t + dur();
      const tc = tl + dur();
      push(tl, 0, () => {
        op.result = execute(op) as never;
      });
      push(tc, 1, () => {
        op.completeMs = tc;
        const r = op.result;
        if (r.status === 'ok' && 'version' in r) known.set(key, r.version);
        onDone(tc);
      });
    }
  };

  for (let c = 0; c < o.clients; c++) {
    const t = o.intTimes ? Math.floor(rand() * 3) : rand() * 3;
    push(t, 2, () => invoke(`c${c}`, new Map(), t));
  }
  while (q.length > 0) {
    let m = 0;
    for (let i = 1; i < q.length; i++) {
      const a = q[i]!;
      const b = q[m]!;
      if (a.t < b.t || (a.t === b.t && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)))) m = i;
    }
    q.splice(m, 1)[0]!.fn();
  }
  return { history, initial };
}

// ---------------------------------------------------------------- corruptions

const clone = (h: HistoryOp[]): HistoryOp[] => h.map((o) => structuredClone(o));
type Corruption = { name: string; history: HistoryOp[]; key: string /** Provably not linearizable (else: unknown). */; provable: boolean };
type OkRead = ReadOp & { result: { status: 'ok'; value: string | null; version: number } };
type OkWrite = WriteOp & { result: { status: 'ok'; version: number } };
const isOkRead = (o: HistoryOp): o is OkRead => o.kind === 'read' && o.result.status === 'ok';
const isOkWrite = (o: HistoryOp): o is OkWrite => o.kind === 'write' && o.result.status === 'ok';

/**
 * Targeted corruptions. `provable` uses facts that hold for simulated histories without
 * create/delete (values are unique, versions only grow by one per applied write):
 *  - a value x is only ever held by one state (x, v); the writer of x can only take effect after
 *    its invocation; a CAS with expected version e that succeeds produces exactly e + 1;
 *  - once an op with a known outcome has observed/produced version u, later ops see >= u.
 */
function corruptions(sim: Sim, rand: () => number): Corruption[] {
  const h = sim.history;
  const out: Corruption[] = [];
  const noCreateDelete = h.every((o) => o.kind === 'read' || o.kind === 'write');
  const pick = <T>(a: T[]): T | undefined => (a.length ? a[Math.floor(rand() * a.length)] : undefined);
  const writerOf = (x: string | null): WriteOp | CreateOp | undefined =>
    h.find((o): o is WriteOp | CreateOp => (o.kind === 'write' || o.kind === 'create') && o.value === x);
  const isInit = (key: string, x: string | null): boolean => sim.initial[key]!.version >= 0 && sim.initial[key]!.value === x;
  /** A state (x, v) of `key` that provably never exists. */
  const impossibleState = (key: string, x: string | null, v: number, reader: HistoryOp): boolean => {
    if (!noCreateDelete || x === null) return false;
    if (isInit(key, x)) return v !== 0;
    const w = writerOf(x);
    if (!w || w.key !== key) return true;
    if (w.kind === 'write' && w.result.status === 'ok' && w.result.version !== v) return true;
    if (w.kind === 'write' && w.expectedVersion >= 0 && w.expectedVersion + 1 !== v) return true;
    return h.some((o) => o !== reader && isOkRead(o) && o.key === key && o.result.value === x && o.result.version !== v);
  };
  /** Reader r, claiming state (x, v), provably cannot see it given its interval. */
  const impossibleFor = (r: HistoryOp, x: string | null, v: number): boolean => {
    if (!noCreateDelete) return false;
    if (impossibleState(r.key, x, v, r)) return true;
    if (x !== null && !isInit(r.key, x)) {
      const w = writerOf(x);
      if (w && end(r) < w.invokeMs) return true; // sees a value before it is written
    }
    const seen = (o: HistoryOp): number => (o.result.status === 'ok' && 'version' in o.result ? o.result.version : -Infinity);
    return h.some((o) => o !== r && o.key === r.key && precedes(o, r) && seen(o) > v); // stale
  };

  // 1. swap the results of two reads of the same key that saw different states.
  const reads = h.map((o, i) => [o, i] as const).filter(([o]) => isOkRead(o));
  for (let tries = 0; tries < 20; tries++) {
    const a = pick(reads);
    const b = pick(reads);
    if (!a || !b || a[0].key !== b[0].key) continue;
    const ra = (a[0] as OkRead).result;
    const rb = (b[0] as OkRead).result;
    if (ra.version === rb.version && ra.value === rb.value) continue;
    const c = clone(h);
    (c[a[1]] as OkRead).result = { ...rb };
    (c[b[1]] as OkRead).result = { ...ra };
    const provable = impossibleFor(a[0], rb.value, rb.version) || impossibleFor(b[0], ra.value, ra.version);
    out.push({ name: 'swap two read results', history: c, key: a[0].key, provable });
    break;
  }
  // 2. bump the version a read returned, or the new version a CAS reported.
  const existingReads = reads.filter(([o]) => (o as OkRead).result.version >= 0);
  const r = pick(existingReads);
  if (r) {
    const c = clone(h);
    const res = (c[r[1]] as OkRead).result;
    res.version++;
    out.push({ name: 'bump a read version', history: c, key: r[0].key, provable: impossibleState(r[0].key, res.value, res.version, r[0]) });
  }
  const cas = h.map((o, i) => [o, i] as const).filter(([o]) => isOkWrite(o) && o.expectedVersion >= 0);
  const w = pick(cas);
  if (w) {
    const c = clone(h);
    (c[w[1]] as OkWrite).result.version++;
    out.push({ name: 'bump a CAS version', history: c, key: w[0].key, provable: true });
  }
  // 3. move a completion before the invocation of the op it depends on.
  const dependentReads = reads.filter(([o]) => {
    const x = (o as OkRead).result.value;
    const wr = x === null || isInit(o.key, x) ? undefined : writerOf(x);
    return wr !== undefined && end(o) >= wr.invokeMs;
  });
  const dr = pick(dependentReads);
  if (dr) {
    const c = clone(h);
    const op = c[dr[1]]!;
    const wr = writerOf((dr[0] as OkRead).result.value)!;
    op.completeMs = wr.invokeMs - 0.5;
    op.invokeMs = Math.min(op.invokeMs, op.completeMs - 0.5);
    out.push({ name: 'move a read before its writer', history: c, key: op.key, provable: noCreateDelete });
  }
  const dependentCas = cas.filter(([o]) => {
    const dep = h.find((p) => isOkWrite(p) && p.key === o.key && p.result.version === (o as WriteOp).expectedVersion);
    return dep !== undefined && end(o) >= dep.invokeMs;
  });
  const dc = pick(dependentCas);
  if (dc) {
    const c = clone(h);
    const op = c[dc[1]]!;
    const dep = h.find((p) => isOkWrite(p) && p.key === dc[0].key && p.result.version === (dc[0] as OkWrite).expectedVersion)!;
    op.completeMs = dep.invokeMs - 0.5;
    op.invokeMs = Math.min(op.invokeMs, op.completeMs - 0.5);
    out.push({ name: 'move a CAS before its dependency', history: c, key: op.key, provable: false });
  }
  // 4. duplicate a successful CAS: another client claims the same version.
  const okw = h.filter(isOkWrite);
  const dw = pick(okw);
  if (dw) {
    const c = clone(h);
    const inv = dw.invokeMs + (rand() - 0.5) * 4;
    const dup: WriteOp = { ...structuredClone(dw), client: 'dup', value: `dup-${dw.value}`, invokeMs: inv, completeMs: inv + rand() * 2 };
    c.splice(Math.floor(rand() * (c.length + 1)), 0, dup);
    out.push({ name: 'duplicate a successful CAS', history: c, key: dw.key, provable: noCreateDelete });
  }
  return out;
}

/** A fully random small history (mostly not linearizable, sometimes so), one key. */
function garbage(rand: () => number, n: number, createDelete: boolean): HistoryOp[] {
  const vals = ['a', 'b', 'c'];
  const h: HistoryOp[] = [];
  for (let i = 0; i < n; i++) {
    const inv = Math.floor(rand() * 10);
    const comp = inv + Math.floor(rand() * 6);
    const c = `c${i}`;
    const v = vals[Math.floor(rand() * vals.length)]!;
    const ver = Math.floor(rand() * 4) - 1;
    const x = rand();
    const unknown = rand() < 0.2;
    if (x < 0.35) h.push(R(c, inv, comp, ver < 0 ? null : v, unknown ? '?' : ver));
    else if (x < 0.75 || !createDelete) {
      const y = rand();
      h.push(
        W(
          c,
          inv,
          comp,
          v,
          ver,
          unknown ? '?' : y < 0.6 ? (ver < 0 ? Math.floor(rand() * 3) + 1 : ver + 1) : y < 0.85 ? 'BADVERSION' : 'NONODE',
        ),
      );
    } else if (x < 0.9) h.push(C(c, inv, comp, v, unknown ? '?' : rand() < 0.6 ? 'ok' : 'NODEEXISTS'));
    else h.push(D(c, inv, comp, ver, unknown ? '?' : rand() < 0.6 ? 'ok' : rand() < 0.5 ? 'BADVERSION' : 'NONODE'));
  }
  return h;
}

// ================================================================= hand-made histories

test('a stale read after a completed write is rejected; a concurrent read may see either state', () => {
  const base = [W('a', 0, 10, 'x1', 0, 1)];
  const f = rejects([...base, R('b', 11, 12, 'x0', 0)], at0('x0'));
  assert.equal(f.key, K);
  // The write has to go first (it completed before the read began), but the read still needs v0.
  assert.equal(f.detail.stuck.kind, 'write');
  assert.match(f.explanation, /makes the version v1 while #1 b read -> ok \("x0", v0\) {2}\[11\.000, 12\.000\] still needs v0/);
  assert.ok(
    f.detail.window.some((o) => o.client === 'b'),
    'the stale read is in the window',
  );
  accepts([...base, R('b', 5, 12, 'x0', 0)], at0('x0'));
  accepts([...base, R('b', 5, 12, 'x1', 1)], at0('x0'));
  accepts([...base, R('b', 11, 12, 'x1', 1)], at0('x0'));
  // Touching intervals count as concurrent.
  accepts([...base, R('b', 10, 12, 'x0', 0)], at0('x0'));
  // Two reads by the same concurrent window must not go back in time.
  rejects([...base, R('b', 5, 12, 'x1', 1), R('c', 13, 14, 'x0', 0)], at0('x0'));
});

test('two concurrent writes with the same expected version cannot both succeed', () => {
  const f = rejects([W('a', 0, 10, 'p', 0, 1), W('b', 1, 9, 'q', 0, 1)], at0('x'));
  assert.match(f.explanation, /key \/k: the history is not linearizable/);
  assert.match(
    f.explanation,
    /write\("p", if v0\) -> ok v1 .*: allowed here, but it makes the version v1 while #1 b write\("q", if v0\) -> ok v1 .* still needs v0/,
  );
  // Same, even when one claims the next version.
  rejects([W('a', 0, 10, 'p', 0, 1), W('b', 1, 9, 'q', 0, 2)], at0('x'));
  // One wins, the other fails with BADVERSION: fine in either order.
  accepts([W('a', 0, 10, 'p', 0, 1), W('b', 1, 9, 'q', 0, 'BADVERSION')], at0('x'));
  accepts([W('a', 0, 10, 'p', 0, 'BADVERSION'), W('b', 1, 9, 'q', 0, 1)], at0('x'));
  // A BADVERSION with nothing that could have changed the version is wrong.
  rejects([W('a', 0, 10, 'p', 0, 'BADVERSION')], at0('x'));
  // A blind write (-1) always succeeds on an existing node.
  accepts([W('a', 0, 10, 'p', -1, 1), W('b', 1, 9, 'q', -1, 2)], at0('x'));
});

test('an unknown write may take effect later, or never, but not before its invocation', () => {
  // The client gave up at 5; the write shows up at 20.
  accepts([W('a', 0, 5, 'u', 0, '?'), R('b', 10, 11, 'x', 0), R('b', 20, 21, 'u', 1)], at0('x'));
  // ...or never.
  accepts([W('a', 0, 5, 'u', 0, '?'), R('b', 10, 11, 'x', 0), R('b', 20, 21, 'x', 0)], at0('x'));
  // Seen before it was invoked: impossible.
  rejects([R('b', 0, 1, 'u', 1), W('a', 2, 5, 'u', 0, '?')], at0('x'));
  // Once seen it cannot be undone.
  rejects([W('a', 0, 5, 'u', 0, '?'), R('b', 10, 11, 'u', 1), R('b', 20, 21, 'x', 0)], at0('x'));
  // An unknown CAS with a stale version never applies; a later read of its value is impossible.
  rejects([W('a', 0, 1, 'p', 0, 1), W('b', 2, 5, 'u', 0, '?'), R('c', 10, 11, 'u', 2)], at0('x'));
  // An unknown write of the initial value is not pinned by a read of the initial state: here it
  // must take effect (v5 -> v6) for the blind write to report v7.
  const x5 = { [K]: { value: 'x', version: 5 } };
  accepts([R('b', 0, 1, 'x', 5), W('a', 2, 3, 'x', -1, '?'), W('c', 4, 5, 'y', -1, 7)], x5);
  rejects([R('b', 0, 1, 'x', 5), W('c', 4, 5, 'y', -1, 7)], x5);
  // An unknown read constrains nothing.
  accepts([W('a', 0, 1, 'p', 0, 1), R('c', 10, 11, 'zzz', '?')], at0('x'));
});

test('a read of a value nobody wrote is rejected, with an explanation naming it', () => {
  const f = rejects([W('a', 0, 2, 'p', 0, 1), R('b', 3, 4, 'ghost', 1)], at0('x'));
  assert.match(f.explanation, /Cannot be placed: #1 b read -> ok \("ghost", v1\)/);
  assert.match(f.explanation, /Longest linearizable prefix found: 1 operations, after which the register is \("p", v1\)/);
  assert.match(f.explanation, /the register is \("p", v1\), but the read returned \("ghost", v1\)/);
  assert.deepEqual(
    f.detail.prefix.map((o) => o.client),
    ['a'],
  );
  assert.deepEqual(f.detail.state, { value: 'p', version: 1 });
  assert.equal(f.detail.candidates.length, 1);
  assert.equal(f.detail.candidates[0]!.index, 1);
});

test('a CAS chain is accepted; a chain that skips or forks is rejected', () => {
  const chain: HistoryOp[] = [C('s', 0, 1, '0', 'ok')];
  for (let i = 0; i < 20; i++) {
    // Each client reads then CASes; the next one overlaps the previous one's CAS.
    const t = 2 + i * 3;
    chain.push(R(`c${i}`, t, t + 1, String(i), i));
    chain.push(W(`c${i}`, t + 1.5, t + 4, String(i + 1), i, i + 1));
  }
  accepts(chain);
  const skip = clone(chain);
  (skip[10] as WriteOp).expectedVersion = 3; // expected 4
  rejects(skip);
  const fork = [...clone(chain), W('z', 30, 31, 'fork', 9, 10)];
  rejects(fork);
  // A losing CAS in the chain is fine.
  accepts([...clone(chain), W('z', 30, 31, 'late', 9, 'BADVERSION')]);
});

test('create and delete: NODEEXISTS, NONODE, versions restart at 0', () => {
  accepts([C('a', 0, 1, 'x', 'ok'), C('b', 2, 3, 'y', 'NODEEXISTS'), D('a', 4, 5, 0, 'ok'), R('c', 6, 7, null, -1)]);
  accepts([C('a', 0, 1, 'x', 'ok'), D('a', 2, 3, -1, 'ok'), C('b', 4, 5, 'y', 'ok'), W('b', 6, 7, 'z', 0, 1), R('c', 8, 9, 'z', 1)]);
  rejects([C('a', 0, 1, 'x', 'ok'), C('b', 2, 3, 'y', 'ok')]);
  rejects([R('a', 0, 1, null, -1), W('b', 2, 3, 'v', -1, 1)]); // setData on a missing node succeeded
  accepts([R('a', 0, 1, null, -1), W('b', 2, 3, 'v', -1, 'NONODE')]);
  rejects([C('a', 0, 1, 'x', 'ok'), D('b', 2, 3, 5, 'ok')]);
  accepts([C('a', 0, 1, 'x', 'ok'), D('b', 2, 3, 5, 'BADVERSION'), D('b', 4, 5, 0, 'ok'), D('b', 6, 7, 0, 'NONODE')]);
  // Concurrent creates: exactly one wins.
  accepts([C('a', 0, 5, 'x', 'NODEEXISTS'), C('b', 1, 4, 'y', 'ok'), R('c', 6, 7, 'y', 0)]);
  rejects([C('a', 0, 5, 'x', 'ok'), C('b', 1, 4, 'y', 'ok')]);
});

test('keys are checked independently; the failing key is reported', () => {
  const h = [
    W('a', 0, 10, 'p', 0, 1, '/one'),
    W('b', 0, 10, 'q', 0, 1, '/two'),
    R('c', 11, 12, 'p', 1, '/one'),
    R('c', 11, 12, 'x', 0, '/two'),
  ];
  const init = { '/one': { value: 'x', version: 0 }, '/two': { value: 'x', version: 0 } };
  const f = checkLinearizable(h, { initial: init });
  assert.equal(f.ok, false);
  assert.equal((f as { key: string }).key, '/two');
  // A read of /one's value on /two is a different register.
  const ok = checkLinearizable(h.slice(0, 3), { initial: init });
  assert.equal(ok.ok, true);
  assert.equal(ok.stats.keys, 2);
});

test('malformed histories are refused, and the step budget turns a huge search into unknown', () => {
  assert.throws(() => checkLinearizable([R('a', 5, 4, 'x', 0)]), /completeMs 4 is before invokeMs 5/);
  assert.throws(() => checkLinearizable([{ ...R('a', 5, 6, 'x', 0), completeMs: undefined }]), /finite completeMs/);
  // A search no pruning helps with: 24 unknown blind writes, two per value (so no read pins one),
  // values that reads claim to see (so none are interchangeable), an unknown delete (so versions
  // can go back), and reads that no order satisfies. Every subset and order of the writes is a
  // configuration to rule out: ~2^24 x 12 of them.
  const h: HistoryOp[] = [D('d', 0, 1, -1, '?')];
  for (let i = 0; i < 24; i++) h.push(W(`w${i}`, 0, 1, `v${i % 12}`, -1, '?'));
  for (let i = 0; i < 12; i++) h.push(R(`r${i}`, 10, 11, `v${i}`, 50));
  // Pending unknown writes whose values nobody read are interchangeable, so 24 of them do not blow
  // up either (the delete turns off the version lookahead, which would also cut this short).
  const blind: HistoryOp[] = [D('d', 0, 1, -1, '?')];
  for (let i = 0; i < 24; i++) blind.push(W(`w${i}`, 0, 1, `u${i}`, -1, '?'));
  blind.push(R('bad', 10, 11, 'nope', 3));
  const rb = checkLinearizable(blind, { initial: at0('x'), budgetSteps: 50_000 });
  assert.equal(rb.ok, false);
  assert.ok(rb.stats.steps < 5000, `${rb.stats.steps} steps`);
  // (Concurrent reads do not blow up: a legal read is placed at once, never postponed.)
  const reads: HistoryOp[] = [];
  for (let i = 0; i < 200; i++) reads.push(R(`r${i}`, 0, 100, 'x', 0));
  reads.push(R('bad', 0, 100, 'nope', 0));
  const rr = checkLinearizable(reads, { initial: at0('x'), budgetSteps: 50_000 });
  assert.equal(rr.ok, false);
  assert.ok(rr.stats.steps < 2000, `${rr.stats.steps} steps`);
  const t0 = performance.now();
  const r = checkLinearizable(h, { initial: at0('x'), budgetSteps: 50_000 });
  assert.equal(r.ok, 'unknown');
  assert.match((r as { reason: string }).reason, /budget of 50000 steps exhausted/);
  const r2 = checkLinearizable(h, { initial: at0('x'), budgetSteps: 1e12, timeoutMs: 100 });
  assert.equal(r2.ok, 'unknown');
  assert.match((r2 as { reason: string }).reason, /deadline/);
  assert.ok(performance.now() - t0 < 5000);
  // A definite failure on another key wins over an unknown one.
  const r3 = checkLinearizable([...h, R('z', 0, 1, 'q', 3, '/other')], { initial: at0('x'), budgetSteps: 50_000 });
  assert.equal(r3.ok, false);
});

// ================================================================= randomized

const bigOpts = (seed: number): SimOptions => {
  const rand = prng(seed ^ 0x5eed);
  return {
    clients: 2 + Math.floor(rand() * 6),
    ops: 20 + Math.floor(rand() * 80),
    keys: rand() < 0.5 ? ['/a'] : ['/a', '/b'],
    pRead: 0.3 + rand() * 0.3,
    pUnknown: rand() < 0.3 ? 0 : rand() * 0.15,
    pBlind: rand() * 0.2,
    pStale: rand() * 0.3,
    createDelete: false,
    intTimes: rand() < 0.3,
    initExists: true,
  };
};

test('simulated linearizable histories are accepted, and targeted corruptions are rejected', () => {
  const counts = new Map<string, { provable: number; rejected: number; other: number }>();
  for (let seed = 1; seed <= 400; seed++) {
    const sim = simulate(seed, bigOpts(seed));
    const r = checkLinearizable(sim.history, { initial: sim.initial, witness: true });
    assert.equal(r.ok, true, `seed ${seed}: ${r.ok === false ? r.explanation : r.ok === 'unknown' ? r.reason : ''}`);
    assert.equal(
      verifyWitness(sim.history, (r as { linearization: Record<string, HistoryOp[]> }).linearization, sim.initial),
      null,
      `seed ${seed}`,
    );
    for (const c of corruptions(sim, prng(seed * 7 + 1))) {
      const e = counts.get(c.name) ?? { provable: 0, rejected: 0, other: 0 };
      counts.set(c.name, e);
      const v = checkLinearizable(c.history, { initial: sim.initial });
      assert.notEqual(v.ok, 'unknown', `seed ${seed} ${c.name}: budget exhausted`);
      if (c.provable) {
        e.provable++;
        assert.equal(v.ok, false, `seed ${seed}: "${c.name}" must be rejected`);
        assert.equal((v as { key: string }).key, c.key, `seed ${seed}: ${c.name} reported on the corrupted key`);
      } else e.other++;
      if (v.ok === false) {
        e.rejected++;
        assert.equal(verifyPrefix(c.history, v.detail.prefix, sim.initial[v.key]!), null, `seed ${seed} ${c.name}: prefix`);
      } else if (v.ok === true) {
        const w = checkLinearizable(c.history, { initial: sim.initial, witness: true });
        assert.equal(verifyWitness(c.history, (w as { linearization: Record<string, HistoryOp[]> }).linearization, sim.initial), null);
      }
    }
  }
  for (const name of [
    'swap two read results',
    'bump a read version',
    'bump a CAS version',
    'move a read before its writer',
    'duplicate a successful CAS',
  ]) {
    const e = counts.get(name);
    assert.ok(e && e.provable >= 50, `${name}: ${JSON.stringify(e)} provable cases`);
  }
  console.log('corruptions (provable / rejected / not provable):', JSON.stringify(Object.fromEntries(counts)));
});

test('the WGL checker agrees with an exhaustive checker on thousands of small histories', () => {
  let linearizable = 0;
  let not = 0;
  const rand = prng(20240601);
  for (let i = 0; i < 10000; i++) {
    let h: HistoryOp[];
    let initial: Record<string, RegisterState>;
    const kindOfCase = i % 4;
    if (kindOfCase === 3) {
      h = garbage(rand, 2 + Math.floor(rand() * 5), rand() < 0.5);
      initial = rand() < 0.5 ? at0('a') : {};
    } else {
      const sim = simulate(i + 1, {
        clients: 2 + Math.floor(rand() * 3),
        ops: 3 + Math.floor(rand() * 6),
        keys: [K],
        pRead: 0.35,
        pUnknown: rand() * 0.5,
        pBlind: rand() * 0.5,
        pStale: 0.3,
        createDelete: rand() < 0.4,
        intTimes: rand() < 0.5,
        initExists: rand() < 0.5,
      });
      initial = sim.initial;
      h = sim.history;
      if (kindOfCase !== 0) {
        const cs = corruptions(sim, rand);
        const c = cs[Math.floor(rand() * cs.length)];
        if (c) h = c.history;
      }
    }
    if (h.filter((o) => !(o.kind === 'read' && o.result.status === 'unknown')).length > 9) continue;
    const expected = bruteForce(h, initial[K] ?? MISSING);
    const r = checkLinearizable(h, { initial, witness: true });
    const show = (): string => `case ${i}: ${JSON.stringify(h)} initial ${JSON.stringify(initial)}`;
    assert.equal(r.ok, expected, show());
    if (r.ok === true) {
      linearizable++;
      assert.equal(verifyWitness(h, r.linearization!, initial), null, show());
    } else if (r.ok === false) {
      not++;
      assert.equal(verifyPrefix(h, r.detail.prefix, initial[K] ?? MISSING), null, show());
    }
  }
  console.log(`cross-check: ${linearizable} linearizable, ${not} not`);
  assert.ok(linearizable > 3000 && not > 3000, `${linearizable} / ${not}: both verdicts well represented`);
});

test('performance: thousands of ops per key, 10-20 clients, with unknown outcomes', () => {
  const cases = [
    { name: '10 clients, 2% unknown', clients: 10, pUnknown: 0.02, pBlind: 0.1 },
    { name: '20 clients, 20% unknown, half blind writes', clients: 20, pUnknown: 0.2, pBlind: 0.5 },
  ];
  for (const c of cases) {
    const sim = simulate(99, {
      clients: c.clients,
      ops: 9000,
      keys: ['/a', '/b', '/c'],
      pRead: 0.4,
      pUnknown: c.pUnknown,
      pBlind: c.pBlind,
      pStale: 0.2,
      createDelete: false,
      intTimes: false,
      initExists: true,
    });
    const r = checkLinearizable(sim.history, { initial: sim.initial });
    assert.equal(r.ok, true, c.name);
    // Corrupt the end: a late read of the first value written to /a. Refuting it means showing
    // that no linearization of all of /a's history leaves v1 readable at the end.
    const bad = clone(sim.history);
    const firstA = bad.find((o): o is OkWrite => isOkWrite(o) && o.key === '/a')!;
    const lastT = Math.max(...bad.map((o) => o.completeMs ?? 0));
    bad.push(R('late', lastT + 1, lastT + 2, firstA.value, firstA.result.version, '/a'));
    const f = checkLinearizable(bad, { initial: sim.initial });
    assert.equal(f.ok, false, c.name);
    assert.match((f as { explanation: string }).explanation, /late read -> ok/);
    console.log(
      `perf (${c.name}): accepted ${r.stats.ops} ops on 3 keys in ${r.stats.elapsedMs.toFixed(1)} ms ` +
        `(${r.stats.steps} steps, ${r.stats.configurations} configurations); ` +
        `rejected the corrupted copy in ${f.stats.elapsedMs.toFixed(1)} ms (${f.stats.steps} steps)`,
    );
    // Typically ~100 ms; the bound leaves room for a loaded CI machine.
    assert.ok(r.stats.elapsedMs < 3000, `took ${r.stats.elapsedMs} ms`);
    assert.ok(f.stats.elapsedMs < 3000, `took ${f.stats.elapsedMs} ms`);
  }
});

// ================================================================= recorder

test('the recorder timestamps operations and maps ZooKeeper errors to outcomes', async () => {
  let clock = 0;
  const rec = new HistoryRecorder(() => ++clock);
  const zkErr = (code: number): Error => new ZooKeeperError(code, K);
  assert.deepEqual(await rec.create('a', K, 'x', async () => K), { status: 'ok' });
  assert.deepEqual(await rec.create('a', K, 'y', async () => Promise.reject(zkErr(Err.NODEEXISTS))), {
    status: 'fail',
    code: 'NODEEXISTS',
  });
  assert.deepEqual(await rec.write('a', K, 'p', 0, async () => ({ version: 1 })), { status: 'ok', version: 1 });
  assert.deepEqual(await rec.write('a', K, 'q', 0, async () => Promise.reject(zkErr(Err.BADVERSION))), {
    status: 'fail',
    code: 'BADVERSION',
  });
  const lost = await rec.write('b', K, 'r', 1, async () => Promise.reject(zkErr(Err.CONNECTIONLOSS)));
  assert.equal(lost.status, 'unknown');
  assert.equal((lost as { reason: string }).reason, 'CONNECTIONLOSS');
  assert.deepEqual(await rec.read('b', K, async () => ({ data: Buffer.from('r'), stat: { version: 2 } })), {
    status: 'ok',
    value: 'r',
    version: 2,
  });
  await assert.rejects(
    rec.read('b', K, async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.deepEqual(await rec.delete('b', K, 2, async () => undefined), { status: 'ok' });
  assert.deepEqual(await rec.read('b', K, async () => Promise.reject(zkErr(Err.NONODE))), { status: 'ok', value: null, version: -1 });
  assert.equal((await rec.write('b', K, 's', -1, async () => Promise.reject(zkErr(Err.SESSIONEXPIRED)))).status, 'unknown');
  const never = rec.write('c', K, 't', -1, () => new Promise<never>(() => {})); // still in flight
  void never;

  assert.equal(rec.ops.length, 11);
  assert.deepEqual(
    rec.ops.map((o) => [o.kind, o.result.status, o.invokeMs, o.completeMs]),
    [
      ['create', 'ok', 1, 2],
      ['create', 'fail', 3, 4],
      ['write', 'ok', 5, 6],
      ['write', 'fail', 7, 8],
      ['write', 'unknown', 9, 10],
      ['read', 'ok', 11, 12],
      ['read', 'unknown', 13, 14],
      ['delete', 'ok', 15, 16],
      ['read', 'ok', 17, 18],
      ['write', 'unknown', 19, 20],
      ['write', 'unknown', 21, undefined],
    ],
  );
  const r = rec.check({ witness: true });
  assert.equal(r.ok, true, r.ok === false ? r.explanation : '');
  // The lost write took effect (the read saw it), the other unknown ones did not.
  assert.deepEqual(r.ok === true && r.linearization![K]!.map((o) => o.kind), [
    'create',
    'create',
    'write',
    'write',
    'write',
    'read',
    'delete',
    'read',
  ]);
  // The history is a copy the checker can be run on again.
  const copy = rec.history();
  (copy[5] as ReadOp).result = { status: 'ok', value: 'zz', version: 2 };
  assert.equal(checkLinearizable(copy).ok, false);
  assert.equal(rec.check().ok, true);
});

// ================================================================= live

/**
 * 5 clients (two workers each, so requests pipeline on one session) do CAS increments and
 * sync+reads on 3 keys for `ms`. With `cutEvery`, the clients go through a TCP proxy that drops
 * every connection each time that many more ops have been recorded: in-flight requests then end
 * in CONNECTIONLOSS (unknown outcome) and the clients reconnect to the same session.
 */
async function liveRun(ms: number, cutEvery?: number): Promise<void> {
  const zk = await startOurZooKeeper({ extraConfig: { forceSync: 'no' } });
  const proxy = cutEvery ? await startTcpProxy(zk.host, zk.port) : undefined;
  const clients: ZooKeeperClient[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const c = new ZooKeeperClient({
        connectString: proxy?.connectString ?? zk.connectString,
        sessionTimeoutMs: 10_000,
        reconnectDelayMaxMs: 50,
      });
      await c.connect();
      clients.push(c);
    }
    const keys = ['/lin-a', '/lin-b', '/lin-c'];
    const rec = new HistoryRecorder();
    for (const k of keys) assert.deepEqual(await rec.create('setup', k, '0', () => clients[0]!.create(k, '0')), { status: 'ok' });
    const deadline = performance.now() + ms;
    const hardDeadline = deadline + 8000; // a slow machine runs longer to see 3 cuts
    const okIncrements = new Map(keys.map((k) => [k, 0]));
    let cuts = 0;
    const maybeCut = (): void => {
      if (proxy && rec.ops.length >= (cuts + 1) * cutEvery!) {
        cuts++;
        proxy.cut();
      }
    };
    const worker = async (c: ZooKeeperClient, id: string, seed: number): Promise<void> => {
      const rand = prng(seed);
      for (;;) {
        const now = performance.now();
        if (now >= deadline && (!proxy || cuts >= 3 || now >= hardDeadline)) break;
        maybeCut();
        const key = keys[Math.floor(rand() * keys.length)]!;
        const read = await rec.read(id, key, async () => {
          await c.sync(key);
          return c.getData(key);
        });
        if (read.status === 'unknown') {
          await waitConnected(c);
          continue;
        }
        if (rand() < 0.3) continue; // sometimes only read
        const next = String(Number(read.value) + 1);
        const w = await rec.write(id, key, next, read.version, () => c.setData(key, next, read.version));
        if (w.status === 'unknown') await waitConnected(c);
        else assert.ok(w.status === 'ok' || w.code === 'BADVERSION', JSON.stringify(w));
        if (w.status === 'ok') okIncrements.set(key, okIncrements.get(key)! + 1);
      }
    };
    await Promise.all(clients.flatMap((c, i) => [worker(c, `c${i}.a`, i * 2 + 1), worker(c, `c${i}.b`, i * 2 + 2)]));
    const history = rec.history();
    const unknownWrites = history.filter((o) => o.kind === 'write' && o.result.status === 'unknown').length;
    for (const k of keys) {
      const { data, stat } = await clients[0]!.getData(k);
      const ok = okIncrements.get(k)!;
      assert.equal(Number(data!.toString()), stat.version, `${k}: value and version move together`);
      assert.ok(stat.version >= ok && stat.version <= ok + unknownWrites, `${k}: v${stat.version}, ${ok} acknowledged increments`);
      if (!proxy) assert.equal(stat.version, ok, `${k}: every successful CAS counted once`);
    }
    const r = checkLinearizable(history, { witness: true });
    const count = (st: string): number => history.filter((o) => o.result.status === st).length;
    console.log(
      `live${proxy ? ` with ${cuts} connection cuts` : ''}: ${history.length} ops ` +
        `(${[...okIncrements.values()].reduce((a, b) => a + b)} successful CAS, ${count('fail')} BADVERSION, ${count('unknown')} unknown), ` +
        `checked in ${r.stats.elapsedMs.toFixed(1)} ms, ${r.stats.steps} steps`,
    );
    assert.equal(r.ok, true, r.ok === false ? r.explanation : r.ok === 'unknown' ? r.reason : '');
    assert.equal(verifyWitness(history, r.ok === true ? r.linearization! : {}, {}), null);
    assert.ok(history.length > 200, `only ${history.length} ops recorded`);
    if (proxy) {
      assert.ok(cuts >= 3, `${cuts} cuts`);
      assert.ok(count('unknown') > 0, 'the cuts left operations with unknown outcomes');
    }
    // The same real history, corrupted: a successful CAS duplicated by another client.
    const firstCas = history.findIndex(isOkWrite);
    const dup = { ...(history[firstCas] as OkWrite), client: 'dup', value: 'dup' };
    const f = checkLinearizable([...history, dup]);
    assert.equal(f.ok, false);
    assert.equal((f as { key: string }).key, dup.key);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.close();
    await zk.stop();
  }
}

test('live: 5 clients doing CAS increments and sync+reads on 3 keys produce a linearizable history', async () => {
  await liveRun(2000);
});

test('live: the same through a proxy that keeps cutting connections (unknown outcomes)', async () => {
  await liveRun(1500, 1000);
});
