// The crash test's driver (crash.test.ts): one data directory, many cycles of
//   start the server -> verify the recovered tree against the model (crashModel.ts) ->
//   pipelined writes from 1..3 sessions, each reply recorded -> SIGKILL at a chosen point.
// The seed chooses every cycle's configuration, kill point and write mix (the exact moment a
// kill lands still depends on timing), so a failing seed replays the same scenario.

import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { CreateMode, Err, Op, ZooKeeperClient, ZooKeeperError, type OpResult } from '../../../src/zookeeper/client/index.js';
import {
  COUNTER_INIT,
  COUNTERS,
  ROOT,
  SHARED,
  applyWrite,
  checkShared,
  cloneSlot,
  describeWrite,
  emptySlot,
  parseToken,
  resolveSlot,
  sharedDirName,
  slotPath,
  tokenOf,
  type Problem,
  type SharedDirSeen,
  type SlotState,
  type Step,
  type StepAck,
  type Write,
} from './crashModel.js';
import type { Launcher, RunningServer } from './launchers.js';
import { prng } from '../../helpers/prng.js';

// ---------------------------------------------------------------------------------- random

/** Seeded choices over the shared test PRNG. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** An independent stream (so one session's draws do not shift anyone else's). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
  weighted<K extends string>(w: Record<K, number>): K {
    const entries = Object.entries(w) as [K, number][];
    let r = this.next() * entries.reduce((s, [, x]) => s + x, 0);
    for (const [k, x] of entries) {
      r -= x;
      if (r < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }
}

// ---------------------------------------------------------------------------------- writes

function payload(rng: Rng, token: string): string {
  const pad = rng.bool(0.15) ? rng.int(300, 3000) : rng.int(0, 40);
  return `${token}|${'#'.repeat(pad)}`;
}

/** One step, valid on `st`, applied to `st` (the session's model of what it has issued). */
function genStep(rng: Rng, st: SlotState, w: Write, token: string, sharedDir: string, inMulti: boolean): Step {
  const names = [...st.nodes.keys()];
  const deletable = names.filter((n) => !COUNTERS.includes(n));
  const kind = rng.weighted({
    create: 28,
    createSeq: 12,
    setData: 28,
    delete: deletable.length === 0 ? 0 : deletable.length > 60 ? 35 : 12,
    shared: 10,
    check: inMulti ? 8 : 0,
  });
  let step: Step;
  switch (kind) {
    case 'create':
      step = {
        op: 'create',
        name: `n${w.cycle}_${w.index}${inMulti ? `_${token.slice(token.lastIndexOf('.') + 1)}` : ''}`,
        data: payload(rng, token),
        withStat: rng.bool(),
      };
      break;
    case 'createSeq':
      step = { op: 'createSeq', data: payload(rng, token), withStat: rng.bool(), expect: `q${String(st.cversion).padStart(10, '0')}` };
      break;
    case 'setData': {
      const name = rng.bool(0.7) || deletable.length === 0 ? rng.pick(COUNTERS) : rng.pick(deletable);
      const n = st.nodes.get(name)!;
      step = { op: 'setData', name, data: payload(rng, token), version: rng.bool(0.8) ? n.version : -1, expectVersion: n.version + 1 };
      break;
    }
    case 'delete': {
      const name = rng.pick(deletable);
      step = { op: 'delete', name, version: rng.bool() ? st.nodes.get(name)!.version : -1 };
      break;
    }
    case 'check': {
      const name = rng.pick(names);
      step = { op: 'check', name, version: st.nodes.get(name)!.version };
      break;
    }
    case 'shared':
      step = { op: 'shared', dir: sharedDir, token, data: payload(rng, token), withStat: rng.bool() };
      break;
  }
  // A multi applies its ops one after another, each seeing the earlier ones.
  applyWrite(st, { ...w, steps: [step], outcome: 'pending' });
  return step;
}

function genWrite(rng: Rng, st: SlotState, slot: number, cycle: number, index: number, sharedDir: string): Write {
  const w: Write = { slot, cycle, index, multi: rng.bool(0.1), steps: [], outcome: 'pending' };
  const base = `c${cycle}.s${slot}.w${index}`;
  if (!w.multi) {
    w.steps.push(genStep(rng, st, w, base, sharedDir, false));
    return w;
  }
  const n = rng.int(2, 4);
  for (let i = 0; i < n; i++) w.steps.push(genStep(rng, st, w, `${base}.${i}`, sharedDir, true));
  if (!w.steps.some((s) => s.op !== 'check')) w.steps.push(genStep(rng, st, w, `${base}.${n}`, sharedDir, false));
  return w;
}

const seqMode = { mode: CreateMode.PERSISTENT_SEQUENTIAL } as const;

function stepOp(slot: number, s: Step): Op {
  const at = (name: string): string => `${slotPath(slot)}/${name}`;
  switch (s.op) {
    case 'create':
      return Op.create(at(s.name), s.data);
    case 'createSeq':
      return Op.create(at('q'), s.data, seqMode);
    case 'setData':
      return Op.setData(at(s.name), s.data, s.version);
    case 'delete':
      return Op.delete(at(s.name), s.version);
    case 'check':
      return Op.check(at(s.name), s.version);
    case 'shared':
      return Op.create(`${SHARED}/${s.dir}/x`, s.data, seqMode);
  }
}

async function sendWrite(c: ZooKeeperClient, w: Write): Promise<StepAck[]> {
  const slot = w.slot;
  if (w.multi) {
    const results = await c.multi(w.steps.map((s) => stepOp(slot, s)));
    return results.map((r: OpResult): StepAck => {
      if (r.type === 'create') return { path: r.path, czxid: r.stat?.czxid, mzxid: r.stat?.mzxid };
      if (r.type === 'setData') return { mzxid: r.stat.mzxid, version: r.stat.version };
      return {};
    });
  }
  const s = w.steps[0]!;
  const at = (name: string): string => `${slotPath(slot)}/${name}`;
  const create = async (path: string, data: string, withStat: boolean, seq: boolean): Promise<StepAck[]> => {
    const opts = seq ? seqMode : undefined;
    if (!withStat) return [{ path: await c.create(path, data, opts) }];
    const r = await c.createWithStat(path, data, opts);
    return [{ path: r.path, czxid: r.stat.czxid, mzxid: r.stat.mzxid, version: r.stat.version }];
  };
  switch (s.op) {
    case 'create':
      return create(at(s.name), s.data, s.withStat, false);
    case 'createSeq':
      return create(at('q'), s.data, s.withStat, true);
    case 'shared':
      return create(`${SHARED}/${s.dir}/x`, s.data, s.withStat, true);
    case 'setData': {
      const st = await c.setData(at(s.name), s.data, s.version);
      return [{ mzxid: st.mzxid, version: st.version }];
    }
    case 'delete':
      await c.delete(at(s.name), s.version);
      return [{}];
    case 'check':
      throw new Error('check is only issued inside a multi');
  }
}

/** What the reply itself must say (names the model predicts, versions, zxids of a create). */
function checkAck(w: Write, acks: StepAck[]): Problem[] {
  const out: Problem[] = [];
  const bad = (d: string): void => {
    out.push({ kind: 'ack-mismatch', slot: w.slot, detail: `${describeWrite(w)}: ${d}` });
  };
  if (acks.length !== w.steps.length) bad(`${acks.length} results for ${w.steps.length} ops`);
  w.steps.forEach((s, i) => {
    const a = acks[i] ?? {};
    switch (s.op) {
      case 'create':
      case 'createSeq': {
        const want = `${slotPath(w.slot)}/${s.op === 'create' ? s.name : s.expect}`;
        if (a.path !== want) bad(`created ${a.path}, expected ${want}`);
        if (a.czxid !== undefined && a.czxid !== a.mzxid) bad(`a new node with czxid ${a.czxid} != mzxid ${a.mzxid}`);
        if (a.version !== undefined && a.version !== 0) bad(`a new node with version ${a.version}`);
        break;
      }
      case 'shared':
        if (a.path === undefined || !a.path.startsWith(`${SHARED}/${s.dir}/x`)) bad(`created ${a.path} outside ${SHARED}/${s.dir}`);
        break;
      case 'setData':
        if (a.version !== s.expectVersion) bad(`version ${a.version} after setData, expected ${s.expectVersion}`);
        break;
      default:
        break;
    }
  });
  return out;
}

// ----------------------------------------------------------------------------------- reads

export interface Observed {
  rootChildren: string[] | null;
  slots: SlotState[];
  shared: SharedDirSeen[];
  maxZxid: number;
}

const isNoNode = (e: unknown): boolean => e instanceof ZooKeeperError && e.code === Err.NONODE;

async function inChunks<T, R>(xs: readonly T[], f: (x: T) => Promise<R>, size = 500): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < xs.length; i += size) out.push(...(await Promise.all(xs.slice(i, i + size).map(f))));
  return out;
}

/** Read everything under /crash (no writes run meanwhile). */
export async function observe(c: ZooKeeperClient, nSlots: number): Promise<Observed> {
  let maxZxid = 0;
  const seeZ = (...zs: number[]): void => {
    for (const z of zs) if (z > maxZxid) maxZxid = z;
  };
  const kids = async (path: string): Promise<{ children: string[]; cversion: number; numChildren: number } | null> => {
    try {
      const r = await c.getChildren2(path);
      seeZ(r.stat.czxid, r.stat.mzxid, r.stat.pzxid);
      return { children: r.children.sort(), cversion: r.stat.cversion, numChildren: r.stat.numChildren };
    } catch (e) {
      if (isNoNode(e)) return null;
      throw e;
    }
  };
  const read = async (path: string): Promise<{ data: string | null; version: number; czxid: number; mzxid: number } | null> => {
    try {
      const r = await c.getData(path);
      seeZ(r.stat.czxid, r.stat.mzxid);
      return { data: r.data === null ? null : r.data.toString('utf8'), version: r.stat.version, czxid: r.stat.czxid, mzxid: r.stat.mzxid };
    } catch (e) {
      if (isNoNode(e)) return null;
      throw e;
    }
  };

  const root = await kids(ROOT);
  const slots: SlotState[] = [];
  for (let i = 0; i < nSlots; i++) {
    const s = emptySlot();
    const k = await kids(slotPath(i));
    if (k === null) {
      s.cversion = -1;
    } else {
      // Stored cversion (creations): what the sequential suffix uses; clients see 2c - numChildren.
      s.cversion = (k.cversion + k.numChildren) / 2;
      const nodes = await inChunks(k.children, (n) => read(`${slotPath(i)}/${n}`));
      k.children.forEach((name, j) => {
        const n = nodes[j];
        if (n) s.nodes.set(name, n);
      });
    }
    slots.push(s);
  }
  const shared: SharedDirSeen[] = [];
  for (const dir of (await kids(SHARED))?.children ?? []) {
    const k = await kids(`${SHARED}/${dir}`);
    if (k === null) continue;
    const nodes = await inChunks(k.children, (n) => read(`${SHARED}/${dir}/${n}`));
    const children = k.children.flatMap((name, j) => {
      const n = nodes[j];
      return n ? [{ name, data: n.data, czxid: n.czxid }] : [];
    });
    shared.push({ name: dir, cversion: k.cversion, numChildren: k.numChildren, children });
    for (const ch of children) {
      const t = parseToken(tokenOf(ch.data));
      if (t && t.slot >= 0 && t.slot < nSlots) slots[t.slot]!.shared.set(tokenOf(ch.data), { dir, name: ch.name, czxid: ch.czxid });
    }
  }
  return { rootChildren: root?.children ?? null, slots, shared, maxZxid };
}

// ------------------------------------------------------------------------------------ run

export type KillMode = 'early' | 'acks' | 'timer' | 'file' | 'quiet';

export interface CrashRunOptions {
  launcher: Launcher;
  cycles: number;
  seed: number;
  /** Slots (sessions at most per cycle); default 3. */
  slots?: number;
  /** Per-cycle progress lines. */
  log?: (line: string) => void;
  /** Called after every kill, before the next start (the checker's live self-test tampers here). */
  afterKill?: (dirs: string[], cycle: number) => Promise<void>;
  /** Keep the data directory on failure (its path is in the error). */
  keepOnFailure?: boolean;
}

export interface CrashRunStats {
  cycles: number;
  kills: Record<KillMode, number>;
  /** Kills that landed on a fresh snapshot/log file (file mode). */
  fileHits: number;
  writes: number;
  acked: number;
  unknown: number;
  /** Unacknowledged writes found applied / not applied after the restart. */
  unknownApplied: number;
  unknownAbsent: number;
  /** Connection losses not caused by a kill. */
  strayLosses: number;
  files: string[];
  ms: number;
}

export class CrashCheckError extends Error {
  override name = 'CrashCheckError';
  constructor(
    readonly problems: Problem[],
    message: string,
  ) {
    super(message);
  }
}

interface Batch {
  cycle: number;
  writes: Map<number, Write[]>;
}

const LOSS = new Set<number>([Err.CONNECTIONLOSS, Err.SESSIONEXPIRED, Err.OPERATIONTIMEOUT]);

function cycleConfig(rng: Rng, logDir: string | undefined): Record<string, string> {
  const cfg: Record<string, string> = {
    forceSync: 'yes',
    snapCount: String(rng.pick([100, 100, 150, 300])),
    preAllocSize: String(rng.pick([1, 4, 16, 64, 65536])),
  };
  if (logDir) cfg['dataLogDir'] = logDir;
  if (rng.bool(0.5)) {
    cfg['autopurge.snapRetainCount'] = '3';
    cfg['autopurge.purgeInterval'] = '1';
  }
  return cfg;
}

const cfgText = (cfg: Record<string, string>): string =>
  Object.entries(cfg)
    .filter(([k]) => k !== 'dataLogDir')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

async function listFiles(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      out.push(...(await readdir(join(d, 'version-2'))));
    } catch {
      // not created yet
    }
  }
  return out.sort();
}

export async function runCrashCycles(o: CrashRunOptions): Promise<CrashRunStats> {
  const t0 = Date.now();
  const rng = new Rng(o.seed);
  const nSlots = o.slots ?? 3;
  const base = await mkdtemp(join(tmpdir(), 'cg-crash-'));
  const dataDir = join(base, 'data');
  const logDir = rng.bool(0.35) ? join(base, 'log') : undefined;
  const dirs = logDir ? [dataDir, logDir] : [dataDir];
  const log = o.log ?? ((): void => {});
  const stats: CrashRunStats = {
    cycles: o.cycles,
    kills: { early: 0, acks: 0, timer: 0, file: 0, quiet: 0 },
    fileHits: 0,
    writes: 0,
    acked: 0,
    unknown: 0,
    unknownApplied: 0,
    unknownAbsent: 0,
    strayLosses: 0,
    files: [],
    ms: 0,
  };
  const model = {
    slots: Array.from({ length: nSlots }, () => emptySlot()),
    sharedDirs: new Set<string>(),
    floor: 0,
  };
  let pending: Batch | undefined;
  let srv: RunningServer | undefined;
  let lastLog = '';
  let where = 'setup';
  let failed = false;

  const fail = (problems: Problem[], what: string): never => {
    failed = true;
    const lines = problems.slice(0, 20).map((p) => `  [${p.kind}]${p.slot !== undefined ? ` slot ${p.slot}` : ''} ${p.detail}`);
    if (problems.length > 20) lines.push(`  ... ${problems.length - 20} more`);
    throw new CrashCheckError(
      problems,
      `${o.launcher.name}: ${what} (${where}; seed ${o.seed}, ${o.cycles} cycles; replay with CRASH_SEED=${o.seed} CRASH_CYCLES=${o.cycles})\n` +
        `${lines.join('\n')}\n` +
        `data: ${o.keepOnFailure ? base : '(removed; CRASH_KEEP=1 keeps it)'}${logDir ? ' (separate dataLogDir)' : ''}\n` +
        `log of the server killed last:\n${lastLog.slice(-2000)}\n` +
        (srv ? `log of the running server:\n${srv.logTail().slice(-3000)}` : ''),
    );
  };

  const start = async (cfg: Record<string, string>): Promise<RunningServer> => {
    try {
      return await o.launcher.start({ dataDir, config: cfg });
    } catch (e) {
      failed = true;
      throw new Error(
        `${o.launcher.name} did not start on the data dir (${where}; seed ${o.seed}; replay with CRASH_SEED=${o.seed} CRASH_CYCLES=${o.cycles}; ` +
          `data: ${o.keepOnFailure ? base : 'removed; CRASH_KEEP=1 keeps it'}): ${(e as Error).message}\nlog of the server killed last:\n${lastLog.slice(-2000)}`,
      );
    }
  };
  const kill = async (s: RunningServer): Promise<void> => {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    const gone = await s.waitExit(15_000);
    lastLog = s.logTail();
    await s.stop();
    if (srv === s) srv = undefined;
    if (!gone) throw new Error(`pid ${s.pid} did not exit after SIGKILL`);
  };
  const client = (s: RunningServer): ZooKeeperClient =>
    new ZooKeeperClient({ connectString: s.connectString, sessionTimeoutMs: 6_000, closeTimeoutMs: 1_000 });

  const verify = async (s: RunningServer): Promise<void> => {
    const c = client(s);
    let seen: Observed;
    try {
      await c.connect({ timeoutMs: 20_000 });
      seen = await observe(c, nSlots);
    } finally {
      await c.close();
    }
    const problems: Problem[] = [];
    const wantRoot = [...Array.from({ length: nSlots }, (_, i) => `s${i}`), 'shared'].sort();
    const gotRoot = seen.rootChildren ?? [];
    const missing = wantRoot.filter((n) => !gotRoot.includes(n));
    const extra = gotRoot.filter((n) => !wantRoot.includes(n));
    if (seen.rootChildren === null) problems.push({ kind: 'lost-acked', detail: `${ROOT} (acknowledged at setup) is missing` });
    else if (missing.length) problems.push({ kind: 'lost-acked', detail: `${ROOT} lacks ${missing.join(', ')} (acknowledged at setup)` });
    if (extra.length) problems.push({ kind: 'unexpected-node', detail: `${ROOT} has unexpected children ${extra.join(', ')}` });
    const verdicts = model.slots.map((m, slot) => resolveSlot(slot, m, pending?.writes.get(slot) ?? [], seen.slots[slot]!, model.floor));
    for (const v of verdicts) problems.push(...v.problems);
    problems.push(...checkShared(seen.shared, model.sharedDirs, nSlots));
    if (problems.length) fail(problems, 'the recovered tree does not match the acknowledged history');
    verdicts.forEach((v, slot) => {
      model.slots[slot] = v.resolved!;
      const ws = pending?.writes.get(slot) ?? [];
      const unknown = ws.filter((w) => w.outcome !== 'acked').length;
      const applied = v.applied! - ws.slice(0, v.applied).filter((w) => w.outcome === 'acked').length;
      stats.unknownApplied += applied;
      stats.unknownAbsent += unknown - applied;
      for (const w of ws) for (const a of w.acks ?? []) model.floor = Math.max(model.floor, a.czxid ?? 0, a.mzxid ?? 0);
    });
    model.floor = Math.max(model.floor, seen.maxZxid);
    pending = undefined;
  };

  const setup = async (s: RunningServer): Promise<void> => {
    const c = client(s);
    try {
      await c.connect({ timeoutMs: 20_000 });
      await c.create(ROOT, null);
      await c.create(SHARED, null);
      for (let i = 0; i < nSlots; i++) {
        await c.create(slotPath(i), null);
        for (const n of COUNTERS) await c.create(`${slotPath(i)}/${n}`, COUNTER_INIT);
        model.slots[i] = {
          cversion: COUNTERS.length,
          nodes: new Map(COUNTERS.map((n) => [n, { data: COUNTER_INIT, version: 0 }])),
          shared: new Map(),
        };
      }
    } finally {
      await c.close();
    }
  };

  const workload = async (s: RunningServer, cycle: number, mode: KillMode, crng: Rng): Promise<string> => {
    const dir = sharedDirName(cycle);
    {
      const c = client(s);
      try {
        await c.connect({ timeoutMs: 20_000 });
        await c.create(`${SHARED}/${dir}`, null);
        model.sharedDirs.add(dir);
      } finally {
        await c.close();
      }
    }
    // Every choice is drawn before anything runs, so the main stream does not depend on timing.
    const used = Array.from({ length: nSlots }, (_, i) => i).filter(() => crng.bool(0.6));
    if (used.length === 0) used.push(crng.int(0, nSlots - 1));
    const plans = used.map((slot) => ({
      slot,
      rng: crng.fork(),
      budget: mode === 'file' ? crng.int(150, 500) : crng.int(20, 400),
      window: crng.pick([1, 2, 8, 32, 128]),
    }));
    const killAfterAcks = crng.int(
      1,
      plans.reduce((n, p) => n + p.budget, 0),
    );
    const killAfterMs = crng.int(0, 150);
    // On a new file: kill at once (the roll itself) or a little later (inside the snapshot write).
    const fileDelayMs = crng.bool() ? 0 : crng.int(1, 30);

    const batch: Batch = { cycle, writes: new Map() };
    pending = batch;
    const ackProblems: Problem[] = [];
    const clients: ZooKeeperClient[] = [];
    const watchers: FSWatcher[] = [];
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    let why = '';
    let acked = 0;
    const doKill = (reason: string): void => {
      if (killed) return;
      killed = true;
      why = reason;
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      clearTimeout(timer);
      for (const w of watchers) w.close();
      for (const c of clients) void c.close();
    };

    if (mode === 'timer') timer = setTimeout(() => doKill(`timer ${killAfterMs} ms`), killAfterMs);
    if (mode === 'file') {
      const before = new Set(await listFiles(dirs));
      for (const d of dirs) {
        try {
          const w = watch(join(d, 'version-2'), (_ev, f) => {
            const name = f?.toString() ?? '';
            if (/^(tmp\.)?(snapshot|log)\.[0-9a-f]+$/.test(name) && !before.has(name) && !killed && timer === undefined) {
              stats.fileHits++;
              if (fileDelayMs === 0) doKill(`new file ${name}`);
              else timer = setTimeout(() => doKill(`${fileDelayMs} ms after new file ${name}`), fileDelayMs);
            }
          });
          w.on('error', () => {});
          watchers.push(w);
        } catch {
          // no version-2 directory (yet): the cycle ends quiesced instead
        }
      }
    }
    const stall = setTimeout(() => doKill('stalled'), 60_000);

    const session = async (p: (typeof plans)[number]): Promise<void> => {
      const writes: Write[] = [];
      batch.writes.set(p.slot, writes);
      const st = cloneSlot(model.slots[p.slot]!);
      const c = client(s);
      clients.push(c);
      if (killed) void c.close();
      try {
        await c.connect({ timeoutMs: 20_000 });
      } catch (e) {
        if (killed) return;
        throw e;
      }
      let inflight = 0;
      let lost = false;
      let wake: (() => void) | undefined;
      const waitWake = (): Promise<void> => new Promise<void>((r) => (wake = r));
      for (let i = 0; i < p.budget && !killed && !lost; i++) {
        while (inflight >= p.window && !killed && !lost) await waitWake();
        if (killed || lost) break;
        const w = genWrite(p.rng, st, p.slot, cycle, i, dir);
        writes.push(w);
        inflight++;
        sendWrite(c, w)
          .then(
            (acks) => {
              w.outcome = 'acked';
              w.acks = acks;
              ackProblems.push(...checkAck(w, acks));
              acked++;
              if (mode === 'acks' && acked >= killAfterAcks) doKill(`after ${acked} acks`);
            },
            (e: unknown) => {
              if (e instanceof ZooKeeperError && LOSS.has(e.code)) {
                w.outcome = 'unknown';
                // After a lost connection the earlier writes' fate is open: issuing more on a
                // new connection could legitimately break the prefix, so this session stops.
                if (!killed) stats.strayLosses++;
                lost = true;
              } else {
                w.outcome = 'error';
                w.error = e instanceof ZooKeeperError ? e.codeName : String(e);
              }
            },
          )
          .finally(() => {
            inflight--;
            wake?.();
          });
        if (p.rng.bool(0.2)) await yieldTurn();
      }
      while (inflight > 0) await waitWake();
      if (!killed) await c.close();
    };

    try {
      await Promise.all(plans.map(session));
      doKill(mode === 'quiet' ? 'quiesced' : `quiesced before the ${mode} trigger`);
    } finally {
      doKill('cleanup');
      clearTimeout(stall);
      await kill(s);
    }
    const all = [...batch.writes.values()].flat();
    stats.writes += all.length;
    stats.acked += all.filter((w) => w.outcome === 'acked').length;
    stats.unknown += all.filter((w) => w.outcome === 'unknown').length;
    if (why === 'stalled') fail([], 'the server stopped answering writes for 60 s');
    if (ackProblems.length) fail(ackProblems, 'a reply disagrees with the model');
    return `${why}; ${used.length} session(s), ${all.length} writes, ${all.filter((w) => w.outcome === 'acked').length} acked`;
  };

  try {
    srv = await start(cycleConfig(rng, logDir));
    await setup(srv);
    await verify(srv);
    await kill(srv);
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      const crng = rng.fork();
      const cfg = cycleConfig(crng, logDir);
      const mode = crng.weighted<KillMode>({ early: 10, acks: 30, timer: 25, file: 25, quiet: 10 });
      where = `cycle ${cycle}/${o.cycles}, kill ${mode}, ${cfgText(cfg)}`;
      stats.kills[mode]++;
      const ct = Date.now();
      srv = await start(cfg);
      if (mode === 'early') {
        const ms = crng.int(0, 40);
        await new Promise((r) => setTimeout(r, ms)); // the kill point itself, not a wait for a condition
        await kill(srv);
        log(`cycle ${cycle}: early kill ${ms} ms after ready (${Date.now() - ct} ms)`);
      } else {
        await verify(srv);
        const what = await workload(srv, cycle, mode, crng);
        log(`cycle ${cycle}: ${mode} -- ${what} (${Date.now() - ct} ms)`);
      }
      if (o.afterKill) await o.afterKill(dirs, cycle);
    }
    // The last writes verified, then a clean stop and one more start: nothing may change.
    where = 'final restart';
    const cfg = cycleConfig(rng, logDir);
    srv = await start(cfg);
    await verify(srv);
    lastLog = srv.logTail();
    await srv.stop();
    srv = undefined;
    where = 'restart after a clean stop';
    srv = await start(cfg);
    await verify(srv);
    await srv.stop();
    srv = undefined;
    stats.files = await listFiles(dirs);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (srv) {
      lastLog = srv.logTail();
      await srv.stop().catch(() => undefined);
    }
    if (!(failed && o.keepOnFailure)) await rm(base, { recursive: true, force: true });
  }
  stats.ms = Date.now() - t0;
  return stats;
}
