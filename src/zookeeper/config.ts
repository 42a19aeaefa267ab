// zoo.cfg parsing, as QuorumPeerConfig reads it: Java properties syntax, the same keys and
// defaults. Unsupported keys warn once each; bad values fail fast naming the key and line.
// This file reads the server's own keys (ports, directories, timeouts, metrics, TLS and SASL
// through their modules); the Properties syntax and value readers are in configProperties.ts.
// The ensemble part (server.N lines and the dynamic config files, myid, initLimit/syncLimit,
// peerType...) is configEnsemble.ts, which follows Apache ZooKeeper 3.8's QuorumPeerConfig rule
// by rule; the server.N syntax, the quorum math and the `conf` rendering live in quorum/config.ts.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { defaultServerOptions, type ServerOptions } from './server/options.js';
import {
  METRICS_HTTP_HOST_DEFAULT,
  METRICS_HTTP_PORT_DEFAULT,
  METRICS_PROVIDERS,
  PROMETHEUS_PROVIDER,
  type MetricsProviderOptions,
  type ObservabilityOptions,
} from './server/metricsOptions.js';
import { SecureClientSettingsBuilder, TlsSettingError } from './server/tls/settings.js';
import { applySaslSetting, finishSaslOptions, newSaslSettings, SaslConfigError } from './server/sasl/saslAuth.js';
import { JaasError } from './server/sasl/jaas.js';
import { ConfigError, parseProperties, toBool, toInt, toJavaBool, where, type PropertyEntry } from './configProperties.js';
import { EnsembleConfigReader } from './configEnsemble.js';

// Moved to configProperties.ts; importers of this module keep working.
export { ConfigError, parseProperties } from './configProperties.js';
export type { PropertyEntry } from './configProperties.js';

export interface ParsedConfig {
  /** With the metrics provider and fsync warning settings (metricsOptions.ts) when zoo.cfg sets them. */
  options: ServerOptions & ObservabilityOptions;
  warnings: string[];
  /** The server.N values as written (zoo.cfg or the dynamic config file), by id. */
  servers: Map<number, string>;
}

/** Keys Apache ZooKeeper accepts that have no effect here yet. */
const ACCEPTED_IGNORED = new Set([
  'syncEnabled',
  'snapSizeLimitInKb',
  'globalOutstandingLimit',
  'maxCnxns',
  'clientPortListenBacklog',
  'leaderServes',
  'digest.enabled',
  'sslQuorum',
  'portUnification',
  'multiAddress.reachabilityCheckEnabled',
  'multiAddress.reachabilityCheckTimeoutMs',
  'flushDelay',
  'maxBatchSize',
  'audit.enable',
]);

/**
 * Parses zoo.cfg text. `baseDir` resolves relative dataDir (and dynamicConfigFile) paths;
 * `sysProps` are -D style properties (zookeeper.* names) applied after the file, like java -D
 * flags; `configPath` (given by loadZooCfg) locates `<zoo.cfg>.dynamic.next`.
 *
 * The ensemble part follows QuorumPeerConfig.parse of Apache ZooKeeper 3.8: server.N lines (in
 * zoo.cfg, or in the dynamicConfigFile), myid, the client port from this server's line, peerType,
 * the initLimit/syncLimit checks; `options.ensemble` is set when Apache would run a quorum peer
 * (isDistributed) and left undefined for standalone.
 */
export function parseZooCfg(text: string, baseDir: string, sysProps: Record<string, string> = {}, configPath?: string): ParsedConfig {
  const fileEntries = parseProperties(text);
  const entries = [...fileEntries];
  for (const [k, v] of Object.entries(sysProps)) entries.push({ key: k, value: v.trim(), line: 0, raw: v });
  const warnings: string[] = [];
  const o: Partial<ServerOptions> = {};
  let minSet = false;
  let maxSet = false;
  let tick = 3000;
  let clientPortAddressEntry: PropertyEntry | undefined;
  const metrics: Partial<MetricsProviderOptions> = {};
  let metricsKeySeen = false;
  let fsyncWarningThresholdMs: number | undefined;
  const tls = new SecureClientSettingsBuilder();
  const sasl = newSaslSettings();
  let saslKeySeen = false;
  const ensembleConfig = new EnsembleConfigReader(fileEntries, warnings);
  for (const e of entries) {
    const fromFile = e.line > 0;
    if (ensembleConfig.takeMembershipLine(e)) continue;
    // Unknown zoo.cfg keys become `zookeeper.<key>` system properties in Java; accept both.
    const key = e.key.startsWith('zookeeper.') ? e.key.slice('zookeeper.'.length) : e.key;
    if (ensembleConfig.applySetting(e, key, baseDir)) continue;
    // SASL (server/sasl/saslAuth.ts): the JAAS file is a JVM property, not a zoo.cfg key.
    if (fromFile && e.key === 'java.security.auth.login.config') {
      warnings.push(`${e.key} has no effect in zoo.cfg (line ${e.line}): pass -Djava.security.auth.login.config=<file> (SERVER_JVMFLAGS)`);
      continue;
    }
    if (applySaslSetting(sasl, key, e.key, e.value, baseDir)) {
      saslKeySeen = true;
      continue;
    }
    switch (key) {
      case 'tickTime':
        tick = toInt(e, 1);
        o.tickTimeMs = tick;
        break;
      case 'dataDir':
        o.dataDir = isAbsolute(e.value) ? e.value : resolve(baseDir, e.value);
        break;
      case 'dataLogDir':
        o.dataLogDir = isAbsolute(e.value) ? e.value : resolve(baseDir, e.value);
        break;
      case 'clientPort':
        o.clientPort = toInt(e, 0, 65535);
        break;
      case 'clientPortAddress':
        o.clientPortAddress = e.value;
        clientPortAddressEntry = e;
        break;
      case 'maxClientCnxns':
        o.maxClientCnxns = toInt(e, 0);
        break;
      case 'minSessionTimeout':
        o.minSessionTimeoutMs = toInt(e, -1);
        minSet = o.minSessionTimeoutMs !== -1;
        break;
      case 'maxSessionTimeout':
        o.maxSessionTimeoutMs = toInt(e, -1);
        maxSet = o.maxSessionTimeoutMs !== -1;
        break;
      case '4lw.commands.whitelist':
        o.fourLetterWords = new Set(
          e.value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        );
        break;
      case 'admin.enableServer':
        o.adminEnabled = toBool(e);
        break;
      case 'admin.serverPort':
        o.adminPort = toInt(e, 0, 65535);
        break;
      case 'admin.serverAddress':
        o.adminAddress = e.value;
        break;
      case 'extendedTypesEnabled':
        o.extendedTypesEnabled = toBool(e);
        break;
      case 'superDigest':
      case 'DigestAuthenticationProvider.superDigest':
        if (!/^[^:]+:.+$/.test(e.value)) throw new ConfigError(`${e.key} must look like super:<base64 sha1> (${where(e)})`);
        o.superDigest = e.value;
        break;
      case 'enforceQuota':
        // Boolean.parseBoolean, as ZooKeeperServer reads zookeeper.enforceQuota: only "true" enables.
        o.enforceQuota = e.value.toLowerCase() === 'true';
        if (!o.enforceQuota && e.value.toLowerCase() !== 'false') {
          warnings.push(`${e.key}=${e.value} is read as false: only "true" enables quota enforcement (${where(e)})`);
        }
        break;
      case 'skipACL':
        o.skipAcl = e.value === 'yes' || e.value === 'true';
        break;
      case 'jute.maxbuffer':
      case 'maxbuffer':
        o.frameBytesMax = toInt(e, 1024, 0x7fffffff);
        break;
      case 'reconfigEnabled':
        o.reconfigEnabled = toJavaBool(e);
        break;
      case 'readonlymode.enabled':
        // Boolean.getBoolean: "true" in any case turns it on, anything else leaves it off. Apache
        // reads only the -D property; the zoo.cfg key is accepted here too (docs/COMPATIBILITY.md).
        if (e.key === key) o.readOnlyModeEnabled = e.value.toLowerCase() === 'true';
        else warnings.push(`${e.key} has no effect (${where(e)}): read-only mode is -Dreadonlymode.enabled=true`);
        break;
      case 'localSessionsEnabled':
        o.localSessionsEnabled = toJavaBool(e);
        break;
      case 'localSessionsUpgradingEnabled':
        o.localSessionsUpgradingEnabled = toJavaBool(e);
        break;
      case 'forceSync':
        o.forceSync = toBool(e);
        break;
      case 'snapCount':
        o.snapCount = toInt(e, 2);
        break;
      case 'preAllocSize':
        o.preAllocBytes = toInt(e, 1, 2 ** 31) * 1024;
        break;
      case 'autopurge.snapRetainCount': {
        const n = toInt(e, 1);
        if (n < 3) warnings.push(`${e.key}=${n} is below the minimum; 3 snapshots are kept (line ${e.line})`);
        o.snapRetainCount = Math.max(3, n);
        break;
      }
      case 'autopurge.purgeInterval':
        o.purgeIntervalHours = toInt(e, 0);
        break;
      case 'znode.container.checkIntervalMs':
        o.containerCheckIntervalMs = toInt(e, 1);
        break;
      case 'znode.container.maxPerMinute':
        o.containerMaxPerMinute = toInt(e, 1);
        break;
      case 'znode.container.maxNeverUsedIntervalMs':
        o.containerMaxNeverUsedIntervalMs = toInt(e, 0);
        break;
      // -------------------------------------------- metrics provider (PrometheusMetricsProvider)
      case 'metricsProvider.className':
        // Apache stops on a class it cannot load; a provider we do not have is ignored with a warning.
        if (!(METRICS_PROVIDERS as readonly string[]).includes(e.value)) {
          warnings.push(
            `${e.key} names an unknown metrics provider "${e.value}" and is ignored (${where(e)}); supported: ${METRICS_PROVIDERS.join(', ')}`,
          );
          break;
        }
        metrics.className = e.value as MetricsProviderOptions['className'];
        metricsKeySeen = true;
        break;
      case 'metricsProvider.httpPort':
        metrics.httpPort = toInt(e, 0, 65535);
        metricsKeySeen = true;
        break;
      case 'metricsProvider.httpHost':
        if (e.value === '') throw new ConfigError(`${e.key} must not be empty (${where(e)})`);
        metrics.httpHost = e.value;
        metricsKeySeen = true;
        break;
      case 'metricsProvider.exportJvmInfo':
        metrics.exportJvmInfo = toJavaBool(e);
        metricsKeySeen = true;
        break;
      case 'fsync.warningthresholdms':
        fsyncWarningThresholdMs = toInt(e, 0);
        break;
      case 'serverCnxnFactory':
        // NIO or Netty: one connection layer here, TLS included (tls/).
        break;
      default:
        if (SecureClientSettingsBuilder.handles(key)) {
          try {
            const w = tls.apply(key, e.value);
            if (w) warnings.push(`${w} (${where(e)})`);
          } catch (err) {
            if (err instanceof TlsSettingError) throw new ConfigError(`${err.message} (${where(e)})`);
            throw err;
          }
        } else if (key.startsWith('authProvider.') && tls.authProvider(key.slice('authProvider.'.length), e.value)) {
          // The x509 provider: client certificates on the secure port (tls/listener.ts).
        } else if (key.startsWith('ssl.') || key.startsWith('authProvider.')) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where(e)})`);
        } else if (ACCEPTED_IGNORED.has(key)) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where(e)})`);
        } else {
          warnings.push(`unknown key ${e.key} is ignored (${where(e)})`);
        }
    }
  }
  if (!o.dataDir) throw new ConfigError('dataDir is not set');
  o.dataLogDir ??= o.dataDir;
  if (o.clientPort === undefined && clientPortAddressEntry) {
    throw new ConfigError(`clientPortAddress is set but clientPort is not set (line ${clientPortAddressEntry.line})`);
  }
  if (!minSet) o.minSessionTimeoutMs = tick * 2;
  if (!maxSet) o.maxSessionTimeoutMs = tick * 20;
  if (o.minSessionTimeoutMs! > o.maxSessionTimeoutMs!) {
    throw new ConfigError(
      `minSessionTimeout (${o.minSessionTimeoutMs}) must not be larger than maxSessionTimeout (${o.maxSessionTimeoutMs})`,
    );
  }

  const { ensemble, distributed, myId, servers } = ensembleConfig.finish(o, o.dataDir, configPath);

  let secureClient: ReturnType<SecureClientSettingsBuilder['finish']>;
  try {
    secureClient = tls.finish(warnings);
  } catch (err) {
    if (err instanceof TlsSettingError) throw new ConfigError(err.message);
    throw err;
  }
  // As ZooKeeper: either client port may be absent, not both.
  const plainPortless = o.clientPort === undefined && secureClient !== undefined;
  if (plainPortless) o.clientPort = 0;
  if (o.clientPort === undefined) {
    throw new ConfigError(
      distributed
        ? `clientPort is not set (neither the clientPort key nor this server's server.${myId} line gives one)`
        : 'clientPort is not set',
    );
  }
  const options: ServerOptions & ObservabilityOptions = defaultServerOptions({ adminEnabled: true, ...o, ensemble });
  if (secureClient) options.secureClient = secureClient;
  if (plainPortless) options.clientPortEnabled = false;
  if (metricsKeySeen) {
    const className = metrics.className ?? 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';
    if (className !== PROMETHEUS_PROVIDER && metrics.httpPort !== undefined) {
      warnings.push(`metricsProvider.httpPort has no effect: metricsProvider.className is not ${PROMETHEUS_PROVIDER}`);
    }
    options.metricsProvider = {
      className,
      httpHost: metrics.httpHost ?? METRICS_HTTP_HOST_DEFAULT,
      httpPort: metrics.httpPort ?? METRICS_HTTP_PORT_DEFAULT,
      exportJvmInfo: metrics.exportJvmInfo ?? true,
    };
  }
  if (fsyncWarningThresholdMs !== undefined) options.fsyncWarningThresholdMs = fsyncWarningThresholdMs;
  if (saslKeySeen) {
    try {
      options.sasl = finishSaslOptions(sasl);
    } catch (e) {
      if (e instanceof JaasError || e instanceof SaslConfigError) throw new ConfigError(e.message);
      throw e;
    }
  }
  return { options, warnings, servers };
}

export function loadZooCfg(path: string, sysProps: Record<string, string> = {}): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return parseZooCfg(text, dirname(resolve(path)), sysProps, path);
}
