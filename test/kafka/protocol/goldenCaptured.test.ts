// Golden bytes captured from real clients (librdkafka 2.0.2 through kcat and Debian's
// confluent-kafka, the PyPI confluent-kafka's librdkafka, the Java client of Kafka 3.9 and 4.x
// through its tools, kafka-python 2.0.2): every request frame decodes with our declarations and
// re-encodes to the same bytes, request header included; every response our broker sent decodes
// and re-encodes too. The fixtures come from captureKafkaRequests.ts (run it again to refresh
// them when a client or our advertised ranges change, and update COVERED below).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADVERTISED } from '../../../src/kafka/broker/versions.js';
import { ApiKey, apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import { readHeaderPrefix, readHeaderRest, writeRequestHeader, writeResponseHeader } from '../../../src/kafka/protocol/header.js';
import { decode, reencode } from './declHelpers.js';

function findRepo(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json'))) return d;
  throw new Error(`no package.json above ${from}`);
}
const FIXTURES = join(findRepo(dirname(fileURLToPath(import.meta.url))), 'test', 'kafka', 'protocol', 'fixtures');

/**
 * The (API key, version) pairs each client sent in its capture run: what it picked from our
 * advertised ranges for the operations it was driven through. A missing fixture fails below.
 */
const COVERED: Record<string, string> = {
  'java-3.9':
    '0:9 1:13 2:7 3:12 8:8 9:8 10:4 11:9 12:4 13:5 14:5 15:5 16:4 18:3 18:4 19:7 20:6 21:2 22:4 32:4 35:4 37:3 42:2 43:2 44:1 47:0 60:1 61:0',
  'java-4.x':
    '0:9 1:13 2:7 3:12 8:8 9:8 10:4 11:9 12:4 13:5 14:5 15:5 16:4 18:3 18:4 19:7 20:6 21:2 22:4 32:4 35:4 37:3 42:2 43:2 44:1 47:0 60:1 61:0',
  'kafka-python-2.0.2': '0:7 1:4 2:1 3:0 3:1 3:5 8:2 9:1 9:3 10:0 11:2 13:1 14:1 15:3 16:1 18:0 19:3 20:3 32:2 33:1 37:1 42:1',
  'librdkafka-2.0.2': '0:7 1:11 2:2 3:4 8:7 9:7 10:2 11:5 12:3 13:1 14:3 15:0 16:0 18:3 19:4 20:1 22:4 32:1 33:0 37:0',
  'librdkafka-2.16.0':
    '0:9 1:13 2:7 3:12 8:8 9:8 10:2 11:5 12:3 13:1 14:3 15:0 15:5 16:0 16:4 18:3 19:4 20:4 21:2 22:4 32:1 33:2 37:2 42:2 44:1',
};

interface Fixture {
  client: string;
  apiKey: number;
  version: number;
  request: Buffer;
  response: Buffer | undefined;
  file: string;
}

function load(): Fixture[] {
  const out: Fixture[] = [];
  for (const client of readdirSync(FIXTURES).sort()) {
    const dir = join(FIXTURES, client);
    for (const f of readdirSync(dir).sort()) {
      const m = /^(\d+)-\w+-v(\d+)\.req\.hex$/.exec(f);
      if (!m) continue;
      const resFile = join(dir, f.replace('.req.hex', '.res.hex'));
      out.push({
        client,
        apiKey: Number(m[1]),
        version: Number(m[2]),
        request: Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex'),
        response: existsSync(resFile) ? Buffer.from(readFileSync(resFile, 'utf8').trim(), 'hex') : undefined,
        file: `${client}/${f}`,
      });
    }
  }
  return out;
}

const fixtures = load();

/** ApiVersions is the one request a client may send above our range: the broker answers it with v0. */
function advertised(apiKey: number, version: number): boolean {
  const r = ADVERTISED.get(apiKey);
  return r !== undefined && version >= r[0] && version <= r[1];
}

test('every captured request decodes and re-encodes byte for byte, header included', () => {
  assert.ok(fixtures.length > 0, `no fixtures under ${FIXTURES}`);
  for (const fx of fixtures) {
    const def = apiDef(fx.apiKey);
    assert.ok(def, `${fx.file}: API ${fx.apiKey} has no declaration`);
    const r = new KafkaReader(fx.request);
    const h = readHeaderPrefix(r);
    assert.equal(h.apiKey, fx.apiKey, fx.file);
    assert.equal(h.apiVersion, fx.version, fx.file);
    const flexible = def.request.isFlexible(fx.version);
    readHeaderRest(r, h, flexible);
    const headerLen = fx.request.length - r.remaining();
    const body = fx.request.subarray(headerLen);
    const w = new KafkaWriter(32);
    writeRequestHeader(w, h, flexible);
    assert.deepEqual(Buffer.from(w.toBuffer()), fx.request.subarray(0, headerLen), `${fx.file}: request header re-encodes`);
    const value = decode(def.request, fx.version, body);
    assert.deepEqual(reencode(def.request, fx.version, value), body, `${fx.file}: body re-encodes identically`);
  }
});

test('every response our broker sent them decodes and re-encodes byte for byte', () => {
  let checked = 0;
  for (const fx of fixtures) {
    if (!fx.response) continue;
    const def = apiDef(fx.apiKey)!;
    // ApiVersions answers always use header v0, and a version above ours gets a v0 body.
    const isApiVersions = fx.apiKey === ApiKey.ApiVersions;
    const version = isApiVersions && !advertised(fx.apiKey, fx.version) ? 0 : fx.version;
    const flexible = !isApiVersions && def.response.isFlexible(version);
    const r = new KafkaReader(fx.response);
    assert.equal(r.int32(), readCorrelation(fx.request), `${fx.file}: correlation id`);
    if (flexible) assert.equal(r.uvarint(), 0, `${fx.file}: response header tags`);
    const headerLen = fx.response.length - r.remaining();
    const w = new KafkaWriter(8);
    writeResponseHeader(w, fx.response.readInt32BE(0), flexible);
    assert.deepEqual(Buffer.from(w.toBuffer()), fx.response.subarray(0, headerLen), `${fx.file}: response header`);
    const body = fx.response.subarray(headerLen);
    const value = decode(def.response, version, body);
    assert.deepEqual(reencode(def.response, version, value), body, `${fx.file}: response re-encodes identically`);
    checked++;
  }
  assert.ok(checked > 0, 'no response fixtures');
});

function readCorrelation(req: Buffer): number {
  return req.readInt32BE(4);
}

test('each client covers the (API, version) pairs it uses, all within our advertised ranges', () => {
  for (const [client, pairs] of Object.entries(COVERED)) {
    const have = new Set(fixtures.filter((f) => f.client === client).map((f) => `${f.apiKey}:${f.version}`));
    assert.ok(have.size > 0, `no fixtures for ${client}: run captureKafkaRequests.js`);
    const want = pairs.split(' ');
    for (const p of want) assert.ok(have.has(p), `${client}: fixture for ${describe(p)} missing`);
    // A new pair in the fixtures means the list above (and this test's promise) is stale.
    for (const p of have) assert.ok(want.includes(p), `${client}: ${describe(p)} captured but not listed in COVERED`);
    for (const p of have) {
      const [k, v] = p.split(':').map(Number) as [number, number];
      if (k === ApiKey.ApiVersions) continue;
      assert.ok(advertised(k, v), `${client} sent ${describe(p)}, outside our advertised range`);
    }
  }
  assert.deepEqual(
    [...new Set(fixtures.map((f) => f.client))].sort(),
    Object.keys(COVERED).sort(),
    'fixture directories and COVERED name the same clients',
  );
});

function describe(pair: string): string {
  const [k, v] = pair.split(':').map(Number) as [number, number];
  return `${apiDef(k)?.name ?? `API ${k}`} v${v}`;
}
