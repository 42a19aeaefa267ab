// The jobs checker: given the ids the Job Service accepted and every event read back from
// cluster-events, says which jobs were lost, ended twice, ran again after they finished, or
// have events out of order. The end-to-end and fault tests use it; test/genie/jobHistory.test.ts
// checks it against fabricated bad histories.

import type { JobEvent } from '../../src/genie/jobs/events.js';
import { OwnerFence } from '../../src/genie/jobs/fence.js';

export interface ReadEvent {
  partition: number;
  offset: number;
  event: JobEvent;
}

/** An owner marker read from cluster-events (src/genie/jobs/fence.ts): its offset is an epoch. */
export interface ReadMarker {
  partition: number;
  offset: number;
  worker: string;
}

export interface JobHistoryReport {
  /**
   * Facts of a former partition owner that landed after a newer owner's marker (a zombie's late
   * writes): not counted, as every reader ignores them (docs/JOBS.md). Keys `p<partition>@<offset>`.
   */
  fenced: Set<string>;
  /** Accepted ids with no terminal event. */
  lost: string[];
  /** Jobs with more than one distinct terminal event (one run each: no user retries in these tests). */
  duplicated: string[];
  /**
   * Terminal events written more than once with identical contents (same type, attempt, producer
   * and time): one ending published again after a failed acknowledgement, not a second run.
   */
  republished: number;
  /**
   * job.requested events after a job's first: a submission repeated with the same id (a client
   * retrying a request whose answer it lost). Workers drop them; they must not run the job again.
   */
  repeatedRequests: number;
  /** Jobs with a job.processing after their job.completed (a finished job run again). */
  rerunAfterFinish: string[];
  /** Jobs whose events are not in lifecycle order, with what was wrong. */
  disorder: string[];
  /** Jobs spread over more than one partition (their key must keep them in one). */
  split: string[];
  /** Terminal state per job. */
  terminal: Map<string, 'completed' | 'dead' | 'cancelled'>;
  /** Most attempts started per job. */
  attempts: Map<string, number>;
}

const TERMINAL = new Set(['job.completed', 'job.dead', 'job.cancelled']);
/** A job's stage order within one attempt: an event may not follow one of a later stage of the same or a later attempt. */
const STAGE: Partial<Record<JobEvent['type'], number>> = {
  'job.requested': 0,
  'job.created': 1,
  'job.queued': 2,
  'job.processing': 3,
  'job.progress': 4,
  'job.failed': 5,
  'job.retrying': 6,
  'job.completed': 7,
  'job.dead': 7,
};

/**
 * Checks the history that counts: every event and marker of a partition in offset order through
 * the same fence the Job Service and the workers apply; fenced facts are reported, not checked.
 */
export function checkJobHistory(
  accepted: Iterable<string>,
  events: readonly ReadEvent[],
  markers: readonly ReadMarker[] = [],
): JobHistoryReport {
  const fenced = fencedFacts(events, markers);
  const byJob = new Map<string, ReadEvent[]>();
  for (const e of events) {
    if (fenced.has(positionKey(e))) continue;
    const list = byJob.get(e.event.jobId) ?? [];
    if (list.length === 0) byJob.set(e.event.jobId, list);
    list.push(e);
  }
  const report: JobHistoryReport = {
    fenced,
    lost: [],
    duplicated: [],
    rerunAfterFinish: [],
    disorder: [],
    split: [],
    republished: 0,
    repeatedRequests: 0,
    terminal: new Map(),
    attempts: new Map(),
  };
  for (const id of accepted) {
    const list = byJob.get(id) ?? [];
    if (new Set(list.map((e) => e.partition)).size > 1) report.split.push(id);
    list.sort((a, b) => a.offset - b.offset);
    const terminals = list.filter((e) => TERMINAL.has(e.event.type));
    const distinct = new Set(terminals.map((e) => JSON.stringify(e.event)));
    report.republished += terminals.length - distinct.size;
    if (terminals.length === 0) report.lost.push(id);
    if (distinct.size > 1) report.duplicated.push(id);
    const first = terminals[0];
    if (first) report.terminal.set(id, first.event.type.slice(4) as 'completed' | 'dead' | 'cancelled');
    let completedAt = -1;
    let maxAttempt = 0;
    // (attempt, stage) of the furthest event so far; a later event must not go back.
    let last: { attempt: number; stage: number; type: string } = { attempt: 0, stage: -1, type: '(none)' };
    let requestedSeen = false;
    for (const e of list) {
      const ev = e.event;
      if (ev.type === 'job.requested') {
        if (requestedSeen) {
          report.repeatedRequests++;
          continue;
        }
        requestedSeen = true;
      }
      if (ev.type === 'job.completed') completedAt = e.offset;
      if (ev.type === 'job.processing') {
        maxAttempt = Math.max(maxAttempt, ev.attempt);
        if (completedAt >= 0 && !report.rerunAfterFinish.includes(id)) report.rerunAfterFinish.push(id);
      }
      const stage = STAGE[ev.type];
      if (stage === undefined) continue; // cancel commands and cancellations may come at any point
      // job.retrying names the attempt to come; it belongs to the one that failed.
      const named = 'attempt' in ev && typeof ev.attempt === 'number' ? ev.attempt : 1;
      const attempt = ev.type === 'job.retrying' ? named - 1 : named;
      // A re-delivered attempt repeats processing/progress of the same attempt: allowed.
      const repeat =
        attempt === last.attempt && (ev.type === 'job.processing' || ev.type === 'job.progress') && last.stage <= STAGE['job.progress']!;
      if (!repeat && (attempt < last.attempt || (attempt === last.attempt && stage < last.stage))) {
        report.disorder.push(`${id}: ${ev.type} (attempt ${attempt}) at offset ${e.offset} after ${last.type} (attempt ${last.attempt})`);
        continue;
      }
      last = { attempt, stage, type: ev.type };
    }
    report.attempts.set(id, maxAttempt);
  }
  return report;
}

const positionKey = (e: { partition: number; offset: number }): string => `p${e.partition}@${e.offset}`;

/** The positions of the facts the fence rejects, reading each partition in offset order. */
function fencedFacts(events: readonly ReadEvent[], markers: readonly ReadMarker[]): Set<string> {
  const all: (ReadEvent | ReadMarker)[] = [...events, ...markers];
  all.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const fence = new OwnerFence();
  const out = new Set<string>();
  for (const r of all) {
    if (!('event' in r)) fence.marker(r.partition, r.offset);
    else if (!fence.admits(r.partition, r.event)) out.add(positionKey(r));
  }
  return out;
}

/** A one-line summary of what is wrong, or '' when nothing is. */
export function describeProblems(r: JobHistoryReport): string {
  const parts: string[] = [];
  const show = (name: string, list: string[]): void => {
    if (list.length > 0) parts.push(`${list.length} ${name} (${list.slice(0, 5).join('; ')})`);
  };
  show('lost', r.lost);
  show('duplicated', r.duplicated);
  show('re-run after finishing', r.rerunAfterFinish);
  show('out of order', r.disorder);
  show('split over partitions', r.split);
  return parts.join(', ');
}

/** The whole history of the first job the report finds wrong, one event per line (for a failure message). */
export function firstProblemHistory(r: JobHistoryReport, events: readonly ReadEvent[]): string {
  const id = r.lost[0] ?? r.duplicated[0] ?? r.rerunAfterFinish[0] ?? r.disorder[0]?.split(':')[0] ?? r.split[0];
  if (id === undefined) return '';
  const lines = events
    .filter((e) => e.event.jobId === id)
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((e) => {
      const ev = e.event as { type: string; attempt?: number; producer: string; at: string; worker?: string; epoch?: number };
      const epoch = ev.epoch === undefined ? '' : ` epoch ${ev.epoch}${r.fenced.has(positionKey(e)) ? ' (fenced)' : ''}`;
      return `  p${e.partition}@${e.offset} ${ev.type} attempt=${ev.attempt ?? '-'} by ${ev.producer}${ev.worker ? ` on ${ev.worker}` : ''}${epoch} at ${ev.at}`;
    });
  return `history of ${id}:\n${lines.join('\n')}`;
}
