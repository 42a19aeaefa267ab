// The on-disk layout of a loopback ensemble: one directory per member with its myid and a zoo.cfg
// listing every member, exactly what `clustergenie zookeeper --config` (or Apache's
// QuorumPeerMain) reads. Shared by `clustergenie up`, the in-process testing cluster and the
// process-based test ensembles, so the three are configured the same way.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stablePort } from '../util/net.js';

export interface EnsembleLayoutOptions {
  /** Voting members (default 3). */
  size?: number;
  observers?: number;
  tickTimeMs?: number;
  initLimit?: number;
  syncLimit?: number;
  forceSync?: boolean;
  /** ClusterGenie/Apache option for TTL nodes; on unless false (Apache takes it as a -D flag). */
  extendedTypes?: boolean;
  /** Fixed ports: member N gets base + N - 1. Without them, free ports below the ephemeral range. */
  portBases?: { client: number; quorum: number; election: number };
  /** Extra zoo.cfg lines for every member, or per member id. */
  extraConfig?: Record<string, string> | ((id: number) => Record<string, string>);
  /** A comment written at the top of each zoo.cfg. */
  header?: string;
}

export interface MemberLayout {
  id: number;
  observer: boolean;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dataDir: string;
  configPath: string;
}

const HOST = '127.0.0.1';

/** Writes `<dir>/zk<N>/{myid,zoo.cfg}` for every member and returns where everything is. */
export async function writeEnsembleLayout(dir: string, opts: EnsembleLayoutOptions = {}): Promise<MemberLayout[]> {
  const size = opts.size ?? 3;
  const total = size + (opts.observers ?? 0);
  // Distinct ports for everyone (random free ports could repeat).
  const taken = new Set<number>();
  const freshPort = async (): Promise<number> => {
    for (;;) {
      const p = await stablePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const members: MemberLayout[] = [];
  for (let id = 1; id <= total; id++) {
    const dataDir = join(dir, `zk${id}`);
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'myid'), `${id}\n`);
    const b = opts.portBases;
    members.push({
      id,
      observer: id > size,
      clientPort: b ? b.client + id - 1 : await freshPort(),
      quorumPort: b ? b.quorum + id - 1 : await freshPort(),
      electionPort: b ? b.election + id - 1 : await freshPort(),
      dataDir,
      configPath: join(dataDir, 'zoo.cfg'),
    });
  }
  const serverLines = members.map(
    (m) => `server.${m.id}=${HOST}:${m.quorumPort}:${m.electionPort}${m.observer ? ':observer' : ''};${HOST}:${m.clientPort}`,
  );
  for (const m of members) {
    const extra = typeof opts.extraConfig === 'function' ? opts.extraConfig(m.id) : opts.extraConfig;
    const cfg: Record<string, string> = {
      tickTime: String(opts.tickTimeMs ?? 200),
      initLimit: String(opts.initLimit ?? 10),
      syncLimit: String(opts.syncLimit ?? 5),
      dataDir: m.dataDir,
      clientPort: String(m.clientPort),
      clientPortAddress: HOST,
      forceSync: opts.forceSync === false ? 'no' : 'yes',
      '4lw.commands.whitelist': '*',
      'admin.enableServer': 'false',
      maxClientCnxns: '0',
      ...(opts.extendedTypes === false ? {} : { extendedTypesEnabled: 'true' }),
      ...(m.observer ? { peerType: 'observer' } : {}),
      ...extra,
    };
    const head = opts.header ? `# ${opts.header}\n` : '';
    const text =
      head +
      Object.entries(cfg)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') +
      '\n' +
      serverLines.join('\n') +
      '\n';
    await writeFile(m.configPath, text);
  }
  return members;
}
