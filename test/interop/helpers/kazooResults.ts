// What both kazoo wrappers (kazoo.test.ts, kazooEnsemble.test.ts) share: finding the repository,
// reading the baseline/exception lists and run-kazoo's results file.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'clustergenie') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the clustergenie repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Non-comment, non-blank lines. */
export function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

export interface Result {
  outcome: string;
  reason: string;
}

export function parseResults(path: string): { results: Map<string, Result>; finished: boolean; stopped: string | null } {
  const results = new Map<string, Result>();
  let finished = false;
  let stopped: string | null = null;
  if (!existsSync(path)) return { results, finished, stopped };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('# session finished')) finished = true;
    else if (line.startsWith('# session stopped early:')) stopped = line.slice('# session stopped early:'.length).trim();
    else if (line.trim() !== '' && !line.startsWith('#')) {
      const [outcome = '', nodeid = '', reason = ''] = line.split('\t');
      results.set(nodeid, { outcome, reason });
    }
  }
  return { results, finished, stopped };
}

export function tail(path: string, n: number): string {
  if (!existsSync(path)) return '(no file)';
  return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
}
