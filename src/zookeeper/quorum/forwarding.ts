// What ensemble hosts tell each other through the consensus core's opaque payloads: a learner's
// client write or new session for the leader to prep (Msg 'request'), and the sessions a learner
// saw alive since its last report (Msg 'host', ZooKeeper's session touches).

import { JuteReader, JuteWriter } from '../protocol/jute.js';
import { Id, type IdT } from '../protocol/records.js';

export type Forwarded =
  | { kind: 'write'; sessionId: bigint; authIds: IdT[]; frame: Buffer }
  | { kind: 'createSession'; sessionId: bigint; timeOutMs: number };

const WRITE = 1;
const CREATE_SESSION = 2;
const TOUCH = 3;

export function encodeForwarded(f: Forwarded): Buffer {
  const w = new JuteWriter(64 + (f.kind === 'write' ? f.frame.length : 0));
  if (f.kind === 'write') {
    w.int(WRITE);
    w.long(f.sessionId);
    w.int(f.authIds.length);
    for (const id of f.authIds) Id.encode(w, id);
    w.buffer(f.frame);
  } else {
    w.int(CREATE_SESSION);
    w.long(f.sessionId);
    w.int(f.timeOutMs);
  }
  return w.toBuffer();
}

export function decodeForwarded(data: Uint8Array): Forwarded {
  const r = new JuteReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const kind = r.int();
  if (kind === WRITE) {
    const sessionId = r.long();
    const n = r.vectorCount();
    const authIds: IdT[] = [];
    for (let i = 0; i < n; i++) authIds.push(Id.decode(r));
    const frame = r.buffer();
    return { kind: 'write', sessionId, authIds, frame: Buffer.from(frame ?? Buffer.alloc(0)) };
  }
  if (kind === CREATE_SESSION) return { kind: 'createSession', sessionId: r.long(), timeOutMs: r.int() };
  throw new Error(`unknown forwarded request kind ${kind}`);
}

export function encodeTouches(sessionIds: Iterable<bigint>): Buffer {
  const ids = [...sessionIds];
  const w = new JuteWriter(8 + ids.length * 8);
  w.int(TOUCH);
  w.int(ids.length);
  for (const id of ids) w.long(id);
  return w.toBuffer();
}

/** Session ids from a touch report, or undefined if `data` is not one. */
export function decodeTouches(data: Uint8Array): bigint[] | undefined {
  const r = new JuteReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  if (r.int() !== TOUCH) return undefined;
  const n = r.int();
  if (n < 0 || n * 8 > r.remaining) throw new Error(`touch report of ${n} sessions is malformed`);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(r.long());
  return out;
}
