// The connect handshake records. Both directions carry an optional trailing readOnly byte:
// the server echoes it only when the client sent it (NZC never sends it; the C client reads a
// fixed 41-byte response and always sends it).

import type { JuteReader, JuteWriter } from './jute.js';
import { ConnectRequestBase, ConnectResponseBase } from './records.js';

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  /** undefined when the client did not send the byte. */
  readOnly: boolean | undefined;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  readOnly: boolean | undefined;
}

export function decodeConnectRequest(r: JuteReader): ConnectRequest {
  const base = ConnectRequestBase.decode(r);
  const readOnly = r.remaining >= 1 ? r.bool() : undefined;
  return { ...base, readOnly };
}

export function encodeConnectRequest(w: JuteWriter, v: ConnectRequest): void {
  ConnectRequestBase.encode(w, v);
  if (v.readOnly !== undefined) w.bool(v.readOnly);
}

export function decodeConnectResponse(r: JuteReader): ConnectResponse {
  const base = ConnectResponseBase.decode(r);
  const readOnly = r.remaining >= 1 ? r.bool() : undefined;
  return { ...base, readOnly };
}

export function encodeConnectResponse(w: JuteWriter, v: ConnectResponse): void {
  ConnectResponseBase.encode(w, v);
  if (v.readOnly !== undefined) w.bool(v.readOnly);
}
