// Starts a ClusterGenie ZooKeeper server for tests, in this process or as a child process
// running the real CLI. Same result shape as startApacheZooKeeper (apacheZk.ts).

import { spawn } from 'node:child_process';
import { killOnExit } from './children.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZooCfg } from '../../src/zookeeper/config.js';
import { startZooKeeperServer, type ZooKeeperServerShell } from '../../src/zookeeper/server/server.js';
import { freePort, waitFor, fourLetter } from './net.js';
import type { StorageIo } from '../../src/zookeeper/persistence/io.js';

export interface StartedZk {
  host: string;
  port: number;
  connectString: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface OurZkOptions {
  extraConfig?: Record<string, string>;
  sysProps?: Record<string, string>;
  /** Clock for the in-process server (tests that need to move time deterministically). */
  now?: () => number;
  /** Use this data directory (created if missing) and keep it on stop (restart and round-trip tests). */
  dataDir?: string;
  /** In-process only: the transaction log's file operations (disk fault injection). */
  storageIo?: StorageIo;
  /** Child process only: `-Dname=value` arguments for the CLI, as zkServer.sh passes JVM flags. */
  defines?: string[];
}

function cfgText(port: number, dataDir: string, extra: Record<string, string>): string {
  const base: Record<string, string> = {
    tickTime: '2000',
    dataDir,
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    extendedTypesEnabled: 'true',
    maxClientCnxns: '0',
    ...extra,
  };
  return `${Object.entries(base)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** In-process server (fast; the test can reach `shell.core`). */
export async function startOurZooKeeper(opts: OurZkOptions = {}): Promise<StartedZk & { shell: ZooKeeperServerShell }> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'cg-zk-')));
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const port = await freePort();
  const parsed = parseZooCfg(cfgText(port, dataDir, opts.extraConfig ?? {}), dataDir, opts.sysProps ?? {});
  const shell = await startZooKeeperServer(parsed.options, {
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.storageIo ? { storageIo: opts.storageIo } : {}),
  });
  return {
    host: '127.0.0.1',
    port: shell.port,
    connectString: `127.0.0.1:${shell.port}`,
    dataDir,
    shell,
    async stop() {
      await shell.stop();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Child-process server through the real CLI (`clustergenie zookeeper --config`). */
export async function startOurZooKeeperProcess(
  opts: OurZkOptions = {},
): Promise<StartedZk & { pid: number; exited: Promise<number | null>; stderrText(): string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-zkp-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  // The CLI reads `zookeeper.`-prefixed keys in zoo.cfg as Java reads -D system properties.
  await writeFile(cfg, cfgText(port, dataDir, { ...opts.sysProps, ...opts.extraConfig }));
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'clustergenie.js'), 'zookeeper', '--config', cfg, ...(opts.defines ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor(
      async () => (await fourLetter('127.0.0.1', port, 'ruok').catch(() => '')) === 'imok',
      10_000,
      () => `server did not start: ${stderr}`,
    );
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    host: '127.0.0.1',
    port,
    connectString: `127.0.0.1:${port}`,
    dataDir,
    pid: child.pid!,
    exited,
    stderrText: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
