// Server launchers for the persistence tests: ours through the real CLI (a child process) and
// Apache ZooKeeper 3.8, both on a given data directory that survives stop, both with a pid the
// test can SIGKILL. Same zoo.cfg keys for both (Apache also gets them as -Dzookeeper.* system
// properties, which is where it reads forceSync, snapCount and preAllocSize).

import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startApacheZooKeeper } from '../../helpers/apacheZk.js';
import { startOurZooKeeperProcess } from '../../helpers/ourZk.js';
import { waitFor } from '../../helpers/wait.js';

export interface RunningServer {
  host: string;
  port: number;
  connectString: string;
  pid: number;
  /** False once the process has exited. */
  alive(): boolean;
  /** Resolves true once the process has exited, false at the deadline. */
  waitExit(timeoutMs: number): Promise<boolean>;
  /** SIGTERM (SIGKILL after a grace period), wait for the exit, remove the launcher's temp files (not the data dirs). */
  stop(): Promise<void>;
  /** The last part of the server's log output. */
  logTail(): string;
}

export interface Launcher {
  name: string;
  start(opts: { dataDir: string; config: Record<string, string> }): Promise<RunningServer>;
}

export const ourLauncher: Launcher = {
  name: 'ClusterGenie',
  async start({ dataDir, config }) {
    const s = await startOurZooKeeperProcess({ dataDir, extraConfig: config });
    // startOurZooKeeperProcess kills the server if this process exits without stopping it.
    let exited = false;
    void s.exited.then(() => {
      exited = true;
    });
    return {
      host: s.host,
      port: s.port,
      connectString: s.connectString,
      pid: s.pid,
      alive: () => !exited,
      async waitExit(timeoutMs) {
        if (exited) return true;
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([
          s.exited.then(() => true),
          new Promise<boolean>((res) => {
            timer = setTimeout(() => res(false), timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        return r;
      },
      stop: () => s.stop(),
      logTail: () => s.stderrText().slice(-8192),
    };
  },
};

/** Apache keeps these as system properties; zoo.cfg keys it does not know become zookeeper.<key> too. */
const APACHE_SYSPROPS = ['forceSync', 'snapCount', 'preAllocSize'];

/**
 * Debian's ZooKeeper 3.8.0 cannot start when the newest txn log is empty (killed after creating
 * the file, before its header was written): ZOOKEEPER-2332, fixed upstream in 2024 by deleting
 * that file at startup. Do the same before each start so the reference can run the crash test.
 * An empty file holds no transactions, so this cannot hide a lost write.
 */
export async function dropEmptyNewestLog(logDir: string): Promise<string | undefined> {
  const dir = join(logDir, 'version-2');
  const logs = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => /^log\.[0-9a-f]+$/.test(f))
    .sort((a, b) => (BigInt(`0x${a.slice(4)}`) < BigInt(`0x${b.slice(4)}`) ? -1 : 1));
  const newest = logs[logs.length - 1];
  if (newest === undefined || (await stat(join(dir, newest))).size !== 0) return undefined;
  await unlink(join(dir, newest));
  return newest;
}

export const apacheLauncher: Launcher = {
  name: 'Apache ZooKeeper 3.8',
  async start({ dataDir, config }) {
    await dropEmptyNewestLog(config['dataLogDir'] ?? dataDir);
    const sysProps: Record<string, string> = {};
    for (const k of APACHE_SYSPROPS) if (config[k] !== undefined) sysProps[`zookeeper.${k}`] = config[k]!;
    const s = await startApacheZooKeeper({ dataDir, extraConfig: config, sysProps });
    const pid = s.pid;
    if (pid === undefined) throw new Error('Apache ZooKeeper started without a pid');
    // The helper owns the ChildProcess (and reaps it); a signal 0 probe tells whether it is gone.
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    return {
      host: s.host,
      port: s.port,
      connectString: s.connectString,
      pid,
      alive,
      async waitExit(timeoutMs) {
        try {
          await waitFor(() => !alive(), { timeoutMs, intervalMs: 20, what: `Apache ZooKeeper pid ${pid} to exit` });
          return true;
        } catch {
          return false;
        }
      },
      stop: () => s.stop(),
      logTail: () => (s.logText?.() ?? '').slice(-8192),
    };
  },
};
