// ZooKeeper endpoints: browse, read (data as text or base64, cut at valueBytesMax; /raw whole),
// create/set/delete with version checks, subtree export/import (bounded), and watches shared per
// path: one ZooKeeper watch per path whatever the number of tabs, re-armed after each event.

import type { FastifyInstance } from 'fastify';
import { removeRecursive } from '../../zookeeper/client/recipes.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError, ZooKeeperError } from '../../zookeeper/client/errors.js';
import type { Stat } from '../../zookeeper/client/types.js';
import { CreateMode, Err, EventType } from '../../zookeeper/protocol/constants.js';
import type { Znode, ZnodeChange, ZnodeChildren, ZnodeCreate, ZnodeImport, ZnodeSet, ZnodeStat, ZnodeTree } from '../api.js';
import { badRequest } from './errors.js';
import { encodeBytes } from './messages.js';
import type { SseHub } from './sse.js';

/** Nodes one export or import may hold. */
export const exportNodesMax = 10_000;
/** Data bytes one export may hold. */
export const exportBytesMax = 16 * 1024 * 1024;
/** An import body larger than this is refused (413). */
export const importBodyBytesMax = 16 * 1024 * 1024;
/** Paths watched at once. */
export const watchedPathsMax = 1000;

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

export function toStat(s: Stat): ZnodeStat {
  return {
    czxid: hex(s.czxid),
    mzxid: hex(s.mzxid),
    pzxid: hex(s.pzxid),
    ctime: Number(s.ctime),
    mtime: Number(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: hex(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

function pathParam(q: unknown): string {
  const p = (q as { path?: unknown }).path;
  if (typeof p !== 'string' || !p.startsWith('/')) throw badRequest('path must be an absolute znode path (?path=/a/b)');
  return p;
}

function dataOf(data: unknown, encoding: unknown): Buffer {
  if (typeof data !== 'string') throw badRequest('data must be a string');
  if (encoding === 'base64') return Buffer.from(data, 'base64');
  if (encoding !== undefined && encoding !== 'utf8') throw badRequest("encoding must be 'utf8' or 'base64'");
  return Buffer.from(data, 'utf8');
}

const join = (parent: string, child: string): string => (parent === '/' ? `/${child}` : `${parent}/${child}`);

async function readZnode(zk: ZooKeeperClient, path: string): Promise<Znode> {
  const [{ data, stat }, { acl }] = await Promise.all([zk.getData(path), zk.getACL(path)]);
  const bytes = data ?? Buffer.alloc(0);
  const enc = encodeBytes(bytes);
  const node: Znode = {
    path,
    encoding: enc.encoding,
    data: enc.text,
    dataBytes: bytes.length,
    truncated: enc.truncated,
    stat: toStat(stat),
    acl: acl.map((a) => ({ perms: a.perms, scheme: a.id.scheme, id: a.id.id })),
  };
  if (enc.encoding === 'utf8' && !enc.truncated && enc.text.trim() !== '') {
    try {
      node.json = JSON.parse(enc.text);
    } catch {
      // not JSON: shown as text
    }
  }
  return node;
}

async function readChildren(zk: ZooKeeperClient, path: string): Promise<ZnodeChildren> {
  const { children, stat } = await zk.getChildren2(path);
  return { path, children: children.sort(), stat: toStat(stat) };
}

/** Subtree as a ZnodeTree, bounded by exportNodesMax and exportBytesMax. */
export async function exportTree(zk: ZooKeeperClient, path: string): Promise<ZnodeTree> {
  let nodes = 0;
  let bytes = 0;
  const walk = async (p: string): Promise<ZnodeTree | undefined> => {
    if (++nodes > exportNodesMax) throw badRequest(`the subtree under ${path} has more than ${exportNodesMax} nodes; export a smaller one`);
    let data: Buffer | null;
    let children: string[];
    try {
      [{ data }, children] = await Promise.all([zk.getData(p), zk.getChildren(p)]);
    } catch (e) {
      if (p !== path && isZooKeeperError(e, Err.NONODE)) return undefined; // deleted while we walked
      throw e;
    }
    bytes += data?.length ?? 0;
    if (bytes > exportBytesMax) throw badRequest(`the subtree under ${path} holds more than ${exportBytesMax} bytes; export a smaller one`);
    const kids: ZnodeTree[] = [];
    for (const c of children.sort()) {
      const t = await walk(join(p, c));
      if (t) kids.push(t);
    }
    return { path: p, data: (data ?? Buffer.alloc(0)).toString('base64'), children: kids };
  };
  return (await walk(path))!;
}

/** Creates (or with overwrite sets) the tree's nodes under `root`. */
export async function importTree(
  zk: ZooKeeperClient,
  root: string,
  tree: ZnodeTree,
  overwrite: boolean,
): Promise<{ created: number; updated: number; skipped: number }> {
  const out = { created: 0, updated: 0, skipped: 0 };
  let nodes = 0;
  const put = async (path: string, t: ZnodeTree): Promise<void> => {
    if (++nodes > exportNodesMax) throw badRequest(`the import holds more than ${exportNodesMax} nodes`);
    if (typeof t !== 'object' || t === null || typeof t.data !== 'string' || !Array.isArray(t.children)) {
      throw badRequest(`bad tree node at ${path}: needs {path, data (base64), children}`);
    }
    const data = Buffer.from(t.data, 'base64');
    if (path !== '/') {
      try {
        await zk.create(path, data);
        out.created++;
      } catch (e) {
        if (!isZooKeeperError(e, Err.NODEEXISTS)) throw e;
        if (overwrite) {
          await zk.setData(path, data, -1);
          out.updated++;
        } else out.skipped++;
      }
    } else out.skipped++;
    for (const c of t.children) {
      const name = typeof c?.path === 'string' ? c.path.slice(c.path.lastIndexOf('/') + 1) : '';
      if (name === '') throw badRequest(`bad child path under ${path}`);
      await put(join(path, name), c);
    }
  };
  await put(root, tree);
  return out;
}

type ChangeListener = (c: ZnodeChange) => void;

interface Watched {
  listeners: Set<ChangeListener>;
  dataArmed: boolean;
  childArmed: boolean;
  onData: (e: { type: number }) => void;
  onChild: (e: { type: number }) => void;
}

/** One ZooKeeper watch pair (data + children) per path, shared by every subscriber. */
export class WatchHub {
  private readonly paths = new Map<string, Watched>();

  constructor(
    private readonly zk: ZooKeeperClient,
    private readonly onError: (path: string, e: unknown) => void,
  ) {
    // A new session lost every watch: arm them again.
    zk.on('connected', (info) => {
      if (!info.newSession) return;
      for (const [p, w] of this.paths) {
        w.dataArmed = false;
        w.childArmed = false;
        void this.arm(p, w);
      }
    });
  }

  get size(): number {
    return this.paths.size;
  }

  async subscribe(path: string, l: ChangeListener): Promise<() => void> {
    let w = this.paths.get(path);
    if (!w) {
      if (this.paths.size >= watchedPathsMax) throw badRequest(`at most ${watchedPathsMax} znodes are watched at once`);
      const fresh: Watched = {
        listeners: new Set(),
        dataArmed: false,
        childArmed: false,
        onData: (e) => {
          fresh.dataArmed = false;
          const type = e.type === EventType.NodeCreated ? 'created' : e.type === EventType.NodeDeleted ? 'deleted' : 'data';
          void this.fire(path, fresh, type);
        },
        onChild: (e) => {
          fresh.childArmed = false;
          if (e.type === EventType.NodeChildrenChanged) void this.fire(path, fresh, 'children');
        },
      };
      w = fresh;
      this.paths.set(path, w);
      await this.arm(path, w);
    }
    w.listeners.add(l);
    const watched = w;
    return () => {
      watched.listeners.delete(l);
      if (watched.listeners.size === 0 && this.paths.get(path) === watched) this.paths.delete(path);
    };
  }

  private async arm(path: string, w: Watched): Promise<ZnodeChildren | undefined> {
    try {
      if (!w.dataArmed) {
        w.dataArmed = true;
        const stat = await this.zk.exists(path, w.onData);
        if (stat === null) return undefined;
      }
      if (!w.childArmed) {
        w.childArmed = true;
        const { children, stat } = await this.zk.getChildren2(path, w.onChild);
        return { path, children: children.sort(), stat: toStat(stat) };
      }
      return await readChildren(this.zk, path);
    } catch (e) {
      if (isZooKeeperError(e, Err.NONODE)) {
        // Deleted between exists and getChildren: the exists watch fires NodeDeleted (re-armed then).
        w.childArmed = false;
        return undefined;
      }
      w.dataArmed = false;
      w.childArmed = false;
      this.onError(path, e);
      return undefined;
    }
  }

  private async fire(path: string, w: Watched, type: ZnodeChange['type']): Promise<void> {
    if (this.paths.get(path) !== w) return; // nobody listens any more: let the watch lapse
    const node = await this.arm(path, w);
    const change: ZnodeChange = node ? { path, type, node } : { path, type };
    for (const l of w.listeners) l(change);
  }
}

export function zkRoutes(app: FastifyInstance, zk: ZooKeeperClient, hub: SseHub, watches: WatchHub): void {
  app.get('/api/zk/children', async (req) => readChildren(zk, pathParam(req.query)));
  app.get('/api/zk/node', async (req) => readZnode(zk, pathParam(req.query)));
  app.get('/api/zk/node/raw', async (req, reply) => {
    const path = pathParam(req.query);
    const { data } = await zk.getData(path);
    const name = path === '/' ? 'root' : path.slice(path.lastIndexOf('/') + 1);
    return reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .send(data ?? Buffer.alloc(0));
  });
  app.post('/api/zk/node', async (req) => {
    const b = (req.body ?? {}) as Partial<ZnodeCreate>;
    const path = pathParam(b);
    if (b.mode !== undefined && b.mode !== 'persistent' && b.mode !== 'persistent_sequential') {
      throw badRequest("mode must be 'persistent' or 'persistent_sequential'");
    }
    const mode = b.mode === 'persistent_sequential' ? CreateMode.PERSISTENT_SEQUENTIAL : CreateMode.PERSISTENT;
    const created = await zk.create(path, dataOf(b.data ?? '', b.encoding), { mode });
    return readZnode(zk, created);
  });
  app.put('/api/zk/node', async (req) => {
    const b = (req.body ?? {}) as Partial<ZnodeSet>;
    const path = pathParam(b);
    if (typeof b.version !== 'number' || !Number.isInteger(b.version)) throw badRequest('version must be an integer (-1 for any)');
    await zk.setData(path, dataOf(b.data, b.encoding), b.version);
    return readZnode(zk, path);
  });
  app.delete('/api/zk/node', async (req) => {
    const q = req.query as { version?: string; recursive?: string };
    const path = pathParam(q);
    if (path === '/') throw badRequest('the root cannot be deleted');
    const version = q.version === undefined || q.version === '' ? -1 : Number(q.version);
    if (!Number.isInteger(version)) throw badRequest('version must be an integer');
    if (q.recursive === '1' || q.recursive === 'true') {
      if (version !== -1) {
        const stat = await zk.exists(path);
        if (stat && stat.version !== version) throw new ZooKeeperError(Err.BADVERSION, path);
      }
      await removeRecursive(zk, path);
    } else await zk.delete(path, version);
    return { ok: true };
  });
  app.get('/api/zk/watch', async (req, reply) => {
    const path = pathParam(req.query);
    const s = hub.open(req, reply);
    if (!s) return reply;
    try {
      const off = await watches.subscribe(path, (c) => s.send('znode', c));
      s.onClose(off);
    } catch (e) {
      s.send('error', { error: (e as Error).message });
      s.close();
    }
    return reply;
  });
  app.get('/api/zk/export', async (req) => exportTree(zk, pathParam(req.query)));
  app.post('/api/zk/import', { bodyLimit: importBodyBytesMax }, async (req) => {
    const b = (req.body ?? {}) as Partial<ZnodeImport>;
    const path = pathParam(b);
    if (typeof b.tree !== 'object' || b.tree === null) throw badRequest('tree must be a ZnodeTree');
    return importTree(zk, path, b.tree, b.overwrite === true);
  });
}
