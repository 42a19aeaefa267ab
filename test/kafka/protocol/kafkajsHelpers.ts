// kafkajs 2.2.4 request builders and response decoders, loaded from its sources (it ships no
// types), with the shortcuts the golden tests use.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { apiDef } from '../../../src/kafka/protocol/apis.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { decode, encode, reencode } from './declHelpers.js';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: kafkajs is untyped JavaScript
export type Any = any;

export function kafkajs(api: string, version: number, args: Msg): { request: Any; response: Any } {
  const defs = require(`kafkajs/src/protocol/requests/${api}`);
  return defs.protocol({ version })(args);
}

/** The request body kafkajs sends (after the request header). */
async function kafkajsRequest(api: string, version: number, args: Msg): Promise<Buffer> {
  const { request } = kafkajs(api, version, args);
  assert.equal(request.apiVersion, version);
  const enc = await request.encode();
  return Buffer.from(enc.buffer);
}

/** Decodes kafkajs's bytes with our declaration and checks they re-encode identically. */
export async function ourRequest(api: string, key: number, version: number, args: Msg): Promise<Msg> {
  const bytes = await kafkajsRequest(api, version, args);
  const def = apiDef(key);
  assert.ok(def);
  const v = decode(def.request, version, bytes);
  assert.deepEqual(reencode(def.request, version, v), bytes, `${def.name} v${version} re-encodes to kafkajs's bytes`);
  return v;
}

/** Encodes a response with our declaration and decodes it with kafkajs's decoder. */
export async function kafkajsDecodes(api: string, key: number, version: number, args: Msg, value: Msg): Promise<Any> {
  const def = apiDef(key);
  assert.ok(def);
  const bytes = encode(def.response, version, value);
  const { response } = kafkajs(api, version, args);
  return response.decode(bytes);
}

export const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
