// ZooKeeper's `mntr` four-letter word: a raw TCP request (the 4 bytes, then the server writes the
// reply and closes), parsed into the figures the rules read. Works against Apache ZooKeeper as long
// as `4lw.commands.whitelist` allows mntr, and against ours.

import { createConnection } from 'node:net';

/** A reply longer than this is not mntr (Apache's is ~2 KiB): the connection is cut. */
export const mntrReplyBytesMax = 64 * 1024;
/** How long one member may take to connect and answer. */
export const mntrTimeoutMsDefault = 3000;

/** What Apache ZooKeeper answers any 4lw while it is not in a quorum. */
const NOT_SERVING = 'not currently serving';

/** One member's mntr figures (the ones the rules and the metrics use). */
export interface MntrFigures {
  /** zk_server_state: leader, follower, observer, standalone, read-only. */
  serverState: string;
  avgLatencyMs?: number;
  maxLatencyMs?: number;
  outstandingRequests?: number;
  approximateDataSize?: number;
  znodeCount?: number;
  fsyncThresholdExceedCount?: number;
  /** Leader only. */
  syncedFollowers?: number;
  /** Leader only (ours: every quorum member); Apache 3.8 omits it. */
  quorumSize?: number;
  learners?: number;
  /** Every key as sent, values as text (bounded by mntrReplyBytesMax). */
  raw: Map<string, string>;
}

/** `serving: true` on failure: the member answered, but not with figures (it is not known to be down). */
export type MntrResult = { ok: true; figures: MntrFigures } | { ok: false; serving: boolean; error: string };

/** `zk_<key>\t<value>` lines → key (without `zk_`) → value. Unknown lines are skipped. */
export function parseMntrLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const key = line.slice(0, tab).trim();
    const value = line.slice(tab + 1).trim();
    out.set(key.startsWith('zk_') ? key.slice(3) : key, value);
  }
  return out;
}

function num(raw: Map<string, string>, key: string): number | undefined {
  const v = raw.get(key);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A whole mntr reply → figures, or why it is not a usable one (pure). */
export function parseMntr(text: string): MntrResult {
  if (text.includes(NOT_SERVING)) return { ok: false, serving: false, error: 'not currently serving requests' };
  if (text.includes('not in the whitelist'))
    return { ok: false, serving: true, error: "mntr is not in the member's 4lw.commands.whitelist" };
  const raw = parseMntrLines(text);
  const serverState = raw.get('server_state');
  if (serverState === undefined) {
    const head = text.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
    return {
      ok: false,
      serving: true,
      error: text === '' ? 'empty mntr reply (4lw not whitelisted?)' : `not an mntr reply: ${JSON.stringify(head)}`,
    };
  }
  const figures: MntrFigures = { serverState, raw };
  const set = <K extends keyof MntrFigures>(k: K, key: string): void => {
    const v = num(raw, key);
    if (v !== undefined) (figures as unknown as Record<string, number>)[k] = v;
  };
  set('avgLatencyMs', 'avg_latency');
  set('maxLatencyMs', 'max_latency');
  set('outstandingRequests', 'outstanding_requests');
  set('approximateDataSize', 'approximate_data_size');
  set('znodeCount', 'znode_count');
  set('fsyncThresholdExceedCount', 'fsync_threshold_exceed_count');
  set('syncedFollowers', 'synced_followers');
  set('quorumSize', 'quorum_size');
  set('learners', 'learners');
  return { ok: true, figures };
}

/** Sends `mntr` to host:port and parses the reply; never throws (an unreachable member is a result). */
export function fetchMntr(host: string, port: number, timeoutMs = mntrTimeoutMsDefault): Promise<MntrResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const finish = (r: MntrResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = createConnection({ host, port });
    const timer = setTimeout(() => finish({ ok: false, serving: false, error: `no mntr reply within ${timeoutMs} ms` }), timeoutMs);
    sock.on('connect', () => sock.write('mntr'));
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > mntrReplyBytesMax) {
        finish({ ok: false, serving: true, error: `mntr reply longer than ${mntrReplyBytesMax} bytes` });
        return;
      }
      chunks.push(d);
    });
    sock.on('error', (e) => finish({ ok: false, serving: false, error: e.message }));
    sock.on('close', () => finish(parseMntr(Buffer.concat(chunks).toString('utf8'))));
  });
}

/** A `srvr` reply longer than this is cut (they are ~300 bytes). */
export const srvrReplyBytesMax = 16 * 1024;

/** What `srvr` adds to mntr: the zxid (mntr has none) and the mode (srvr is whitelisted by default, mntr is not). */
export interface SrvrFigures {
  zxid?: string;
  mode?: string;
}

/** `srvr` reply → zxid and mode (pure). */
export function parseSrvr(text: string): SrvrFigures {
  const out: SrvrFigures = {};
  const zxid = /^Zxid:\s*(0x[0-9a-fA-F]+)/m.exec(text)?.[1];
  const mode = /^Mode: (\S+)$/m.exec(text)?.[1];
  if (zxid !== undefined) out.zxid = zxid;
  if (mode !== undefined) out.mode = mode;
  return out;
}

/** Sends `srvr`; any failure is an empty result (mntr decides up or down). */
export function fetchSrvr(host: string, port: number, timeoutMs: number): Promise<SrvrFigures> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection({ host, port });
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('connect', () => sock.write('srvr'));
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.length > srvrReplyBytesMax) sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseSrvr(text));
    });
  });
}
