// Small network helpers for tests: free ports, condition polling with deadlines, 4lw queries.

import { createConnection } from 'node:net';
import { waitFor as poll } from './wait.js';

export { freePort } from '../../src/util/net.js';

/** Polls `cond` until true or the deadline passes (then throws with `what()`). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: () => string = () => 'condition',
): Promise<void> {
  await poll(cond, { timeoutMs, what });
}

/** A `mntr` reply as key → value (one tab-separated pair per line). */
export function parseMntr(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

/** The server's `mntr` figures. */
export async function mntr(host: string, port: number, timeoutMs = 5000): Promise<Map<string, string>> {
  return parseMntr(await fourLetter(host, port, 'mntr', timeoutMs));
}

/** Sends a four-letter word (or raw bytes, e.g. `stmk` + a mask) and returns the whole text reply. */
export function fourLetter(host: string, port: number, cmd: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${cmd} timed out`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** An in-process ensemble as ensembleReady reads it (src/cluster/zkTestingCluster.ts). */
interface EnsembleView {
  readonly members: readonly { id: number }[];
  serving(): number[];
  leader(): number | undefined;
}

/** Waits until every member serves and one leads; returns the leader and one follower. */
export async function ensembleReady(cluster: EnsembleView, timeoutMs = 20_000): Promise<{ leader: number; follower: number }> {
  await waitFor(
    () => cluster.serving().length === cluster.members.length && cluster.leader() !== undefined,
    timeoutMs,
    () => `ensemble not serving: ${cluster.serving().join(',')} of ${cluster.members.length}`,
  );
  const leader = cluster.leader()!;
  return { leader, follower: cluster.members.find((m) => m.id !== leader)!.id };
}
