// Live workers in ZooKeeper: `/clustergenie/workers/<id>`, ephemeral, JSON WorkerInfo
// (docs/JOBS.md "Coordination in ZooKeeper"). The node goes with the worker's session and comes
// back in its next one (EphemeralNode re-creates it with the latest data). Updates are coalesced:
// at most one write per updateIntervalMs however often the worker reports activity.

import { hostname } from 'node:os';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { EphemeralNode, retryOnConnectionLoss } from '../../zookeeper/client/recipes.js';
import type { ConnectedInfo } from '../../zookeeper/client/types.js';
import { Err } from '../../zookeeper/protocol/constants.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { JOB_ZK_PATHS } from '../jobs/events.js';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** Job slots (current concurrency). */
  capacity: number;
  running: number;
  queued: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
}

export type WorkerActivity = Partial<Pick<WorkerInfo, 'capacity' | 'running' | 'queued'>>;

export interface WorkerRegistrationOptions {
  id: string;
  capacity: number;
  host?: string;
  pid?: number;
  /** Least time between two writes of the node. Default 1000. */
  updateIntervalMs?: number;
  logger?: Logger;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
const ID_LENGTH_MAX = 200;

export class WorkerRegistration {
  readonly path: string;
  private info: WorkerInfo;
  private readonly node: EphemeralNode;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Data changed since the last write that reached ZooKeeper. */
  private dirty = false;
  private writing: Promise<void> | undefined;
  private closed = false;
  private readonly onConnected = (info: ConnectedInfo): void => {
    // Same session after a connection loss: a write skipped while away goes out now. (A new
    // session re-creates the node with the latest data by itself.)
    if (!info.newSession && this.dirty) this.schedule();
  };

  constructor(
    private readonly zk: ZooKeeperClient,
    opts: WorkerRegistrationOptions,
  ) {
    if (!ID_RE.test(opts.id) || opts.id.length > ID_LENGTH_MAX)
      throw new RangeError(`worker id ${JSON.stringify(opts.id)} is not a valid znode name`);
    this.path = `${JOB_ZK_PATHS.workers}/${opts.id}`;
    this.intervalMs = opts.updateIntervalMs ?? 1000;
    this.log = opts.logger ?? silentLogger;
    const now = new Date().toISOString();
    this.info = {
      id: opts.id,
      host: opts.host ?? hostname(),
      pid: opts.pid ?? process.pid,
      capacity: opts.capacity,
      running: 0,
      queued: 0,
      startedAt: now,
      updatedAt: now,
    };
    this.node = new EphemeralNode(zk, this.path, { data: JSON.stringify(this.info) });
    this.node.on('error', (e) => this.log.warn({ err: e, path: this.path }, 'worker registration failed'));
    this.node.on('conflict', (owner) =>
      this.log.warn({ path: this.path, owner: `0x${owner.toString(16)}` }, 'another session holds this worker id; waiting for it to go'),
    );
  }

  /** What the node says now (or will say after the next write). */
  get current(): Readonly<WorkerInfo> {
    return this.info;
  }

  /** Register; resolves once the node exists in the current session. */
  async start(): Promise<void> {
    this.zk.on('connected', this.onConnected);
    await this.node.start();
    this.lastWriteAt = Date.now();
  }

  /** Report activity; written at once if the last write is old enough, else once the interval is up. */
  update(partial: WorkerActivity): void {
    if (this.closed) return;
    const next = { ...this.info, ...partial };
    if (next.capacity === this.info.capacity && next.running === this.info.running && next.queued === this.info.queued) return;
    this.info = next;
    this.dirty = true;
    this.schedule();
  }

  /** Write pending changes now (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.dirty) await this.write();
  }

  /** Deregister: the node is deleted (if it is ours). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.zk.off('connected', this.onConnected);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.node.stop();
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined || this.writing !== undefined) return;
    const wait = Math.max(0, this.lastWriteAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, wait);
  }

  private async write(): Promise<void> {
    if (this.closed || !this.dirty) return;
    this.info = { ...this.info, updatedAt: new Date().toISOString() };
    this.dirty = false;
    this.lastWriteAt = Date.now();
    const done = (async () => {
      try {
        // Also keeps the data for the node's re-creation in a later session.
        await this.node.setData(JSON.stringify(this.info));
        if (!this.zk.isConnected) this.dirty = true; // skipped while disconnected: onConnected writes it
      } catch (e) {
        // NONODE: the session expired and the node is being re-created with this data already.
        if (!isZooKeeperError(e, Err.NONODE)) {
          this.dirty = true;
          if (!isZooKeeperError(e, Err.CONNECTIONLOSS) && !isZooKeeperError(e, Err.SESSIONEXPIRED)) {
            this.log.warn({ err: e, path: this.path }, 'updating the worker registration failed');
          }
        }
      }
    })();
    this.writing = done;
    try {
      await done;
    } finally {
      this.writing = undefined;
    }
    // Changes that came in while writing go out after the interval.
    if (this.dirty && this.zk.isConnected) this.schedule();
  }
}

/** Every registered worker, sorted by id (nodes that are not WorkerInfo JSON are skipped). */
export async function listWorkers(zk: ZooKeeperClient): Promise<WorkerInfo[]> {
  let ids: string[];
  try {
    ids = await retryOnConnectionLoss(zk, () => zk.getChildren(JOB_ZK_PATHS.workers));
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return [];
    throw e;
  }
  const out: WorkerInfo[] = [];
  for (const id of ids.sort()) {
    try {
      const { data } = await retryOnConnectionLoss(zk, () => zk.getData(`${JOB_ZK_PATHS.workers}/${id}`));
      const info = JSON.parse(data?.toString() ?? 'null') as WorkerInfo | null;
      if (info !== null && typeof info === 'object' && info.id === id) out.push(info);
    } catch (e) {
      // Gone between the listing and the read (NONODE), or not JSON: skip it.
      if (isZooKeeperError(e) && !isZooKeeperError(e, Err.NONODE)) throw e;
    }
  }
  return out;
}
