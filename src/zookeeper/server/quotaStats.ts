// The `zookeeper_stats` nodes: each holds the live `count=N,bytes=M` of its quota'd subtree,
// kept in step by DataTree on every create, delete and setData below a quota'd path, and
// recounted when the stat node is created or a snapshot is loaded (DataTree.setupQuota).

import { NO_SLOT, type NodeReader, type NodeTable } from './nodeTable.js';
import { formatStatsTrack, LIMIT_NODE, parseStatsTrack, QUOTA_ROOT, STAT_NODE } from './quota.js';

/** The quota'd paths: those with a limit node under /zookeeper/quota (as a loaded snapshot has them). */
export function quotaLimitPaths(t: NodeReader): string[] {
  const quotaRoot = t.find(QUOTA_ROOT);
  const limits: string[] = [];
  if (quotaRoot !== NO_SLOT) {
    const walk = (slot: number, p: string): void => {
      for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) {
        if (t.nameAt(c) === LIMIT_NODE) limits.push(p.slice(QUOTA_ROOT.length));
        else walk(c, t.pathAt(c));
      }
    };
    walk(quotaRoot, QUOTA_ROOT);
  }
  return limits;
}

/** Adds to the `count`/`bytes` of the quota'd path's stat node, in place. */
export function addToQuotaStat(t: NodeTable, quotaPath: string, bytesDiff: number, countDiff: number): void {
  const slot = t.find(`${QUOTA_ROOT}${quotaPath}/${STAT_NODE}`);
  if (slot === NO_SLOT) return;
  const stats = parseStatsTrack(t.valueAt(slot)?.toString('utf8') ?? '');
  stats.set('count', (stats.get('count') ?? -1) + countDiff);
  stats.set('bytes', (stats.get('bytes') ?? -1) + bytesDiff);
  // Like Apache, the stat node's data changes without a new version or digest update.
  t.setValue(slot, Buffer.from(formatStatsTrack(stats), 'utf8'));
}

/** Counts the subtree at `quotaPath` into its stat node (when the stat node is created or loaded). */
export function recountQuotaStat(t: NodeTable, quotaPath: string): void {
  const statSlot = t.find(`${QUOTA_ROOT}${quotaPath}/${STAT_NODE}`);
  if (statSlot === NO_SLOT) return;
  let count = 0;
  let bytes = 0;
  const walk = (slot: number): void => {
    count++;
    bytes += t.dataLengthAt(slot);
    for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) walk(c);
  };
  const top = t.find(quotaPath);
  if (top !== NO_SLOT) walk(top);
  t.setValue(
    statSlot,
    Buffer.from(
      formatStatsTrack(
        new Map([
          ['count', count],
          ['bytes', bytes],
        ]),
      ),
      'utf8',
    ),
  );
}
