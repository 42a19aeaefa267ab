// The TLS client port's settings as Apache ZooKeeper 3.8 reads them: secureClientPort and
// secureClientPortAddress (QuorumPeerConfig), the ssl.* keys (X509Util via ZKConfig; in zoo.cfg
// or as zookeeper.ssl.* system properties), authProvider.N naming X509AuthenticationProvider,
// and zookeeper.X509AuthenticationProvider.superUser. config.ts hands each such key here.

/** ZooKeeper's X509Util.ClientAuth: whether the server asks for, or requires, a client certificate. */
export type ClientAuth = 'none' | 'want' | 'need';

export interface StoreSettings {
  location: string | undefined;
  password: string;
  /** ssl.*.passwordPath: the password is read from this file (it wins over the password key). */
  passwordPath: string | undefined;
  /** JKS, PEM, PKCS12 or BCFKS; undefined = by file extension. */
  type: string | undefined;
}

export interface SslSettings {
  keyStore: StoreSettings;
  trustStore: StoreSettings;
  clientAuth: ClientAuth;
  /** ssl.protocol (default TLSv1.2, as X509Util.DEFAULT_PROTOCOL). */
  protocol: string;
  /** ssl.enabledProtocols; undefined = [protocol]. */
  enabledProtocols: string[] | undefined;
  /** ssl.ciphersuites, Java names; undefined = Node's defaults. */
  cipherSuites: string[] | undefined;
  /** ssl.authProvider: the scheme of the provider that authenticates client certificates. */
  authProvider: string;
}

export interface SecureClientOptions {
  port: number;
  address: string;
  ssl: SslSettings;
  /**
   * Client certificates are authenticated by the x509 provider: QuorumPeerConfig.configureSSLAuth
   * registers it whenever secureClientPort is set and ssl.authProvider is x509 (the default).
   * False for another ssl.authProvider scheme, whose provider class cannot be loaded here.
   */
  x509ProviderEnabled: boolean;
  /** zookeeper.X509AuthenticationProvider.superUser: this certificate subject DN is also `super`. */
  x509SuperUser: string | undefined;
}

export const X509_PROVIDER_CLASS = 'org.apache.zookeeper.server.auth.X509AuthenticationProvider';

const CLIENT_AUTH: Record<string, ClientAuth> = { none: 'none', want: 'want', need: 'need' };
const STORE_TYPES = new Set(['JKS', 'PEM', 'PKCS12', 'BCFKS']);

/** Keys accepted as ZooKeeper has them but with no effect on a server's client port. */
const NO_EFFECT = new Set([
  // ClientX509Util never verifies client host names on the server side; server names are the client's business.
  'ssl.hostnameVerification',
  'ssl.clientHostnameVerification',
  // Only used by port unification (portUnification), which is not built.
  'ssl.handshakeDetectionTimeoutMillis',
]);

export class TlsSettingError extends Error {
  override name = 'TlsSettingError';
}

function emptyStore(): StoreSettings {
  return { location: undefined, password: '', passwordPath: undefined, type: undefined };
}

/** Collects the TLS keys of one zoo.cfg (plus system properties) in order; `finish` gives the options. */
export class SecureClientSettingsBuilder {
  private port: number | undefined;
  private address: string | undefined;
  private readonly ssl: SslSettings = {
    keyStore: emptyStore(),
    trustStore: emptyStore(),
    clientAuth: 'need',
    protocol: 'TLSv1.2',
    enabledProtocols: undefined,
    cipherSuites: undefined,
    authProvider: 'x509',
  };
  /** authProvider.<name> keys seen: name -> class. */
  private readonly providers = new Map<string, string>();
  private x509SuperUser: string | undefined;

  /** Whether `key` (without a `zookeeper.` prefix) is one this builder reads. */
  static handles(key: string): boolean {
    return (
      key === 'secureClientPort' ||
      key === 'secureClientPortAddress' ||
      key.startsWith('ssl.') ||
      key === 'X509AuthenticationProvider.superUser'
    );
  }

  /**
   * Applies one key. Returns a warning for the log, or undefined; throws TlsSettingError for a bad
   * value (config.ts adds where it was set).
   */
  apply(key: string, value: string): string | undefined {
    const store = key.startsWith('ssl.keyStore.') ? this.ssl.keyStore : key.startsWith('ssl.trustStore.') ? this.ssl.trustStore : undefined;
    if (store) {
      switch (key.slice(key.indexOf('Store.') + 'Store.'.length)) {
        case 'location':
          store.location = value === '' ? undefined : value;
          return undefined;
        case 'password':
          store.password = value;
          return undefined;
        case 'passwordPath':
          store.passwordPath = value === '' ? undefined : value;
          return undefined;
        case 'type':
          if (value !== '' && !STORE_TYPES.has(value.toUpperCase())) {
            throw new TlsSettingError(
              `${key}=${value} is not a store type; use JKS, PEM or PKCS12 (or leave it unset to go by the file extension)`,
            );
          }
          store.type = value === '' ? undefined : value.toUpperCase();
          return undefined;
        default:
          return `unknown key ${key} is ignored`;
      }
    }
    switch (key) {
      case 'secureClientPort': {
        if (!/^[+-]?\d+$/.test(value) || Number(value) < 0 || Number(value) > 65535) {
          throw new TlsSettingError(`secureClientPort must be a port number in [0, 65535], got "${value}"`);
        }
        const port = Number(value);
        // As QuorumPeerConfig: 0 means not set.
        this.port = port === 0 ? undefined : port;
        return undefined;
      }
      case 'secureClientPortAddress':
        this.address = value;
        return undefined;
      case 'ssl.clientAuth': {
        // X509Util.ClientAuth.fromPropertyValue: empty means NEED.
        const v = value === '' ? 'need' : CLIENT_AUTH[value.toLowerCase()];
        if (!v) throw new TlsSettingError(`ssl.clientAuth=${value} is not valid; use none, want or need`);
        this.ssl.clientAuth = v;
        return undefined;
      }
      case 'ssl.protocol':
        this.ssl.protocol = value;
        return undefined;
      case 'ssl.enabledProtocols':
        this.ssl.enabledProtocols = value.split(',').map((p) => p.trim());
        return undefined;
      case 'ssl.ciphersuites':
        this.ssl.cipherSuites = value.split(',').map((p) => p.trim());
        return undefined;
      case 'ssl.authProvider':
        this.ssl.authProvider = value;
        return undefined;
      case 'ssl.crl':
      case 'ssl.ocsp':
        return value.toLowerCase() === 'true'
          ? `${key}=true is not supported: certificate revocation is not checked (the setting is ignored)`
          : undefined;
      case 'X509AuthenticationProvider.superUser':
        this.x509SuperUser = value;
        return undefined;
      default:
        if (NO_EFFECT.has(key)) return undefined;
        if (key.startsWith('ssl.quorum.')) return `${key} is not supported yet and is ignored (quorum TLS is not built)`;
        return `${key} is not supported yet and is ignored`;
    }
  }

  /** authProvider.<name>=<class>: returns true when it is the x509 provider (then handled here). */
  authProvider(name: string, className: string): boolean {
    this.providers.set(name, className);
    return className === X509_PROVIDER_CLASS;
  }

  /**
   * The TLS port settings, or undefined without secureClientPort (throws if only its address is
   * set, or for an ssl.authProvider scheme no authProvider.<scheme> key names). `warnings` gets
   * what the log should say.
   */
  finish(warnings: string[]): SecureClientOptions | undefined {
    if (this.port === undefined) {
      if (this.address !== undefined) throw new TlsSettingError('secureClientPortAddress is set but secureClientPort is not set');
      return undefined;
    }
    const scheme = this.ssl.authProvider;
    let x509ProviderEnabled = true;
    if (scheme !== 'x509') {
      const cls = this.providers.get(scheme);
      if (cls === undefined) {
        throw new TlsSettingError(
          `No auth provider configured for the SSL authentication scheme '${scheme}'. (ssl.authProvider=${scheme} needs authProvider.${scheme}=<class>; leave ssl.authProvider unset for x509)`,
        );
      }
      warnings.push(
        `ssl.authProvider=${scheme} names authProvider.${scheme}=${cls}, a provider class this server cannot load: clients presenting a certificate on the secure port are closed (leave ssl.authProvider unset for x509)`,
      );
      x509ProviderEnabled = false;
    }
    return {
      port: this.port,
      address: this.address ?? '0.0.0.0',
      ssl: this.ssl,
      x509ProviderEnabled,
      x509SuperUser: this.x509SuperUser,
    };
  }
}
