// Fencing of a partition's former owners (docs/JOBS.md "Partition ownership and fencing"). Pure:
// the one rule every reader of `cluster-events` applies (the worker's partition core, the Job
// Service's view fold, the test's history checker), so they all count the same facts.
//
// A worker that takes a partition first writes an owner marker (`worker.owner`) into that
// partition and waits for Kafka's acknowledgement; the marker's offset is its ownership epoch,
// and every fact it publishes for jobs of that partition carries that epoch (`epoch` in the
// envelope, `clustergenie-owner-epoch` header). Offsets only grow, so a later owner always holds
// a higher epoch, with no clock, coordinator generation or extra store involved. A reader keeps
// the highest epoch seen per partition and ignores any fact stamped with a lower one: the fact of
// a former owner that was paused, cut off or still draining its producer when the partition
// moved (a zombie), landing after its successor's marker. Commands (no epoch: the Job Service's
// requests and cancels, the scheduler's due job.queued) are never fenced; nor are events written
// before fencing existed (no epoch either).
//
// Why a reader-side rule: a paused process cannot be stopped from writing once it resumes, and
// Kafka's own answer to zombies (transactional fencing plus read_committed) is likewise decided
// where the log is read. The successor's catch-up reads up to and including its marker, so every
// fact that counts was seen by the owner that acts after it.

import type { JobEvent } from './events.js';

export const OWNER_MARKER_TYPE = 'worker.owner';

/** The owner marker's value (a non-job event: job consumers that do not fence skip it). */
export interface OwnerMarker {
  v: number;
  type: typeof OWNER_MARKER_TYPE;
  /** The worker that took the partition. */
  worker: string;
  partition: number;
  at: string;
}

/** Whether a record's parsed JSON value is an owner marker. */
export function isOwnerMarker(parsed: unknown): boolean {
  return typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === OWNER_MARKER_TYPE;
}

/** Cheap check on a record's raw text before parsing it: markers are rare, job events are many. */
export function mayBeOwnerMarker(text: string): boolean {
  return text.includes(`"${OWNER_MARKER_TYPE}"`);
}

/** The owner epoch an event carries, if any (facts of workers that fence). */
export function epochOf(e: JobEvent): number | undefined {
  const epoch = (e as { epoch?: unknown }).epoch;
  return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : undefined;
}

/** Per partition, the highest owner epoch seen; says which facts count. */
export class OwnerFence {
  private readonly epochs = new Map<number, number>();
  /** Facts ignored because a newer owner's marker or fact came first. */
  fenced = 0;

  /** An owner marker at `offset` of `partition`: its epoch is its offset. */
  marker(partition: number, offset: number): void {
    this.raise(partition, offset);
  }

  /**
   * Whether `event`, read from `partition`, counts. A fact from a former owner after its
   * successor's marker does not; an event without an epoch always does. A fact's own epoch
   * raises the partition's (a reader that started past the marker learns it from the facts).
   */
  admits(partition: number, event: JobEvent): boolean {
    const epoch = epochOf(event);
    if (epoch === undefined) return true;
    if (epoch < (this.epochs.get(partition) ?? -1)) {
      this.fenced++;
      return false;
    }
    this.raise(partition, epoch);
    return true;
  }

  epoch(partition: number): number | undefined {
    return this.epochs.get(partition);
  }

  /** The epochs to persist beside the consumed offsets. */
  entries(): [number, number][] {
    return [...this.epochs];
  }

  /** Restores persisted epochs (a restart resumes with what it had folded). */
  load(entries: Iterable<readonly [number, number]>): void {
    for (const [p, e] of entries) this.raise(p, e);
  }

  private raise(partition: number, epoch: number): void {
    if (epoch > (this.epochs.get(partition) ?? -1)) this.epochs.set(partition, epoch);
  }
}

/** The parts of a DLQ letter (a dead job's copy of its job.dead) the rule looks at. */
export interface LetterFacts {
  jobId: string;
  attempt: number;
  epoch?: number;
}

/**
 * Whether a dead-letter record stands for a death that counts. The worker writes a job's letter
 * to `cluster-events.dlq` after Kafka acknowledged its job.dead, whoever it is, so a fenced owner
 * leaves letters too; the letter repeats the fact's epoch, and it counts only if the job's counted
 * history (the events every reader keeps after this rule, e.g. the Job Service's `/events`) holds
 * a job.dead of the same attempt and epoch. An unstamped letter (before fencing) always counts.
 * Letters are written unconditionally, and told apart here, so that every death that counts keeps
 * its letter (at-least-once): checking before writing would need the writer to read its fact back
 * and leave a window where a crash loses the letter of a counted death.
 */
export function deadLetterCounts(letter: LetterFacts, countedHistory: Iterable<JobEvent>): boolean {
  const epoch = epochOf(letter as JobEvent);
  if (epoch === undefined) return true;
  for (const e of countedHistory) {
    if (e.type === 'job.dead' && e.jobId === letter.jobId && e.attempt === letter.attempt && epochOf(e) === epoch) return true;
  }
  return false;
}
