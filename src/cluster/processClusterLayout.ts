// The on-disk layout of a cluster run as separate processes (`clustergenie up`, ProcessCluster):
// `<dir>/zookeeper/zk<N>/{myid,zoo.cfg}` and `<dir>/kafka/kafka<N>/server.properties`, each the
// file its process is started with. A config file is written only when it does not exist yet:
// users edit them, and a start must never undo that. Where a node listens is then read back
// from its file, so an edited port is the one waited on and printed.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadServerProperties } from '../kafka/config.js';
import { loadZooCfg } from '../zookeeper/config.js';
import { stablePort } from '../util/net.js';

export type NodeKind = 'zookeeper' | 'kafka';

export interface ProcessClusterLayoutOptions {
  /** Root directory: zookeeper/zk<N> and kafka/kafka<N> below it. */
  dir: string;
  /** ZooKeeper members (default 3). */
  zookeepers?: number;
  /** Kafka brokers (default 3), ids 1..N. */
  brokers?: number;
  /** Fixed port bases: member or broker N gets base + N - 1. Absent: free ports (see stablePort). */
  ports?: { zkClient?: number; zkQuorum?: number; zkElection?: number; kafka?: number };
  /** zoo.cfg timing; defaults are the seed's (tickTime 2000, initLimit 5, syncLimit 2). */
  tickTimeMs?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Extra zoo.cfg keys for member N (override the defaults). */
  zkConfig?: (id: number) => Record<string, string>;
  /** Extra server.properties keys for broker N (override the defaults). */
  brokerConfig?: (id: number) => Record<string, string>;
  /** A comment written at the top of each config file. */
  header?: string;
}

/** One node's files and where it listens, as its config file says. */
export interface NodeLayout {
  kind: NodeKind;
  id: number;
  host: string;
  /** ZooKeeper: client port; Kafka: the listener's port. */
  port: number;
  dir: string;
  configPath: string;
  /** Where the process's stdout/stderr go (appended across restarts). */
  logPath: string;
  /** Kafka: log.dirs; ZooKeeper: dataDir. */
  dataDirs: string[];
  /** True when this call wrote the config (it did not exist). */
  written: boolean;
}

const HOST = '127.0.0.1';

export function zkMemberDir(root: string, id: number): string {
  return join(root, 'zookeeper', `zk${id}`);
}

export function brokerDir(root: string, id: number): string {
  return join(root, 'kafka', `kafka${id}`);
}

function render(header: string | undefined, entries: Record<string, string>, tail: string[] = []): string {
  const head = header ? `${header.replace(/^/gm, '# ')}\n` : '';
  const body = Object.entries(entries).map(([k, v]) => `${k}=${v}`);
  return `${head}${[...body, ...tail].join('\n')}\n`;
}

/**
 * Where every node's files go, without touching the disk: the caller checks locks and ports
 * before anything is written (a failed start must not alter a running cluster's files).
 */
export function plannedPaths(root: string, zookeepers: number, brokers: number): { kind: NodeKind; id: number; dir: string }[] {
  const out: { kind: NodeKind; id: number; dir: string }[] = [];
  for (let id = 1; id <= zookeepers; id++) out.push({ kind: 'zookeeper', id, dir: zkMemberDir(root, id) });
  for (let id = 1; id <= brokers; id++) out.push({ kind: 'kafka', id, dir: brokerDir(root, id) });
  return out;
}

/** Writes the missing config files (and myid files) and returns every node's layout. */
export async function writeProcessClusterLayout(
  o: ProcessClusterLayoutOptions,
): Promise<{ zookeepers: NodeLayout[]; brokers: NodeLayout[] }> {
  const zkCount = o.zookeepers ?? 3;
  const brokerCount = o.brokers ?? 3;
  const taken = new Set<number>();
  const port = async (base: number | undefined, id: number): Promise<number> => {
    if (base !== undefined) return base + id - 1;
    for (;;) {
      const p = await stablePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  // Every member's ports are needed for the server.N lines, even when only one file is missing.
  const members: { id: number; client: number; quorum: number; election: number }[] = [];
  for (let id = 1; id <= zkCount; id++) {
    members.push({
      id,
      client: await port(o.ports?.zkClient, id),
      quorum: await port(o.ports?.zkQuorum, id),
      election: await port(o.ports?.zkElection, id),
    });
  }
  const serverLines = members.map((m) => `server.${m.id}=${HOST}:${m.quorum}:${m.election};${HOST}:${m.client}`);
  const zookeepers: NodeLayout[] = [];
  for (const m of members) {
    const dir = zkMemberDir(o.dir, m.id);
    const configPath = join(dir, 'zoo.cfg');
    mkdirSync(dir, { recursive: true });
    const myidPath = join(dir, 'myid');
    if (!existsSync(myidPath)) writeFileSync(myidPath, `${m.id}\n`);
    const written = !existsSync(configPath);
    if (written) {
      const cfg: Record<string, string> = {
        tickTime: String(o.tickTimeMs ?? 2000),
        initLimit: String(o.initLimit ?? 5),
        syncLimit: String(o.syncLimit ?? 2),
        dataDir: dir,
        clientPort: String(m.client),
        clientPortAddress: HOST,
        '4lw.commands.whitelist': '*',
        'admin.enableServer': 'false',
        maxClientCnxns: '60',
        extendedTypesEnabled: 'true',
        ...o.zkConfig?.(m.id),
      };
      writeFileSync(configPath, render(o.header, cfg, serverLines), { flag: 'wx' });
    }
    const parsed = loadZooCfg(configPath);
    const addr = parsed.options.clientPortAddress;
    zookeepers.push({
      kind: 'zookeeper',
      id: m.id,
      host: addr === '0.0.0.0' || addr === '' ? HOST : addr,
      port: parsed.options.clientPort,
      dir,
      configPath,
      logPath: join(dir, 'zookeeper.log'),
      dataDirs: [parsed.options.dataDir],
      written,
    });
  }
  const zkConnect = zookeepers.map((z) => `${z.host}:${z.port}`).join(',');
  const brokers: NodeLayout[] = [];
  for (let id = 1; id <= brokerCount; id++) {
    const dir = brokerDir(o.dir, id);
    const configPath = join(dir, 'server.properties');
    mkdirSync(dir, { recursive: true });
    const written = !existsSync(configPath);
    const rf = String(Math.min(3, brokerCount));
    if (written) {
      const cfg: Record<string, string> = {
        'broker.id': String(id),
        listeners: `PLAINTEXT://${HOST}:${await port(o.ports?.kafka, id)}`,
        'log.dirs': join(dir, 'logs'),
        'zookeeper.connect': zkConnect,
        'zookeeper.session.timeout.ms': '18000',
        'num.partitions': '3',
        'default.replication.factor': rf,
        'min.insync.replicas': String(Math.min(2, brokerCount)),
        'offsets.topic.replication.factor': rf,
        'transaction.state.log.replication.factor': rf,
        'transaction.state.log.min.isr': String(Math.min(2, brokerCount)),
        'group.initial.rebalance.delay.ms': '0',
        ...o.brokerConfig?.(id),
      };
      writeFileSync(configPath, render(o.header, cfg), { flag: 'wx' });
    }
    // The file as the broker will read it, without KAFKA_* overrides from this environment.
    const config = loadServerProperties(configPath, {});
    const listener = config.listeners[0]!;
    brokers.push({
      kind: 'kafka',
      id: config.brokerId,
      host: listener.host === '' || listener.host === '0.0.0.0' ? HOST : listener.host,
      port: listener.port,
      dir,
      configPath,
      logPath: join(dir, 'server.log'),
      dataDirs: config.logDirs,
      written,
    });
  }
  return { zookeepers, brokers };
}
