// The model and the checker of the crash test (crash.test.ts). Pure: no sockets, files or
// timers, so crash.test.ts can feed the checker fabricated histories and prove it rejects them.
//
// Layout of the tree the crash test writes:
//   /crash/s<slot>          one subtree per slot; in a cycle at most one session writes a slot
//     ctr0 ctr1 ctr2        counters (created at setup, never deleted; setData with versions)
//     n<cycle>_<i>          named nodes (created, setData'd, deleted)
//     q<10 digits>          sequential nodes (the suffix is the parent's cversion: predictable)
//   /crash/shared/c<cycle>  one directory per cycle shared by every session of that cycle:
//     x<10 digits>          sequential creates from all sessions, create-only, so the suffixes
//                           of the recovered children must be exactly 0..m-1 (no holes): the
//                           one check across sessions that the recovered state is a prefix.
//
// Every write puts a unique token `c<cycle>.s<slot>.w<index>[.<step>]` at the front of the data
// it writes, so the recovered data says which write produced it.
//
// What is checkable after a SIGKILL and restart, per slot (writes of one session, issue order):
//   * the recovered subtree equals the model after exactly L of the session's writes, for one L
//     (all states along the way differ: every write creates, deletes or bumps a version);
//   * L >= the number of acknowledged writes (an acknowledged write is never lost), while any
//     unacknowledged write may or may not be there -- but only as part of that prefix;
//   * data, versions and cversion match exactly; czxid/mzxid match every zxid a reply reported;
//   * zxids are consistent with the order: the zxids seen for the applied writes (in replies or
//     in the recovered stats) strictly increase in issue order, the ops of one multi share one,
//     and every write of a cycle has a zxid above everything recovered before that cycle (no
//     zxid reuse after a restart).
// Across sessions: each shared directory has no holes, and nothing appears that nobody wrote.

export const ROOT = '/crash';
export const SHARED = `${ROOT}/shared`;
export const COUNTERS: readonly string[] = ['ctr0', 'ctr1', 'ctr2'];
export const COUNTER_INIT = 'init';

export const slotPath = (slot: number): string => `${ROOT}/s${slot}`;
export const sharedDirName = (cycle: number): string => `c${cycle}`;
export const seqName = (prefix: string, cversion: number): string => `${prefix}${String(cversion).padStart(10, '0')}`;

/** The token at the front of a data value (`<token>|<padding>`). */
export function tokenOf(data: string | null): string {
  if (data === null) return '<null>';
  const i = data.indexOf('|');
  return i < 0 ? data : data.slice(0, i);
}

export function parseToken(token: string): { cycle: number; slot: number; index: number } | undefined {
  const m = /^c(\d+)\.s(\d+)\.w(\d+)(?:\.\d+)?$/.exec(token);
  return m ? { cycle: Number(m[1]), slot: Number(m[2]), index: Number(m[3]) } : undefined;
}

// ------------------------------------------------------------------------------------ state

/** A write's identity, `<cycle>:<index>` (unique within a slot). */
export type WriteId = string;
export const writeId = (cycle: number, index: number): WriteId => `${cycle}:${index}`;

export interface NodeModel {
  data: string | null;
  version: number;
  /** Known zxids (from a reply or an earlier recovery); undefined = not known yet. */
  czxid?: number;
  mzxid?: number;
  /** Which write created / last modified the node (for zxid witnesses). */
  createdBy?: WriteId;
  modifiedBy?: WriteId;
}

export interface SharedModel {
  /** Directory name under /crash/shared (c<cycle>). */
  dir: string;
  /** Child name, once known (from the reply or an earlier recovery). */
  name?: string;
  czxid?: number;
  createdBy?: WriteId;
}

/** One slot's subtree: its parent's cversion (-1: the parent is missing), children, shared creates. */
export interface SlotState {
  /**
   * The parent's cversion as ZooKeeper stores it: child creations only. It is the next
   * sequential suffix; clients see 2 * cversion - numChildren (creations plus deletions).
   */
  cversion: number;
  nodes: Map<string, NodeModel>;
  /** Shared-directory creates of this slot, by token. */
  shared: Map<string, SharedModel>;
}

export function emptySlot(): SlotState {
  return { cversion: 0, nodes: new Map(), shared: new Map() };
}

export function cloneSlot(s: SlotState): SlotState {
  return {
    cversion: s.cversion,
    nodes: new Map([...s.nodes].map(([k, v]) => [k, { ...v }])),
    shared: new Map([...s.shared].map(([k, v]) => [k, { ...v }])),
  };
}

// ----------------------------------------------------------------------------------- writes

export type Step =
  | { op: 'create'; name: string; data: string; withStat: boolean }
  /** Sequential create under the slot with prefix `q`; `expect` is the name the model predicts. */
  | { op: 'createSeq'; data: string; withStat: boolean; expect: string }
  | { op: 'setData'; name: string; data: string; version: number; expectVersion: number }
  | { op: 'delete'; name: string; version: number }
  | { op: 'check'; name: string; version: number }
  | { op: 'shared'; dir: string; token: string; data: string; withStat: boolean };

/** What a reply said about one step. */
export interface StepAck {
  path?: string;
  czxid?: number;
  mzxid?: number;
  version?: number;
}

export type Outcome = 'pending' | 'acked' | 'unknown' | 'error';

export interface Write {
  slot: number;
  cycle: number;
  /** Issue order within (slot, cycle), from 0. */
  index: number;
  multi: boolean;
  steps: Step[];
  outcome: Outcome;
  acks?: StepAck[];
  /** The error reply (outcome 'error'). */
  error?: string;
}

export class ModelError extends Error {
  override name = 'ModelError';
}

const stepText = (s: Step): string => {
  switch (s.op) {
    case 'create':
      return `create ${s.name}`;
    case 'createSeq':
      return `createSeq ${s.expect}`;
    case 'setData':
      return `setData ${s.name} v${s.version}`;
    case 'delete':
      return `delete ${s.name} v${s.version}`;
    case 'check':
      return `check ${s.name} v${s.version}`;
    case 'shared':
      return `shared ${s.dir} ${s.token}`;
  }
};

export function describeWrite(w: Write): string {
  const body = w.multi ? `multi[${w.steps.map(stepText).join(', ')}]` : stepText(w.steps[0]!);
  return `s${w.slot} c${w.cycle} #${w.index} ${body} (${w.outcome}${w.error ? ` ${w.error}` : ''})`;
}

/**
 * Apply one write to a slot state (in place). Throws ModelError if the write is not valid on
 * this state (the generator only issues writes that succeed when applied in order).
 */
export function applyWrite(s: SlotState, w: Write): void {
  const id = writeId(w.cycle, w.index);
  const acks = w.outcome === 'acked' ? w.acks : undefined;
  w.steps.forEach((step, i) => {
    const ack = acks?.[i];
    const need = (name: string): NodeModel => {
      const n = s.nodes.get(name);
      if (!n) throw new ModelError(`${describeWrite(w)}: ${name} does not exist in the model`);
      return n;
    };
    const versionOk = (n: NodeModel, v: number, name: string): void => {
      if (v !== -1 && n.version !== v) throw new ModelError(`${describeWrite(w)}: ${name} has version ${n.version}, not ${v}`);
    };
    switch (step.op) {
      case 'create':
      case 'createSeq': {
        const name = step.op === 'create' ? step.name : seqName('q', s.cversion);
        if (s.nodes.has(name)) throw new ModelError(`${describeWrite(w)}: ${name} exists already`);
        s.nodes.set(name, { data: step.data, version: 0, czxid: ack?.czxid, mzxid: ack?.czxid, createdBy: id, modifiedBy: id });
        s.cversion++;
        break;
      }
      case 'setData': {
        const n = need(step.name);
        versionOk(n, step.version, step.name);
        n.version++;
        n.data = step.data;
        n.mzxid = ack?.mzxid;
        n.modifiedBy = id;
        break;
      }
      case 'delete':
        versionOk(need(step.name), step.version, step.name);
        s.nodes.delete(step.name);
        break;
      case 'check':
        versionOk(need(step.name), step.version, step.name);
        break;
      case 'shared': {
        if (s.shared.has(step.token)) throw new ModelError(`${describeWrite(w)}: token ${step.token} reused`);
        const name = ack?.path === undefined ? undefined : ack.path.slice(ack.path.lastIndexOf('/') + 1);
        s.shared.set(step.token, { dir: step.dir, name, czxid: ack?.czxid, createdBy: id });
        break;
      }
    }
  });
}

// ---------------------------------------------------------------------------------- compare

const short = (d: string | null): string =>
  d === null ? 'null' : `${tokenOf(d)}${d.includes('|') ? `|+${d.length - d.indexOf('|') - 1}` : ''}`;

/** Differences between the model (`want`) and a recovered slot (`got`); empty = equal. */
export function diffSlot(want: SlotState, got: SlotState, limit = 12): string[] {
  const out: string[] = [];
  const add = (s: string): boolean => {
    out.push(s);
    return out.length >= limit;
  };
  if (got.cversion < 0) {
    add('the slot node is missing');
    return out;
  }
  if (want.cversion !== got.cversion && add(`cversion ${got.cversion}, expected ${want.cversion}`)) return out;
  for (const [name, n] of want.nodes) {
    const g = got.nodes.get(name);
    if (!g) {
      if (add(`missing ${name} (${short(n.data)} v${n.version})`)) return out;
      continue;
    }
    if (g.data !== n.data && add(`${name}: data ${short(g.data)}, expected ${short(n.data)}`)) return out;
    if (g.version !== n.version && add(`${name}: version ${g.version}, expected ${n.version}`)) return out;
    if (
      n.czxid !== undefined &&
      g.czxid !== n.czxid &&
      add(`${name}: czxid 0x${g.czxid?.toString(16)}, expected 0x${n.czxid.toString(16)}`)
    )
      return out;
    if (
      n.mzxid !== undefined &&
      g.mzxid !== n.mzxid &&
      add(`${name}: mzxid 0x${g.mzxid?.toString(16)}, expected 0x${n.mzxid.toString(16)}`)
    )
      return out;
  }
  for (const [name, g] of got.nodes) {
    if (!want.nodes.has(name) && add(`unexpected ${name} (${short(g.data)} v${g.version})`)) return out;
  }
  for (const [token, m] of want.shared) {
    const g = got.shared.get(token);
    if (!g) {
      if (add(`missing shared create ${token} in ${m.dir}${m.name ? `/${m.name}` : ''}`)) return out;
      continue;
    }
    if (g.dir !== m.dir && add(`shared ${token} in ${g.dir}, expected ${m.dir}`)) return out;
    if (m.name !== undefined && g.name !== m.name && add(`shared ${token} named ${g.name}, expected ${m.name}`)) return out;
    if (
      m.czxid !== undefined &&
      g.czxid !== m.czxid &&
      add(`shared ${token}: czxid 0x${g.czxid?.toString(16)}, expected 0x${m.czxid.toString(16)}`)
    )
      return out;
  }
  for (const [token, g] of got.shared) {
    if (!want.shared.has(token) && add(`unexpected shared create ${token} at ${g.dir}/${g.name}`)) return out;
  }
  return out;
}

// ---------------------------------------------------------------------------------- checker

export type ProblemKind =
  | 'lost-acked'
  | 'not-prefix'
  | 'zxid-order'
  | 'shared-gap'
  | 'unexpected-node'
  | 'ack-mismatch'
  | 'error-reply'
  | 'fifo';

export interface Problem {
  kind: ProblemKind;
  slot?: number;
  detail: string;
}

export interface SlotVerdict {
  /** How many of the writes the recovered state reflects (when a prefix matched). */
  applied: number | undefined;
  acked: number;
  problems: Problem[];
  /** The model after the matching prefix, zxids filled in from the recovered stats. */
  resolved: SlotState | undefined;
}

/**
 * Compare a recovered slot with its model. `base` is the slot after the last verified restart,
 * `writes` the writes issued since (issue order), `floor` the highest zxid known before them.
 */
export function resolveSlot(slot: number, base: SlotState, writes: readonly Write[], got: SlotState, floor: number): SlotVerdict {
  const problems: Problem[] = [];
  const p = (kind: ProblemKind, detail: string): void => {
    problems.push({ kind, slot, detail });
  };
  let mustApply = 0;
  let firstNotAcked = -1;
  writes.forEach((w, i) => {
    if (w.outcome === 'acked') {
      mustApply = i + 1;
      if (firstNotAcked >= 0) p('fifo', `reply to ${describeWrite(w)} arrived though ${describeWrite(writes[firstNotAcked]!)} got none`);
    } else if (firstNotAcked < 0) {
      firstNotAcked = i;
    }
    if (w.outcome === 'error') p('error-reply', `unexpected error reply: ${describeWrite(w)}`);
  });
  const acked = writes.filter((w) => w.outcome === 'acked').length;
  if (got.cversion < 0) {
    p('lost-acked', `${slotPath(slot)} (created and acknowledged at setup) is missing`);
    return { applied: undefined, acked, problems, resolved: undefined };
  }

  // Walk the prefixes: the state after L writes, for L = 0..n.
  const s = cloneSlot(base);
  let match: number | undefined;
  let matchState: SlotState | undefined;
  let lowMatch: number | undefined;
  let best = { l: 0, diff: diffSlot(s, got, 1000) };
  for (let l = 0; ; l++) {
    if (l > 0) applyWrite(s, writes[l - 1]!);
    const diff = diffSlot(s, got, 1000);
    if (diff.length === 0) {
      if (l >= mustApply) {
        match = l;
        matchState = cloneSlot(s);
        break;
      }
      lowMatch ??= l;
    }
    // Closest prefix for the report; ties go to the longer prefix at or above the acked ones.
    if (diff.length < best.diff.length || (diff.length === best.diff.length && l <= mustApply)) best = { l, diff };
    if (l === writes.length) break;
  }

  if (match === undefined || matchState === undefined) {
    if (lowMatch !== undefined) {
      const lost = writes.slice(lowMatch).filter((w) => w.outcome === 'acked');
      p(
        'lost-acked',
        `the recovered state is the one after ${lowMatch} of ${writes.length} writes, but ${lost.length} later writes were acknowledged; ` +
          `first lost: ${describeWrite(lost[0]!)}`,
      );
    } else {
      p(
        'not-prefix',
        `no prefix of the ${writes.length} writes since the last restart (${acked} acknowledged) matches the recovered state; ` +
          `closest: after ${best.l} writes${best.l < writes.length ? ` (next: ${describeWrite(writes[best.l]!)})` : ''}, differences: ` +
          best.diff.slice(0, 12).join('; ') +
          (best.diff.length > 12 ? `; ... (${best.diff.length} in all)` : ''),
      );
    }
    return { applied: undefined, acked, problems, resolved: undefined };
  }

  // Fill in zxids only the recovered stats know, and collect zxid witnesses for the new writes.
  const witnesses = new Map<WriteId, Set<number>>();
  const witness = (id: WriteId | undefined, z: number | undefined): void => {
    if (id === undefined || z === undefined) return;
    let set = witnesses.get(id);
    if (!set) {
      set = new Set();
      witnesses.set(id, set);
    }
    set.add(z);
  };
  for (const w of writes.slice(0, match)) {
    for (const a of w.acks ?? []) {
      witness(writeId(w.cycle, w.index), a.czxid);
      witness(writeId(w.cycle, w.index), a.mzxid);
    }
  }
  for (const [name, n] of matchState.nodes) {
    const g = got.nodes.get(name)!;
    n.czxid = g.czxid;
    n.mzxid = g.mzxid;
    witness(n.createdBy, g.czxid);
    witness(n.modifiedBy, g.mzxid);
  }
  for (const [token, m] of matchState.shared) {
    const g = got.shared.get(token)!;
    m.name = g.name;
    m.czxid = g.czxid;
    witness(m.createdBy, g.czxid);
  }
  let prev: { w: Write; z: number } | undefined;
  for (const w of writes.slice(0, match)) {
    const zs = witnesses.get(writeId(w.cycle, w.index));
    if (!zs) continue;
    if (zs.size > 1) {
      p('zxid-order', `${describeWrite(w)} shows several zxids: ${[...zs].map((z) => `0x${z.toString(16)}`).join(', ')}`);
      continue;
    }
    const z = [...zs][0]!;
    if (z <= floor)
      p('zxid-order', `${describeWrite(w)} has zxid 0x${z.toString(16)}, not above 0x${floor.toString(16)} (known before this cycle)`);
    if (prev && z <= prev.z) {
      p(
        'zxid-order',
        `${describeWrite(w)} has zxid 0x${z.toString(16)}, not above 0x${prev.z.toString(16)} of the earlier ${describeWrite(prev.w)}`,
      );
    }
    prev = { w, z };
  }
  return { applied: match, acked, problems, resolved: problems.length === 0 ? matchState : undefined };
}

/** A shared directory as recovered. */
export interface SharedDirSeen {
  name: string;
  cversion: number;
  numChildren: number;
  children: { name: string; data: string | null; czxid: number }[];
}

/**
 * Checks across sessions: the shared directories are exactly the ones created, and each one's
 * sequential children are numbered 0..m-1 with cversion m (a hole means a lost write that a
 * later write survived). Tokens must name a known slot and the directory's cycle.
 */
export function checkShared(dirs: readonly SharedDirSeen[], expectedDirs: ReadonlySet<string>, slots: number): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set(dirs.map((d) => d.name));
  for (const d of expectedDirs)
    if (!seen.has(d)) problems.push({ kind: 'lost-acked', detail: `shared directory ${d} (acknowledged) is missing` });
  for (const d of dirs) {
    if (!expectedDirs.has(d.name)) {
      problems.push({ kind: 'unexpected-node', detail: `unexpected shared directory ${d.name}` });
      continue;
    }
    const m = d.children.length;
    const names = new Set(d.children.map((c) => c.name));
    const holes: string[] = [];
    for (let i = 0; i < m; i++) if (!names.has(seqName('x', i))) holes.push(seqName('x', i));
    const extra = d.children.filter((c) => !/^x\d{10}$/.test(c.name) || Number(c.name.slice(1)) >= m).map((c) => c.name);
    if (holes.length > 0 || extra.length > 0 || d.cversion !== m || d.numChildren !== m) {
      problems.push({
        kind: 'shared-gap',
        detail:
          `shared directory ${d.name}: ${m} children, cversion ${d.cversion}, numChildren ${d.numChildren}` +
          (holes.length ? `; missing ${holes.slice(0, 5).join(', ')}${holes.length > 5 ? ', ...' : ''}` : '') +
          (extra.length ? `; beyond the count: ${extra.slice(0, 5).join(', ')}` : ''),
      });
    }
    const cycle = Number(d.name.slice(1));
    for (const c of d.children) {
      const t = parseToken(tokenOf(c.data));
      if (!t || t.cycle !== cycle || t.slot < 0 || t.slot >= slots) {
        problems.push({
          kind: 'unexpected-node',
          detail: `shared ${d.name}/${c.name} holds ${short(c.data)}, which no session of cycle ${cycle} wrote`,
        });
      }
    }
  }
  return problems;
}
