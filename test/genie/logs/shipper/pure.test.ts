// The shipper's pure parts: line splitting across chunk edges with bounded carry, invalid UTF-8,
// JSON / logfmt / Docker parsing into Vector-shaped events, record size limits, and the
// acknowledgement bookkeeping behind the checkpoint.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nsToRfc3339 } from '../../../../src/genie/logs/logEvent.js';
import { AckTracker, parseCheckpoint, serializeCheckpoint } from '../../../../src/genie/logs/shipper/checkpoint.js';
import { type Line, LineSplitter } from '../../../../src/genie/logs/shipper/lines.js';
import {
  DockerJoiner,
  encodeLineFast,
  encodeLogEvent,
  looksLikeDockerLog,
  parseFields,
  sourceJsonSuffix,
  toLogEvent,
} from '../../../../src/genie/logs/shipper/parse.js';
import { readAt } from '../../../../src/genie/logs/shipper/producer.js';

const now = 1_796_000_000_123_456_789n;
const ctx = { sourceType: 'file' as const, host: 'h1', file: '/var/log/app.log', readAt: nsToRfc3339(now) };

function splitAll(input: Buffer, chunkSize: number, lineBytesMax = 1024): Line[] {
  const s = new LineSplitter(lineBytesMax);
  const out: Line[] = [];
  for (let i = 0; i < input.length; i += chunkSize) s.push(input.subarray(i, Math.min(input.length, i + chunkSize)), undefined, out);
  return out;
}

describe('LineSplitter', () => {
  test('the same lines and positions whatever the chunk edges', () => {
    const text = 'alpha\nbeta gamma\r\n\nδέλτα εψιλον\nlast-without-newline';
    const input = Buffer.from(text);
    const whole = splitAll(input, input.length);
    assert.deepEqual(
      whole.map((l) => l.text),
      ['alpha', 'beta gamma', '', 'δέλτα εψιλον'],
    );
    assert.deepEqual(
      whole.map((l) => l.endPosition),
      [6, 18, 19, 19 + Buffer.byteLength('δέλτα εψιλον\n')],
    );
    for (const size of [1, 2, 3, 5, 7, 13]) assert.deepEqual(splitAll(input, size), whole, `chunks of ${size}`);
  });

  test('linesMax stops after that many lines, with readPosition just after the last', () => {
    const s = new LineSplitter(100);
    const chunk = Buffer.from('a\nbb\nccc\ndd');
    assert.deepEqual(
      s.push(chunk, chunk.length, [], 2).map((l) => l.text),
      ['a', 'bb'],
    );
    assert.equal(s.readPosition, 5);
    const rest = chunk.subarray(5);
    assert.deepEqual(
      s.push(rest, rest.length, [], 5).map((l) => [l.text, l.endPosition]),
      [['ccc', 9]],
    );
    assert.equal(s.finish()?.text, 'dd');
  });

  test('finish() returns the unterminated rest once', () => {
    const s = new LineSplitter(100);
    assert.deepEqual(
      s.push(Buffer.from('a\nbc')).map((l) => l.text),
      ['a'],
    );
    const rest = s.finish();
    assert.equal(rest?.text, 'bc');
    assert.equal(rest?.endPosition, 4);
    assert.equal(s.finish(), undefined);
  });

  test('a line longer than lineBytesMax is cut, marked, and the next line is whole', () => {
    const long = 'x'.repeat(10_000);
    const input = Buffer.from(`${long}\nafter\n`);
    for (const size of [7, 100, 4096, input.length]) {
      const lines = splitAll(input, size, 1000);
      assert.equal(lines.length, 2);
      assert.equal(lines[0]!.text, 'x'.repeat(1000));
      assert.equal(lines[0]!.truncated, true);
      assert.equal(lines[0]!.bytes, 10_000);
      assert.equal(lines[0]!.endPosition, 10_001);
      assert.deepEqual({ ...lines[1]!, text: lines[1]!.text }, { text: 'after', endPosition: 10_007, truncated: false, bytes: 5 });
    }
  });

  test('the carry never holds more than lineBytesMax however long the line', () => {
    const s = new LineSplitter(4096);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 160; i++) assert.equal(s.push(chunk).length, 0); // 10 MiB, no newline
    // biome-ignore lint/suspicious/noExplicitAny: reading the private carry to check the bound
    assert.ok((s as any).carry.length <= 4096);
    const [line] = s.push(Buffer.from('\n'));
    assert.equal(line!.text.length, 4096);
    assert.equal(line!.bytes, 160 * 64 * 1024);
  });

  test('invalid UTF-8 and binary garbage become replacement characters, never an error', () => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a, 0xe2, 0x82, 0x0a, 0x80, 0x81]);
    const lines = splitAll(garbage, 1);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.text.includes('\uFFFD'));
    assert.ok(lines[0]!.text.includes('\u0000'));
    assert.ok(lines[1]!.text.includes('\uFFFD'));
  });
});

describe('toLogEvent', () => {
  test('a plain line is a message with Vector fields', () => {
    const e = toLogEvent({ text: 'hello world', truncated: false }, ctx);
    assert.deepEqual(e, { message: 'hello world', timestamp: nsToRfc3339(now), host: 'h1', source_type: 'file', file: '/var/log/app.log' });
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  test('a JSON object line is merged, never over the reserved fields', () => {
    const line =
      '{"level":30,"msg":"started","message":"fake","timestamp":"x","host":"evil","file":"f","n":{"a":1},"__proto__":{"polluted":true}}';
    const e = toLogEvent({ text: line, truncated: false }, ctx);
    assert.equal(e.message, line);
    assert.equal(e.host, 'h1');
    assert.equal(e.file, '/var/log/app.log');
    assert.equal(e.timestamp, nsToRfc3339(now));
    assert.equal(e.level, 30);
    assert.equal(e.msg, 'started');
    assert.deepEqual(e.n, { a: 1 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((e as Record<string, unknown>).polluted, undefined); // the prototype was not replaced
    assert.ok(Object.hasOwn(e, '__proto__')); // kept as an ordinary field
    assert.match(JSON.stringify(e), /"__proto__":\{"polluted":true\}/);
  });

  test('JSON that is not an object, and broken JSON, stay messages', () => {
    for (const text of ['[1,2,3]', '"str"', '{"a":', '{not json}', '42']) {
      assert.deepEqual(Object.keys(toLogEvent({ text, truncated: false }, ctx)).sort(), [
        'file',
        'host',
        'message',
        'source_type',
        'timestamp',
      ]);
    }
  });

  test('logfmt lines give string fields; prose and paths do not', () => {
    const e = toLogEvent({ text: 'level=warn msg="disk almost full" used_pct=93 host=other', truncated: false }, ctx);
    assert.equal(e.level, 'warn');
    assert.equal(e.msg, 'disk almost full');
    assert.equal(e.used_pct, '93');
    assert.equal(e.host, 'h1');
    assert.equal(parseFields('user logged in'), undefined);
    assert.equal(parseFields('GET /a?b=c 200'), undefined);
    assert.equal(parseFields('a = b'), undefined);
    assert.equal(parseFields('x="unterminated'), undefined);
  });

  test('a truncated line is not parsed and carries truncated: true', () => {
    const e = toLogEvent({ text: '{"level":"info","msg":"cut her', truncated: true }, ctx);
    assert.equal(e.truncated, true);
    assert.equal(e.level, undefined);
  });

  test('Docker json-file records: log without newline, stream, Docker time, inner fields', () => {
    assert.ok(looksLikeDockerLog('/var/lib/docker/containers/abc/abc-json.log'));
    const d = { ...ctx, sourceType: 'docker_logs' as const, docker: true };
    const rec = JSON.stringify({
      log: '{"level":"error","msg":"boom","stream":"inner"}\n',
      stream: 'stderr',
      time: '2026-12-07T10:00:00.123456789Z',
    });
    const e = toLogEvent({ text: rec, truncated: false }, d);
    assert.equal(e.message, '{"level":"error","msg":"boom","stream":"inner"}');
    assert.equal(e.stream, 'stderr');
    assert.equal(e.timestamp, '2026-12-07T10:00:00.123456789Z');
    assert.equal(e.level, 'error');
    assert.equal(e.source_type, 'docker_logs');
    const plain = toLogEvent({ text: JSON.stringify({ log: 'plain\r\n', stream: 'stdout', time: 'not a time' }), truncated: false }, d);
    assert.equal(plain.message, 'plain');
    assert.equal(plain.timestamp, nsToRfc3339(now));
    const notDocker = toLogEvent({ text: 'garbage line', truncated: false }, d);
    assert.equal(notDocker.message, 'garbage line');
  });
});

describe('DockerJoiner', () => {
  test('parts of a split line are joined per stream, bounded by lineBytesMax', () => {
    const j = new DockerJoiner(10);
    assert.deepEqual(j.push({ log: 'whole\n', stream: 'stdout' }), { log: 'whole\n', stream: 'stdout' });
    assert.equal(j.push({ log: 'ab', stream: 'stdout', time: 't1' }), undefined);
    assert.equal(j.push({ log: 'XY', stream: 'stderr', time: 't2' }), undefined);
    assert.equal(j.push({ log: 'cd', stream: 'stdout', time: 't3' }), undefined);
    assert.deepEqual(j.push({ log: 'e\n', stream: 'stdout', time: 't4' }), { log: 'abcde\n', stream: 'stdout', time: 't1' });
    assert.deepEqual(j.push({ log: 'Z'.repeat(20), stream: 'stderr' }), undefined);
    const cut = j.push({ log: 'end\n', stream: 'stderr' })!;
    assert.equal(cut.log, `XY${'Z'.repeat(8)}`);
    assert.equal(cut.truncated, true);
    const e = toLogEvent({ text: '', truncated: false }, { ...ctx, sourceType: 'docker_logs', docker: true }, cut);
    assert.equal(e.truncated, true);
    assert.equal(e.message, `XY${'Z'.repeat(8)}`);
  });
});

describe('encodeLogEvent', () => {
  test('small events encode as they are', () => {
    const e = toLogEvent({ text: 'a=1', truncated: false }, ctx);
    const enc = encodeLogEvent(e, 1000)!;
    assert.deepEqual(JSON.parse(enc.value), e);
    assert.equal(enc.bytes, Buffer.byteLength(enc.value));
    assert.equal(enc.shortened, false);
  });

  test('an event over recordBytesMax is shortened to fit, even when escaping inflates it', () => {
    for (const text of ['y'.repeat(50_000), '\u0000'.repeat(50_000), '€'.repeat(50_000), '😀'.repeat(30_000)]) {
      const enc = encodeLogEvent(toLogEvent({ text, truncated: false }, ctx), 10_000)!;
      assert.ok(enc.bytes <= 10_000, `${enc.bytes}`);
      assert.ok(enc.bytes > 5_000, `kept most of the room: ${enc.bytes}`);
      const back = JSON.parse(enc.value);
      assert.equal(back.truncated, true);
      assert.ok(text.startsWith(back.message));
    }
    assert.equal(encodeLogEvent(toLogEvent({ text: 'z'.repeat(1000), truncated: false }, ctx), 50), undefined);
  });
});

describe('encodeLineFast', () => {
  const suffix = sourceJsonSuffix(ctx);

  test('gives JSON equal to the general path for plain and JSON-object lines', () => {
    const lines = [
      'hello world',
      'quotes " and \\ backslashes, \u0000 control \t chars, é, 😀',
      '{"level":30,"time":1,"msg":"request completed","req":{"method":"GET","url":"/a"},"n":[1,2.5e3,null,true]}',
      '{}',
      '{ }',
      '  {"padded":true}  ',
      '{ "spaced" : "yes" , "k":1 }',
      '{"a":1,"a":2}',
      '{"__proto__":{"polluted":true},"ok":1}',
      '{"big":12345678901234567890}',
      '{"2":"b","1":"a"}',
      '{"nested":{"message":"inner members are not reserved"}}',
      '[1,2,3]',
      '{not json',
      '{"a":',
      '"just a string"',
    ];
    for (const text of lines) {
      const fast = encodeLineFast(text, ctx.readAt, suffix);
      assert.ok(fast !== undefined, `fast path for ${text}`);
      const general = encodeLogEvent(toLogEvent({ text, truncated: false }, ctx), 1_000_000)!;
      assert.deepEqual(JSON.parse(fast), JSON.parse(general.value), text);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('leaves reserved members, logfmt and over-wide objects to the general path', () => {
    for (const text of [
      '{"message":"fake","level":30}',
      '{"a":1,"host":"evil"}',
      '{"file":"x"}',
      '{"timestamp":"x"}',
      '{"source_type":"x"}',
      'level=warn msg="disk full"',
      'GET /a?b=c 200',
      `{${Array.from({ length: 300 }, (_, i) => `"f${i}":${i}`).join(',')}}`,
    ]) {
      assert.equal(encodeLineFast(text, ctx.readAt, suffix), undefined, text);
    }
  });
});

describe('readAt', () => {
  test('RFC 3339 with nanoseconds, strictly increasing across many calls in one millisecond', () => {
    let last = readAt();
    const wall = Date.now();
    for (let i = 0; i < 100_000; i++) {
      const t = readAt();
      assert.ok(t > last, `${t} after ${last}`);
      last = t;
    }
    assert.match(last, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.ok(Math.abs(Date.parse(last) - wall) < 60_000, `${last} is now`);
  });
});

describe('AckTracker', () => {
  test('committed moves only over a prefix of acknowledged lines', () => {
    const t = new AckTracker(100);
    const a = t.add(110);
    const b = t.add(120);
    t.advance(121); // an empty line after b
    const c = t.add(130);
    assert.equal(t.ack(b), false);
    assert.equal(t.committed, 100);
    assert.equal(t.ack(a), true);
    assert.equal(t.committed, 121);
    assert.equal(t.outstanding, 1);
    t.ack(c);
    assert.equal(t.committed, 130);
    assert.equal(t.outstanding, 0);
    t.advance(140);
    assert.equal(t.committed, 140);
  });

  test('many lines, acknowledged in random order', () => {
    const t = new AckTracker(0);
    const tokens = Array.from({ length: 5000 }, (_, i) => t.add((i + 1) * 10));
    const order = tokens.map((tok, i) => ({ tok, k: (i * 7919) % 5000 })).sort((x, y) => x.k - y.k);
    let lastCommitted = 0;
    for (const { tok } of order) {
      t.ack(tok);
      assert.ok(t.committed >= lastCommitted);
      lastCommitted = t.committed;
    }
    assert.equal(t.committed, 50_000);
  });
});

describe('checkpoint file format', () => {
  test('round trip, and clear errors for malformed files', () => {
    const entries = [{ path: '/a.log', dev: '2049', ino: '18446744073709551615', position: 42 }];
    const parsed = parseCheckpoint(serializeCheckpoint(entries));
    assert.deepEqual([...parsed.values()], entries);
    assert.deepEqual(parseCheckpoint('{"files":[{"path":"/b","dev":1,"ino":2,"position":3}]}').get('/b'), {
      path: '/b',
      dev: '1',
      ino: '2',
      position: 3,
    });
    assert.throws(() => parseCheckpoint('not json'), /not JSON/);
    assert.throws(() => parseCheckpoint('{}'), /no "files"/);
    assert.throws(() => parseCheckpoint('{"files":[{"path":"/b","dev":1,"ino":2,"position":-1}]}'), /malformed/);
  });
});
