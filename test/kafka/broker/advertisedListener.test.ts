// advertised.listeners with a port of its own (a NAT or a proxy in front of the broker, as the
// golden-bytes capture uses): clients must be told that port, not the one the broker bound.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { KafkaTestingCluster } from '../../../src/cluster/kafkaTestingCluster.js';
import { ApiKey, apiDef } from '../../../src/kafka/protocol/apis.js';
import { KafkaReader, KafkaWriter } from '../../../src/kafka/protocol/buffers.js';
import { writeRequestHeader } from '../../../src/kafka/protocol/header.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { freePort } from '../../helpers/net.js';

/** One Metadata v1 request (classic header, no topics filter) and its decoded response. */
function metadata(port: number): Promise<Msg> {
  const def = apiDef(ApiKey.Metadata)!;
  const w = new KafkaWriter(64);
  writeRequestHeader(w, { apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 7, clientId: 'advertised-test' }, false);
  def.request.encode(w, 1, { topics: null });
  const payload = Buffer.from(w.toBuffer());
  const frame = Buffer.concat([Buffer.alloc(4), payload]);
  frame.writeInt32BE(payload.length, 0);
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      s.destroy();
      const r = new KafkaReader(buf.subarray(4, 4 + buf.readInt32BE(0)));
      assert.equal(r.int32(), 7, 'correlation id');
      resolve(def.response.decode(r, 1));
    });
    s.write(frame);
  });
}

test('Metadata names the advertised port when advertised.listeners sets one', async () => {
  const advertised = await freePort();
  const cluster = await KafkaTestingCluster.start({ brokerProps: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${advertised}` } });
  try {
    const bound = cluster.get(1).port;
    assert.notEqual(bound, advertised);
    const res = await metadata(bound);
    assert.deepEqual(
      res.brokers.map((b: Msg) => [b.nodeId, b.host, b.port]),
      [[1, '127.0.0.1', advertised]],
    );
  } finally {
    await cluster.close();
  }
});
