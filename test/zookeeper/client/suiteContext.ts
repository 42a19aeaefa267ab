// Shared pieces of the client suite: the context tests get, and small assertion helpers.

import {
  KeeperState,
  ZooKeeperError,
  type ClientOptions,
  type WatchedEvent,
  type ZooKeeperClient,
} from '../../../src/zookeeper/client/index.js';
import type { ServerHandle } from '../../helpers/apacheZk.js';
import type { TcpProxy } from '../../helpers/tcpProxy.js';

/**
 * Where servers legitimately differ. Debian's Apache ZooKeeper is 3.8.0; ours follows 3.8.4,
 * whose security fixes make `exists` require READ on an existing node.
 */
export interface ServerTraits {
  existsChecksReadAcl: boolean;
}

/** What the tests get from the suite. */
export interface SuiteContext {
  readonly server: ServerHandle;
  readonly traits: ServerTraits;
  /** A connected client (closed after the test). */
  open(opts?: Partial<ClientOptions>, connectString?: string): Promise<ZooKeeperClient>;
  /** A TCP proxy to the server (closed after the test). */
  proxy(): Promise<TcpProxy>;
  /** A fresh, empty root node for one test. */
  base(c: ZooKeeperClient): Promise<string>;
  /**
   * Make sure every notification the server owes `c` for earlier writes has been delivered:
   * trigger one more watch and wait for it (notifications arrive in zxid order).
   */
  barrier(c: ZooKeeperClient): Promise<void>;
}

/** Predicate for assert.rejects: a ZooKeeperError with this code. */
export const code = (c: number) => (e: unknown) => e instanceof ZooKeeperError && e.code === c;
/** A node event as the client delivers it. */
export const ev = (type: number, path: string): WatchedEvent => ({ type, state: KeeperState.SyncConnected, path });
