// Request and response headers (Kafka's RequestHeader/ResponseHeader). Request header v2 (flexible
// APIs) still carries client_id as a classic int16 string, then a tag buffer; response header v1
// adds only a tag buffer. ApiVersions responses always use header v0.

import { type KafkaReader, type KafkaWriter, ProtocolError } from './buffers.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads api key, version and correlation id: enough to answer even an unknown API. */
export function readHeaderPrefix(r: KafkaReader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  return { apiKey, apiVersion, correlationId, clientId: null };
}

/** Reads the rest of a v1 (client id) or v2 (client id, tag buffer) request header. */
export function readHeaderRest(r: KafkaReader, h: RequestHeader, flexible: boolean): void {
  h.clientId = r.string(true);
  if (flexible) skipTagBuffer(r);
}

export function skipTagBuffer(r: KafkaReader): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    r.uvarint();
    const size = r.uvarint();
    if (size > r.remaining()) throw new ProtocolError('tagged field past the end');
    r.skip(size);
  }
}

export function writeRequestHeader(w: KafkaWriter, h: RequestHeader, flexible: boolean): void {
  w.int16(h.apiKey);
  w.int16(h.apiVersion);
  w.int32(h.correlationId);
  w.string(h.clientId);
  if (flexible) w.uvarint(0);
}

export function writeResponseHeader(w: KafkaWriter, correlationId: number, flexible: boolean): void {
  w.int32(correlationId);
  if (flexible) w.uvarint(0);
}
