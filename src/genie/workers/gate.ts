// A global admission check per job type, taken after the local pool picked a job and before its
// attempt starts (docs/JOBS.md "Coordination in ZooKeeper": `/clustergenie/limits/<type>`). The
// ZooKeeper-backed semaphore implements this interface; a worker without one uses `openGate`.

export interface TypeGate {
  /**
   * Resolves with a release function once a job of `type` may run; rejects with the signal's
   * reason if `signal` aborts while waiting. Call the release exactly once when the attempt ends.
   */
  acquire(type: string, signal: AbortSignal): Promise<() => void>;
}

const noRelease = (): void => {};

/** Admits everything at once: no global cap. */
export const openGate: TypeGate = {
  acquire(_type: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return Promise.resolve(noRelease);
  },
};
