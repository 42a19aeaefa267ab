// Whole-tree dumps through a client, for restart and round-trip tests: every node's data, ACL,
// full Stat and child names, and a readable diff of two dumps (the first differences, not a
// multi-megabyte deepEqual message).

import type { Acl, Stat, ZooKeeperClient } from '../../src/zookeeper/client/index.js';

export interface NodeDump {
  /** null is ZooKeeper's null data, distinct from an empty buffer. */
  data: Buffer | null;
  /** In the order the server returns it (ZooKeeper keeps the order given at create/setACL). */
  acl: Acl[];
  stat: Stat;
  /** Sorted: the server's order is a hash order and not part of the state. */
  children: string[];
}

/** Path -> node, paths in sorted order. */
export type TreeDump = Map<string, NodeDump>;

const STAT_FIELDS = [
  'czxid',
  'mzxid',
  'ctime',
  'mtime',
  'version',
  'cversion',
  'aversion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
  'pzxid',
] as const satisfies readonly (keyof Stat)[];

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/**
 * Reads the subtree at `root` (default: the whole tree). The client must be allowed to read
 * every node (a super digest). Up to `concurrency` nodes are read at once, three pipelined
 * requests each. The tree must not change meanwhile; a node whose getData and getACL stats
 * disagree fails the dump.
 */
export async function dumpTree(c: ZooKeeperClient, opts: { root?: string; concurrency?: number } = {}): Promise<TreeDump> {
  const out = new Map<string, NodeDump>();
  const queue: string[] = [opts.root ?? '/'];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = (): void => {
      while (!failed && active < (opts.concurrency ?? 128) && queue.length > 0) {
        const path = queue.pop()!;
        active++;
        Promise.all([c.getData(path), c.getACL(path), c.getChildren(path)]).then(
          ([d, a, children]) => {
            active--;
            if (STAT_FIELDS.some((f) => d.stat[f] !== a.stat[f])) {
              failed = true;
              reject(new Error(`${path} changed during the dump`));
              return;
            }
            children.sort();
            out.set(path, { data: d.data, acl: a.acl, stat: d.stat, children });
            for (const name of children) queue.push(childPath(path, name));
            if (queue.length === 0 && active === 0) resolve();
            else pump();
          },
          (e: unknown) => {
            failed = true;
            reject(new Error(`dumping ${path}: ${(e as Error).message}`));
          },
        );
      }
    };
    pump();
  });
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function showValue(v: number | bigint): string {
  return typeof v === 'bigint' ? `0x${BigInt.asUintN(64, v).toString(16)}` : String(v);
}

function showData(d: Buffer | null): string {
  if (d === null) return 'null';
  const head = d.subarray(0, 16).toString('hex');
  return `${d.length} bytes ${head}${d.length > 16 ? '...' : ''}`;
}

function showAcl(acl: readonly Acl[]): string {
  return acl.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms}`).join(',');
}

/**
 * Differences between two dumps as readable lines (empty when they are identical), at most
 * `limit` of them plus a count of the rest.
 */
export function diffDumps(expected: TreeDump, actual: TreeDump, limit = 30): string[] {
  const lines: string[] = [];
  const paths = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const p of paths) {
    const e = expected.get(p);
    const a = actual.get(p);
    if (!e) {
      lines.push(`${p}: unexpected node`);
      continue;
    }
    if (!a) {
      lines.push(`${p}: missing`);
      continue;
    }
    for (const f of STAT_FIELDS) {
      if (e.stat[f] !== a.stat[f]) lines.push(`${p}: stat.${f} expected ${showValue(e.stat[f])}, got ${showValue(a.stat[f])}`);
    }
    const sameData = e.data === null || a.data === null ? e.data === a.data : e.data.equals(a.data);
    if (!sameData) lines.push(`${p}: data expected ${showData(e.data)}, got ${showData(a.data)}`);
    if (showAcl(e.acl) !== showAcl(a.acl)) lines.push(`${p}: acl expected [${showAcl(e.acl)}], got [${showAcl(a.acl)}]`);
    if (e.children.join('/') !== a.children.join('/')) {
      lines.push(`${p}: children expected [${e.children.join(',')}], got [${a.children.join(',')}]`);
    }
  }
  if (lines.length > limit) return [...lines.slice(0, limit), `... and ${lines.length - limit} more differences`];
  return lines;
}
