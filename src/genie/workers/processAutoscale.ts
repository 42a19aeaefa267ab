// How many worker processes `clustergenie up --workers-min <n> --workers-max <m>` runs. Pure: the
// shell (src/cli/upWorkerScaler.ts) samples the workers' group every few seconds, calls
// `decideProcesses`, starts or stops processes and publishes the change as `worker.scaled` with
// scope "processes". The signal is the one each worker's pool scales its concurrency by
// (autoscale.ts), seen from outside: the group's lag on `cluster-events` (records past its
// committed offsets, so it includes held jobs) plus the jobs waiting in the workers' local pools
// (their ZooKeeper registrations).
//
// Grow when the backlog per process passes a threshold, to as many processes as the backlog asks
// for; shrink one process at a time once the backlog has stayed at (nearly) nothing for
// `idleShrinkMs`, so each stop hands back few or no jobs. Never within `cooldownMs` of the last
// change (a new process costs a rebalance), always within [min, max], and never more processes
// than partitions of `cluster-events`: a member without a partition would sit idle.

export interface ProcessScalePolicy {
  /** Backlog records per worker process above which processes are added. */
  backlogPerProcessHigh: number;
  /** Backlog at or below which the workers count as idle (a few of their own unread records). */
  idleBacklogMax: number;
  /** Time the workers must stay idle before one process is stopped. */
  idleShrinkMs: number;
  /** Least time between two changes. */
  cooldownMs: number;
}

export const processScaleDefaults: ProcessScalePolicy = {
  backlogPerProcessHigh: 500,
  idleBacklogMax: 10,
  idleShrinkMs: 60_000,
  cooldownMs: 15_000,
};

/** What the shell sampled. */
export interface ProcessScaleSample {
  /** Records of `cluster-events` past the group's committed offsets (all partitions). */
  lag: number;
  /** Jobs waiting in the workers' local pools (sum of their registrations' `queued`). */
  queued: number;
  /** Partitions of `cluster-events` (undefined: unknown, no cap from it). */
  partitions: number | undefined;
}

export interface ProcessScaleInput extends ProcessScaleSample {
  /** Processes running now (started by the scaler and not stopped). */
  processes: number;
  min: number;
  max: number;
  now: number;
  /** When the count last changed (-Infinity: never). */
  lastChangeAt: number;
  /** Since when the workers have been idle (undefined: busy now). */
  idleSince: number | undefined;
}

export interface ProcessScaleDecision {
  processes: number;
  reason: string;
}

/** The backlog the decision works from. */
export function backlogOf(s: ProcessScaleSample): number {
  return Math.max(0, s.lag) + Math.max(0, s.queued);
}

/** Whether a sample shows idle workers (the shell keeps the time this became true). */
export function isIdle(s: ProcessScaleSample, policy: ProcessScalePolicy = processScaleDefaults): boolean {
  return backlogOf(s) <= policy.idleBacklogMax;
}

/** Checks bounds given by a user (flags); throws naming what is wrong. */
export function checkProcessBounds(min: number, max: number): void {
  if (!Number.isInteger(min) || min < 1) throw new Error(`the least worker processes must be an integer of at least 1, got ${min}`);
  if (!Number.isInteger(max) || max < min)
    throw new Error(`the most worker processes (${max}) must be an integer of at least the least (${min})`);
}

/** The processes to run, or null to keep the count. */
export function decideProcesses(input: ProcessScaleInput, policy: ProcessScalePolicy = processScaleDefaults): ProcessScaleDecision | null {
  const { processes, min, max } = input;
  checkProcessBounds(min, max);
  // More processes than partitions would sit idle; min still wins (the user asked for them).
  const cap = input.partitions !== undefined && input.partitions >= 1 ? Math.max(min, Math.min(max, input.partitions)) : max;
  // Bounds first and regardless of cooldown: they are configuration, not load.
  if (processes < min) return { processes: min, reason: `below min ${min}` };
  if (processes > cap) {
    const why = cap < max ? `more than the ${input.partitions} partitions of cluster-events` : `above max ${max}`;
    return { processes: cap, reason: why };
  }
  if (input.now - input.lastChangeAt < policy.cooldownMs) return null;
  const backlog = backlogOf(input);
  if (processes < cap && backlog > policy.backlogPerProcessHigh * processes) {
    const wanted = Math.ceil(backlog / policy.backlogPerProcessHigh);
    return { processes: Math.min(cap, Math.max(processes + 1, wanted)), reason: `backlog ${backlog} records over ${processes} processes` };
  }
  if (processes > min && input.idleSince !== undefined && input.now - input.idleSince >= policy.idleShrinkMs) {
    return { processes: processes - 1, reason: `idle ${Math.round(input.now - input.idleSince)} ms` };
  }
  return null;
}
