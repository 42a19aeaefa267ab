// Unit-level fuzzer over the schema codecs: for every API, request and response, every declared
// version, valid samples are damaged (structure-aware and byte-level) and decoded. The only
// exception decoding may raise is ProtocolError; anything else (RangeError from a Buffer read,
// a TypeError, an allocation of a lying count) would escape the connection's error handling.
// SEED=<n> replays one run; the seed is printed when a case fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allApis } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, ProtocolError } from '../../../src/kafka/protocol/buffers.js';
import type { Message } from '../../../src/kafka/protocol/schema.js';
import { encodeHostile, encodeValid, mutateBytes, Random, runSeed } from '../fuzzInputs.js';
import { Seq, sample, versionsOf } from './declHelpers.js';

const seed = runSeed();
const casesPerVersion = 40;

function fuzzMessage(m: Message, rnd: Random, failures: string[]): number {
  let cases = 0;
  for (const version of versionsOf(m)) {
    const flexible = m.isFlexible(version);
    const seeds = [sample(m.decl.fields, version, flexible, new Seq(), false), sample(m.decl.fields, version, flexible, new Seq(), true)];
    for (let i = 0; i < casesPerVersion; i++) {
      const base = rnd.pick(seeds);
      let input: { bytes: Buffer; what: string };
      if (rnd.chance(0.5)) input = encodeHostile(m, version, base, rnd);
      else input = mutateBytes(encodeValid(m, version, base), rnd);
      if (rnd.chance(0.2)) {
        const again = mutateBytes(input.bytes, rnd);
        input = { bytes: again.bytes, what: `${input.what}; ${again.what}` };
      }
      cases++;
      try {
        const v = m.decode(new KafkaReader(input.bytes), version);
        if (typeof v !== 'object' || v === null) failures.push(`${m.decl.name} v${version} (${input.what}): decoded to ${String(v)}`);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          failures.push(`${m.decl.name} v${version} (${input.what}): ${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    }
  }
  return cases;
}

test('decoding damaged messages of every API and version raises nothing but ProtocolError', () => {
  const rnd = new Random(seed);
  const failures: string[] = [];
  let cases = 0;
  for (const api of allApis()) {
    cases += fuzzMessage(api.request, rnd, failures);
    cases += fuzzMessage(api.response, rnd, failures);
  }
  assert.ok(cases > 5000, `only ${cases} cases ran`);
  assert.deepEqual(failures.slice(0, 20), [], `SEED=${seed} replays this run (${failures.length} failures of ${cases} cases)`);
});

test('a message cut at every byte decodes or raises ProtocolError', () => {
  // Exhaustive over cut points for the fullest sample of each request version: every length and
  // count prefix ends up at the end of the input at least once.
  const failures: string[] = [];
  for (const api of allApis()) {
    const m = api.request;
    for (const version of versionsOf(m)) {
      const full = encodeValid(m, version, sample(m.decl.fields, version, m.isFlexible(version), new Seq(), false));
      for (let cut = 0; cut < full.length; cut++) {
        try {
          m.decode(new KafkaReader(full.subarray(0, cut)), version);
        } catch (err) {
          if (!(err instanceof ProtocolError)) failures.push(`${m.decl.name} v${version} cut at ${cut}: ${(err as Error).message}`);
        }
      }
    }
  }
  assert.deepEqual(failures.slice(0, 20), []);
});
