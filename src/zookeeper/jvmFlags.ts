// Settings passed the way ZooKeeper's scripts pass them: zkServer.sh starts
// `java $SERVER_JVMFLAGS $JVMFLAGS ... QuorumPeerMain zoo.cfg`, and container images and test
// harnesses put `-Dzookeeper.extendedTypesEnabled=true` and friends there. We read the same
// variables (word-split as the unquoted shell expansion does) and `-Dkey=value` arguments, and
// turn them into the system properties config.ts applies after zoo.cfg (a later one wins, as in
// Java). docs/COMPATIBILITY.md has the table of properties and what each does here.

import { X509_PROVIDER_CLASS } from './server/tls/settings.js';

/** How a system property Apache ZooKeeper 3.8 reads is handled here. */
export type PropertyHandling =
  /** Applied: config.ts reads it (zookeeper.<key> or the zoo.cfg key it stands for). */
  | 'config'
  /** A JVM or logging setting with no meaning for a Node.js server: accepted silently. */
  | 'jvm'
  /** A ZooKeeper feature not built yet: accepted with a warning naming it. */
  | { unsupported: string };

/** Properties outside the `zookeeper.` prefix that Apache ZooKeeper reads, and what they are here. */
const KNOWN_PROPERTIES: ReadonlyMap<string, PropertyHandling> = new Map<string, PropertyHandling>([
  ['jute.maxbuffer', 'config'],
  ['readonlymode.enabled', 'config'],
  // SASL DIGEST-MD5 (server/sasl/saslAuth.ts); authProvider.N names the sasl or x509 ACL provider (config.ts).
  ['java.security.auth.login.config', 'config'],
  ['zookeeper.serverCnxnFactory', 'jvm'],
  ['zookeeper.clientCnxnSocket', 'jvm'],
  ['zookeeper.log.dir', 'jvm'],
  ['zookeeper.log.file', 'jvm'],
  ['zookeeper.log.threshold', 'jvm'],
  ['zookeeper.root.logger', 'jvm'],
  ['zookeeper.console.threshold', 'jvm'],
  ['zookeeper.tracelog.dir', 'jvm'],
  ['zookeeper.tracelog.file', 'jvm'],
  ['zookeeper.jmx.log4j.disable', 'jvm'],
  ['zookeeper.datadir.autocreate', 'jvm'],
  ['log4j.configuration', 'jvm'],
  ['logback.configurationFile', 'jvm'],
  ['file.encoding', 'jvm'],
  ['java.net.preferIPv4Stack', 'jvm'],
  ['java.net.preferIPv6Addresses', 'jvm'],
  ['java.io.tmpdir', 'jvm'],
  ['sun.net.inetaddr.ttl', 'jvm'],
]);

/** Prefixes of JVM-only property families (JMX, GC logging, ...), accepted silently. */
const JVM_PREFIXES = ['com.sun.management.', 'java.rmi.', 'jdk.', 'sun.', 'javax.net.debug', 'user.'];

/** How `name` is handled (anything else under `zookeeper.` goes to config.ts, which warns on what it does not know). */
export function propertyHandling(name: string): PropertyHandling {
  const known = KNOWN_PROPERTIES.get(name);
  if (known) return known;
  // Client-side settings (zkCli.sh's CLIENT_JVMFLAGS) that reach a server's flags: no meaning here.
  if (name === 'zookeeper.client.secure') return 'jvm';
  if (JVM_PREFIXES.some((p) => name.startsWith(p))) return 'jvm';
  return 'config';
}

export interface SystemProperties {
  /** name → value, in the order given (a later setting of a name replaced an earlier one). */
  properties: Record<string, string>;
  /** One line per property set but not applied (unsupported feature), for the log. */
  warnings: string[];
}

/** `-Dname=value` (or `-Dname`, whose value is "") → [name, value]; anything else → undefined. */
export function parseDefine(token: string): [string, string] | undefined {
  if (!token.startsWith('-D') || token.length < 3) return undefined;
  const body = token.slice(2);
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  if (name === '') return undefined;
  return [name, eq < 0 ? '' : body.slice(eq + 1)];
}

/**
 * The system properties of SERVER_JVMFLAGS, then JVMFLAGS (zkServer.sh's order), then `-D`
 * arguments; other JVM options (-Xmx, -XX:..., -cp) are ignored. Returns what config.ts should
 * apply and warnings for properties naming features we lack (each named once).
 */
export function systemPropertiesFrom(env: NodeJS.ProcessEnv, defines: readonly string[] = []): SystemProperties {
  const tokens = [...splitWords(env.SERVER_JVMFLAGS), ...splitWords(env.JVMFLAGS), ...defines];
  const properties: Record<string, string> = {};
  const unsupported = new Map<string, string[]>();
  for (const token of tokens) {
    const define = parseDefine(token);
    if (!define) continue;
    const [name, value] = define;
    // The x509 provider is applied (config.ts -> tls/settings.ts); other providers are not built.
    const x509 = name.startsWith('zookeeper.authProvider.') && value === X509_PROVIDER_CLASS;
    const handling = x509 ? 'config' : propertyHandling(name);
    if (handling === 'jvm') continue;
    if (handling === 'config') {
      // Re-inserted so the last setting also takes the last place, as config.ts applies them in order.
      delete properties[name];
      properties[name] = value;
      continue;
    }
    const names = unsupported.get(handling.unsupported) ?? [];
    if (!names.includes(name)) names.push(name);
    unsupported.set(handling.unsupported, names);
  }
  const warnings = [...unsupported].map(
    ([feature, names]) => `${names.join(', ')}: ${feature} is not supported yet; the setting is ignored`,
  );
  return { properties, warnings };
}

/** Splits `-D` arguments off a command line (parseArgs does not know them). */
export function splitDefines(args: readonly string[]): { defines: string[]; rest: string[] } {
  const defines: string[] = [];
  const rest: string[] = [];
  for (const a of args) (parseDefine(a) ? defines : rest).push(a);
  return { defines, rest };
}

/** Unquoted shell expansion: words separated by blanks (no quote processing, as in zkServer.sh). */
function splitWords(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[ \t\n]+/).filter((w) => w !== '');
}
