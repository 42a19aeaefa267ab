// Drives the ZooKeeper C client's shell, cli_mt (Debian zookeeper-bin, C client 3.8.0), as a
// child process. cli_mt runs every command asynchronously and prints results on stderr, so each
// command is sent only after the previous one's result has been seen (a regex on the output
// that followed it). `myid` prints on stdout, which is block-buffered: it shows up at exit.

import { spawn, type ChildProcess } from 'node:child_process';
import { killOnExit } from '../../helpers/children.js';

export const CLI_MT = process.env['CLI_MT'] ?? '/usr/lib/zookeeper/bin/cli_mt';
const DEADLINE_MS = 10_000;

export class CliMt {
  /** Everything printed on stderr so far. */
  err = '';
  out = '';
  private waiters: (() => void)[] = [];
  private readonly exited: Promise<number | null>;
  /** Session id from "Got a new session id: 0x...". */
  sessionId = 0n;

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8');
    child.stdout!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.err += d;
      this.wake();
    });
    child.stdout!.on('data', (d: string) => {
      this.out += d;
      this.wake();
    });
    this.exited = new Promise((r) =>
      child.once('exit', (code) => {
        this.wake();
        r(code);
      }),
    );
  }

  /** Starts cli_mt with `args` (e.g. ['-h', 'host:port']) and waits for its session. */
  static async start(args: string[], cwd: string): Promise<CliMt> {
    const child = spawn(CLI_MT, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    killOnExit(child);
    const c = new CliMt(child);
    try {
      const m = await c.waitFor(/Got a new session id: 0x([0-9a-f]+)\n/, 0, 'session');
      c.sessionId = BigInt(`0x${m[1]}`);
    } catch (e) {
      c.kill();
      throw e;
    }
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until stderr from offset `from` matches `re`. */
  async waitFor(re: RegExp, from: number, what: string, ms = DEADLINE_MS): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.err.slice(from));
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`cli_mt exited while waiting for ${what}:\n${this.err}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`cli_mt: timed out waiting for ${what}:\n${this.err}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends one command; resolves with the stderr text that followed it once `until` matches. */
  async run(command: string, until: RegExp): Promise<string> {
    const from = this.err.length;
    this.child.stdin!.write(`${command}\n`);
    const m = await this.waitFor(until, from, `result of "${command}"`);
    return this.err.slice(from, from + m.index + m[0].length);
  }

  /** Sends `quit` and waits for the process to exit; returns its exit code. */
  async quit(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin!.end('quit\n');
      const t = setTimeout(() => this.kill(), DEADLINE_MS);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    }
    return this.child.exitCode;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
