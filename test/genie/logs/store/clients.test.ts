// Third-party Loki clients from npm push to the store unchanged, and their lines come back
// through query_range: pino-loki (a pino transport in a worker thread; JSON pushes, immediate and
// batched) and winston-loki (snappy protobuf by default, JSON with `json: true`).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { type LogStore, startLogStore } from '../../../../src/genie/logs/store/server.js';
import { silentLogger } from '../../../../src/util/log.js';
import { waitFor } from '../../../helpers/wait.js';

let store: LogStore;

before(async () => {
  store = await startLogStore({ port: 0, dataDir: ':memory:', logger: silentLogger });
});

after(async () => {
  await store.close();
});

interface Streams {
  status: string;
  data: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
}

async function queryRange(query: string): Promise<Streams['data']['result']> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const params = new URLSearchParams({
    query,
    start: (nowNs - 600_000_000_000n).toString(),
    end: (nowNs + 60_000_000_000n).toString(),
    limit: '1000',
    direction: 'forward',
  });
  const res = await fetch(`${store.url}/loki/api/v1/query_range?${params}`);
  const body = (await res.json()) as Streams;
  assert.equal(res.status, 200);
  assert.equal(body.status, 'success');
  return body.data.result;
}

const countOf = (r: Streams['data']['result']): number => r.reduce((n, s) => n + s.values.length, 0);

for (const batching of [false, { interval: 0.2 }] as const) {
  test(`pino-loki (batching ${JSON.stringify(batching)}) pushes lines that query_range returns`, async () => {
    const app = batching === false ? 'pino-now' : 'pino-batched';
    const transport = pino.transport({ target: 'pino-loki', options: { host: store.url, batching, labels: { app } } });
    const logger = pino({ level: 'info' }, transport);
    try {
      for (let i = 0; i < 20; i++) logger.info({ seq: i }, `pino line ${i}`);
      logger.error({ seq: 20 }, 'pino failure');
      const result = await waitFor(
        async () => {
          const r = await queryRange(`{app="${app}"}`);
          return countOf(r) === 21 ? r : undefined;
        },
        { timeoutMs: 30_000, what: `21 ${app} lines in the store` },
      );
      // pino-loki labels each stream with the level; the line is pino's JSON.
      const levels = result.map((s) => s.stream.level).sort();
      assert.deepEqual(levels, ['error', 'info']);
      const seqs = result.flatMap((s) => s.values.map((v) => (JSON.parse(v[1]) as { seq: number }).seq)).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: 21 }, (_, i) => i),
      );
      // And LogQL reads pino's JSON.
      const errors = await queryRange(`{app="${app}"} | json | seq >= 20`);
      assert.equal(countOf(errors), 1);
      assert.equal(errors[0]!.stream.msg, 'pino failure');
    } finally {
      await new Promise<void>((resolve) => {
        transport.once('close', () => resolve());
        transport.end();
      });
    }
  });
}

for (const json of [false, true]) {
  test(`winston-loki (${json ? 'JSON' : 'snappy protobuf'}) pushes lines that query_range returns`, async () => {
    const app = json ? 'winston-json' : 'winston-proto';
    const errors: unknown[] = [];
    const transport = new LokiTransport({
      host: store.url,
      json,
      batching: false,
      labels: { app },
      onConnectionError: (e: unknown) => errors.push(e),
    });
    const logger = winston.createLogger({ transports: [transport] });
    try {
      for (let i = 0; i < 10; i++) logger.info(`winston line ${i}`, { seq: i });
      logger.warn('winston warning', { seq: 10 });
      const result = await waitFor(
        async () => {
          const r = await queryRange(`{app="${app}"}`);
          return countOf(r) === 11 ? r : undefined;
        },
        { timeoutMs: 30_000, what: `11 ${app} lines in the store` },
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(result.map((s) => s.stream.level).sort(), ['info', 'warn']);
      const all = result.flatMap((s) => s.values.map((v) => v[1]));
      for (let i = 0; i < 10; i++)
        assert.ok(
          all.some((l) => l.startsWith(`winston line ${i} `) && l.includes(`"seq":${i}`)),
          `line ${i}`,
        );
      const filtered = await queryRange(`{app="${app}"} |= "warning"`);
      assert.equal(countOf(filtered), 1);
      // The body format was the one the mode promises.
      const metrics = await (await fetch(`${store.url}/metrics`)).text();
      const format = json ? 'json' : 'protobuf';
      const count = new RegExp(`clustergenie_logstore_push_requests_total\\{format="${format}",status="204"\\} (\\d+)`).exec(metrics);
      assert.ok(count && Number(count[1]) >= 11, `${format} pushes counted: ${count?.[0]}`);
    } finally {
      await transport.close?.();
      logger.close();
    }
  });
}
