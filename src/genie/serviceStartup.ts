// What every ClusterGenie service process does the same way at start: crash-only handling of an
// escaped error, and one ZooKeeper session that renews itself after expiry.

import type { Logger } from '../util/log.js';
import { ZooKeeperClient } from '../zookeeper/client/index.js';

/**
 * Crash-only: an error that escapes ends the process with a clear line; its supervisor (up, or
 * whoever runs it) starts a fresh one, and unfinished work is re-delivered. (A dead broker is not
 * such an error: the group consumers replace their member in-process, see groupConsumer.ts.)
 */
export function exitOnEscapedError(service: string, log: Logger): void {
  process.once('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught error; exiting so that a fresh process takes over');
    process.stderr.write(`clustergenie ${service}: uncaught error, exiting: ${e.stack ?? String(e)}\n`);
    process.exit(70);
  });
}

/**
 * A connected ZooKeeper session that starts a new one when it expires (registrations, elections
 * and leases follow the new session), or undefined after printing why it could not connect (the
 * exit code is then 1).
 */
export async function connectServiceZooKeeper(service: string, connectString: string, log: Logger): Promise<ZooKeeperClient | undefined> {
  const zk = new ZooKeeperClient({ connectString, sessionTimeoutMs: 10_000 });
  zk.on('expired', () => {
    log.warn('ZooKeeper session expired; starting a new one');
    zk.connect().catch(() => undefined);
  });
  try {
    await zk.connect({ timeoutMs: 30_000 });
    return zk;
  } catch (e) {
    process.stderr.write(`clustergenie ${service}: cannot reach ZooKeeper at ${connectString}: ${(e as Error).message}\n`);
    await zk.close().catch(() => undefined);
    process.exitCode = 1;
    return undefined;
  }
}
