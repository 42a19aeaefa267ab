// A ZooKeeper ensemble and Kafka brokers run as separate processes of this build's
// `main.js zookeeper|kafka --config <file>`: what `clustergenie up` supervises, and what fault
// tests drive (kill -9 a broker, SIGSTOP it past its session timeout, restart it). Each node is
// reached by id; its PID, port, directory, config and log file are exposed.
//
// Children run in their own process group (detached), so a Ctrl-C at the terminal reaches only
// the supervisor, which stops brokers before the ensemble they deregister from. Every child
// still running when this process exits is SIGKILLed (the 'exit' hook); a SIGKILL of this
// process itself cannot be caught, and leaves them running.

import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BrokerClient } from '../kafka/net/brokerClient.js';
import { ZooKeeperClient } from '../zookeeper/client/index.js';
import { type NodeKind, type NodeLayout, type ProcessClusterLayoutOptions, writeProcessClusterLayout } from './processClusterLayout.js';

export type { NodeKind, NodeLayout } from './processClusterLayout.js';

export interface ProcessClusterOptions extends ProcessClusterLayoutOptions {
  /** Passed to every child as --log-level (default: the children's own default, warn). */
  logLevel?: string;
  /** Children's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The CLI entry point to run (default: main.js of the build this file belongs to). */
  mainJs?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when this library sent the signal (kill, stop, stopAll); false for a death of its own. */
  expected: boolean;
}

export interface ProcessClusterEvents {
  /** A child ended: by a fault this library injected, a stop, or by itself. */
  exit: [node: ClusterNode, info: ExitInfo];
}

/** Bound of the log tail read into error messages. */
const logTailBytesMax = 4096;
/** How long a start waits for a previous process's registration to expire (Kafka's session timeout is 18 s by default). */
const staleRegistrationWaitMs = 60_000;
/** How often serving checks poll. */
const pollIntervalMs = 100;

const live = new Set<ChildProcess>();
let exitHooked = false;

function killLiveChildren(): void {
  for (const c of live) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/**
 * SIGKILLs every child still running when this process exits (normally or by an uncaught error),
 * or is ended by SIGINT/SIGTERM/SIGHUP while it has no handler of its own for that signal (a
 * test runner stopping a test file): the signal's default action skips 'exit' handlers, and
 * detached children would outlive it. A process with its own handler (`up`) stops them itself.
 */
function hookProcessExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killLiveChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) > 0) continue;
    const onSignal = (): void => {
      killLiveChildren();
      process.off(sig, onSignal);
      process.kill(process.pid, sig); // the default action now: die of that signal
    };
    process.on(sig, onSignal);
  }
}

/** Makes `child` one of the children SIGKILLed when this process exits (see hookProcessExit). */
export function trackChild(child: ChildProcess): void {
  hookProcessExit();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function defaultMainJs(): string {
  // src/cluster/processCluster.js -> src/cli/main.js in the same build (dist/ or .build-*/).
  return fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

/** Bound of one ZooKeeper read made to check a broker (the ensemble may be without quorum). */
const zkCheckTimeoutMs = 5000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One four-letter word's whole reply (empty on any failure). */
function fourLetterWord(host: string, port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** One ZooKeeper member or Kafka broker and its current process, if any. */
export class ClusterNode {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<ExitInfo> | undefined;
  private expectExit = false;
  private isPaused = false;
  /** czxid of /brokers/ids/<id> before the current process started (a stale registration is not it serving). */
  private staleRegistration: number | undefined;
  /** How the last process ended. */
  lastExit: ExitInfo | undefined;
  /** Processes started for this node so far. */
  starts = 0;

  constructor(
    private readonly cluster: ProcessCluster,
    readonly layout: NodeLayout,
  ) {}

  get kind(): NodeKind {
    return this.layout.kind;
  }
  get id(): number {
    return this.layout.id;
  }
  get host(): string {
    return this.layout.host;
  }
  get port(): number {
    return this.layout.port;
  }
  get dir(): string {
    return this.layout.dir;
  }
  get configPath(): string {
    return this.layout.configPath;
  }
  get logPath(): string {
    return this.layout.logPath;
  }
  /** The running process's PID; undefined while none runs. */
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
  get paused(): boolean {
    return this.alive && this.isPaused;
  }
  /** "ZooKeeper member 2" / "Kafka broker 3". */
  get name(): string {
    return `${this.kind === 'zookeeper' ? 'ZooKeeper member' : 'Kafka broker'} ${this.id}`;
  }

  /** Starts a process for this node (it must not be running); does not wait until it serves. */
  async start(): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running (pid ${this.child!.pid})`);
    if (this.kind === 'kafka') await this.awaitNoRegistration();
    const o = this.cluster.options;
    const args = [o.mainJs ?? defaultMainJs(), this.kind, '--config', this.configPath];
    if (o.logLevel) args.push('--log-level', o.logLevel);
    const fd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `--- ${new Date().toISOString()} starting: ${process.execPath} ${args.join(' ')}\n`);
      child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], detached: true, env: o.env ?? process.env });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    hookProcessExit();
    live.add(child);
    this.child = child;
    this.expectExit = false;
    this.isPaused = false;
    this.starts++;
    this.exitPromise = new Promise<ExitInfo>((resolve) => {
      child.once('error', () => undefined); // a failed spawn also emits 'exit'/'close'
      child.once('exit', (code, signal) => {
        live.delete(child);
        const info: ExitInfo = { code, signal, expected: this.expectExit };
        if (this.child === child) this.lastExit = info;
        resolve(info);
        this.cluster.emit('exit', this, info);
      });
    });
  }

  /**
   * A broker killed without a clean stop stays in /brokers/ids until its ZooKeeper session
   * expires, and a broker refuses to start while its id is registered by another session (as
   * Kafka does), so a restart waits for that registration to go.
   */
  private async awaitNoRegistration(): Promise<void> {
    const deadline = Date.now() + staleRegistrationWaitMs;
    for (;;) {
      const czxid = await this.cluster.registrationCzxid(this.id).catch(() => undefined);
      this.staleRegistration = czxid;
      if (czxid === undefined) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name}: /brokers/ids/${this.id} is still registered by another session after ${staleRegistrationWaitMs} ms ` +
            '(another broker with this id is running?)',
        );
      }
      await sleep(pollIntervalMs);
    }
  }

  /** Resolves once this node serves: ZooKeeper in a quorum (srvr Mode), Kafka answering and registered. */
  async waitServing(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'not started';
    for (;;) {
      if (!this.alive) {
        const e = this.lastExit;
        throw new Error(
          `${this.name} exited before serving (${e?.signal ? `signal ${e.signal}` : `exit code ${e?.code}`}); log ${this.logPath}:\n${this.logTail()}`,
        );
      }
      const status = await this.servingStatus();
      if (status === true) return;
      last = status;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} (pid ${this.pid}) not serving after ${timeoutMs} ms: ${last}; log ${this.logPath}:\n${this.logTail()}`,
        );
      }
      await sleep(pollIntervalMs);
    }
  }

  /** True when serving, else why not. */
  async servingStatus(): Promise<true | string> {
    if (this.kind === 'zookeeper') {
      const reply = await fourLetterWord(this.host, this.port, 'srvr');
      const mode = /Mode: (\w+)/.exec(reply)?.[1];
      return mode === 'leader' || mode === 'follower' || mode === 'observer' || mode === 'standalone'
        ? true
        : `srvr: ${reply.trim() || 'no answer'}`;
    }
    let client: BrokerClient | undefined;
    try {
      client = await BrokerClient.connect({ host: this.host, port: this.port, clientId: 'clustergenie-up', connectTimeoutMs: 2000 });
      const r = await client.request(18, 3, { clientSoftwareName: 'clustergenie-up', clientSoftwareVersion: '1' }, { timeoutMs: 2000 });
      if (r.errorCode !== 0) return `ApiVersions error ${String(r.errorCode)}`;
    } catch (e) {
      return (e as Error).message;
    } finally {
      client?.close();
    }
    const czxid = await this.cluster.registrationCzxid(this.id).catch(() => undefined);
    if (czxid === undefined) return `not in /brokers/ids yet`;
    if (czxid === this.staleRegistration) return `/brokers/ids/${this.id} is still the previous process's registration`;
    return true;
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<ExitInfo | undefined> {
    return this.signalAndWait('SIGKILL');
  }

  /** SIGTERM (the node shuts down cleanly) and wait; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<ExitInfo | undefined> {
    if (!this.alive) return this.lastExit;
    const done = this.signalAndWait('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing (its ZooKeeper session can expire). */
  pause(): void {
    if (!this.alive) throw new Error(`${this.name} is not running`);
    this.child!.kill('SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    if (!this.alive) throw new Error(`${this.name} is not running`);
    this.child!.kill('SIGCONT');
    this.isPaused = false;
  }

  /** Stops (SIGTERM, or SIGKILL when `hard`), starts again and waits until it serves. */
  async restart(o: { hard?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (o.hard) await this.kill();
    else await this.stop();
    await this.start();
    await this.waitServing(o.timeoutMs);
  }

  /** The end of this node's log file, for error messages. */
  logTail(): string {
    try {
      const text = readFileSync(this.logPath);
      return text.subarray(Math.max(0, text.length - logTailBytesMax)).toString('utf8');
    } catch {
      return '(no log)';
    }
  }

  /** Sends `sig` (waking a paused process so it can act on it) and marks the exit as expected. */
  private signal(sig: NodeJS.Signals): void {
    if (!this.alive) return;
    this.expectExit = true;
    this.child!.kill(sig);
    if (this.isPaused && sig !== 'SIGKILL') this.child!.kill('SIGCONT');
    this.isPaused = false;
  }

  private async signalAndWait(sig: NodeJS.Signals): Promise<ExitInfo | undefined> {
    if (!this.alive) return this.lastExit;
    const exited = this.exitPromise!;
    this.signal(sig);
    return exited;
  }
}

/** N ZooKeeper members and M Kafka brokers, each its own child process. */
export class ProcessCluster extends EventEmitter<ProcessClusterEvents> {
  readonly zookeepers: ClusterNode[];
  readonly brokers: ClusterNode[];
  private zk: ZooKeeperClient | undefined;
  private zkConnecting: Promise<ZooKeeperClient> | undefined;

  private constructor(
    readonly options: ProcessClusterOptions,
    layout: { zookeepers: NodeLayout[]; brokers: NodeLayout[] },
  ) {
    super();
    this.zookeepers = layout.zookeepers.map((l) => new ClusterNode(this, l));
    this.brokers = layout.brokers.map((l) => new ClusterNode(this, l));
  }

  /** Writes the missing config files; starts nothing. */
  static async create(options: ProcessClusterOptions): Promise<ProcessCluster> {
    return new ProcessCluster(options, await writeProcessClusterLayout(options));
  }

  /** create() and startAll(); on failure every started child is killed before the error is thrown. */
  static async start(options: ProcessClusterOptions & { startTimeoutMs?: number }): Promise<ProcessCluster> {
    const c = await ProcessCluster.create(options);
    try {
      await c.startAll(options.startTimeoutMs);
    } catch (e) {
      await c.close(5000);
      throw e;
    }
    return c;
  }

  get nodes(): ClusterNode[] {
    return [...this.zookeepers, ...this.brokers];
  }

  zookeeper(id: number): ClusterNode {
    const n = this.zookeepers.find((z) => z.id === id);
    if (!n) throw new Error(`no ZooKeeper member ${id}`);
    return n;
  }

  broker(id: number): ClusterNode {
    const n = this.brokers.find((b) => b.id === id);
    if (!n) throw new Error(`no Kafka broker ${id}`);
    return n;
  }

  /** host:port of every member, as zookeeper.connect takes it. */
  get zkConnect(): string {
    return this.zookeepers.map((z) => `${z.host}:${z.port}`).join(',');
  }

  /** host:port of every broker, as bootstrap.servers takes it. */
  get bootstrap(): string {
    return this.brokers.map((b) => `${b.host}:${b.port}`).join(',');
  }

  /** All members at once, until they serve; then all brokers at once, until they serve. */
  async startAll(timeoutMs = 60_000): Promise<void> {
    await this.startGroup(this.zookeepers, timeoutMs);
    await this.startGroup(this.brokers, timeoutMs);
  }

  async startGroup(nodes: readonly ClusterNode[], timeoutMs = 60_000): Promise<void> {
    for (const n of nodes) if (!n.alive) await n.start();
    // allSettled: one failure must not leave the others' waits running after we report it.
    const results = await Promise.allSettled(nodes.map((n) => n.waitServing(timeoutMs)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** A ZooKeeper client on the ensemble (one, shared; closed by close()). */
  async zkClient(): Promise<ZooKeeperClient> {
    if (this.zk) return this.zk;
    this.zkConnecting ??= (async () => {
      const c = new ZooKeeperClient({ connectString: this.zkConnect, sessionTimeoutMs: 10_000 });
      c.on('expired', () => void c.connect().catch(() => undefined));
      try {
        await c.connect();
      } catch (e) {
        this.zkConnecting = undefined;
        await c.close().catch(() => undefined);
        throw e;
      }
      this.zk = c;
      return c;
    })();
    return this.zkConnecting;
  }

  /** Broker ids registered in /brokers/ids, sorted. */
  async registeredBrokers(): Promise<number[]> {
    const ids = await withTimeout(
      this.zkClient().then((zk) => zk.getChildren('/brokers/ids').catch(() => [] as string[])),
      zkCheckTimeoutMs,
      'reading /brokers/ids',
    );
    return ids.map(Number).sort((a, b) => a - b);
  }

  /** czxid of /brokers/ids/<id> (the broker epoch), or undefined when not registered. */
  async registrationCzxid(id: number): Promise<number | undefined> {
    if (this.zookeepers.every((z) => !z.alive)) return undefined;
    const stat = await withTimeout(
      this.zkClient().then((zk) => zk.exists(`/brokers/ids/${id}`)),
      zkCheckTimeoutMs,
      `reading /brokers/ids/${id}`,
    );
    return stat ? Number(stat.czxid) : undefined;
  }

  /**
   * Stops everything: brokers with SIGTERM (controlled shutdown while the ensemble is still up),
   * then the members; whatever has not exited by its deadline is SIGKILLed.
   */
  async stopAll(o: { brokerTimeoutMs?: number; zkTimeoutMs?: number } = {}): Promise<void> {
    await this.closeZkClient();
    await Promise.all(this.brokers.map((b) => b.stop(o.brokerTimeoutMs ?? 30_000)));
    await Promise.all(this.zookeepers.map((z) => z.stop(o.zkTimeoutMs ?? 10_000)));
  }

  /** SIGKILL to every child at once (the second Ctrl-C). */
  async killAll(): Promise<void> {
    await this.closeZkClient();
    await Promise.all(this.nodes.map((n) => n.kill()));
  }

  /** stopAll with one overall bound per group (tests' cleanup). */
  async close(timeoutMs = 30_000): Promise<void> {
    await this.stopAll({ brokerTimeoutMs: timeoutMs, zkTimeoutMs: timeoutMs });
  }

  private async closeZkClient(): Promise<void> {
    const pending = this.zkConnecting;
    this.zk = undefined;
    this.zkConnecting = undefined;
    const c = await pending?.catch(() => undefined);
    await c?.close().catch(() => undefined);
  }
}
