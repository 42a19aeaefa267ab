// Quota bookkeeping, as ZooKeeper's DataTree keeps it: a `zookeeper_limits` node under
// /zookeeper/quota/<path> marks <path> as quota'd, and the sibling `zookeeper_stats` node holds
// the live `count=N,bytes=M` of <path>'s subtree, rewritten in place (no version bump) on every
// create, delete and setData below it. With enforceQuota set, prep checks a create or setData
// against the limits (checkQuota below): a hard limit refuses it with QUOTAEXCEEDED, a soft one
// only warns, as ZooKeeper 3.7+ does.

import type { Logger } from '../../util/log.js';
import type { DataTree } from './datatree.js';
import { NO_SLOT } from './nodeTable.js';

export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

/** StatsTrack: `count=N,bytes=M` first, then any other keys sorted, after an extra `=`. */
export function parseStatsTrack(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pair of text.split(/[,;]+/)) {
    if (pair === '') continue;
    const [k, v] = pair.split('=');
    const n = v === undefined || v === '' ? -1 : Number(v);
    if (k !== undefined && Number.isFinite(n)) out.set(k, n);
  }
  return out;
}

export function formatStatsTrack(stats: Map<string, number>): string {
  let s = `count=${stats.get('count') ?? -1},bytes=${stats.get('bytes') ?? -1}`;
  const rest = [...stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
  if (rest.length > 0) s += `=${rest.map((k) => `;${k}=${stats.get(k)}`).join('')}`;
  return s;
}

export class QuotaPrefixes {
  private readonly set = new Set<string>();

  add(path: string): void {
    this.set.add(path);
  }

  delete(path: string): void {
    this.set.delete(path);
  }

  clear(): void {
    this.set.clear();
  }

  get size(): number {
    return this.set.size;
  }

  /** The quota'd paths (those with a limit node). */
  paths(): IterableIterator<string> {
    return this.set.values();
  }

  /** The longest quota'd path that is `path` or one of its ancestors (never "/"). */
  maxPrefix(path: string): string | undefined {
    if (this.set.size === 0) return undefined;
    let p = path;
    while (p.length > 1) {
      if (this.set.has(p)) return p;
      p = p.slice(0, p.lastIndexOf('/'));
    }
    return undefined;
  }
}

/** A limit a create or setData goes past: `hard` ones refuse the write, soft ones warn. */
export interface QuotaExceeded {
  /** The quota'd path (its /zookeeper/quota/<prefix>/zookeeper_limits node holds the limits). */
  prefix: string;
  what: 'count' | 'bytes';
  /** The count or bytes the subtree would have after the write. */
  value: number;
  limit: number;
  hard: boolean;
}

function statsAt(tree: DataTree, path: string): Map<string, number> | undefined {
  const slot = tree.find(path);
  if (slot === NO_SLOT) return undefined;
  return parseStatsTrack(tree.dataAt(slot)?.toString('utf8') ?? '');
}

const get = (m: Map<string, number>, k: string): number => m.get(k) ?? -1;

/**
 * ZooKeeperServer.checkQuota: what a write adding `countDiff` nodes and `bytesDiff` bytes under
 * `path` goes past, count first; the list stops at the first hard limit (the write fails there).
 * Like ZooKeeper it reads the committed tree, not writes still in the pipeline: a multi's
 * sub-ops, or concurrent writes, are each checked against the stats as last applied.
 */
export function checkQuota(tree: DataTree, path: string, bytesDiff: number, countDiff: number): QuotaExceeded[] {
  const prefix = tree.quotas.maxPrefix(path);
  if (prefix === undefined) return [];
  const limits = statsAt(tree, `${QUOTA_ROOT}${prefix}/${LIMIT_NODE}`);
  if (limits === undefined) return [];
  const countHard = get(limits, 'countHardLimit');
  const bytesHard = get(limits, 'byteHardLimit');
  const checkCount = countDiff !== 0 && (get(limits, 'count') > -1 || countHard > -1);
  const checkBytes = bytesDiff !== 0 && (get(limits, 'bytes') > -1 || bytesHard > -1);
  if (!checkCount && !checkBytes) return [];
  const current = statsAt(tree, `${QUOTA_ROOT}${prefix}/${STAT_NODE}`);
  if (current === undefined) return [];
  const out: QuotaExceeded[] = [];
  if (checkCount) {
    const value = get(current, 'count') + countDiff;
    const hard = countHard > -1;
    const limit = hard ? countHard : get(limits, 'count');
    if (value > limit) {
      out.push({ prefix, what: 'count', value, limit, hard });
      if (hard) return out;
    }
  }
  if (checkBytes) {
    const value = get(current, 'bytes') + bytesDiff;
    const hard = bytesHard > -1;
    const limit = hard ? bytesHard : get(limits, 'bytes');
    if (value > limit) out.push({ prefix, what: 'bytes', value, limit, hard });
  }
  return out;
}

/** ZooKeeper's log line for an exceeded limit. */
export function quotaExceededMessage(q: QuotaExceeded): string {
  const kind = q.what === 'count' ? 'CountLimit' : 'ByteLimit';
  return `Quota exceeded: ${q.prefix} [current ${q.what}=${q.value}, ${q.hard ? 'hard' : 'soft'}${kind}=${q.limit}]`;
}

/**
 * Keeps quota warnings quiet under load (ZooKeeper rate-limits them too): at most one line per
 * kind of warning (quota'd path, count or bytes, soft or hard) per `intervalMs`; the lines held
 * back are counted into the next one.
 */
export class QuotaWarnLimiter {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly intervalMs = 1000,
    /** Kinds remembered at once; the oldest is forgotten past this. */
    private readonly kindsMax = 1024,
  ) {}

  /** The number of lines held back since the last one, or undefined to hold this one back too. */
  admit(q: QuotaExceeded, now: number): number | undefined {
    const kind = `${q.hard ? 'hard' : 'soft'} ${q.what} ${q.prefix}`;
    const e = this.last.get(kind);
    if (e && now - e.at < this.intervalMs) {
      e.held++;
      return undefined;
    }
    const held = e?.held ?? 0;
    this.last.delete(kind);
    if (this.last.size >= this.kindsMax) this.last.delete(this.last.keys().next().value!);
    this.last.set(kind, { at: now, held: 0 });
    return held;
  }
}

/** The shell's hook for ZooKeeperServer.onQuotaExceeded: ZooKeeper's warning, rate-limited. */
export function quotaWarner(log: Logger, limiter = new QuotaWarnLimiter()): (q: QuotaExceeded, time: number) => void {
  return (q, time) => {
    const heldBack = limiter.admit(q, time);
    if (heldBack === undefined) return;
    log.warn({ quotaPath: q.prefix, [q.what]: q.value, limit: q.limit, hard: q.hard, heldBack }, quotaExceededMessage(q));
  };
}

/** PathUtils.getTopNamespace: `a` for `/a/b/c`. */
export function topNamespace(path: string): string {
  return path.split('/')[1] ?? '';
}

/** The quota gauges of ZooKeeper 3.8's metrics (QuotaMetricsUtils), each summed per top namespace. */
export interface QuotaGauges {
  quota_count_limit_per_namespace: Map<string, number>;
  quota_bytes_limit_per_namespace: Map<string, number>;
  quota_count_usage_per_namespace: Map<string, number>;
  quota_bytes_usage_per_namespace: Map<string, number>;
}

/** Reads every limit and stat node under /zookeeper/quota; a hard limit stands for the soft one beside it. */
export function quotaGauges(tree: DataTree): QuotaGauges {
  const g: QuotaGauges = {
    quota_count_limit_per_namespace: new Map(),
    quota_bytes_limit_per_namespace: new Map(),
    quota_count_usage_per_namespace: new Map(),
    quota_bytes_usage_per_namespace: new Map(),
  };
  const add = (m: Map<string, number>, ns: string, v: number): void => {
    m.set(ns, (m.get(ns) ?? 0) + v);
  };
  for (const prefix of tree.quotas.paths()) {
    const ns = topNamespace(prefix);
    const limits = statsAt(tree, `${QUOTA_ROOT}${prefix}/${LIMIT_NODE}`);
    if (limits) {
      const hardOr = (hard: string, soft: string): number => (get(limits, hard) > -1 ? get(limits, hard) : get(limits, soft));
      add(g.quota_count_limit_per_namespace, ns, hardOr('countHardLimit', 'count'));
      add(g.quota_bytes_limit_per_namespace, ns, hardOr('byteHardLimit', 'bytes'));
    }
    const stats = statsAt(tree, `${QUOTA_ROOT}${prefix}/${STAT_NODE}`);
    if (stats) {
      add(g.quota_count_usage_per_namespace, ns, get(stats, 'count'));
      add(g.quota_bytes_usage_per_namespace, ns, get(stats, 'bytes'));
    }
  }
  return g;
}
