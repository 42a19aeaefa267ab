// The client test suite, written against any server a launcher gives it: Apache ZooKeeper
// today (apache.test.ts), ClusterGenie's own server later. Each test works under its own
// root path and closes its clients; faults are injected with a loopback TCP proxy.
// The tests themselves live in suiteData.ts (operations) and suiteSession.ts (sessions,
// faults, limits, recipes).

import { after, afterEach, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, EventType, ZooKeeperClient, type WatchedEvent } from '../../../src/zookeeper/client/index.js';
import type { ServerHandle, StartServer } from '../../helpers/apacheZk.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcpProxy.js';
import { Inbox } from '../../helpers/wait.js';
import { ev, type ServerTraits, type SuiteContext } from './suiteContext.js';
import { dataTests } from './suiteData.js';
import { sessionTests } from './suiteSession.js';

/** zoo.cfg the suite needs: short ticks so a session can expire in about a second. */
export const SUITE_SERVER_CONFIG = { tickTime: '200', minSessionTimeout: '400', maxSessionTimeout: '30000' };

export function clientSuite(name: string, startServer: StartServer, traits: ServerTraits): void {
  describe(`ZooKeeper client against ${name}`, { timeout: 300_000 }, () => {
    let server: ServerHandle | undefined;
    let clients: ZooKeeperClient[] = [];
    let proxies: TcpProxy[] = [];
    let roots = 0;
    let barriers = 0;

    before(async () => {
      server = await startServer({ extraConfig: SUITE_SERVER_CONFIG });
    });
    after(async () => {
      await server?.stop();
    });
    afterEach(async () => {
      for (const p of proxies) {
        p.unblock();
        p.blackhole(false);
      }
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(proxies.map((p) => p.close()));
      clients = [];
      proxies = [];
    });

    const ctx: SuiteContext = {
      traits,
      get server(): ServerHandle {
        if (!server) throw new Error('server not started');
        return server;
      },
      async open(opts = {}, connectString) {
        const c = new ZooKeeperClient({ connectString: connectString ?? ctx.server.connectString, sessionTimeoutMs: 10_000, ...opts });
        clients.push(c);
        await c.connect({ timeoutMs: 15_000 });
        return c;
      },
      async proxy() {
        const p = await startTcpProxy(ctx.server.host, ctx.server.port);
        proxies.push(p);
        return p;
      },
      async base(c) {
        const p = `/suite-${process.pid}-${++roots}`;
        await c.create(p);
        return p;
      },
      async barrier(c) {
        const p = `/barrier-${process.pid}-${++barriers}`;
        const got = new Inbox<WatchedEvent>();
        await c.exists(p, got.push);
        await c.create(p, null, { mode: CreateMode.EPHEMERAL });
        assert.deepEqual(await got.next(10_000, 'the barrier event'), ev(EventType.NodeCreated, p));
        await c.delete(p);
      },
    };

    dataTests(ctx);
    sessionTests(ctx);
  });
}
