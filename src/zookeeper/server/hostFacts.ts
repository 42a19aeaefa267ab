// Facts about this server's host and settings that the four-letter words and the AdminServer
// report (envi, conf, mntr, system_properties): directories and their sizes, file descriptors,
// the runtime's environment.

import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { arch, homedir, hostname, platform, release, userInfo } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { ZooKeeperServerShell } from './server.js';
import { ZK_FULL_VERSION } from './server.js';

/** The snapshot directory ZooKeeper reports as dataDir (FileTxnSnapLog: <dataDir>/version-2). */
export function snapDir(shell: ZooKeeperServerShell): string {
  return shell.opts.dataDir ? join(shell.opts.dataDir, 'version-2') : '';
}

export function logDir(shell: ZooKeeperServerShell): string {
  const d = shell.opts.dataLogDir || shell.opts.dataDir;
  return d ? join(d, 'version-2') : '';
}

/** ZooKeeperServer.getDirSize: file lengths summed recursively; 0 if missing. */
export function dirSize(path: string): number {
  if (!path) return 0;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const n of names) total += dirSize(join(path, n));
  return total;
}

/** OSMXBean.getOpenFileDescriptorCount (Linux: /proc/self/fd minus the one used to list it). */
export function openFileDescriptorCount(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1;
  }
}

/** OSMXBean.getMaxFileDescriptorCount: the soft RLIMIT_NOFILE. */
export function maxFileDescriptorCount(): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return -1;
    return m[1] === 'unlimited' ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

const OS_NAMES: Record<string, string> = {
  linux: 'Linux',
  darwin: 'Mac OS X',
  win32: 'Windows',
  freebsd: 'FreeBSD',
  sunos: 'SunOS',
  aix: 'AIX',
};
const OS_ARCHS: Record<string, string> = { x64: 'amd64', arm64: 'aarch64', ia32: 'x86', ppc64: 'ppc64le' };

function mb(bytes: number): string {
  return `${Math.floor(bytes / (1024 * 1024))}MB`;
}

/**
 * Environment.list(), with the runtime described truthfully: the java.* entries become node.*
 * entries; everything else keeps ZooKeeper's key and order. kazoo reads `zookeeper.version`.
 */
export function environment(): [string, string][] {
  let user = '<NA>';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  const heap = getHeapStatistics();
  return [
    ['zookeeper.version', ZK_FULL_VERSION],
    ['host.name', hostname() || '<NA>'],
    ['node.version', process.version],
    ['node.path', process.execPath],
    ['os.name', OS_NAMES[platform()] ?? platform()],
    ['os.arch', OS_ARCHS[arch()] ?? arch()],
    ['os.version', release()],
    ['user.name', user],
    ['user.home', homedir()],
    ['user.dir', process.cwd()],
    ['os.memory.free', mb(heap.total_heap_size - heap.used_heap_size)],
    ['os.memory.max', mb(heap.heap_size_limit)],
    ['os.memory.total', mb(heap.total_heap_size)],
  ];
}

/**
 * Admin `system_properties`: no JVM here, so the settings this server runs with under their
 * Java system property names, plus the runtime entries of `envi`, sorted by name as ZooKeeper
 * sorts. Secrets (superDigest) are left out.
 */
export function systemProperties(shell: ZooKeeperServerShell): [string, string][] {
  const o = shell.opts;
  const props = new Map<string, string>(environment().filter(([k]) => k !== 'zookeeper.version'));
  props.set('jute.maxbuffer', String(o.frameBytesMax));
  props.set('zookeeper.4lw.commands.whitelist', [...o.fourLetterWords].join(','));
  props.set('zookeeper.admin.enableServer', String(o.adminEnabled));
  props.set('zookeeper.admin.serverAddress', o.adminAddress);
  props.set('zookeeper.admin.serverPort', String(o.adminPort));
  props.set('zookeeper.extendedTypesEnabled', String(o.extendedTypesEnabled));
  props.set('zookeeper.skipACL', o.skipAcl ? 'yes' : 'no');
  props.set('znode.container.checkIntervalMs', String(o.containerCheckIntervalMs));
  props.set('znode.container.maxPerMinute', String(o.containerMaxPerMinute));
  props.set('znode.container.maxNeverUsedIntervalMs', String(o.containerMaxNeverUsedIntervalMs));
  return [...props].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
