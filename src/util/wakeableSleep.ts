// A retry wait that stopping can cut short (the services' backoffs between attempts).

export class WakeableSleep {
  private waker: (() => void) | undefined;

  /** Resolves after `ms`, or at wake(), whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waker = undefined;
        resolve();
      }, ms);
      this.waker = () => {
        clearTimeout(timer);
        this.waker = undefined;
        resolve();
      };
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.waker?.();
  }
}
