// Cold start of a 3-member ensemble: from spawning the three processes (empty data directories)
// to the first successful client request. A raw-socket probe (our protocol codecs, no client
// library, so no client back-off) tries every member every ~5 ms: TCP connect, ConnectRequest,
// getData('/'); success is a reply with err 0. A member that is up but not serving yet refuses
// the connection or closes it after the ConnectRequest, and the probe tries again.

import { GetDataRequest } from '../../src/zookeeper/protocol/records.js';
import { OpCode } from '../../src/zookeeper/protocol/constants.js';
import { RawClient, enc } from '../../test/helpers/rawClient.js';
import { HOST, startServers, type Impl } from './servers.js';

export interface ColdStartResult {
  /** Spawn of the first member to the first successful getData('/'). */
  ms: number;
  /** The member that answered first. */
  member: number;
  /** Probe attempts made (all members). */
  attempts: number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One probe: true if the server answered getData('/') with err 0. */
async function probe(port: number, timeoutMs: number): Promise<boolean> {
  let c: RawClient | undefined;
  try {
    c = await RawClient.connect(HOST, port, { timeOut: 30_000, timeoutMs });
    if (c.closed || c.connectResponse === undefined || c.connectResponse.timeOut <= 0) return false;
    const xid = c.xid();
    c.send(xid, OpCode.getData, enc(GetDataRequest, { path: '/', watch: false }));
    const r = await c.replyOrClose(xid, timeoutMs);
    if (r?.err !== 0) return false;
    c.send(c.xid(), OpCode.closeSession);
    return true;
  } catch {
    return false;
  } finally {
    c?.socket.destroy();
  }
}

/** Starts a fresh 3-member ensemble of `impl`, measures the time to the first answer, closes it. */
export async function measureColdStart(impl: Impl, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<ColdStartResult> {
  const intervalMs = opts.intervalMs ?? 5;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const ens = await startServers(impl, 3, { waitServing: false });
  try {
    const t0 = Math.min(...ens.ids.map((id) => ens.startedAt(id) ?? Infinity));
    let done: { at: number; member: number } | undefined;
    let attempts = 0;
    const loop = async (id: number): Promise<void> => {
      const port = ens.member(id).clientPort;
      while (!done && Date.now() - t0 < timeoutMs) {
        const started = Date.now();
        attempts++;
        if (await probe(port, 2000)) {
          const at = Date.now();
          if (!done) done = { at, member: id };
          return;
        }
        await delay(Math.max(0, intervalMs - (Date.now() - started)));
      }
    };
    await Promise.all(ens.ids.map(loop));
    if (!done) throw new Error(`${impl}: no member answered within ${timeoutMs} ms\n${ens.logs(3000)}`);
    const d: { at: number; member: number } = done;
    return { ms: d.at - t0, member: d.member, attempts };
  } finally {
    await ens.close();
  }
}
