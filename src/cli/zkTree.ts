// Subtrees for `clustergenie zk tree | ls -R | export | import`: a bounded walk, the JSON export
// format (the dashboard's ZnodeTree: path, base64 data, children) and an import plan. The walk
// and the import are thin shells over the ZooKeeper client; the plan and the rendering are pure.

import type { ZnodeTree } from '../dashboard/api.js';
import { CreateMode, Err } from '../zookeeper/protocol/constants.js';
import type { ZooKeeperClient } from '../zookeeper/client/client.js';
import { isZooKeeperError } from '../zookeeper/client/errors.js';
import { mkdirp } from '../zookeeper/client/recipes.js';
import { CliError, ExitCode } from './exitCodes.js';

export type { ZnodeTree };

/** Nodes one walk (tree, ls -R, export) or one import may hold: a bigger subtree is refused, not half-read. */
export const zkTreeNodesMax = 100_000;
/** Children read at once while walking (the client pipelines them over its one connection). */
const walkParallelMax = 32;

export const joinPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
export const parentPath = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};

/** A node of a walk: data only when asked for (export). */
export interface WalkNode {
  path: string;
  data?: Buffer | null;
  children: WalkNode[];
}

/**
 * Reads the subtree at `path` (children sorted by name). A node deleted while the walk runs is
 * left out; the root missing is NONODE. More than `nodesMax` nodes is an error naming the bound.
 */
export async function walkTree(zk: ZooKeeperClient, path: string, opts: { withData: boolean; nodesMax?: number }): Promise<WalkNode> {
  const nodesMax = opts.nodesMax ?? zkTreeNodesMax;
  let count = 0;
  const visit = async (p: string, isRoot: boolean): Promise<WalkNode | undefined> => {
    if (++count > nodesMax)
      throw new CliError(`the subtree at ${path} has more than ${nodesMax} nodes; pick a smaller subtree`, ExitCode.failure);
    let children: string[];
    let data: Buffer | null | undefined;
    try {
      [children, data] = await Promise.all([zk.getChildren(p), opts.withData ? zk.getData(p).then((r) => r.data) : undefined]);
    } catch (e) {
      if (!isRoot && isZooKeeperError(e, Err.NONODE)) return undefined;
      throw e;
    }
    const node: WalkNode = { path: p, children: [] };
    if (opts.withData) node.data = data ?? null;
    const names = [...children].sort();
    for (let i = 0; i < names.length; i += walkParallelMax) {
      const batch = await Promise.all(names.slice(i, i + walkParallelMax).map((n) => visit(joinPath(p, n), false)));
      for (const c of batch) if (c) node.children.push(c);
    }
    return node;
  };
  return (await visit(path, true))!;
}

/** Every path of a walk, depth first (ls -R). */
export function flattenPaths(node: WalkNode, out: string[] = []): string[] {
  out.push(node.path);
  for (const c of node.children) flattenPaths(c, out);
  return out;
}

/** A walk with data → the export document (base64 data; null data exports as ""). */
export function toZnodeTree(node: WalkNode): ZnodeTree {
  return { path: node.path, data: (node.data ?? Buffer.alloc(0)).toString('base64'), children: node.children.map(toZnodeTree) };
}

/** The subtree as indented lines, like `tree(1)`; names made safe by the caller's `show`. */
export function renderTree(node: WalkNode, show: (s: string) => string): string {
  const lines = [show(node.path)];
  const walk = (n: WalkNode, prefix: string): void => {
    n.children.forEach((c, i) => {
      const last = i === n.children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${show(baseName(c.path))}`);
      walk(c, prefix + (last ? '    ' : '│   '));
    });
  };
  walk(node, '');
  return `${lines.join('\n')}\n`;
}

/** One node to create by an import, parents before children. */
export interface ImportStep {
  path: string;
  data: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks an export document and maps it under `dest` (the root's own path is replaced by `dest`;
 * children keep their names). Pure; a malformed document is a usage error naming the node.
 */
export function planImport(doc: unknown, dest: string, nodesMax = zkTreeNodesMax): ImportStep[] {
  const steps: ImportStep[] = [];
  const bad = (where: string, what: string): never => {
    throw new CliError(`not a znode export: ${where} ${what} (expected {path, data (base64), children: [...]})`, ExitCode.usage);
  };
  const visit = (n: unknown, target: string, where: string): void => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) bad(where, 'is not an object');
    const o = n as Record<string, unknown>;
    if (typeof o.path !== 'string' || !o.path.startsWith('/')) bad(where, 'has no absolute "path"');
    if (typeof o.data !== 'string' || o.data.length % 4 !== 0 || !BASE64.test(o.data)) bad(String(o.path), 'has no base64 "data"');
    if (!Array.isArray(o.children)) bad(String(o.path), 'has no "children" array');
    if (steps.length >= nodesMax) throw new CliError(`the export has more than ${nodesMax} nodes`, ExitCode.usage);
    steps.push({ path: target, data: Buffer.from(o.data as string, 'base64') });
    for (const c of o.children as unknown[]) {
      const name = typeof c === 'object' && c !== null ? baseName(String((c as { path?: unknown }).path ?? '')) : '';
      if (name === '' || name === '.' || name === '..') bad(`a child of ${String(o.path)}`, 'has no usable name');
      visit(c, joinPath(target, name), `${String(o.path)}/${name}`);
    }
  };
  visit(doc, dest, 'the root');
  return steps;
}

export interface ImportResult {
  created: number;
  updated: number;
  skipped: number;
}

/**
 * Creates the plan's nodes (persistent, open ACL) in order; the destination's missing ancestors
 * are created empty. An existing node keeps its data unless `overwrite`.
 */
export async function applyImport(
  zk: ZooKeeperClient,
  steps: readonly ImportStep[],
  opts: { overwrite: boolean; onProgress?: (done: number) => void },
): Promise<ImportResult> {
  const result: ImportResult = { created: 0, updated: 0, skipped: 0 };
  if (steps.length === 0) return result;
  const root = steps[0]!.path;
  if (root !== '/') await mkdirp(zk, parentPath(root));
  let done = 0;
  for (const s of steps) {
    try {
      if (s.path === '/') throw Object.assign(new Error('root'), { exists: true });
      await zk.create(s.path, s.data, { mode: CreateMode.PERSISTENT });
      result.created++;
    } catch (e) {
      if (!isZooKeeperError(e, Err.NODEEXISTS) && !(e as { exists?: boolean }).exists) throw e;
      if (opts.overwrite) {
        await zk.setData(s.path, s.data);
        result.updated++;
      } else result.skipped++;
    }
    opts.onProgress?.(++done);
  }
  return result;
}
