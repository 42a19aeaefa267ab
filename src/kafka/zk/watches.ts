// Self re-arming ZooKeeper watches and session-expiry recovery for KafkaZk. ZooKeeper watches
// fire once and vanish with an expired session; Kafka's brokers keep theirs for their lifetime,
// so every watch here re-reads and re-arms itself after each change, after a lost connection,
// and (through SessionRecovery) after a new session replaces an expired one.

import {
  Err,
  EventType,
  isZooKeeperError,
  waitConnected,
  type Stat,
  type WatchedEvent,
  type ZooKeeperClient,
} from '../../zookeeper/client/index.js';

export interface WatchHandle {
  close(): void;
}

/** The live watches of one KafkaZk; each re-reads its node and re-arms after every change. */
export class ZkWatches {
  private readonly live = new Set<{ arm(): void }>();
  private closed = false;

  constructor(private readonly client: ZooKeeperClient) {}

  /** Stop re-arming everything (the session or client is going away). */
  close(): void {
    this.closed = true;
    this.live.clear();
  }

  /** Set every watch again: a new session starts with none. */
  rearmAll(): void {
    for (const w of this.live) w.arm();
  }

  /**
   * Call `cb` with the children of `path` now and after every change (null while the node does
   * not exist). Re-armed after reconnects and session re-establishment; no polling.
   */
  children(path: string, cb: (children: string[] | null) => void): WatchHandle {
    return this.add(async (watcher) => {
      try {
        cb((await this.client.getChildren(path, watcher)).sort());
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE)) throw e;
        // Created in between: the exists watch reports NodeCreated and we read again.
        if ((await this.client.exists(path, watcher)) === null) cb(null);
      }
    });
  }

  /** Call `cb` with the data and stat of `path` now and after every change (nulls while absent). */
  data(path: string, cb: (data: Buffer | null, stat: Stat | null) => void): WatchHandle {
    return this.add(async (watcher) => {
      try {
        const { data, stat } = await this.client.getData(path, watcher);
        cb(data, stat);
      } catch (e) {
        if (!isZooKeeperError(e, Err.NONODE)) throw e;
        if ((await this.client.exists(path, watcher)) === null) cb(null, null);
      }
    });
  }

  private add(read: (watcher: (e: WatchedEvent) => void) => Promise<void>): WatchHandle {
    let active = true;
    const arm = (): void => {
      if (!active || this.closed) return;
      read(watcher).catch(async (e: unknown) => {
        // Connection lost before the watch was set: try again once connected. An expired
        // session is re-armed by SessionRecovery.
        if (isZooKeeperError(e, Err.CONNECTIONLOSS) && active && !this.closed) {
          await waitConnected(this.client).then(arm, () => undefined);
        }
      });
    };
    const watcher = (e: WatchedEvent): void => {
      // Session notices (type None) carry no node change.
      if (e.type !== EventType.None) arm();
    };
    const handle = { arm };
    this.live.add(handle);
    arm();
    return {
      close: () => {
        active = false;
        this.live.delete(handle);
      },
    };
  }
}

export interface SessionRecoveryHooks {
  /** The session expired: ephemerals and watches are gone. */
  expired(): void;
  /** Re-create this session's ephemerals (the broker registration); its epoch if any. */
  reregister(): Promise<number | undefined>;
  reestablished(brokerEpoch: number | undefined): void;
  failed(error: unknown): void;
}

/**
 * On session expiry: start a new session, re-arm the watches, then re-register, so the owner
 * only reports 'expired' and then 'reestablished' (or the failure).
 */
export class SessionRecovery {
  private closed = false;

  constructor(
    private readonly client: ZooKeeperClient,
    private readonly watches: ZkWatches,
    private readonly hooks: SessionRecoveryHooks,
  ) {
    client.on('expired', this.onExpired);
  }

  close(): void {
    this.closed = true;
    this.client.off('expired', this.onExpired);
  }

  private readonly onExpired = (): void => {
    if (this.closed) return;
    this.hooks.expired();
    void this.reestablish();
  };

  private async reestablish(): Promise<void> {
    try {
      await this.client.connect();
      if (this.closed) return;
      // Watches first: they must come back even if re-registration fails.
      this.watches.rearmAll();
      const epoch = await this.hooks.reregister();
      this.hooks.reestablished(epoch);
    } catch (e) {
      if (!this.closed) this.hooks.failed(e);
    }
  }
}
