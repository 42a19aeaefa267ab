// Replies of the ZooKeeperServer core (zkserver.ts): each connection's requests are answered in
// the order they came, a write once its txn is applied, a read when it reaches the head of the
// queue (executed then, so it sees every earlier write); latencies and sizes go to the stats.

import { Err, OpCode, opName } from '../protocol/constants.js';
import type { JuteWriter } from '../protocol/jute.js';
import { GetDataResponse, SetSASLResponse } from '../protocol/records.js';
import { encodeWriteResult, executeMultiRead, executeRead } from './requests.js';
import type { ClientConn, Pending, ZooKeeperServer } from './zkserver.js';

/** Sends replies for the head of the connection's queue while they are ready. */
export function drainReplies(server: ZooKeeperServer, c: ClientConn): void {
  const q = c.queue;
  while (q.length > 0) {
    const p = q[0]!;
    if (p.op === OpCode.createSession && p.err === 0) {
      // The handshake's slot (a client-sent createSession carries UNIMPLEMENTED instead).
      if (!p.done) return;
      q.shift();
      continue;
    }
    if (p.isWrite && !p.done) return;
    q.shift();
    if (c.closed) continue;
    reply(server, c, p);
    if (p.closeAfter) {
      q.length = 0;
      c.close(false);
      return;
    }
  }
}

function reply(server: ZooKeeperServer, c: ClientConn, p: Pending): void {
  let zxid = server.tree.lastProcessedZxid;
  let err = p.err;
  let encode: ((w: JuteWriter) => void) | undefined;
  const d = p.decoded;
  let xid = p.xid;
  if (p.op === OpCode.auth || p.op === OpCode.sasl) {
    // Answered outside the pipeline in ZooKeeper, with zxid 0. Auth success is header only.
    zxid = 0;
    if (p.op === OpCode.sasl) encode = (w) => SetSASLResponse.encode(w, { token: p.saslToken ?? null });
  } else if (err === Err.UNIMPLEMENTED && !p.isWrite) {
    // UnimplementedRequestProcessor replies with the request's zxid, -1 for a request never prepped.
    zxid = -1;
  } else if (p.op === OpCode.ping) {
    // FinalRequestProcessor answers every ping with xid -2, whatever xid it came with.
    xid = -2;
  }
  if (err !== 0 || p.op === OpCode.auth || p.op === OpCode.sasl) {
    // error or auth/sasl: nothing more to compute
  } else if (p.isWrite) {
    const res = p.result!;
    // A multi reports per-op errors with header err 0, unless it never became a multi txn
    // (a malformed MultiOperationRecord is a plain ErrorTxn: MARSHALLINGERROR in the header).
    err = p.op === OpCode.multi && res.multi ? 0 : res.err;
    // FinalRequestProcessor: a refused ephemeral of a local session is answered with the
    // refusal (the leader's ErrorTxn says SESSIONEXPIRED), except a multi's per-op results.
    if (p.refusal !== undefined && !(p.op === OpCode.multi && res.multi)) err = p.refusal;
    if (err === 0 && p.op === OpCode.reconfig) {
      // FinalRequestProcessor: the configuration now in force, with the config node's stat.
      const data = server.tree.table.valueAt(server.tree.find('/zookeeper/config'));
      encode = (w) => GetDataResponse.encode(w, { data, stat: res.stat! });
    } else if (err === 0) encode = (w) => encodeWriteResult(p.op, res, w);
  } else if (d) {
    if (!server.sessions.isActive(c.sessionId) && p.op !== OpCode.ping) {
      err = Err.SESSIONEXPIRED;
    } else {
      const ctx = { tree: server.tree, sessionId: c.sessionId, auth: c.authIds, watcher: c, skipAcl: server.opts.skipAcl };
      if (d.cls === 'multiRead') {
        encode = (w) => executeMultiRead(d.ops, ctx, w);
      } else if (d.cls === 'read') {
        const r = executeRead(d.op, d.body, ctx);
        err = r.err;
        encode = r.encode;
      }
    }
  }
  const now = server.now();
  const latency = now - p.startMs;
  server.stats.recordLatency(latency);
  // FinalRequestProcessor: a request that carried a txn counts as an update, the rest as reads.
  server.metrics.observe(p.isWrite ? 'updatelatency' : 'readlatency', latency);
  server.stats.packetsSent++;
  c.stats.record(opShortName(p.op), latency, zxid, now);
  // processSasl sends its SetSASLResponse body with an error too.
  const bodyBytes = c.sendReply(xid, zxid, err, err === 0 || p.op === OpCode.sasl ? encode : undefined);
  // ServerStats.updateClientResponseSize: the frame length (16-byte ReplyHeader + body).
  server.stats.clientResponse.record(16 + bodyBytes);
}
const SHORT: Record<number, string> = {
  [OpCode.ping]: 'PING',
  [OpCode.createSession]: 'SESS',
  [OpCode.multi]: 'MULT',
  [OpCode.multiRead]: 'MLTR',
  [OpCode.create]: 'CREA',
  [OpCode.create2]: 'CREA',
  [OpCode.createTTL]: 'CREA',
  [OpCode.createContainer]: 'CREA',
  [OpCode.delete]: 'DELE',
  [OpCode.setData]: 'SETD',
  [OpCode.reconfig]: 'RECO',
  [OpCode.setACL]: 'SETA',
  [OpCode.closeSession]: 'CLOS',
  [OpCode.sync]: 'SYNC',
  [OpCode.exists]: 'EXIS',
  [OpCode.getData]: 'GETD',
  [OpCode.setWatches]: 'SETW',
  [OpCode.setWatches2]: 'STW2',
  [OpCode.addWatch]: 'ADDW',
  [OpCode.getACL]: 'GETA',
  [OpCode.getChildren]: 'GETC',
  [OpCode.getChildren2]: 'GETC',
  [OpCode.getAllChildrenNumber]: 'GETACN',
  [OpCode.checkWatches]: 'CHKW',
  [OpCode.removeWatches]: 'REMW',
  [OpCode.whoAmI]: 'HOMI',
  [OpCode.getEphemerals]: 'GETE',
};

/** The 4-letter op names ZooKeeper shows as `lop` in `cons`. */
export function opShortName(op: number): string {
  return SHORT[op] ?? opName(op).toUpperCase().slice(0, 4);
}
