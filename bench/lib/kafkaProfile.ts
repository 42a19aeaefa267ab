// Summary of a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function, so the
// report can say where our broker's time goes under produce load without opening DevTools.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface ProfileRow {
  fn: string;
  where: string;
  selfPct: number;
  totalPct: number;
}

/** Top functions by self time (inclusive time alongside), as percentages of all samples. */
export function summarizeProfile(path: string, top = 25): { samples: number; rows: ProfileRow[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const key = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'}\t${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  // Inclusive: each sample counts once per distinct function on its stack (recursion not doubled).
  const walk = (n: ProfileNode, onStack: Set<string>): number => {
    const k = key(n);
    const hits = n.hitCount ?? 0;
    samples += hits;
    self.set(k, (self.get(k) ?? 0) + hits);
    const fresh = !onStack.has(k);
    if (fresh) onStack.add(k);
    let sub = hits;
    for (const c of n.children ?? []) sub += walk(byId.get(c)!, onStack);
    if (fresh) {
      onStack.delete(k);
      total.set(k, (total.get(k) ?? 0) + sub);
    }
    return sub;
  };
  const root = p.nodes[0];
  if (root) walk(root, new Set());
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => {
      const [fn, where] = k.split('\t') as [string, string];
      return { fn, where, selfPct: (100 * v) / samples, totalPct: (100 * (total.get(k) ?? 0)) / samples };
    });
  return { samples, rows };
}

function shortUrl(url: string): string {
  if (!url) return '';
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url.replace(/^file:\/\//, '');
}
