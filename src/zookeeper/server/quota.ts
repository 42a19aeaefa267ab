// Quota bookkeeping, as ZooKeeper's DataTree keeps it: a `zookeeper_limits` node under
// /zookeeper/quota/<path> marks <path> as quota'd, and the sibling `zookeeper_stats` node holds
// the live `count=N,bytes=M` of <path>'s subtree, rewritten in place (no version bump) on every
// create, delete and setData below it. Quotas are advisory (enforceQuota is not supported).

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
  private readonly paths = new Set<string>();

  add(path: string): void {
    this.paths.add(path);
  }

  delete(path: string): void {
    this.paths.delete(path);
  }

  clear(): void {
    this.paths.clear();
  }

  get size(): number {
    return this.paths.size;
  }

  /** The longest quota'd path that is `path` or one of its ancestors (never "/"). */
  maxPrefix(path: string): string | undefined {
    if (this.paths.size === 0) return undefined;
    let p = path;
    while (p.length > 1) {
      if (this.paths.has(p)) return p;
      p = p.slice(0, p.lastIndexOf('/'));
    }
    return undefined;
  }
}
