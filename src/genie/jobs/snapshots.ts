// Job view snapshots on the compacted `clustergenie.jobs` topic, from which a Job Service with an
// empty store rebuilds without replaying all of `cluster-events` (docs/JOBS.md "Job Service view").
//
// Records: key = job id, value {v:1, kind:'job', view}; a pruned job gets a tombstone (null value)
// so compaction forgets it. The key `__checkpoint__` (not a possible job id: ids start with a
// letter or digit) holds {v:1, kind:'checkpoint', instance, at, offsets}: the next offset per
// partition of `cluster-events` the snapshots cover. A checkpoint is written only after every job
// that changed before those offsets has its snapshot acknowledged, so a rebuild loads the topic
// and resumes at the last checkpoint without missing a change.
//
// One writer at a time: compaction keeps a key's LAST record, so an instance lagging behind
// another would overwrite newer snapshots with older ones. With ZooKeeper the instances elect the
// writer (JOBS_SNAPSHOT_WRITER_ELECTION); a new writer first republishes every job it holds, so
// the topic's last records all come from it before its first checkpoint. Without ZooKeeper every
// instance writes: run one instance, or give the others `snapshots: false`. A writer that lost its
// ZooKeeper session may still land one batch after its successor started; that job is right again
// at its next change.

import type { Consumer } from '@platformatic/kafka';
import type { SendingProducer } from '../resilientProducer.js';
import type { Logger } from '../../util/log.js';
import type { ZooKeeperClient } from '../../zookeeper/client/client.js';
import { LeaderElection } from '../../zookeeper/client/recipes.js';
import { JOB_TOPICS } from './events.js';
import type { JobStore } from './store.js';
import { TopicReader } from '../topicReader.js';
import type { JobView } from './view.js';

export const CHECKPOINT_KEY = '__checkpoint__';
/** Election of the one snapshot writer among Job Service instances (ephemeral sequential candidates). */
export const JOBS_SNAPSHOT_WRITER_ELECTION = '/clustergenie/jobs-service/snapshot-writer';

/** The snapshot writer's producer (a ResilientProducer in the service, a fake in tests). */
export type SnapshotProducer = SendingProducer<string, string | null, string, string>;

interface JobRecord {
  v: 1;
  kind: 'job';
  view: JobView;
}

interface CheckpointRecord {
  v: 1;
  kind: 'checkpoint';
  instance: string;
  at: string;
  offsets: Record<string, number>;
  /** Owner epochs per partition as folded up to `offsets` (fence.ts); absent in older checkpoints. */
  epochs?: Record<string, number>;
}

export interface SnapshotWriterOptions {
  /** Job snapshots per Produce request. */
  batchJobsMax: number;
  /** Batches per flush, so one flush after a burst does not hold the writer for long. */
  batchesPerFlushMax: number;
}

// 50,000 jobs per flush: with the Job Service's 5 s interval, 10,000 changed jobs a second.
export const snapshotWriterDefaults: SnapshotWriterOptions = { batchJobsMax: 500, batchesPerFlushMax: 100 };

export class SnapshotWriter {
  private readonly opts: SnapshotWriterOptions;
  private lastCheckpoint = '';
  /** Whether this instance writes (always without an election; while elected with one). */
  active = true;

  constructor(
    private readonly store: JobStore,
    private readonly producer: SnapshotProducer,
    private readonly instance: string,
    opts: Partial<SnapshotWriterOptions> = {},
  ) {
    this.opts = { ...snapshotWriterDefaults, ...opts };
  }

  /** Became the writer: every job is republished before the first checkpoint (see the header). */
  takeOver(): void {
    this.store.markAllForSnapshot();
    this.lastCheckpoint = '';
    this.active = true;
  }

  /** Publishes changed jobs and tombstones, then a checkpoint if every change is covered. */
  async flush(nowMs: number): Promise<{ jobs: number; checkpoint: boolean }> {
    let jobs = 0;
    for (let i = 0; i < this.opts.batchesPerFlushMax && this.active; i++) {
      const batch = this.store.snapshotBatch(this.opts.batchJobsMax);
      const messages = [
        ...batch.jobs.map((j) => ({ topic: JOB_TOPICS.jobs, key: j.id, value: `{"v":1,"kind":"job","view":${j.view}}` })),
        ...batch.tombstones.map((id) => ({ topic: JOB_TOPICS.jobs, key: id, value: null })),
      ];
      if (messages.length > 0) {
        await this.producer.send({ messages });
        this.store.markSnapshotted(batch.jobs, batch.tombstones);
        jobs += batch.jobs.length;
      }
      if (!batch.complete) continue;
      const offsets = Object.fromEntries([...batch.offsets].map(([p, o]) => [String(p), o]));
      const key = JSON.stringify(offsets);
      if (key === this.lastCheckpoint) return { jobs, checkpoint: false };
      const epochs = Object.fromEntries(batch.ownerEpochs.map(([p, e]) => [String(p), e]));
      const record: CheckpointRecord = {
        v: 1,
        kind: 'checkpoint',
        instance: this.instance,
        at: new Date(nowMs).toISOString(),
        offsets,
        epochs,
      };
      await this.producer.send({
        messages: [{ topic: JOB_TOPICS.jobs, key: CHECKPOINT_KEY, value: JSON.stringify(record) }],
      });
      this.lastCheckpoint = key;
      return { jobs, checkpoint: true };
    }
    return { jobs, checkpoint: false };
  }
}

/** Joins the writer election; `writer` is active while this instance leads. Resolves once it knows its role. */
export async function electSnapshotWriter(
  zk: ZooKeeperClient,
  writer: SnapshotWriter,
  instance: string,
  log: Logger,
): Promise<LeaderElection> {
  writer.active = false;
  const election = new LeaderElection(zk, JOBS_SNAPSHOT_WRITER_ELECTION, { data: instance });
  election.on('leader', () => {
    log.info('writing job snapshots');
    writer.takeOver();
  });
  const stand = (): void => {
    writer.active = false;
  };
  election.on('follower', stand);
  election.on('lost', stand);
  election.on('error', (e) => log.warn({ err: e }, 'snapshot writer election failed; retrying'));
  await election.start();
  return election;
}

function parse(value: Buffer | null): JobRecord | CheckpointRecord | null {
  if (value === null) return null;
  try {
    const r = JSON.parse(value.toString('utf8')) as JobRecord | CheckpointRecord;
    if (r.v === 1 && (r.kind === 'job' || r.kind === 'checkpoint')) return r;
  } catch {
    // not ours: skipped below
  }
  return null;
}

/**
 * Loads the compacted topic (to its end as of the start) into an empty store and sets the resume
 * offsets of `cluster-events` to the last checkpoint's. Returns what it loaded.
 */
export async function rebuildFromSnapshots(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  store: JobStore,
  logger: Logger,
  signal: AbortSignal,
): Promise<{ jobs: number; checkpoint: boolean }> {
  const reader = new TopicReader(consumer, JOB_TOPICS.jobs);
  await reader.refresh();
  const end = await reader.offsets('latest');
  const positions = await reader.offsets('earliest');
  let checkpoint: CheckpointRecord | undefined;
  let jobs = 0;
  const behind = () => [...positions].filter(([p, o]) => o < (end.get(p) ?? 0n));
  while (behind().length > 0 && !signal.aborted) {
    const r = await reader.read(new Map(behind()));
    const views = new Map<string, JobView | null>();
    for (const rec of r.records) {
      const key = rec.key?.toString('utf8') ?? '';
      const record = parse(rec.value);
      // One key, so one partition: the last one read is the latest.
      if (key === CHECKPOINT_KEY) {
        if (record?.kind === 'checkpoint') checkpoint = record;
      } else if (rec.value === null) views.set(key, null);
      else if (record?.kind === 'job' && record.view.id === key) views.set(key, record.view);
    }
    for (const [p, o] of r.next) positions.set(p, o);
    await reader.resetOutOfRange(positions, r.outOfRange);
    store.loadSnapshots(views, new Map());
    jobs += [...views.values()].filter((v) => v !== null).length;
    if (r.failed) await new Promise((res) => setTimeout(res, 200));
  }
  // Without a checkpoint the views stay (the fold ignores what they already hold) and
  // cluster-events is read from its start.
  const resumeAt = new Map(Object.entries(checkpoint?.offsets ?? {}).map(([p, o]) => [Number(p), o]));
  const epochs = Object.entries(checkpoint?.epochs ?? {})
    .map(([p, e]): [number, number] => [Number(p), e])
    .filter(([p, e]) => Number.isInteger(p) && Number.isSafeInteger(e));
  store.loadSnapshots(new Map(), resumeAt, epochs);
  logger.info({ jobs, checkpoint: checkpoint?.at ?? null, resumeAt: Object.fromEntries(resumeAt) }, 'rebuilt the job view from snapshots');
  return { jobs, checkpoint: checkpoint !== undefined };
}
