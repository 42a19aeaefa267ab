// `clustergenie zk [--server host:port,...] [--json] <command>`: a ZooKeeper client on the command line
// (ls, get, set, create, delete, stat, getAcl, watch, tree, export, import) and, with no command on a
// terminal or as `zk shell`, an interactive shell running the same commands (zkShell.ts). It speaks
// the public protocol through our client (src/zookeeper/client), so it works against Apache
// ZooKeeper too. Exit codes: exitCodes.ts (NONODE 4; NODEEXISTS, BADVERSION, NOTEMPTY 5; no
// connection 6; bad path or flag 2).

import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ZooKeeperClient } from '../zookeeper/client/client.js';
import { isZooKeeperError, ZooKeeperError } from '../zookeeper/client/errors.js';
import { removeRecursive } from '../zookeeper/client/recipes.js';
import type { Acl, Stat, WatchedEvent } from '../zookeeper/client/types.js';
import { AddWatchMode, CreateMode, Err, EventType, Perms, WatcherType } from '../zookeeper/protocol/constants.js';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson, printJsonLine, printTable, progressBar, showText } from './output.js';
import { clientProgram, intOption, runProgram, subcommand } from './program.js';
import { applyImport, flattenPaths, planImport, renderTree, toZnodeTree, walkTree, type WalkNode } from './zkTree.js';

export const zkServerDefault = '127.0.0.1:2181';
/** How long to wait for a session, and for a lost connection to come back, before giving up (exit 6). */
export const zkTimeoutMsDefault = 5000;
/** Largest export/import file read (the export of zkTreeNodesMax small nodes fits). */
const importFileBytesMax = 256 * 1024 * 1024;

/** One connection shared by the commands of a run (one-shot) or of a shell. */
export class ZkSession {
  private connecting: Promise<ZooKeeperClient> | undefined;
  private zk: ZooKeeperClient | undefined;
  private lostError: CliError | undefined;
  private lostTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<(e: Error) => void>();

  constructor(
    readonly server: string,
    readonly timeoutMs: number,
  ) {}

  /** The connected client (connects on first use; a shell reconnects after an expiry). */
  client(): Promise<ZooKeeperClient> {
    if (this.zk?.state === 'expired') this.connecting = undefined;
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<ZooKeeperClient> {
    let zk = this.zk;
    if (zk === undefined) {
      try {
        zk = new ZooKeeperClient({
          connectString: this.server,
          sessionTimeoutMs: Math.max(6000, 2 * this.timeoutMs),
          closeTimeoutMs: 1000,
        });
      } catch (e) {
        throw new CliError(
          `bad --server ${JSON.stringify(this.server)}: ${(e as Error).message} (expected host:port[,host:port...][/chroot])`,
          ExitCode.usage,
        );
      }
      this.zk = zk;
      zk.on('disconnected', () => {
        this.lostTimer ??= setTimeout(() => this.lose(`not reconnected within ${this.timeoutMs} ms`), this.timeoutMs);
      });
      zk.on('connected', () => {
        clearTimeout(this.lostTimer);
        this.lostTimer = undefined;
        this.lostError = undefined;
      });
      zk.on('expired', () => this.lose('session expired'));
    }
    try {
      await zk.connect({ timeoutMs: this.timeoutMs });
    } catch (e) {
      this.connecting = undefined;
      throw unavailable(this.server, `no session within ${this.timeoutMs} ms (${(e as Error).message})`);
    }
    return zk;
  }

  private lose(why: string): void {
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    this.lostError = unavailable(this.server, why);
    for (const w of this.waiters) w(this.lostError);
    this.waiters.clear();
  }

  /** `p`, or exit 6 when the connection is lost for longer than the timeout meanwhile. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.lostError) return Promise.reject(this.lostError);
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      p.then(
        (v) => {
          this.waiters.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.waiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.lostTimer);
    await this.zk?.close();
  }
}

const unavailable = (server: string, why: string): CliError =>
  new CliError(`cannot reach ZooKeeper at ${server}: ${why}; check --server and that the ensemble has a quorum`, ExitCode.unavailable);

/** A ZooKeeper error as the exit code and message a user can act on (pure). */
export function zkCliError(e: ZooKeeperError, server: string): CliError {
  const p = e.path ?? '';
  switch (e.code) {
    case Err.NONODE:
      return new CliError(`no znode ${p} (NONODE)`, ExitCode.notFound);
    case Err.NODEEXISTS:
      return new CliError(`znode ${p} already exists (NODEEXISTS)`, ExitCode.conflict);
    case Err.BADVERSION:
      return new CliError(`znode ${p} is not at that version (BADVERSION): read its version with \`stat ${p}\``, ExitCode.conflict);
    case Err.NOTEMPTY:
      return new CliError(`znode ${p} has children (NOTEMPTY): delete them first, or use delete -r`, ExitCode.conflict);
    case Err.NOCHILDRENFOREPHEMERALS:
      return new CliError(`znode ${p} is ephemeral and cannot have children (NOCHILDRENFOREPHEMERALS)`, ExitCode.conflict);
    case Err.BADARGUMENTS:
      return new CliError(
        `${e.message.replace(/^BADARGUMENTS /, '')} (a path starts with / and has no empty, . or .. parts)`,
        ExitCode.usage,
      );
    case Err.NOAUTH:
      return new CliError(`not allowed on ${p} (NOAUTH): the node's ACL does not grant this session the permission`, ExitCode.failure);
    case Err.CONNECTIONLOSS:
    case Err.OPERATIONTIMEOUT:
    case Err.REQUESTTIMEOUT:
    case Err.SESSIONEXPIRED:
      return unavailable(server, e.message);
    default:
      return new CliError(`${e.message}`, ExitCode.failure);
  }
}

/** What a command run needs besides its arguments. */
export interface ZkRunContext {
  /** The shell's session; a one-shot run opens its own from --server. */
  session?: ZkSession;
  /** Aborts a running `watch` (Ctrl-C in the shell). */
  signal?: AbortSignal;
}

interface Globals {
  server: string;
  json?: boolean;
  timeoutMs: number;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** A Stat as the `--json` documents carry it. */
export function statJson(s: Stat): Record<string, number | string> {
  return {
    czxid: s.czxid,
    mzxid: s.mzxid,
    pzxid: s.pzxid,
    ctime: s.ctime,
    mtime: s.mtime,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: hex(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

/** A Stat as zkCli.sh prints it (dates in ISO 8601). */
export function statText(s: Stat): string {
  const rows: [string, string][] = [
    ['cZxid', hex(s.czxid)],
    ['ctime', new Date(s.ctime).toISOString()],
    ['mZxid', hex(s.mzxid)],
    ['mtime', new Date(s.mtime).toISOString()],
    ['pZxid', hex(s.pzxid)],
    ['cversion', String(s.cversion)],
    ['dataVersion', String(s.version)],
    ['aclVersion', String(s.aversion)],
    ['ephemeralOwner', hex(s.ephemeralOwner)],
    ['dataLength', String(s.dataLength)],
    ['numChildren', String(s.numChildren)],
  ];
  return rows.map(([k, v]) => `${k} = ${v}\n`).join('');
}

/** Permission bits as zkCli.sh letters (cdrwa). */
export function permsText(perms: number): string {
  const bits: [number, string][] = [
    [Perms.CREATE, 'c'],
    [Perms.DELETE, 'd'],
    [Perms.READ, 'r'],
    [Perms.WRITE, 'w'],
    [Perms.ADMIN, 'a'],
  ];
  return bits.map(([b, l]) => (perms & b ? l : '')).join('');
}

const eventName = (type: number): string => Object.entries(EventType).find(([, v]) => v === type)?.[0] ?? `Event${type}`;

function treeJson(n: WalkNode): { path: string; children: unknown[] } {
  return { path: n.path, children: n.children.map(treeJson) };
}

/** The `zk` program: every command, bound to one session (opened on first use). */
export function buildZkProgram(ctx: ZkRunContext): Command {
  const program = clientProgram('zk', 'a ZooKeeper client: one command, or an interactive shell (`zk shell`)')
    .option('--server <host:port,...>', 'ZooKeeper to talk to (a connect string, /chroot allowed)', zkServerDefault)
    .option('--json', 'one JSON document per command on stdout (watch: one per line)')
    .option('--timeout-ms <ms>', 'how long to wait for a session or a lost connection', intOption('--timeout-ms'), zkTimeoutMsDefault)
    .addHelpText(
      'after',
      '\n`clustergenie zk` alone on a terminal starts the shell. `clustergenie zk --config <zoo.cfg>` runs a ZooKeeper server\n(alias of `clustergenie zookeeper`). Exit codes: docs/CLI.md.',
    );

  let own: ZkSession | undefined;
  const session = (g: Globals): ZkSession => {
    if (ctx.session) return ctx.session;
    own ??= new ZkSession(g.server, g.timeoutMs);
    return own;
  };
  /** Runs one command's body with the client, turning ZooKeeper errors into exit codes. */
  const act =
    <A extends unknown[]>(body: (zk: ZooKeeperClient, g: Globals, ...args: A) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals() as Globals;
      const s = session(g);
      try {
        const zk = await s.client();
        await s.guard(body(zk, g, ...(args.slice(0, -1) as A)));
      } catch (e) {
        if (e instanceof ZooKeeperError) throw zkCliError(e, s.server);
        throw e;
      } finally {
        if (!ctx.session) await own?.close();
      }
    };

  subcommand(program, 'ls', 'list the children of a znode (sorted)')
    .argument('[path]', 'znode', '/')
    .option('-R, --recursive', 'every path below, depth first')
    .action(
      act(async (zk, g, path: string, o: { recursive?: boolean }) => {
        if (o.recursive) {
          const paths = flattenPaths(await walkTree(zk, path, { withData: false }));
          if (g.json) printJson({ path, paths });
          else process.stdout.write(paths.map((p) => `${showText(p)}\n`).join(''));
          return;
        }
        const children = (await zk.getChildren(path)).sort();
        if (g.json) printJson({ path, children });
        else process.stdout.write(children.map((c) => `${showText(c)}\n`).join(''));
      }),
    );

  subcommand(program, 'get', "print a znode's data (UTF-8 text; control characters escaped on a terminal)")
    .argument('<path>', 'znode')
    .option('-s, --stat', 'print the stat after the data')
    .option('--raw', 'write the exact bytes, nothing added (binary data, files)')
    .action(
      act(async (zk, g, path: string, o: { stat?: boolean; raw?: boolean }) => {
        const { data, stat } = await zk.getData(path);
        if (g.json) {
          printJson({
            path,
            data: data === null ? null : data.toString('utf8'),
            dataBase64: data?.toString('base64') ?? null,
            stat: statJson(stat),
          });
          return;
        }
        if (o.raw) {
          if (data) process.stdout.write(data);
          return;
        }
        process.stdout.write(`${data === null ? '' : showText(data.toString('utf8'))}\n`);
        if (o.stat) process.stdout.write(statText(stat));
      }),
    );

  subcommand(program, 'set', "replace a znode's data")
    .argument('<path>', 'znode')
    .argument('<data>', 'new data (UTF-8)')
    .option('-v, --data-version <n>', 'only if the znode is at this version (else exit 5)', intOption('-v'))
    .action(
      act(async (zk, g, path: string, data: string, o: { dataVersion?: number }) => {
        const stat = await zk.setData(path, data, o.dataVersion ?? -1);
        if (g.json) printJson({ path, stat: statJson(stat) });
      }),
    );

  subcommand(program, 'create', 'create a znode (persistent unless -e; open ACL)')
    .argument('<path>', 'znode')
    .argument('[data]', 'data (UTF-8)', '')
    .option('-e, --ephemeral', 'ephemeral: goes with this session (so at once, for a one-shot command)')
    .option('-s, --sequential', 'append a 10-digit sequence number to the name')
    .action(
      act(async (zk, g, path: string, data: string, o: { ephemeral?: boolean; sequential?: boolean }) => {
        const mode = (o.ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT) + (o.sequential ? CreateMode.PERSISTENT_SEQUENTIAL : 0);
        const created = await zk.create(path, data, { mode: mode as 0 | 1 | 2 | 3 });
        if (g.json) printJson({ path: created });
        else process.stdout.write(`Created ${showText(created)}\n`);
      }),
    );

  subcommand(program, 'delete', 'delete a znode')
    .argument('<path>', 'znode')
    .option('-v, --data-version <n>', 'only if the znode is at this version (else exit 5)', intOption('-v'))
    .option('-r, --recursive', 'delete its children first (the whole subtree)')
    .action(
      act(async (zk, g, path: string, o: { dataVersion?: number; recursive?: boolean }) => {
        if (o.recursive) {
          if (path === '/') throw new CliError('refusing to delete / recursively: name a subtree', ExitCode.usage);
          const children = await zk.getChildren(path);
          for (const c of children) await removeRecursive(zk, `${path}/${c}`);
        }
        await zk.delete(path, o.dataVersion ?? -1);
        if (g.json) printJson({ path, deleted: true });
      }),
    );

  subcommand(program, 'stat', "print a znode's stat")
    .argument('<path>', 'znode')
    .action(
      act(async (zk, g, path: string) => {
        const stat = await zk.exists(path);
        if (stat === null) throw new ZooKeeperError(Err.NONODE, path);
        if (g.json) printJson({ path, stat: statJson(stat) });
        else process.stdout.write(statText(stat));
      }),
    );

  subcommand(program, 'getAcl', "print a znode's ACL (scheme, id, permissions as cdrwa)")
    .alias('getacl')
    .argument('<path>', 'znode')
    .action(
      act(async (zk, g, path: string) => {
        const { acl } = await zk.getACL(path);
        const rows = acl.map((a: Acl) => ({ scheme: a.id.scheme, id: a.id.id, perms: permsText(a.perms), permsMask: a.perms }));
        if (g.json) printJson({ path, acl: rows });
        else
          printTable(
            ['SCHEME', 'ID', 'PERMS'],
            rows.map((r) => [r.scheme, r.id, r.perms]),
          );
      }),
    );

  subcommand(program, 'watch', 'print every change of a znode (created, data, children, deleted) until Ctrl-C')
    .argument('<path>', 'znode (need not exist yet)')
    .option('--count <n>', 'stop after n changes', intOption('--count'))
    .action(act((zk, g, path: string, o: { count?: number }) => watchNode(zk, g, path, o.count, ctx.signal)));

  subcommand(program, 'tree', 'print a subtree, indented')
    .argument('[path]', 'znode', '/')
    .action(
      act(async (zk, g, path: string) => {
        const root = await walkTree(zk, path, { withData: false });
        if (g.json) printJson(treeJson(root));
        else process.stdout.write(renderTree(root, showText));
      }),
    );

  subcommand(program, 'export', 'a subtree as JSON ({path, data: base64, children}, as the dashboard exports it)')
    .argument('<path>', 'znode')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(
      act(async (zk, _g, path: string, o: { output?: string }) => {
        const tree = toZnodeTree(await walkTree(zk, path, { withData: true }));
        const text = `${JSON.stringify(tree, null, 2)}\n`;
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
      }),
    );

  subcommand(program, 'import', 'create a subtree from an export file under <path> (existing nodes are kept unless --overwrite)')
    .argument('<file>', 'an export (- for stdin)')
    .argument('<path>', 'where the exported root goes')
    .option('--overwrite', "replace existing nodes' data")
    .action(
      act(async (zk, g, file: string, path: string, o: { overwrite?: boolean }) => {
        const steps = planImport(readExport(file), path);
        const bar = await progressBar(steps.length, 'import');
        try {
          const result = await applyImport(zk, steps, { overwrite: o.overwrite === true, onProgress: (n) => bar.update(n) });
          bar.stop();
          if (g.json) printJson(result);
          else process.stdout.write(`created ${result.created}, updated ${result.updated}, skipped ${result.skipped}\n`);
        } finally {
          bar.stop();
        }
      }),
    );

  subcommand(program, 'shell', 'an interactive shell with these commands (history, help, quit)').action(async (_o, cmd: Command) => {
    const g = cmd.optsWithGlobals() as Globals;
    const { runShell } = await import('./zkShell.js');
    await runShell(g.server, g.timeoutMs, g.json === true);
  });

  return program;
}

function readExport(file: string): unknown {
  let text: string;
  try {
    const buf = readFileSync(file === '-' ? 0 : file);
    if (buf.length > importFileBytesMax) throw new Error(`larger than ${importFileBytesMax} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.usage);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not JSON: ${(e as Error).message}`, ExitCode.usage);
  }
}

/** A persistent watch on `path`: one line per event (the new data for created/changed), until count, abort or SIGINT. */
async function watchNode(
  zk: ZooKeeperClient,
  g: Globals,
  path: string,
  count: number | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  let seen = 0;
  let chain = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (e?: unknown): void => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSigint);
      signal?.removeEventListener('abort', onSigint);
      zk.removeWatches(path, WatcherType.Any, watcher).then(
        () => (e ? reject(e) : resolve()),
        () => (e ? reject(e) : resolve()),
      );
    };
    const onSigint = (): void => finish();
    const report = async (ev: WatchedEvent): Promise<void> => {
      const type = eventName(ev.type);
      let data: Buffer | null | undefined;
      if (ev.type === EventType.NodeCreated || ev.type === EventType.NodeDataChanged) {
        data = await zk.getData(ev.path).then(
          (r) => r.data,
          (e: unknown) => {
            if (isZooKeeperError(e, Err.NONODE)) return undefined; // deleted meanwhile: the next event says so
            throw e;
          },
        );
      }
      if (g.json)
        printJsonLine({
          type,
          path: ev.path,
          ...(data !== undefined
            ? { data: data === null ? null : data.toString('utf8'), dataBase64: data?.toString('base64') ?? null }
            : {}),
        });
      else process.stdout.write(`${type} ${showText(ev.path)}${data ? ` ${showText(data.toString('utf8'))}` : ''}\n`);
      if (count !== undefined && ++seen >= count) finish();
    };
    const watcher = (ev: WatchedEvent): void => {
      if (finished || ev.type === EventType.None || ev.type === EventType.PersistentWatchRemoved) return;
      chain = chain.then(() => report(ev)).catch((e: unknown) => finish(e));
    };
    if (signal?.aborted || count === 0) {
      resolve();
      return;
    }
    // A shell passes its own signal (Ctrl-C returns to the prompt); a one-shot run ends on SIGINT.
    if (signal) signal.addEventListener('abort', onSigint, { once: true });
    else process.once('SIGINT', onSigint);
    zk.addWatch(path, watcher, AddWatchMode.Persistent).then(
      () => process.stderr.write(`watching ${path}${count === undefined ? ' (Ctrl-C to stop)' : ` for ${count} change(s)`}\n`),
      (e: unknown) => {
        finished = true;
        process.off('SIGINT', onSigint);
        signal?.removeEventListener('abort', onSigint);
        reject(e);
      },
    );
  });
}

/** Global options that may come before the command (used to tell "no command" apart). */
const GLOBALS_WITH_VALUE = new Set(['--server', '--timeout-ms']);
const GLOBAL_FLAGS = new Set(['--json']);

/** True when `args` hold only global options: no command was given (pure). */
export function noCommand(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBALS_WITH_VALUE.has(a)) i++;
    else if (GLOBAL_FLAGS.has(a) || [...GLOBALS_WITH_VALUE].some((f) => a.startsWith(`${f}=`))) continue;
    else return false;
  }
  return true;
}

export async function runZkClient(args: string[]): Promise<number> {
  if (noCommand(args)) {
    // Alone on a terminal: the shell. In a pipe or a script a command is needed (`zk shell` reads commands from stdin).
    if (process.stdin.isTTY) return runProgram(buildZkProgram({}), [...args, 'shell']);
    process.stderr.write(
      'clustergenie zk: which command? (ls, get, set, create, delete, stat, getAcl, watch, tree, export, import, shell; see --help)\n',
    );
    return ExitCode.usage;
  }
  return runProgram(buildZkProgram({}), args);
}
