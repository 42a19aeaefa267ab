// Retry waits shared by every service that retries a remote (Loki pushes, group rejoins).

export interface BackoffPolicy {
  backoffMsMin: number;
  backoffMsMax: number;
}

/**
 * The wait before retry `attempt` (1-based): min * 2^(attempt-1), capped at max, with "equal
 * jitter" (half fixed, half random) so clients that failed together do not retry together.
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: number): number {
  const exp = Math.min(policy.backoffMsMax, policy.backoffMsMin * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + (exp / 2) * Math.min(1, Math.max(0, random)));
}
