// The worker's concurrency autoscaler. Pure: the shell samples the pool and the consumer, calls
// `decideConcurrency` every few seconds, applies a change and publishes it as `worker.scaled`.
//
// Grow when every slot is busy and work is piling up (backlog per slot past a threshold, or the
// oldest runnable job waiting too long); shrink after the pool has been underused for
// `idleShrinkMs`; never within `cooldownMs` of the last change, and always within [min, max].

export interface AutoscalePolicy {
  /** Backlog (waiting jobs + unread records) per slot above which the pool grows. */
  backlogPerSlotHigh: number;
  /** Oldest runnable job's wait above which the pool grows. */
  queueWaitHighMs: number;
  /** Time the pool must stay underused before it shrinks. */
  idleShrinkMs: number;
  /** Minimum time between two changes. */
  cooldownMs: number;
}

export const autoscaleDefaults: AutoscalePolicy = { backlogPerSlotHigh: 4, queueWaitHighMs: 2000, idleShrinkMs: 30_000, cooldownMs: 5000 };

export interface AutoscaleInput {
  concurrency: number;
  min: number;
  max: number;
  /** Jobs waiting locally plus the consumer's lag in records (an estimate of work not started). */
  backlog: number;
  /** The oldest runnable local job's wait. */
  oldestWaitMs: number;
  running: number;
  /** How long the pool has been underused (a free slot and nothing waiting); 0 when busy. */
  idleMs: number;
  now: number;
  /** When the concurrency last changed (-Infinity: never). */
  lastChangeAt: number;
}

export interface AutoscaleDecision {
  concurrency: number;
  reason: string;
}

export function decideConcurrency(input: AutoscaleInput, policy: AutoscalePolicy = autoscaleDefaults): AutoscaleDecision | null {
  const { concurrency, min, max } = input;
  if (!(min >= 1) || max < min) throw new Error(`invalid concurrency bounds [${min}, ${max}]`);
  // Bounds first and regardless of cooldown: they are configuration, not load.
  if (concurrency < min) return { concurrency: min, reason: 'below-min' };
  if (concurrency > max) return { concurrency: max, reason: 'above-max' };
  if (input.now - input.lastChangeAt < policy.cooldownMs) return null;
  const saturated = input.running >= concurrency;
  if (saturated && concurrency < max) {
    const backlogPerSlot = input.backlog / concurrency;
    const reason =
      backlogPerSlot > policy.backlogPerSlotHigh
        ? `backlog ${input.backlog} over ${concurrency} slots`
        : input.oldestWaitMs > policy.queueWaitHighMs
          ? `queue wait ${Math.round(input.oldestWaitMs)} ms`
          : undefined;
    if (reason !== undefined) return { concurrency: Math.min(max, Math.max(concurrency + 1, Math.ceil(concurrency * 1.5))), reason };
  }
  if (input.idleMs >= policy.idleShrinkMs && concurrency > min) {
    const to = Math.max(min, input.running, Math.floor(concurrency / 2));
    if (to < concurrency) return { concurrency: to, reason: `idle ${Math.round(input.idleMs)} ms` };
  }
  return null;
}
