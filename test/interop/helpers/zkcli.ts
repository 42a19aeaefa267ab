// Drives Apache ZooKeeper's Java CLI (zkCli.sh, i.e. org.apache.zookeeper.ZooKeeperMain from the
// Debian package) as a child process. One JVM per session; commands are written to its stdin one
// at a time. JLine is not on the classpath, so the CLI prints no prompt; after each command we
// send `printwatches` (purely local, prints "printwatches is on") and use that line as the end of
// the command's output. stdout and stderr are merged (2>&1) because zkCli prints results on
// stdout and many messages ("Created /x", "Node already exists: /x") on stderr, both line-flushed
// from the same thread, so their order is preserved.
//
// Watch notifications are printed by the client's event thread and can land between any two
// lines, so they are pulled out of the command output into `events`.
//
// Environment overrides: JAVA (java binary), ZKCLI_CLASSPATH (default: what zkCli.sh uses).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { killOnExit } from '../../helpers/children.js';

const JAVA = process.env['JAVA'] ?? '/usr/bin/java';
const CLASSPATH = process.env['ZKCLI_CLASSPATH'] ?? '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';
const MARKER = 'printwatches is on';
const COMMAND_DEADLINE_MS = 15_000;

export interface ZkCliTranscript {
  /** Output lines of each command, in order (watch events, blank lines and "WATCHER::" removed). */
  outputs: string[][];
  /** `WatchedEvent ...` lines in arrival order (including the initial SyncConnected and the final Closed). */
  events: string[];
  /** Everything the process printed (stdout+stderr), for failure messages. */
  raw: string;
}

export class ZkCliSession {
  private buf = '';
  private raw = '';
  private current: string[] = [];
  private readonly outputs: string[][] = [];
  readonly events: string[] = [];
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly server: string,
  ) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.onData(d));
    this.exited = new Promise((r) =>
      child.once('exit', (code) => {
        this.wake();
        r(code);
      }),
    );
  }

  /**
   * Starts zkCli against `server` (host:port) and waits until its session is connected. With
   * `readOnly`, zkCli's `-r` (a session that a read-only server may take): it then waits for
   * ConnectedReadOnly or SyncConnected, without -waitforconnection (which waits for SyncConnected only).
   * `flags`: -D flags as CLIENT_JVMFLAGS would pass them; `classpath`: jars to add.
   */
  static async start(
    server: string,
    opts: { readOnly?: boolean; flags?: readonly string[]; classpath?: readonly string[] } = {},
  ): Promise<ZkCliSession> {
    // `exec` so the PID we hold is the JVM itself (zkCli.sh would leave java as a grandchild).
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'exec "$0" "$@" 2>&1',
        JAVA,
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        ...(opts.flags ?? []),
        '-cp',
        [CLASSPATH, ...(opts.classpath ?? [])].join(':'),
        'org.apache.zookeeper.ZooKeeperMain',
        ...(opts.readOnly ? ['-r'] : ['-waitforconnection']),
        '-timeout',
        '30000',
        '-server',
        server,
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    killOnExit(child);
    const s = new ZkCliSession(child, server);
    try {
      const connected = opts.readOnly ? /state:(ConnectedReadOnly|SyncConnected) type:None/ : /state:SyncConnected type:None/;
      await s.until(() => s.events.some((e) => connected.test(e)), opts.readOnly ? 'ConnectedReadOnly' : 'SyncConnected');
    } catch (e) {
      await s.killAndWait();
      throw e;
    }
    return s;
  }

  private onData(d: string): void {
    this.raw += d;
    this.buf += d;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.onLine(line);
    }
    this.wake();
  }

  private onLine(line: string): void {
    if (line.startsWith('WatchedEvent ')) {
      this.events.push(line);
      return;
    }
    if (
      line === '' ||
      line === 'WATCHER::' ||
      line.startsWith('SLF4J:') ||
      line.startsWith('Connecting to ') ||
      line === 'Welcome to ZooKeeper!' ||
      line === 'JLine support is disabled'
    ) {
      return;
    }
    if (line === MARKER) {
      this.outputs.push(this.current);
      this.current = [];
      return;
    }
    this.current.push(line);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits (with a deadline) until `cond` holds; fails if the JVM exits first. */
  async until(cond: () => boolean, what: string, timeoutMs = COMMAND_DEADLINE_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`zkCli exited while waiting for ${what}:\n${this.raw}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`zkCli: timed out after ${timeoutMs} ms waiting for ${what}:\n${this.raw}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Runs one CLI command and returns its output lines (without watch events). */
  async run(command: string): Promise<string[]> {
    if (command.includes('\n')) throw new Error('one command per call');
    const n = this.outputs.length;
    this.child.stdin!.write(`${command}\nprintwatches\n`);
    await this.until(() => this.outputs.length > n, `output of "${command}"`);
    return this.outputs[n]!;
  }

  /** Waits for a watch event line matching `re` (events already received count). */
  async event(re: RegExp, timeoutMs = COMMAND_DEADLINE_MS): Promise<string> {
    await this.until(() => this.events.some((e) => re.test(e)), `event ${re}`, timeoutMs);
    return this.events.find((e) => re.test(e))!;
  }

  /** `quit` (closes the session, prints the Closed event) and waits for the JVM to exit. */
  async quit(): Promise<ZkCliTranscript> {
    if (this.child.exitCode === null) {
      this.child.stdin!.end('quit\n');
      const t = setTimeout(() => this.kill(), COMMAND_DEADLINE_MS);
      await this.exited;
      clearTimeout(t);
    }
    if (this.current.length > 0) this.outputs.push(this.current);
    this.current = [];
    return { outputs: this.outputs, events: this.events, raw: this.raw };
  }

  /** Kills the JVM (no closeSession is sent). */
  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  async killAndWait(): Promise<void> {
    this.kill();
    await this.exited;
  }
}

/** Runs `commands` in one zkCli session and quits. */
export async function zkCliScript(server: string, commands: readonly string[]): Promise<ZkCliTranscript> {
  const s = await ZkCliSession.start(server);
  try {
    for (const c of commands) await s.run(c);
  } catch (e) {
    await s.killAndWait();
    throw e;
  }
  return s.quit();
}

/**
 * Makes two servers' transcripts comparable: times, session ids and the order of unordered
 * collections are normalised; zxids and versions are kept (both servers start empty and see the
 * same transactions, so they must agree).
 */
export function normalizeLines(lines: readonly string[]): string[] {
  const out = lines.map((l) =>
    l
      .replace(/^(ctime|mtime) = .*$/, '$1 = <time>')
      .replace(/^ephemeralOwner = 0x(?!0$)[0-9a-f]+$/, 'ephemeralOwner = <session>')
      // `[a, b]` lists: getEphemerals returns them in hash order.
      .replace(/^\[(.*)\]$/, (_m, body: string) => `[${body === '' ? '' : body.split(', ').sort().join(', ')}]`),
  );
  // Runs of absolute paths (ls -R prints a BFS whose per-level order is the server's) and of
  // `scheme: id` lines (whoami prints the connection's auth ids in hash order) are sorted.
  const sorted: string[] = [];
  let run: string[] = [];
  let runKind = '';
  const flush = (): void => {
    sorted.push(...run.sort());
    run = [];
  };
  for (const l of out) {
    const kind = l.startsWith('/') ? 'path' : /^(ip|digest|super|sasl|x509): /.test(l) ? 'auth' : '';
    if (kind !== runKind) flush();
    runKind = kind;
    if (kind) run.push(l);
    else sorted.push(l);
  }
  flush();
  return sorted;
}

export function normalizeTranscript(t: ZkCliTranscript): { outputs: string[][]; events: string[] } {
  return { outputs: t.outputs.map(normalizeLines), events: withoutFinalClosed(t.events) };
}

/**
 * The events without a final `state:Closed`: zkCli's `quit` closes the session and then calls
 * System.exit while the client's event thread may still be printing that event, so whether it
 * shows up is a race inside zkCli (seen on both servers under load), not a server behaviour.
 * That closeSession is answered is checked by the two-session tests (NodeDeleted on quit).
 */
export function withoutFinalClosed(events: readonly string[]): string[] {
  const last = events.at(-1);
  return last !== undefined && /^WatchedEvent state:Closed /.test(last) ? events.slice(0, -1) : [...events];
}

/** Outputs of a transcript, looked up by command text (`nth` for repeated commands). */
export function outputsOf(commands: readonly string[], t: ZkCliTranscript): (cmd: string, nth?: number) => string[] {
  assert.equal(t.outputs.length, commands.length, `one output per command expected:\n${t.raw}`);
  return (cmd, nth = 0) => {
    let seen = 0;
    for (let i = 0; i < commands.length; i++) {
      if (commands[i] === cmd && seen++ === nth) return t.outputs[i]!;
    }
    throw new Error(`command not in script: ${cmd} #${nth}`);
  };
}

/** Every command's output, normalised, is the same on ours as on Apache ZooKeeper. */
export function assertSameOutputs(commands: readonly string[], ours: ZkCliTranscript, apache: ZkCliTranscript): void {
  const a = normalizeTranscript(ours);
  const b = normalizeTranscript(apache);
  for (let i = 0; i < commands.length; i++) {
    assert.deepEqual(a.outputs[i], b.outputs[i], `zkCli output of "${commands[i]}" differs from Apache ZooKeeper's`);
  }
  assert.deepEqual(a.outputs.length, b.outputs.length);
}
