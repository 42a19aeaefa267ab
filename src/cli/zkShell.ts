// The interactive `clustergenie zk` shell: one session, lines read with node:readline (history with
// the arrow keys on a terminal, `history` to list it), each line run as the same commands as the
// one-shot form (zkClient.ts buildZkProgram), plus `help` and `quit`. Ctrl-C stops a running
// `watch` and returns to the prompt; Ctrl-C at the prompt or Ctrl-D ends the shell. Commands may
// also be piped in (`printf 'ls /\nquit\n' | clustergenie zk shell`).

import { createInterface } from 'node:readline';
import { CliError, ExitCode } from './exitCodes.js';
import { runProgram } from './program.js';
import { buildZkProgram, ZkSession } from './zkClient.js';

/** Lines kept for `history` and the arrow keys. */
export const shellHistoryMax = 1000;

const SHELL_HELP = `commands (each takes --help):
  ls [-R] [path]                 get [-s] [--raw] <path>          set [-v version] <path> <data>
  create [-e] [-s] <path> [data] delete [-v version] [-r] <path>  stat <path>
  getAcl <path>                  watch [--count n] <path>         tree [path]
  export [-o file] <path>        import [--overwrite] <file> <path>
  history                        help                             quit
Quote arguments with spaces: set /x "hello world".
`;

/**
 * Splits a shell line into words: whitespace separates, '...' is literal, "..." allows \\" and \\\\,
 * a backslash outside quotes escapes the next character (pure).
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new CliError(`unterminated ${quote} quote`, ExitCode.usage);
  if (inWord) words.push(cur);
  return words;
}

/** Runs the shell until quit, Ctrl-D or end of input; fails with exit 6 when ZooKeeper cannot be reached at start. */
export async function runShell(server: string, timeoutMs: number, json: boolean): Promise<void> {
  const session = new ZkSession(server, timeoutMs);
  const interactive = process.stdin.isTTY === true;
  try {
    const zk = await session.client();
    if (interactive) process.stdout.write(`connected to ${zk.connectedServer ?? server}; type help for the commands, quit to leave\n`);
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, historySize: shellHistoryMax });
    const history: string[] = [];
    let running: AbortController | undefined;
    rl.on('SIGINT', () => {
      if (running) running.abort();
      else rl.close();
    });
    rl.setPrompt(`[zk: ${server}] `);
    if (interactive) rl.prompt();
    for await (const line of rl) {
      const trimmed = line.trim();
      if (trimmed !== '') {
        history.push(trimmed);
        if (history.length > shellHistoryMax) history.shift();
      }
      let words: string[];
      try {
        words = tokenize(trimmed);
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        words = [];
      }
      const [cmd] = words;
      if (cmd === 'quit' || cmd === 'exit') break;
      if (cmd === 'help' || cmd === '?') process.stdout.write(SHELL_HELP);
      else if (cmd === 'history') process.stdout.write(history.map((h, i) => `${String(i + 1).padStart(4)}  ${h}\n`).join(''));
      else if (cmd === 'shell') process.stderr.write('already in the shell\n');
      else if (cmd !== undefined) {
        running = new AbortController();
        const code = await runProgram(buildZkProgram({ session, signal: running.signal }), json ? ['--json', ...words] : words);
        running = undefined;
        if (code !== ExitCode.ok && interactive) process.stderr.write(`(exit ${code})\n`);
      }
      if (interactive) rl.prompt();
    }
    rl.close();
  } finally {
    await session.close();
  }
}
