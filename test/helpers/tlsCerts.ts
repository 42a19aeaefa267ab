// Test certificates made fresh in a temp dir with openssl (keys, certificates, PKCS12 key
// stores) and the JDK's keytool (JKS stores, and trust stores as Java writes them): a CA, a
// server certificate for 127.0.0.1/localhost, two client certificates, a client certificate
// from an untrusted CA, and an expired server certificate. A missing tool fails with its name.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = process.env['OPENSSL'] ?? 'openssl';
const KEYTOOL = process.env['KEYTOOL'] ?? 'keytool';

export const STORE_PASSWORD = 'testpass';

export interface Identity {
  /** The subject as Java's X500Principal.getName() prints it (the x509 ACL id). */
  dn: string;
  keyPem: string;
  certPem: string;
  /** key + certificate in one PEM file (ZooKeeper's PEM key store). */
  pem: string;
  p12: string;
  jks: string;
}

export interface TestCerts {
  dir: string;
  caPem: string;
  /** keytool-made trust stores holding the CA. */
  trustP12: string;
  trustJks: string;
  server: Identity;
  client: Identity;
  /** Subject CN=client2 only. */
  client2: Identity;
  /** Signed by a CA nobody trusts. */
  rogue: Identity;
  /** The server key with a certificate that expired yesterday. */
  expiredServer: Identity;
  cleanup(): Promise<void>;
}

async function tool(cmd: string, args: string[], what: string): Promise<void> {
  try {
    await run(cmd, args, { timeout: 60_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new Error(
        `${cmd} is not installed: install ${cmd === KEYTOOL ? 'a JDK (Debian openjdk-17-jdk-headless)' : 'openssl'} to run the TLS tests`,
      );
    }
    throw new Error(`${what} failed: ${err.message}\n${err.stderr ?? ''}`);
  }
}

/** openssl's -subj (most significant first) and the RFC 2253 form Java prints (least significant first). */
function subject(cn: string, full: boolean): { subj: string; dn: string } {
  return full ? { subj: `/O=ClusterGenie/OU=test/CN=${cn}`, dn: `CN=${cn},OU=test,O=ClusterGenie` } : { subj: `/CN=${cn}`, dn: `CN=${cn}` };
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-tls-'));
  const p = (f: string): string => join(dir, f);
  const ssl = (args: string[], what: string): Promise<void> => tool(OPENSSL, args, what);
  const ca = async (name: string): Promise<void> => {
    await ssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        p(`${name}.key`),
        '-out',
        p(`${name}.pem`),
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      `${name} CA`,
    );
  };
  await Promise.all([ca('ca'), ca('rogue-ca')]);
  let serial = 1000;
  await writeFile(p('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  // `full`: O and OU besides CN. zkCli splits ACL lists on commas, so a DN it can put in an ACL has one RDN.
  const identity = async (name: string, cn: string, signer: string, expired = false, full = true): Promise<Identity> => {
    const { subj, dn } = subject(cn, full);
    const keyFile = name === 'expired-server' ? p('server.key') : p(`${name}.key`);
    if (name !== 'expired-server')
      await ssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile], `${name} key`);
    await ssl(['req', '-new', '-key', keyFile, '-subj', subj, '-out', p(`${name}.csr`)], `${name} csr`);
    // -days -1: valid until yesterday (OpenSSL 3.0 has no -not_after).
    const validity = ['-days', expired ? '-1' : '2'];
    await ssl(
      [
        'x509',
        '-req',
        '-in',
        p(`${name}.csr`),
        '-CA',
        p(`${signer}.pem`),
        '-CAkey',
        p(`${signer}.key`),
        '-set_serial',
        String(++serial),
        '-out',
        p(`${name}.crt`),
        ...validity,
        '-extfile',
        p('ext.cnf'),
      ],
      `${name} certificate`,
    );
    await ssl(
      [
        'pkcs12',
        '-export',
        '-inkey',
        keyFile,
        '-in',
        p(`${name}.crt`),
        '-certfile',
        p(`${signer}.pem`),
        '-name',
        name,
        '-out',
        p(`${name}.p12`),
        '-passout',
        `pass:${STORE_PASSWORD}`,
      ],
      `${name} PKCS12`,
    );
    await tool(
      KEYTOOL,
      [
        '-importkeystore',
        '-noprompt',
        '-srckeystore',
        p(`${name}.p12`),
        '-srcstoretype',
        'PKCS12',
        '-srcstorepass',
        STORE_PASSWORD,
        '-destkeystore',
        p(`${name}.jks`),
        '-deststoretype',
        'JKS',
        '-deststorepass',
        STORE_PASSWORD,
        '-destkeypass',
        STORE_PASSWORD,
      ],
      `${name} JKS`,
    );
    const keyPem = await readFile(keyFile, 'utf8');
    const certPem = await readFile(p(`${name}.crt`), 'utf8');
    await writeFile(p(`${name}.pem`), keyPem + certPem);
    return {
      dn,
      keyPem: keyFile,
      certPem: p(`${name}.crt`),
      pem: p(`${name}.pem`),
      p12: p(`${name}.p12`),
      jks: p(`${name}.jks`),
    };
  };
  const [server, client, client2, rogue] = await Promise.all([
    identity('server', 'localhost', 'ca'),
    identity('client', 'client1', 'ca'),
    identity('client2', 'client2', 'ca', false, false),
    identity('rogue', 'rogue', 'rogue-ca'),
  ]);
  const expiredServer = await identity('expired-server', 'localhost', 'ca', true);
  const trust = (type: string, file: string): Promise<void> =>
    tool(
      KEYTOOL,
      [
        '-importcert',
        '-noprompt',
        '-alias',
        'ca',
        '-file',
        p('ca.pem'),
        '-keystore',
        file,
        '-storetype',
        type,
        '-storepass',
        STORE_PASSWORD,
      ],
      `${type} trust store`,
    );
  await Promise.all([trust('PKCS12', p('trust.p12')), trust('JKS', p('trust.jks'))]);
  return {
    dir,
    caPem: p('ca.pem'),
    trustP12: p('trust.p12'),
    trustJks: p('trust.jks'),
    server,
    client,
    client2,
    rogue,
    expiredServer,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
