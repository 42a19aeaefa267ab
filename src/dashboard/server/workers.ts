// Workers and their pool sizes for the view: the registrations in ZooKeeper (`/clustergenie/
// workers/<id>`, ephemeral JSON WorkerInfo, src/genie/coord/workerRegistry.ts) read by the refresh
// round, and `worker.scaled` records (src/genie/workers/worker.ts autoscale) read by ONE shared
// reader of `cluster-events` for every tab. Parsing is pure (view.ts buildWorkers, ScalingBook
// here); the reads are thin shells.

import type { Admin, Consumer } from '@platformatic/kafka';
import { JOB_HEADERS, JOB_TOPICS, JOB_ZK_PATHS } from '../../genie/jobs/events.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { isZooKeeperError } from '../../zookeeper/client/errors.js';
import { Err } from '../../zookeeper/protocol/constants.js';
import { type ScalingEventView, scalingEventsMax, workersMax } from '../api.js';
import { topicReader } from './messages.js';
import type { WorkersRead } from './view.js';

/** Bytes per partition per fetch of `cluster-events` (job events are skipped; only scaling is kept). */
export const scalingFetchBytesMax = 256 * 1024;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** getChildren plus one getData per worker (the first `max` ids in order); a node gone meanwhile is skipped. */
export async function readWorkers(zk: ZooKeeperClient, max = workersMax): Promise<WorkersRead> {
  if (!zk.isConnected) throw new Error(`not connected to ZooKeeper (state ${zk.state})`);
  let ids: string[];
  try {
    ids = await zk.getChildren(JOB_ZK_PATHS.workers);
  } catch (e) {
    if (isZooKeeperError(e, Err.NONODE)) return { total: 0, nodes: [] }; // no worker ever started
    throw e;
  }
  const picked = ids.sort().slice(0, max);
  const nodes = await Promise.all(
    picked.map(async (id) => {
      try {
        const { data } = await zk.getData(`${JOB_ZK_PATHS.workers}/${id}`);
        return { id, data: data === null ? null : data.toString('utf8') };
      } catch (e) {
        if (isZooKeeperError(e, Err.NONODE)) return undefined; // deregistered between the two reads
        throw e;
      }
    }),
  );
  return { total: ids.length, nodes: nodes.filter((n) => n !== undefined) };
}

/** Scaling events, newest first, bounded (pure core of ScalingFeed). */
export class ScalingBook {
  private events: ScalingEventView[] = [];

  /** Adds a `worker.scaled` record's parsed value; anything else is ignored. */
  add(rec: unknown): boolean {
    if (typeof rec !== 'object' || rec === null) return false;
    const r = rec as Record<string, unknown>;
    if (r['type'] !== 'worker.scaled' || typeof r['worker'] !== 'string' || !isCount(r['from']) || !isCount(r['to'])) return false;
    const ev: ScalingEventView = {
      worker: r['worker'],
      at: typeof r['at'] === 'string' ? r['at'] : '',
      from: r['from'],
      to: r['to'],
      reason: typeof r['reason'] === 'string' ? r['reason'] : '',
    };
    if (isCount(r['backlog'])) ev.backlog = r['backlog'];
    if (r['scope'] === 'processes') ev.scope = 'processes';
    this.events.unshift(ev);
    // Trimmed in batches: one slice per scalingEventsMax additions, not one per record.
    if (this.events.length > scalingEventsMax * 2) this.events = this.events.slice(0, scalingEventsMax);
    return true;
  }

  view(): ScalingEventView[] {
    return this.events.slice(0, scalingEventsMax);
  }
}

/**
 * Reads `cluster-events` without a group from the dashboard's start (the first offset at or after
 * its start time, so a topic created later is read whole), keeping only `worker.scaled` records:
 * the header says the type, so job events are skipped unparsed. One reader for all tabs.
 */
export class ScalingFeed {
  readonly book = new ScalingBook();
  private stopped = false;
  error: string | undefined;
  private readonly sinceMs = Date.now();

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly admin: Admin,
    private readonly topic: string = JOB_TOPICS.events,
  ) {}

  view(): ScalingEventView[] {
    return this.book.view();
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async startPositions(partitions: number): Promise<Map<number, bigint>> {
    const ask = async (ids: number[], timestamp: bigint) => {
      const res = await this.admin.listOffsets({
        topics: [{ name: this.topic, partitions: ids.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      });
      const out = new Map<number, bigint>();
      for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
      return out;
    };
    const positions = await ask([...Array(partitions).keys()], BigInt(this.sinceMs));
    // -1: nothing written since the start; read from the end.
    const empty = [...positions].filter(([, o]) => o < 0n).map(([p]) => p);
    if (empty.length > 0) for (const [p, o] of await ask(empty, -1n)) positions.set(p, o);
    return positions;
  }

  private async loop(): Promise<void> {
    const f = topicReader(this.consumer, this.topic, scalingFetchBytesMax);
    let positions: Map<number, bigint> | undefined;
    while (!this.stopped) {
      try {
        if (!positions) positions = await this.startPositions(await f.refresh());
        const r = await f.read(positions, 1000);
        if (r.outOfRange.length > 0) positions = undefined;
        else for (const [p, n] of r.next) positions.set(p, n);
        for (const rec of r.records.sort((a, b) => Number(a.timestamp - b.timestamp))) {
          const type = rec.headers.find(([k]) => k?.toString('utf8') === JOB_HEADERS.eventType)?.[1]?.toString('utf8');
          if (type !== 'worker.scaled') continue;
          try {
            this.book.add(JSON.parse(rec.value?.toString('utf8') ?? 'null'));
          } catch {
            // not JSON: skipped (workers write JSON)
          }
        }
        this.error = undefined;
        if (r.next.size === 0) await new Promise((res) => setTimeout(res, 1000).unref());
      } catch (e) {
        // No jobs system yet: the topic appears when one starts.
        this.error = /does not exist|unknown topic/i.test((e as Error).message)
          ? undefined
          : `reading ${this.topic}: ${(e as Error).message}`;
        positions = undefined;
        await new Promise((res) => setTimeout(res, 3000).unref());
      }
    }
  }
}
