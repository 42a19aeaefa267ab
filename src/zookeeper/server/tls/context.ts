// Key and trust stores -> Node's TLS options, as X509Util loads them: the store type from
// ssl.*.type or else the file extension (.jks, .pem, .p12, .bcfks); PEM (key and certificates in
// one file), PKCS#12 and JKS (through jks-js: Node has no JKS reader) are read; BCFKS is refused
// with the conversion to make. Any failure names the key and the file, so a server with a bad
// store refuses to start.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import jks from 'jks-js';
import { pkcs12Certificates } from './pkcs12.js';
import type { SslSettings, StoreSettings } from './settings.js';

export class TlsStoreError extends Error {
  override name = 'TlsStoreError';
}

const EXTENSIONS: Record<string, string> = { '.jks': 'JKS', '.pem': 'PEM', '.p12': 'PKCS12', '.bcfks': 'BCFKS' };

/** KeyStoreFileType.fromPropertyValueOrFileName. */
export function storeType(store: StoreSettings, prefix: string): string {
  if (store.type) return store.type;
  const file = store.location!;
  const dot = file.lastIndexOf('.');
  const type = dot >= 0 ? EXTENSIONS[file.slice(dot)] : undefined;
  if (!type) {
    throw new TlsStoreError(
      `Unable to auto-detect store file type from file name: ${file} (${prefix}.location); name it .jks, .pem or .p12, or set ${prefix}.type`,
    );
  }
  return type;
}

function password(store: StoreSettings, prefix: string): string {
  if (store.passwordPath === undefined) return store.password;
  try {
    // SecretUtils.readSecret: the file's text without its line break.
    return readFileSync(store.passwordPath, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new TlsStoreError(`cannot read ${prefix}.passwordPath=${store.passwordPath}: ${(e as Error).message}`);
  }
}

function readStore(store: StoreSettings, prefix: string): Buffer {
  try {
    return readFileSync(store.location!);
  } catch (e) {
    throw new TlsStoreError(`cannot read ${prefix}.location=${store.location}: ${(e as Error).message}`);
  }
}

function unsupportedType(type: string, store: StoreSettings, prefix: string): TlsStoreError {
  const target = `${store.location!.replace(/\.[^./]*$/, '')}.p12`;
  return new TlsStoreError(
    `${prefix}.location=${store.location} is a ${type} store, which this server cannot read (this server reads PEM, PKCS12 and JKS); ` +
      `convert it: keytool -importkeystore -srckeystore ${store.location} -srcstoretype ${type} -destkeystore ${target} -deststoretype PKCS12, ` +
      `then set ${prefix}.location=${target}${store.type ? ` and ${prefix}.type=PKCS12` : ''}`,
  );
}

/** A JKS store's entries as PEM; the password checks the store's integrity digest (keytool's rule). */
function jksEntries(data: Buffer, pass: string, store: StoreSettings, prefix: string): { key?: string; certs: string[] }[] {
  try {
    return Object.values(jks.toPem(data, pass)).map((e) => ({
      ...(e.key ? { key: e.key } : {}),
      certs: pemBlocks([e.cert, e.ca].filter((x) => x !== undefined).join('\n'), (l) => l === 'CERTIFICATE'),
    }));
  } catch (e) {
    throw new TlsStoreError(
      `${prefix}.location=${store.location} (JKS) cannot be loaded: ${(e as Error).message} (check ${prefix}.password)`,
    );
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string, label: (l: string) => boolean): string[] {
  return [...text.matchAll(PEM_BLOCK)].filter((m) => label(m[1]!)).map((m) => m[0]);
}

function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/** The server's key and certificate chain. */
function keyStoreOptions(ssl: SslSettings): SecureContextOptions {
  const prefix = 'ssl.keyStore';
  const store = ssl.keyStore;
  if (store.location === undefined) {
    throw new TlsStoreError(
      'secureClientPort is set but ssl.keyStore.location is not: the TLS port needs the server key and certificate (a PEM or PKCS12 key store)',
    );
  }
  const type = storeType(store, prefix);
  const pass = password(store, prefix);
  const data = readStore(store, prefix);
  if (type === 'PKCS12') return { pfx: data, passphrase: pass };
  if (type === 'JKS') {
    const entry = jksEntries(data, pass, store, prefix).find((e) => e.key !== undefined && e.certs.length > 0);
    if (!entry) throw new TlsStoreError(`${prefix}.location=${store.location} (JKS) holds no private key entry with its certificate`);
    return { key: entry.key, cert: entry.certs.join('\n') };
  }
  if (type !== 'PEM') throw unsupportedType(type, store, prefix);
  const text = data.toString('utf8');
  const keys = pemBlocks(text, (l) => l.endsWith('PRIVATE KEY'));
  const certs = pemBlocks(text, (l) => l === 'CERTIFICATE');
  if (keys.length === 0 || certs.length === 0) {
    throw new TlsStoreError(
      `${prefix}.location=${store.location} must hold the private key and the certificate chain in PEM (found ${keys.length} key(s), ${certs.length} certificate(s))`,
    );
  }
  return { key: keys[0], cert: certs.join('\n'), ...(pass !== '' ? { passphrase: pass } : {}) };
}

/** The CA certificates client certificates are checked against; undefined = Node's default CAs. */
function trustStoreCertificates(ssl: SslSettings): string[] | undefined {
  const prefix = 'ssl.trustStore';
  const store = ssl.trustStore;
  if (store.location === undefined) return undefined;
  const type = storeType(store, prefix);
  const pass = password(store, prefix);
  const data = readStore(store, prefix);
  let certs: string[];
  if (type === 'PEM') {
    certs = pemBlocks(data.toString('utf8'), (l) => l === 'CERTIFICATE');
  } else if (type === 'PKCS12') {
    try {
      certs = pkcs12Certificates(data, pass).map(derToPem);
    } catch (e) {
      throw new TlsStoreError(
        `${prefix}.location=${store.location} (PKCS12) cannot be loaded: ${(e as Error).message} (check ${prefix}.password)`,
      );
    }
  } else if (type === 'JKS') {
    certs = jksEntries(data, pass, store, prefix).flatMap((e) => e.certs);
  } else {
    throw unsupportedType(type, store, prefix);
  }
  if (certs.length === 0) throw new TlsStoreError(`${prefix}.location=${store.location} holds no certificates`);
  for (const c of certs) {
    try {
      new X509Certificate(c);
    } catch (e) {
      throw new TlsStoreError(`${prefix}.location=${store.location} holds a certificate that cannot be parsed: ${(e as Error).message}`);
    }
  }
  return certs;
}

const PROTOCOLS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** ssl.enabledProtocols (or [ssl.protocol]) as Node's version range. */
function versions(ssl: SslSettings): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const list = ssl.enabledProtocols ?? [ssl.protocol];
  const key = ssl.enabledProtocols ? 'ssl.enabledProtocols' : 'ssl.protocol';
  // "TLS" is the JDK's name for "any supported version".
  const expanded = list.flatMap((p) => (p === 'TLS' ? (['TLSv1.2', 'TLSv1.3'] as const) : [p]));
  const idx = expanded.map((p) => {
    const i = PROTOCOLS.indexOf(p as SecureVersion);
    if (i < 0) throw new TlsStoreError(`${key}=${list.join(',')}: ${p} is not a TLS version; use TLSv1.2 or TLSv1.3`);
    return i;
  });
  return { minVersion: PROTOCOLS[Math.min(...idx)]!, maxVersion: PROTOCOLS[Math.max(...idx)]! };
}

/** A JSSE cipher suite name as OpenSSL names it (TLS 1.3 names are the same in both). */
export function opensslCipher(java: string): string | undefined {
  if (/^TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256|AES_128_CCM_SHA256)$/.test(java)) return java;
  const m = /^TLS_(ECDHE_ECDSA|ECDHE_RSA|DHE_RSA|RSA)_WITH_(AES_(128|256)_(GCM|CBC)|CHACHA20_POLY1305)_(SHA|SHA256|SHA384)$/.exec(java);
  if (!m) return undefined;
  const kx = { ECDHE_ECDSA: 'ECDHE-ECDSA-', ECDHE_RSA: 'ECDHE-RSA-', DHE_RSA: 'DHE-RSA-', RSA: '' }[m[1]!]!;
  if (m[2] === 'CHACHA20_POLY1305') return m[1] === 'RSA' ? undefined : `${kx}CHACHA20-POLY1305`;
  if (m[4] === 'GCM') return `${kx}AES${m[3]}-GCM-${m[5]}`;
  return `${kx}AES${m[3]}-${m[5] === 'SHA' ? 'SHA' : m[5]}`;
}

/** The tls.createServer options for the secure client port. Throws TlsStoreError naming the key and file. */
export function secureServerOptions(ssl: SslSettings): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  const opts: SecureContextOptions = { ...keyStoreOptions(ssl), ...versions(ssl) };
  const ca = trustStoreCertificates(ssl);
  if (ca) opts.ca = ca;
  if (ssl.cipherSuites) {
    const names = ssl.cipherSuites.map((c) => {
      const n = opensslCipher(c);
      if (!n)
        throw new TlsStoreError(
          `ssl.ciphersuites: ${c} is not a cipher suite this server knows; use JSSE names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`,
        );
      return n;
    });
    opts.ciphers = names.join(':');
  }
  try {
    // Loads everything now: a wrong password or a key that does not match its certificate stops the start.
    createSecureContext(opts);
  } catch (e) {
    const ks = ssl.keyStore;
    throw new TlsStoreError(
      `the TLS context cannot be built from ssl.keyStore.location=${ks.location}${ca ? ` and ssl.trustStore.location=${ssl.trustStore.location}` : ''}: ${(e as Error).message} (check ssl.keyStore.password and that the store holds the server key with its certificate)`,
    );
  }
  return { ...opts, requestCert: ssl.clientAuth !== 'none', rejectUnauthorized: ssl.clientAuth === 'need' };
}
