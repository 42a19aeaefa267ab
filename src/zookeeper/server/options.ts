// Settings of one ZooKeeper server, after zoo.cfg parsing and defaults.

import type { EnsembleConfig } from '../quorum/config.js';
import type { SecureClientOptions } from './tls/settings.js';
import type { SaslOptions } from './sasl/saslAuth.js';

export interface ServerOptions {
  /** Server id (myid); 0 in standalone mode without a myid file. Top byte of session ids. */
  serverId: number;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  clientPort: number;
  clientPortAddress: string;
  /** Connections per client IP; 0 = unlimited. */
  maxClientCnxns: number;
  /** jute.maxbuffer: largest frame accepted from a client, in bytes. */
  frameBytesMax: number;
  /** Requests queued per connection before the server stops reading from it. */
  outstandingRequestsMaxPerConnection: number;
  /** Bytes of replies buffered for one connection before it is closed as too slow. */
  outputBufferBytesMax: number;
  extendedTypesEnabled: boolean;
  /** zookeeper.enforceQuota: hard quota limits (countHardLimit, byteHardLimit) refuse writes. */
  enforceQuota: boolean;
  /** `super:<base64 sha1>`, DigestAuthenticationProvider.superDigest. */
  superDigest: string | undefined;
  skipAcl: boolean;
  /** 4lw commands allowed; '*' entry means all. */
  fourLetterWords: Set<string>;
  containerCheckIntervalMs: number;
  containerMaxPerMinute: number;
  /** Containers that never had a child are reaped after this long; 0 = never (3.8 default). */
  containerMaxNeverUsedIntervalMs: number;
  /** Where snapshots (and, without dataLogDir, the transaction log) live; '' = memory only. */
  dataDir: string;
  dataLogDir: string;
  /** fsync the transaction log before acknowledging writes (zoo.cfg forceSync). */
  forceSync: boolean;
  /** A snapshot and log roll happen after snapCount/2 + random(snapCount/2) transactions. */
  snapCount: number;
  /** The transaction log file grows in steps of this many bytes (zoo.cfg preAllocSize, in KB). */
  preAllocBytes: number;
  /** autopurge.snapRetainCount: snapshots (and the logs they need) kept by the purge task. */
  snapRetainCount: number;
  /** autopurge.purgeInterval: hours between purges; 0 = never. */
  purgeIntervalHours: number;
  adminEnabled: boolean;
  adminAddress: string;
  adminPort: number;
  /** The zoo.cfg settings as given, echoed by `conf`. */
  reconfigEnabled: boolean;
  /** readonlymode.enabled: an ensemble member cut off from its quorum serves read-only clients. */
  readOnlyModeEnabled: boolean;
  /** Ensembles only (QuorumPeerConfig): new sessions are local to the member they connect to (localSessions.ts). */
  localSessionsEnabled: boolean;
  /** A local session creating an ephemeral node becomes global first, instead of failing with EPHEMERALONLOCALSESSION. */
  localSessionsUpgradingEnabled: boolean;
  /** The ensemble from the server.N lines; undefined = standalone (as Apache's isDistributed()). */
  ensemble: EnsembleConfig | undefined;
  /** secureClientPort with its ssl.* settings (tls/settings.ts); undefined = no TLS client port. */
  secureClient?: SecureClientOptions;
  /** false when zoo.cfg sets only secureClientPort: then there is no plain client port. */
  clientPortEnabled?: boolean;
  /** SASL (JAAS DIGEST-MD5 users, super users, the sasl ACL provider); undefined = none. */
  sasl?: SaslOptions;
}

export function defaultServerOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  const tickTimeMs = overrides.tickTimeMs ?? 3000;
  return {
    serverId: 0,
    tickTimeMs,
    minSessionTimeoutMs: tickTimeMs * 2,
    maxSessionTimeoutMs: tickTimeMs * 20,
    clientPort: 2181,
    clientPortAddress: '0.0.0.0',
    maxClientCnxns: 60,
    frameBytesMax: 0xfffff,
    outstandingRequestsMaxPerConnection: 1000,
    outputBufferBytesMax: 64 * 1024 * 1024,
    extendedTypesEnabled: false,
    enforceQuota: false,
    superDigest: undefined,
    skipAcl: false,
    fourLetterWords: new Set(['srvr']),
    containerCheckIntervalMs: 60_000,
    containerMaxPerMinute: 10_000,
    containerMaxNeverUsedIntervalMs: 0,
    dataDir: '',
    dataLogDir: '',
    forceSync: true,
    snapCount: 100_000,
    preAllocBytes: 64 * 1024 * 1024,
    snapRetainCount: 3,
    purgeIntervalHours: 0,
    adminEnabled: false,
    adminAddress: '0.0.0.0',
    adminPort: 8080,
    reconfigEnabled: false,
    readOnlyModeEnabled: false,
    localSessionsEnabled: false,
    localSessionsUpgradingEnabled: false,
    ensemble: undefined,
    ...overrides,
  };
}
