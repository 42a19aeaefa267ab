// SASL for client sessions, as ZooKeeper 3.8 does it (ZooKeeperServer.processSasl,
// ServerCnxnFactory.configureSaslLogin, SaslServerCallbackHandler, SASLAuthenticationProvider):
// the settings and where they come from, loading the JAAS section, and one DIGEST-MD5 exchange per
// connection. Success adds the `sasl` auth id (and `super` for zookeeper.superUser); failure is
// AUTHFAILED and the connection is closed.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Err } from '../../protocol/constants.js';
import type { IdT } from '../../protocol/records.js';
import { silentLogger, type Logger } from '../../../util/log.js';
import { DigestMd5Server, SaslError, ZK_DIGEST_PROTOCOL, ZK_DIGEST_SERVER_NAME } from './digestMd5.js';
import { DIGEST_LOGIN_MODULE, digestUsers, JaasError, parseJaas } from './jaas.js';

/** The provider class that makes `sasl` a valid ACL scheme (authProvider.N=...). */
export const SASL_AUTH_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';

export interface SaslOptions {
  /** -Djava.security.auth.login.config: the JAAS file (absolute). */
  jaasConfigPath: string | undefined;
  /** -Dzookeeper.sasl.serverconfig: the JAAS section of the server (default Server). */
  loginContext: string;
  /** DIGEST-MD5 users of that section; undefined = no SASL server (SASL packets get OK, no token). */
  users: ReadonlyMap<string, string> | undefined;
  /** -Dzookeeper.superUser (and zookeeper.superUser.*): SASL users who get `super`. */
  superUsers: string[];
  /** -Dzookeeper.SASLAuthenticationProvider.superPassword: the password of user "super". */
  superPassword: string | undefined;
  /** -Dzookeeper.allowSaslFailedClients: a failed exchange keeps the connection (as unauthenticated). */
  allowFailedClients: boolean;
  /** authProvider.N=SASLAuthenticationProvider: `sasl` ACLs are valid and match. */
  aclProvider: boolean;
  /**
   * zookeeper.enforce.auth.enabled + enforce.auth.schemes (or sessionRequireClientSASLAuth, which
   * means `sasl`): a connection without an id of one of these schemes gets
   * SESSIONCLOSEDREQUIRESASLAUTH for any request but auth and SASL. Empty = not enforced.
   */
  enforceAuthSchemes: string[];
}

/** A SASL setting that cannot work (the server must not start). */
export class SaslConfigError extends Error {
  override name = 'SaslConfigError';
}

export function defaultSaslOptions(): SaslOptions {
  return {
    jaasConfigPath: undefined,
    loginContext: 'Server',
    users: undefined,
    superUsers: [],
    superPassword: undefined,
    allowFailedClients: false,
    aclProvider: false,
    enforceAuthSchemes: [],
  };
}

/** The settings while zoo.cfg and the properties are read; finishSaslOptions resolves them. */
export interface SaslSettings {
  options: SaslOptions;
  /** The raw enforcement properties (AuthenticationHelper reads them together). */
  requireSasl: boolean;
  enforceEnabled: boolean;
  enforceSchemes: string | undefined;
}

export function newSaslSettings(): SaslSettings {
  return { options: defaultSaslOptions(), requireSasl: false, enforceEnabled: false, enforceSchemes: undefined };
}

/**
 * One zoo.cfg key or system property (its `zookeeper.` prefix already removed as `key`; `name`
 * is the key as written). Returns true if it is a SASL setting and was applied.
 */
export function applySaslSetting(settings: SaslSettings, key: string, name: string, value: string, baseDir: string): boolean {
  const s = settings.options;
  if (name === 'java.security.auth.login.config') {
    s.jaasConfigPath = isAbsolute(value) ? value : resolve(baseDir, value);
    return true;
  }
  if (key === 'sasl.serverconfig') {
    s.loginContext = value;
    return true;
  }
  if (key === 'superUser' || key.startsWith('superUser.')) {
    if (value !== '') s.superUsers.push(value);
    return true;
  }
  if (key === 'SASLAuthenticationProvider.superPassword') {
    s.superPassword = value;
    return true;
  }
  if (key === 'allowSaslFailedClients') {
    s.allowFailedClients = value.toLowerCase() === 'true';
    return true;
  }
  if (key.startsWith('authProvider.') && value === SASL_AUTH_PROVIDER) {
    s.aclProvider = true;
    return true;
  }
  // Boolean.parseBoolean: "true" in any case, anything else false.
  if (key === 'sessionRequireClientSASLAuth') settings.requireSasl = value.toLowerCase() === 'true';
  else if (key === 'enforce.auth.enabled') settings.enforceEnabled = value.toLowerCase() === 'true';
  else if (key === 'enforce.auth.schemes') settings.enforceSchemes = value;
  else return false;
  return true;
}

/**
 * After every setting is read: the enforcement (AuthenticationHelper: sessionRequireClientSASLAuth
 * wins over enforce.auth.*; every enforced scheme needs a provider), then the JAAS users.
 */
export function finishSaslOptions(settings: SaslSettings, read?: (path: string) => string): SaslOptions {
  const s = settings.options;
  let schemes: string[] = [];
  if (settings.requireSasl) {
    schemes = ['sasl'];
  } else if (settings.enforceEnabled) {
    if (settings.enforceSchemes === undefined) {
      throw new SaslConfigError(
        'zookeeper.enforce.auth.enabled is true but zookeeper.enforce.auth.schemes is not set: name the schemes (e.g. sasl)',
      );
    }
    schemes = settings.enforceSchemes.split(',').map((x) => x.trim());
  }
  for (const scheme of schemes) {
    const available = scheme === 'digest' || scheme === 'ip' || (scheme === 'sasl' && s.aclProvider);
    if (!available) {
      throw new SaslConfigError(
        `${settings.requireSasl ? 'zookeeper.sessionRequireClientSASLAuth' : 'zookeeper.enforce.auth.schemes'}: ` +
          `authentication scheme "${scheme}" is not available` +
          (scheme === 'sasl' ? ` (set authProvider.1=${SASL_AUTH_PROVIDER})` : ' (available: digest, ip, sasl with its authProvider)'),
      );
    }
  }
  s.enforceAuthSchemes = schemes;
  loadSaslUsers(s, read);
  return s;
}

/**
 * configureSaslLogin: with a JAAS file, its section (loginContext) gives the DIGEST-MD5 users. A
 * file without that section means no SASL, as in ZooKeeper; a file that cannot be read or parsed
 * throws (the server must not start). `read` is injectable for tests.
 */
export function loadSaslUsers(s: SaslOptions, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): void {
  if (s.jaasConfigPath === undefined) return;
  let text: string;
  try {
    text = read(s.jaasConfigPath);
  } catch (e) {
    throw new JaasError(
      `cannot read the JAAS login configuration ${s.jaasConfigPath} (java.security.auth.login.config): ${(e as Error).message}`,
    );
  }
  const jaas = parseJaas(text, s.jaasConfigPath);
  const entries = jaas.get(s.loginContext);
  if (entries === undefined) return;
  const other = entries.find((e) => e.loginModule !== DIGEST_LOGIN_MODULE);
  if (other) {
    throw new JaasError(
      `${s.jaasConfigPath} line ${other.line}: login module ${other.loginModule} in section ${s.loginContext} is not supported; ` +
        `only ${DIGEST_LOGIN_MODULE} (DIGEST-MD5) is (Kerberos/GSSAPI is not implemented)`,
    );
  }
  s.users = digestUsers(entries);
}

/** What the server answers to one SASL packet. */
export interface SaslReply {
  err: number;
  /** The SetSASLResponse token (null: none). */
  token: Buffer | null;
  /** Close the connection after the reply (a failed exchange). */
  close: boolean;
  /** Auth ids to add to the connection (on success). */
  ids: IdT[];
}

/** The SASL exchanges of one server's connections. */
export class SaslAuthenticator {
  private readonly exchanges = new WeakMap<object, DigestMd5Server>();
  log: Logger = silentLogger;
  /** Whether a SASL failure must end the session (SESSIONCLOSEDREQUIRESASLAUTH, isSaslAuthRequired). */
  private readonly saslRequired: boolean;

  constructor(
    private readonly opts: SaslOptions | undefined,
    private readonly newNonce: () => string = () => randomBytes(30).toString('base64'),
  ) {
    this.saslRequired = opts?.enforceAuthSchemes.includes('sasl') ?? false;
  }

  /**
   * AuthenticationHelper.enforceAuthentication: the error a request other than auth and SASL
   * gets from a connection without an id of an enforced scheme (the connection is then closed),
   * or 0.
   */
  refusal(authIds: readonly IdT[]): number {
    const schemes = this.opts?.enforceAuthSchemes;
    if (!schemes || schemes.length === 0) return 0;
    return authIds.some((id) => schemes.includes(id.scheme)) ? 0 : Err.SESSIONCLOSEDREQUIRESASLAUTH;
  }

  /** processSasl for one GetSASLRequest of connection `conn`. */
  step(conn: object, token: Buffer | null, remote: string): SaslReply {
    const o = this.opts;
    // No SASL server configured: ZooKeeper's missing SaslServer answers OK with no token.
    if (o?.users === undefined) return { err: 0, token: null, close: false, ids: [] };
    let ex = this.exchanges.get(conn);
    if (!ex) {
      const users = o.users;
      ex = new DigestMd5Server({
        protocol: ZK_DIGEST_PROTOCOL,
        serverName: ZK_DIGEST_SERVER_NAME,
        nonce: this.newNonce(),
        passwordOf: (u) => (u === 'super' && o.superPassword !== undefined ? o.superPassword : users.get(u)),
      });
      this.exchanges.set(conn, ex);
    }
    try {
      const out = ex.evaluate(token ?? Buffer.alloc(0));
      const ids: IdT[] = [];
      const user = ex.authorizationId;
      if (user !== undefined) {
        ids.push({ scheme: 'sasl', id: user });
        if (o.superUsers.includes(user)) ids.push({ scheme: 'super', id: '' });
        this.log.info({ remote, user, superUser: ids.length > 1 }, 'SASL DIGEST-MD5 authentication succeeded');
      }
      return { err: 0, token: out, close: false, ids };
    } catch (e) {
      if (!(e instanceof SaslError)) throw e;
      this.log.warn({ remote, reason: e.message }, 'client failed to SASL authenticate');
      if (o.allowFailedClients && !this.saslRequired) return { err: 0, token: null, close: false, ids: [] };
      return { err: this.saslRequired ? Err.SESSIONCLOSEDREQUIRESASLAUTH : Err.AUTHFAILED, token: null, close: true, ids: [] };
    }
  }
}

/**
 * SASLAuthenticationProvider.isValid: whatever KerberosName accepts: a name without '@', or
 * name[/host]@realm.
 */
export function validSaslAclId(id: string): boolean {
  if (!id.includes('@')) return true;
  return /^[^/@]*(\/[^/@]*)?@[^/@]*$/.test(id);
}

/** SASLAuthenticationProvider.matches: the same name, or the SASL user "super". */
export function saslMatches(authId: string, aclId: string): boolean {
  return authId === 'super' || authId === aclId;
}
