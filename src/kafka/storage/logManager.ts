// All partition logs of one broker across its log.dirs, laid out as Kafka's LogManager does: per dir
// meta.properties, the three offset checkpoints and .kafka_cleanshutdown; per partition a
// `<topic>-<partition>` directory. Periodic work (retention, flush.ms, checkpoints, delayed file removal)
// runs from tick(now), which the broker's timer drives.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT,
  META_PROPERTIES_FILE,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  readOffsetCheckpoint,
  readProperties,
  tpKey,
  writeMetaProperties,
  writeOffsetCheckpoint,
  fsyncDir,
} from './checkpoint.js';
import type { TopicPartitionOffset } from './checkpoint.js';
import { CLEANER_OFFSET_CHECKPOINT, LogCleaner } from './cleaner.js';
import type { LogConfig } from './logConfig.js';
import { PartitionLog } from './partitionLog.js';
import type { StorageLogger } from './partitionLog.js';

export interface LogManagerOptions {
  logDirs: string[];
  brokerId: number;
  clusterId: string;
  defaults: LogConfig;
  now: () => number;
  logger?: StorageLogger;
  /** Config for a log found on disk at open (topic overrides live in ZooKeeper); defaults when absent. */
  configFor?: (topic: string) => LogConfig;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms and log.flush.start.offset.checkpoint.interval.ms */
  recoveryPointCheckpointIntervalMs?: number;
  /** replica.high.watermark.checkpoint.interval.ms */
  highWatermarkCheckpointIntervalMs?: number;
  /** Written into .kafka_cleanshutdown; ZooKeeper-mode Kafka writes -1. */
  brokerEpoch?: number;
  /** log.cleaner.enable: compaction of cleanup.policy=compact logs (default true). */
  cleanerEnable?: boolean;
  /** log.cleaner.backoff.ms: how often an idle cleaner looks for a log to clean (default 15000). */
  cleanerBackoffMs?: number;
  /** Input bytes per background cleaning step (default cleanerSliceBytesDefault). */
  cleanerSliceBytes?: number;
  /** Newest batch's last offset per producer of a log (producer state), so compaction keeps those batches. */
  producerLastOffsets?: (log: PartitionLog) => ReadonlyMap<number, number> | undefined;
}

const PARTITION_DIR = /^(.+)-(\d+)$/;
const DELETE_DIR = /^(.+)-(\d+)\.([0-9a-f]{32})-delete$/;
/** Partition directories awaiting removal after deleteLog; beyond this they are removed at once. */
export const pendingDirDeletesMax = 10000;

interface Entry {
  log: PartitionLog;
  logDir: string;
}

export class LogManager {
  private readonly byKey = new Map<string, Entry>();
  private readonly pendingDirDeletes: { dir: string; dueMs: number }[] = [];
  private lastRetentionMs: number;
  private lastRecoveryCheckpointMs: number;
  private lastHwCheckpointMs: number;
  private lastCleanerCheckMs: number;
  private closed = false;
  /** Compacts cleanup.policy=compact logs in the background (cleaner.ts); ticks start its passes. */
  readonly cleaner: LogCleaner;

  private constructor(private readonly o: LogManagerOptions) {
    const now = o.now();
    this.cleaner = new LogCleaner({
      now: o.now,
      logger: o.logger,
      sliceBytes: o.cleanerSliceBytes,
      producerLastOffsets: o.producerLastOffsets,
      onCheckpoint: (log) => {
        const e = this.byKey.get(tpKey(log.topic, log.partition));
        if (e !== undefined) this.checkpointCleaner(e.logDir);
      },
    });
    this.lastCleanerCheckMs = now;
    this.lastRetentionMs = now;
    this.lastRecoveryCheckpointMs = now;
    this.lastHwCheckpointMs = now;
  }

  static open(o: LogManagerOptions): LogManager {
    if (o.logDirs.length === 0) throw new Error('no log directories configured');
    const m = new LogManager(o);
    for (const d of o.logDirs) m.loadDir(d);
    return m;
  }

  private loadDir(logDir: string): void {
    const o = this.o;
    fs.mkdirSync(logDir, { recursive: true });
    const meta = readProperties(path.join(logDir, META_PROPERTIES_FILE));
    if (meta === undefined) {
      writeMetaProperties(logDir, o.brokerId, o.clusterId, new Date(o.now()));
    } else {
      if (meta['broker.id'] !== undefined && Number(meta['broker.id']) !== o.brokerId) {
        throw new Error(`configured broker.id ${o.brokerId} does not match stored broker.id ${meta['broker.id']} in ${logDir}`);
      }
      if (meta['cluster.id'] !== undefined && meta['cluster.id'] !== o.clusterId) {
        throw new Error(`cluster id ${o.clusterId} does not match stored cluster.id ${meta['cluster.id']} in ${logDir}`);
      }
    }
    const cleanFile = path.join(logDir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = fs.existsSync(cleanFile);
    const recoveryPoints = this.readCheckpointOrEmpty(path.join(logDir, RECOVERY_POINT_CHECKPOINT));
    const logStarts = this.readCheckpointOrEmpty(path.join(logDir, LOG_START_OFFSET_CHECKPOINT));
    const hws = this.readCheckpointOrEmpty(path.join(logDir, REPLICATION_OFFSET_CHECKPOINT));
    const cleaned = this.readCheckpointOrEmpty(path.join(logDir, CLEANER_OFFSET_CHECKPOINT));
    for (const name of fs.readdirSync(logDir)) {
      const full = path.join(logDir, name);
      if (!fs.statSync(full).isDirectory()) continue;
      if (DELETE_DIR.test(name)) {
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      const m = PARTITION_DIR.exec(name);
      if (!m || name.endsWith('-future') || name.endsWith('-stray')) continue;
      const topic = m[1];
      const partition = Number(m[2]);
      const key = tpKey(topic, partition);
      if (this.byKey.has(key)) throw new Error(`duplicate log directories for ${key}: ${this.byKey.get(key)!.logDir}, ${logDir}`);
      const log = PartitionLog.open({
        dir: full,
        topic,
        partition,
        config: o.configFor?.(topic) ?? o.defaults,
        recoveryPoint: recoveryPoints.get(key),
        logStartOffset: logStarts.get(key),
        cleanShutdown,
        now: o.now,
        logger: o.logger,
      });
      const hw = hws.get(key);
      if (hw !== undefined) log.highWatermark = hw;
      const cleanedTo = cleaned.get(key);
      if (cleanedTo !== undefined) this.cleaner.setCheckpoint(topic, partition, cleanedTo);
      this.byKey.set(key, { log, logDir });
    }
    // The marker vouches for one start only: a crash from here on must trigger recovery.
    if (cleanShutdown) {
      fs.rmSync(cleanFile, { force: true });
      fsyncDir(logDir);
    }
    o.logger?.info({ logDir, logs: this.byKey.size, cleanShutdown }, 'loaded logs');
  }

  private readCheckpointOrEmpty(file: string): Map<string, number> {
    try {
      return readOffsetCheckpoint(file);
    } catch (e) {
      // Kafka resets to "no checkpoint" too: recovery re-reads the logs from the start.
      this.o.logger?.warn({ file, err: (e as Error).message }, 'ignoring unreadable checkpoint file');
      return new Map();
    }
  }

  logs(): Iterable<PartitionLog> {
    return [...this.byKey.values()].map((e) => e.log);
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.byKey.get(tpKey(topic, partition))?.log;
  }

  /** The existing log (its config replaced by `config`), or a new one in the log dir holding the fewest logs. */
  getOrCreateLog(topic: string, partition: number, topicId: string | undefined, config: LogConfig): PartitionLog {
    this.ensureOpen();
    const key = tpKey(topic, partition);
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      existing.log.updateConfig(config);
      if (topicId !== undefined && existing.log.topicId !== undefined && existing.log.topicId !== topicId) {
        throw new Error(`log ${key} has topic id ${existing.log.topicId}, not ${topicId}`);
      }
      return existing.log;
    }
    if (!/^[a-zA-Z0-9._-]+$/.test(topic) || topic === '.' || topic === '..') throw new Error(`illegal topic name ${topic}`);
    const counts = new Map<string, number>(this.o.logDirs.map((d) => [d, 0]));
    for (const e of this.byKey.values()) counts.set(e.logDir, (counts.get(e.logDir) ?? 0) + 1);
    let logDir = this.o.logDirs[0];
    for (const d of this.o.logDirs) if (counts.get(d)! < counts.get(logDir)!) logDir = d;
    const log = PartitionLog.open({
      dir: path.join(logDir, key),
      topic,
      partition,
      topicId,
      config,
      now: this.o.now,
      logger: this.o.logger,
    });
    this.byKey.set(key, { log, logDir });
    return log;
  }

  /** Renames the directory to `<topic>-<p>.<uuid>-delete` at once; the files go after file.delete.delay.ms. */
  deleteLog(topic: string, partition: number): void {
    const key = tpKey(topic, partition);
    const e = this.byKey.get(key);
    if (e === undefined) return;
    this.byKey.delete(key);
    const hadCheckpoint = this.cleaner.checkpointOf(topic, partition) !== undefined;
    this.cleaner.forget(e.log);
    if (hadCheckpoint) this.checkpointCleaner(e.logDir);
    e.log.closeWithoutFlush();
    const renamed = path.join(e.logDir, `${key}.${randomUUID().replace(/-/g, '')}-delete`);
    fs.renameSync(e.log.dir, renamed);
    fsyncDir(e.logDir);
    if (e.log.config.fileDeleteDelayMs <= 0 || this.pendingDirDeletes.length >= pendingDirDeletesMax) {
      fs.rmSync(renamed, { recursive: true, force: true });
    } else {
      this.pendingDirDeletes.push({ dir: renamed, dueMs: this.o.now() + e.log.config.fileDeleteDelayMs });
    }
  }

  private entriesByDir(): Map<string, Entry[]> {
    const out = new Map<string, Entry[]>(this.o.logDirs.map((d) => [d, []]));
    for (const e of this.byKey.values()) out.get(e.logDir)!.push(e);
    for (const list of out.values()) {
      list.sort((a, b) => (a.log.topic < b.log.topic ? -1 : a.log.topic > b.log.topic ? 1 : a.log.partition - b.log.partition));
    }
    return out;
  }

  private static tpo(e: Entry, offset: number): TopicPartitionOffset {
    return { topic: e.log.topic, partition: e.log.partition, offset };
  }

  /** replication-offset-checkpoint: every log's high watermark. */
  checkpointHighWatermarks(): void {
    for (const [dir, list] of this.entriesByDir()) {
      writeOffsetCheckpoint(
        path.join(dir, REPLICATION_OFFSET_CHECKPOINT),
        list.map((e) => LogManager.tpo(e, e.log.highWatermark)),
      );
    }
  }

  /** recovery-point-offset-checkpoint and log-start-offset-checkpoint (the latter only where the start moved). */
  checkpointRecoveryPointsAndLogStarts(): void {
    for (const [dir, list] of this.entriesByDir()) {
      writeOffsetCheckpoint(
        path.join(dir, RECOVERY_POINT_CHECKPOINT),
        list.map((e) => LogManager.tpo(e, e.log.recoveryPoint)),
      );
      const moved = list.filter((e) => e.log.logStartOffset > e.log.segmentBaseOffsets()[0]);
      writeOffsetCheckpoint(
        path.join(dir, LOG_START_OFFSET_CHECKPOINT),
        moved.map((e) => LogManager.tpo(e, e.log.logStartOffset)),
      );
    }
  }

  /** cleaner-offset-checkpoint of one log dir: how far each compacted log has been cleaned. */
  private checkpointCleaner(dir: string): void {
    const logs = [...this.byKey.values()].filter((e) => e.logDir === dir).map((e) => e.log);
    writeOffsetCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT), this.cleaner.checkpointEntries(logs));
  }

  /** Writes the three checkpoint files of every log dir. */
  checkpoint(): void {
    this.checkpointRecoveryPointsAndLogStarts();
    this.checkpointHighWatermarks();
  }

  tick(now: number): void {
    this.ensureOpen();
    const o = this.o;
    for (const e of this.byKey.values()) {
      e.log.maybeFlushByTime(now);
      e.log.deletePendingFiles(now);
    }
    if (now - this.lastRetentionMs >= (o.retentionCheckIntervalMs ?? 300000)) {
      this.lastRetentionMs = now;
      for (const e of this.byKey.values()) {
        try {
          const n = e.log.enforceRetention(now);
          if (n > 0) o.logger?.info({ topic: e.log.topic, partition: e.log.partition, segments: n }, 'deleted old segments');
        } catch (err) {
          o.logger?.warn({ topic: e.log.topic, partition: e.log.partition, err: (err as Error).message }, 'retention failed');
        }
      }
    }
    if ((o.cleanerEnable ?? true) && !this.cleaner.busy && now - this.lastCleanerCheckMs >= (o.cleanerBackoffMs ?? 15000)) {
      this.lastCleanerCheckMs = now;
      this.cleaner.maybeStart(this.logs(), now);
    }
    while (this.pendingDirDeletes.length > 0 && this.pendingDirDeletes[0].dueMs <= now) {
      fs.rmSync(this.pendingDirDeletes.shift()!.dir, { recursive: true, force: true });
    }
    if (now - this.lastRecoveryCheckpointMs >= (o.recoveryPointCheckpointIntervalMs ?? 60000)) {
      this.lastRecoveryCheckpointMs = now;
      this.checkpointRecoveryPointsAndLogStarts();
    }
    if (now - this.lastHwCheckpointMs >= (o.highWatermarkCheckpointIntervalMs ?? 5000)) {
      this.lastHwCheckpointMs = now;
      this.checkpointHighWatermarks();
    }
  }

  /** Flushes and closes every log, writes the checkpoints, then the clean-shutdown marker per dir. */
  close(): void {
    if (this.closed) return;
    this.cleaner.close();
    for (const e of this.byKey.values()) e.log.close();
    this.checkpoint();
    for (const p of this.pendingDirDeletes.splice(0)) fs.rmSync(p.dir, { recursive: true, force: true });
    const marker = JSON.stringify({ version: 0, brokerEpoch: this.o.brokerEpoch ?? -1 });
    for (const d of this.o.logDirs) {
      const fd = fs.openSync(path.join(d, CLEAN_SHUTDOWN_FILE), 'w');
      try {
        fs.writeFileSync(fd, marker);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fsyncDir(d);
    }
    this.closed = true;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error('log manager is closed');
  }
}
