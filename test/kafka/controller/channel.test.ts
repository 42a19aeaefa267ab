import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerClientError } from '../../../src/kafka/net/brokerClient.js';
import type { Msg } from '../../../src/kafka/protocol/schema.js';
import { type ChannelBroker, ControllerChannel, ControllerChannelClosedError } from '../../../src/kafka/controller/channel.js';

/** A fake connection per connect() call: records requests; `failNext` makes the next request fail as a lost connection. */
function fakeNetwork() {
  const sent: { broker: number; conn: number; body: Msg }[] = [];
  let conns = 0;
  let failNext = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const connect = async (b: ChannelBroker) => {
    const conn = ++conns;
    let closed = false;
    return {
      get closed() {
        return closed;
      },
      close: () => {
        closed = true;
      },
      request: async (_apiKey: number, _version: number, body: Msg): Promise<Msg> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (failNext > 0) {
          failNext--;
          closed = true;
          throw new BrokerClientError('connection lost', true);
        }
        sent.push({ broker: b.id, conn, body });
        return { errorCode: 0, echo: body.n };
      },
    };
  };
  return {
    connect,
    sent,
    fail: (n: number) => {
      failNext = n;
    },
    get conns() {
      return conns;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const b = (id: number, epoch = 1): ChannelBroker => ({ id, host: '127.0.0.1', port: 9000 + id, epoch });

test('requests to one broker go one at a time, in order; a lost connection is re-dialled and the request sent again', async () => {
  const net = fakeNetwork();
  const ch = new ControllerChannel({ controllerId: 1, connect: net.connect });
  ch.setBrokers([b(2), b(3)]);
  net.fail(1);
  const answers = await Promise.all([1, 2, 3].map((n) => ch.send(2, 6, 8, { n })));
  assert.deepEqual(
    answers.map((a) => a.echo),
    [1, 2, 3],
  );
  assert.deepEqual(
    net.sent.map((s) => s.body.n),
    [1, 2, 3],
  );
  assert.equal(net.maxInFlight, 1);
  assert.equal(net.conns, 2, 'one reconnection after the lost request');
  ch.close();
});

test('removing a broker (or a new epoch) rejects what was queued for it; the queue is bounded', async () => {
  const net = fakeNetwork();
  const ch = new ControllerChannel({ controllerId: 1, connect: net.connect, queuedMax: 2 });
  ch.setBrokers([b(2)]);
  const first = ch.send(2, 6, 8, { n: 1 });
  const second = ch.send(2, 6, 8, { n: 2 });
  await assert.rejects(ch.send(2, 6, 8, { n: 3 }), /controllerRequestsQueuedMax/);
  ch.setBrokers([b(2, 5)]); // bounced: new epoch
  await assert.rejects(first, ControllerChannelClosedError);
  await assert.rejects(second, ControllerChannelClosedError);
  await assert.rejects(ch.send(9, 6, 8, { n: 4 }), /not live/);
  assert.equal((await ch.send(2, 6, 8, { n: 5 })).echo, 5);
  ch.close();
  await assert.rejects(ch.send(2, 6, 8, { n: 6 }), /closed/);
});

test("the controller's own broker is served in process, in order, without a connection", async () => {
  const net = fakeNetwork();
  const local: number[] = [];
  const ch = new ControllerChannel({
    controllerId: 1,
    connect: net.connect,
    local: {
      brokerId: 1,
      send: async (_k, _v, body) => {
        local.push(body.n);
        return { errorCode: 0 };
      },
    },
  });
  ch.setBrokers([b(1)]);
  await Promise.all([ch.send(1, 4, 7, { n: 1 }), ch.send(1, 6, 8, { n: 2 })]);
  assert.deepEqual(local, [1, 2]);
  assert.equal(net.conns, 0);
  ch.close();
});
