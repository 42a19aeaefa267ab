// A ZooKeeper ensemble of separate OS processes for failover tests and benchmarks: every member
// is launched identically through the real CLI (`node bin/clustergenie.js zookeeper --config
// <zoo.cfg>`) with its own data directory, myid and zoo.cfg (server.N lines on free loopback
// ports), so kill -9, SIGTERM and restart act on real processes with real fsyncs. The same
// launcher can start Apache ZooKeeper 3.8 (QuorumPeerMain from the Debian jars) for comparisons.
//
// Our members run a copy of the compiled code taken at start (see snapshotCode).
// Only PIDs started here are ever signalled; close() (and, as a safety net, the exit hook of
// children.ts) kills what is still running, and the temp directory is removed.
//
// Environment (optional):
//   CG_ENSEMBLE_LOG_LEVEL   log level of our members (default info; their stderr is kept, the
//                           last LOG_TAIL_BYTES per member, for failure messages)
//   CG_ENSEMBLE_LOG=1       copy every member's log output to this process's stderr
//   CG_ENSEMBLE_KEEP=1      keep the data directories (close() prints where they are)

import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APACHE_JAVA, apacheJavaArgs, type ApacheJvmFlavor } from './apacheZk.js';
import { killOnExit } from './children.js';
import { fourLetter } from './net.js';
import { writeEnsembleLayout, type MemberLayout } from '../../src/cluster/ensembleLayout.js';
import { waitFor } from './wait.js';

export type EnsembleFlavor = 'clustergenie' | 'apache';

export interface ProcessEnsembleOptions {
  /** Voting members (3 or 5 usually); default 3. */
  size?: number;
  flavor?: EnsembleFlavor;
  tickTimeMs?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Default true (forceSync=yes). */
  forceSync?: boolean;
  /** Extra zoo.cfg lines for every member (override the defaults). */
  extraConfig?: Record<string, string>;
  /** Log level of our members (default CG_ENSEMBLE_LOG_LEVEL or info). */
  logLevel?: string;
  /** Wait until a leader serves and all members serve before returning (default true). */
  waitServing?: boolean;
  /** Deadline for that (default 30 s). */
  startTimeoutMs?: number;
  /** JVM flags of Apache members (apacheJavaArgs): the tests' quick-start flags, or `stock` for benchmarks. */
  apacheJvm?: ApacheJvmFlavor;
  /** Java system properties for every member: `-Dk=v` on both flavors' command lines. */
  sysProps?: Record<string, string>;
  /** Classpath of Apache members (default apacheClasspath(): Debian's 3.8), e.g. Maven's ZooKeeper 3.9 jars. */
  apacheClasspath?: string;
  /** Extra -D properties of Apache members (e.g. zookeeper.extendedTypesEnabled, which Apache reads only from there). */
  apacheSysProps?: Record<string, string>;
  /**
   * Members laid out but not started, and missing from the others' zoo.cfg (ids after the
   * started ones; their own zoo.cfg lists everyone): servers to add with reconfig. Default 0.
   */
  joiners?: number;
}

export type ProcessMember = MemberLayout;

export type MemberMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only';

const HOST = '127.0.0.1';
const LOG_TAIL_BYTES = 64 * 1024;
const STOP_GRACE_MS = 10_000;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OUR_BIN = join(repoRoot, 'bin', 'clustergenie.js');
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.js')) newest = Math.max(newest, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return newest;
}

/**
 * Copies the compiled server (dist/src, bin, package.json; node_modules linked) to `to` and
 * returns the path of its CLI: every member, and every restart, runs the same code even if
 * dist/ is rebuilt meanwhile (a rebuild under a running test would otherwise make a restarted
 * member fail to load a half-written module). Waits until dist/src has been quiet for a moment.
 */
async function snapshotCode(to: string): Promise<string> {
  const src = join(repoRoot, 'dist', 'src');
  await waitFor(
    async () => {
      const before = await newestMtime(src);
      if (Date.now() - before < 1500) return false;
      await rm(to, { recursive: true, force: true });
      await cp(src, join(to, 'dist', 'src'), { recursive: true, filter: (f) => !f.endsWith('.map') });
      return (await newestMtime(src)) === before;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'dist/src to stay unchanged while it is copied' },
  );
  await mkdir(join(to, 'bin'), { recursive: true });
  await cp(OUR_BIN, join(to, 'bin', 'clustergenie.js'));
  await cp(join(repoRoot, 'package.json'), join(to, 'package.json'));
  await symlink(join(repoRoot, 'node_modules'), join(to, 'node_modules'), 'dir');
  return join(to, 'bin', 'clustergenie.js');
}

/**
 * If this process dies without its exit hook running (SIGKILL, a crash), the pipe to the
 * watchdog closes and it kills the member ($1). Stopped when the member exits first.
 */
const WATCHDOG_SCRIPT = 'while read -r _; do :; done; kill -KILL "$1" 2>/dev/null';

function startWatchdog(pid: number | undefined): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  const w = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'cg-ensemble-watchdog', String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  w.on('error', () => {});
  w.stdin!.on('error', () => {});
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  return w;
}

function stopWatchdog(w: ChildProcess | undefined): void {
  if (w?.pid === undefined || w.exitCode !== null || w.signalCode !== null) return;
  try {
    process.kill(w.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  startedAt: number;
}

interface Slot extends ProcessMember {
  run: Running | undefined;
  /** Log output of every incarnation (tail), with a marker line per start. */
  log: string;
  /** How many times it was launched. */
  starts: number;
}

export class ProcessEnsemble {
  private readonly slots: Slot[];
  /** Exits nobody asked for: member id, code or signal, and when. */
  readonly unexpectedExits: { id: number; code: number | null; signal: string | null; at: number }[] = [];
  private readonly expecting = new Set<ChildProcess>();
  private closed = false;

  private constructor(
    readonly dir: string,
    slots: Slot[],
    readonly flavor: EnsembleFlavor,
    private readonly logLevel: string,
    private readonly bin: string,
    private readonly apacheJvm: ApacheJvmFlavor | undefined = undefined,
    private readonly sysProps: Record<string, string> = {},
    private readonly apacheOpts: Pick<ProcessEnsembleOptions, 'apacheClasspath' | 'apacheSysProps'> = {},
  ) {
    this.slots = slots;
  }

  static async start(opts: ProcessEnsembleOptions = {}): Promise<ProcessEnsemble> {
    const size = opts.size ?? 3;
    const flavor = opts.flavor ?? 'clustergenie';
    const dir = await mkdtemp(join(tmpdir(), flavor === 'apache' ? 'cg-apache-ens-' : 'cg-ens-'));
    const { tickTimeMs, initLimit, syncLimit, forceSync, extraConfig } = opts;
    const joiners = opts.joiners ?? 0;
    const layout = await writeEnsembleLayout(dir, {
      size: size + joiners,
      tickTimeMs,
      initLimit,
      syncLimit,
      forceSync,
      // Apache takes extendedTypesEnabled as a -D flag, not from zoo.cfg.
      extendedTypes: flavor === 'clustergenie',
      extraConfig,
    });
    for (const m of layout.slice(0, size)) {
      const joinerLine = new RegExp(
        `^server\\.(${
          layout
            .slice(size)
            .map((j) => j.id)
            .join('|') || 'none'
        })=.*\\n`,
        'gm',
      );
      await writeFile(m.configPath, (await readFile(m.configPath, 'utf8')).replace(joinerLine, ''));
    }
    const slots: Slot[] = layout.map((m) => ({ ...m, run: undefined, log: '', starts: 0 }));
    let bin = '';
    try {
      if (flavor === 'clustergenie') bin = await snapshotCode(join(dir, 'code'));
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const ens = new ProcessEnsemble(
      dir,
      slots,
      flavor,
      opts.logLevel ?? process.env['CG_ENSEMBLE_LOG_LEVEL'] ?? 'info',
      bin,
      opts.apacheJvm,
      opts.sysProps,
      { apacheClasspath: opts.apacheClasspath, apacheSysProps: opts.apacheSysProps },
    );
    try {
      for (const m of slots.slice(0, size)) ens.launch(m);
      if (opts.waitServing ?? true) await ens.waitServing(size, opts.startTimeoutMs ?? 30_000);
    } catch (e) {
      const logs = ens.logs();
      await ens.close();
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
    return ens;
  }

  // ------------------------------------------------------------------ members

  get size(): number {
    return this.slots.length;
  }

  get ids(): number[] {
    return this.slots.map((s) => s.id);
  }

  member(id: number): ProcessMember {
    const s = this.slots.find((x) => x.id === id);
    if (!s) throw new Error(`no member ${id}`);
    return s;
  }

  private slot(id: number): Slot {
    return this.member(id) as Slot;
  }

  /** `host:port` of every member (or of `ids`, in that order). */
  connectString(ids: readonly number[] = this.ids): string {
    return ids.map((id) => `${HOST}:${this.member(id).clientPort}`).join(',');
  }

  /** `host:port` of each member, in id order (one per load-generator session host). */
  hosts(ids: readonly number[] = this.ids): string[] {
    return ids.map((id) => this.connectString([id]));
  }

  /** The pid of a running member (undefined while it is down). */
  pid(id: number): number | undefined {
    return this.slot(id).run?.child.pid;
  }

  /** When the running incarnation of a member was spawned (Date.now() just after spawn()). */
  startedAt(id: number): number | undefined {
    return this.slot(id).run?.startedAt;
  }

  isRunning(id: number): boolean {
    return this.slot(id).run !== undefined;
  }

  running(): number[] {
    return this.slots.filter((s) => s.run).map((s) => s.id);
  }

  /** The last part of a member's log output (every incarnation). */
  logTail(id: number, bytes = 8192): string {
    return this.slot(id).log.slice(-bytes);
  }

  /** Every member's log tail, for failure messages. */
  logs(bytes = 3000): string {
    return this.slots.map((s) => `--- member ${s.id} (pid ${s.run?.child.pid ?? 'down'}) ---\n${s.log.slice(-bytes)}`).join('\n');
  }

  private launch(m: Slot): void {
    if (this.closed) throw new Error('ensemble closed');
    if (m.run) throw new Error(`member ${m.id} is running already (pid ${m.run.child.pid})`);
    let child: ChildProcess;
    if (this.flavor === 'clustergenie') {
      const defines = Object.entries(this.sysProps).map(([k, v]) => `-D${k}=${v}`);
      child = spawn(process.execPath, [this.bin, 'zookeeper', ...defines, '--config', m.configPath, '--log-level', this.logLevel], {
        cwd: m.dataDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } else {
      const sysProps: Record<string, string> = {
        'zookeeper.admin.enableServer': 'false',
        'zookeeper.4lw.commands.whitelist': '*',
        'zookeeper.log.dir': m.dataDir,
        'org.slf4j.simpleLogger.defaultLogLevel': process.env['APACHE_ZK_LOG_LEVEL'] ?? 'warn',
        'org.slf4j.simpleLogger.logFile': 'System.err',
        'org.slf4j.simpleLogger.showDateTime': 'true',
        ...this.sysProps,
        ...this.apacheOpts.apacheSysProps,
      };
      const args = apacheJavaArgs(
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        [m.configPath],
        sysProps,
        this.apacheJvm,
        this.apacheOpts.apacheClasspath,
      );
      child = spawn(APACHE_JAVA, args, { cwd: m.dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    }
    killOnExit(child);
    const watchdog = startWatchdog(child.pid);
    m.starts++;
    m.log = `${m.log}\n=== start #${m.starts} pid ${child.pid} at ${new Date().toISOString()} ===\n`.slice(-LOG_TAIL_BYTES);
    const onOutput = (d: Buffer): void => {
      m.log = (m.log + d.toString('utf8')).slice(-LOG_TAIL_BYTES);
      if (process.env['CG_ENSEMBLE_LOG'] === '1') process.stderr.write(`[zk${m.id}] ${d.toString('utf8')}`);
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.on('error', (e) => onOutput(Buffer.from(`spawn error: ${e.message}\n`)));
    const run: Running = {
      child,
      startedAt: Date.now(),
      exited: new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          stopWatchdog(watchdog);
          m.log = `${m.log}\n=== pid ${child.pid} exited: ${code ?? signal} ===\n`.slice(-LOG_TAIL_BYTES);
          if (!this.expecting.has(child) && !this.closed) this.unexpectedExits.push({ id: m.id, code, signal, at: Date.now() });
          this.expecting.delete(child);
          if (m.run === run) m.run = undefined;
          resolve({ code, signal });
        }),
      ),
    };
    m.run = run;
  }

  /** Starts a stopped member with its same config and data directory (does not wait for it to serve). */
  start(id: number): void {
    this.launch(this.slot(id));
  }

  /** kill -9 one member; resolves once the process is gone. Returns the time of the kill (ms epoch). */
  async kill9(id: number): Promise<number> {
    const m = this.slot(id);
    const run = m.run;
    if (!run) throw new Error(`member ${id} is not running`);
    this.expecting.add(run.child);
    const at = Date.now();
    process.kill(run.child.pid!, 'SIGKILL');
    await run.exited;
    return at;
  }

  /**
   * SIGTERM one member and wait until it exits (SIGKILL after a grace period: then the clean stop
   * failed, which is reported by the returned value).
   */
  async stop(id: number, graceMs = STOP_GRACE_MS): Promise<{ clean: boolean; code: number | null; signal: string | null }> {
    const m = this.slot(id);
    const run = m.run;
    if (!run) throw new Error(`member ${id} is not running`);
    this.expecting.add(run.child);
    process.kill(run.child.pid!, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      run.exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      try {
        process.kill(run.child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    const { code, signal } = await run.exited;
    return { clean: inTime && code === 0, code, signal };
  }

  /** SIGTERM (clean stop) then start again with the same config and directory. */
  async restart(id: number): Promise<void> {
    await this.stop(id);
    this.start(id);
  }

  // ------------------------------------------------------------------ state through 4lw

  /** `srvr` Mode of a member; undefined when it is down, not serving or not answering. */
  async mode(id: number, timeoutMs = 1000): Promise<MemberMode | undefined> {
    if (!this.isRunning(id)) return undefined;
    try {
      const text = await fourLetter(HOST, this.member(id).clientPort, 'srvr', timeoutMs);
      return /^Mode: (\S+)$/m.exec(text)?.[1] as MemberMode | undefined;
    } catch {
      return undefined;
    }
  }

  async modes(): Promise<Map<number, MemberMode | undefined>> {
    const ms = new Map(await Promise.all(this.ids.map(async (id) => [id, await this.mode(id)] as const)));
    this.lastSeen = this.ids.map((id) => `${id}:${this.isRunning(id) ? (ms.get(id) ?? 'not serving') : 'down'}`).join(' ');
    return ms;
  }

  /** The members' modes as last seen by modes() (for failure messages), e.g. `1:leader 2:down 3:follower`. */
  lastSeen = '';

  /** Whether a member in mode `m` leads: the leader, or the one member of a standalone layout (see waitServing). */
  private leads(m: MemberMode | undefined): boolean {
    return m === 'leader' || (this.size === 1 && m === 'standalone');
  }

  /** The member that leads (srvr says `Mode: leader`, or standalone in a one-member layout); the first, if several claim it. */
  async leader(): Promise<number | undefined> {
    for (const [id, m] of await this.modes()) if (this.leads(m)) return id;
    return undefined;
  }

  /** Members that serve clients (srvr answers with a Mode). */
  async serving(): Promise<number[]> {
    return [...(await this.modes())].filter(([, m]) => m !== undefined).map(([id]) => id);
  }

  /**
   * Waits until a leader serves and at least `k` members serve (all running ones by default;
   * `including` must be among them). Returns the leader's id. A one-member layout runs standalone
   * (Apache's rule: a single voting member with standaloneEnabled=true, the default): there the
   * `standalone` member counts as the leader.
   */
  async waitServing(k = this.running().length, timeoutMs = 30_000, including: readonly number[] = []): Promise<number> {
    return waitFor(
      async () => {
        const ms = await this.modes();
        const up = [...ms].filter(([, m]) => m !== undefined).map(([id]) => id);
        const leaders = [...ms].filter(([, m]) => this.leads(m)).map(([id]) => id);
        if (leaders.length !== 1 || up.length < k || !including.every((id) => up.includes(id))) return undefined;
        return leaders[0];
      },
      {
        timeoutMs,
        intervalMs: 50,
        what: () => `a leader and ${k} serving members${including.length ? ` including ${including}` : ''} (now ${this.lastSeen})`,
      },
    );
  }

  /** Waits until `id` no longer serves (down, looking or not answering). */
  async waitNotServing(id: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(async () => (await this.mode(id)) === undefined, { timeoutMs, intervalMs: 50, what: `member ${id} to stop serving` });
  }

  /** The members' modes now, e.g. `1:leader 2:down 3:follower`. */
  async state(): Promise<string> {
    await this.modes();
    return this.lastSeen;
  }

  // ------------------------------------------------------------------ cleanup

  /** Kills every member still running (SIGKILL, or SIGTERM with `graceful`) and removes the directory. */
  async close(opts: { graceful?: boolean; keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    for (const s of this.slots) {
      if (s.run) {
        if (opts.graceful) await this.stop(s.id).catch(() => undefined);
        else await this.kill9(s.id).catch(() => undefined);
      }
    }
    this.closed = true;
    if (opts.keep || process.env['CG_ENSEMBLE_KEEP'] === '1') {
      process.stderr.write(`ensemble data kept in ${this.dir}\n`);
      return;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
