// Safety net for child processes tests start (JVMs, CLIs): if the test process exits without
// stopping them, they are killed with it (by PID, never by name).

import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

/** Kill `child` when this process exits, unless it has ended by then. Untracked on its own exit. */
export function killOnExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}
