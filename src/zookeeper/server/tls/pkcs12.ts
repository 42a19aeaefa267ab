// The certificates of a PKCS#12 file (RFC 7292), for trust stores. Node's `pfx` option loads a
// key and its chain but refuses a file without a private key, which is what `keytool -importcert`
// makes of a trust store; so the certificates are read here. The MAC is checked first, so a wrong
// password is reported as such. Encryption: PBES2 (PBKDF2 + AES/3DES-CBC, what JDK 17 and
// OpenSSL 3 write) and the PKCS#12 3DES scheme; RC2-40 (old JDKs) has no cipher in OpenSSL 3.

import { createDecipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { DerError, children, content, expect, integer, oid, readTlv, type Tlv } from './der.js';

export class Pkcs12Error extends Error {
  override name = 'Pkcs12Error';
}

/** A hostile or corrupt file must not make start-up spin: key derivation rounds are bounded. */
const pkcs12IterationsMax = 10_000_000;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_X509_CERT = '1.2.840.113549.1.9.22.1';
const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_PBE_SHA_3DES = '1.2.840.113549.1.12.1.3';

const DIGESTS: Record<string, { name: string; v: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', v: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', v: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', v: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', v: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', v: 128 },
};
const PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHERS: Record<string, string> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
  '1.2.840.113549.3.7': 'des-ede3-cbc',
};

function iterations(buf: Buffer, t: Tlv | undefined): number {
  const n = t ? integer(buf, t) : 1;
  if (n < 1 || n > pkcs12IterationsMax) throw new Pkcs12Error(`iteration count ${n} is outside [1, ${pkcs12IterationsMax}]`);
  return n;
}

/** RFC 7292 appendix B.2: the PKCS#12 key derivation, password as a NUL-terminated BMPString. */
function pkcs12Kdf(password: string, salt: Buffer, id: number, rounds: number, bytes: number, hash: string, v: number): Buffer {
  const bmp = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) bmp.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (b: Buffer): Buffer => {
    const out = Buffer.alloc(b.length === 0 ? 0 : v * Math.ceil(b.length / v));
    for (let i = 0; i < out.length; i++) out[i] = b[i % b.length]!;
    return out;
  };
  const I = Buffer.concat([fill(salt), fill(bmp)]);
  const D = Buffer.alloc(v, id);
  const out: Buffer[] = [];
  let have = 0;
  while (have < bytes) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < rounds; r++) A = createHash(hash).update(A).digest();
    out.push(A);
    have += A.length;
    const B = Buffer.alloc(v);
    for (let i = 0; i < v; i++) B[i] = A[i % A.length]!;
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, bytes);
}

function checkMac(buf: Buffer, macData: Tlv, signed: Buffer, password: string): void {
  const [digestInfo, saltT, iterT] = children(buf, expect(buf, macData, 0x30, 'macData'));
  const [algId, digestT] = children(buf, expect(buf, digestInfo, 0x30, 'mac digestInfo'));
  const algOid = oid(buf, children(buf, expect(buf, algId, 0x30, 'mac algorithm'))[0]!);
  const d = DIGESTS[algOid];
  if (!d) throw new Pkcs12Error(`unsupported MAC digest ${algOid}`);
  const expected = content(buf, expect(buf, digestT, 0x04, 'mac digest'));
  const salt = content(buf, expect(buf, saltT, 0x04, 'mac salt'));
  const rounds = iterations(buf, iterT);
  const key = pkcs12Kdf(password, salt, 3, rounds, createHash(d.name).digest().length, d.name, d.v);
  const mac = createHmac(d.name, key).update(signed).digest();
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    throw new Pkcs12Error('integrity check failed: the password is wrong or the file is corrupt');
  }
}

function decrypt(buf: Buffer, algId: Tlv, data: Buffer, password: string): Buffer {
  const [algT, paramsT] = children(buf, expect(buf, algId, 0x30, 'encryption algorithm'));
  const alg = oid(buf, algT!);
  try {
    if (alg === OID_PBES2) {
      const [kdfT, encT] = children(buf, expect(buf, paramsT, 0x30, 'PBES2 parameters'));
      const [kdfOid, kdfParams] = children(buf, expect(buf, kdfT, 0x30, 'PBES2 key derivation'));
      if (oid(buf, kdfOid!) !== OID_PBKDF2) throw new Pkcs12Error('PBES2 without PBKDF2 is not supported');
      const p = children(buf, expect(buf, kdfParams, 0x30, 'PBKDF2 parameters'));
      const salt = content(buf, expect(buf, p[0], 0x04, 'PBKDF2 salt'));
      const rounds = iterations(buf, p[1]);
      let rest = p.slice(2);
      if (rest[0]?.tag === 0x02) rest = rest.slice(1); // keyLength: implied by the cipher
      const prfOid = rest[0] ? oid(buf, children(buf, expect(buf, rest[0], 0x30, 'PBKDF2 prf'))[0]!) : '1.2.840.113549.2.7';
      const prf = PRFS[prfOid];
      if (!prf) throw new Pkcs12Error(`unsupported PBKDF2 prf ${prfOid}`);
      const [cipherOid, ivT] = children(buf, expect(buf, encT, 0x30, 'PBES2 cipher'));
      const cipherName = CIPHERS[oid(buf, cipherOid!)];
      if (!cipherName) throw new Pkcs12Error(`unsupported PBES2 cipher ${oid(buf, cipherOid!)}`);
      const keyLen = cipherName === 'des-ede3-cbc' ? 24 : Number(cipherName.slice(4, 7)) / 8;
      const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, rounds, keyLen, prf);
      const iv = content(buf, expect(buf, ivT, 0x04, 'PBES2 iv'));
      const d = createDecipheriv(cipherName, key, iv);
      return Buffer.concat([d.update(data), d.final()]);
    }
    if (alg === OID_PBE_SHA_3DES) {
      const [saltT, iterT] = children(buf, expect(buf, paramsT, 0x30, 'PBE parameters'));
      const salt = content(buf, expect(buf, saltT, 0x04, 'PBE salt'));
      const rounds = iterations(buf, iterT);
      const key = pkcs12Kdf(password, salt, 1, rounds, 24, 'sha1', 64);
      const iv = pkcs12Kdf(password, salt, 2, rounds, 8, 'sha1', 64);
      const d = createDecipheriv('des-ede3-cbc', key, iv);
      return Buffer.concat([d.update(data), d.final()]);
    }
  } catch (e) {
    if (e instanceof Pkcs12Error || e instanceof DerError) throw e;
    throw new Pkcs12Error(`cannot decrypt (${(e as Error).message}): the password is wrong or the file is corrupt`);
  }
  throw new Pkcs12Error(
    `certificates encrypted with ${alg} (an old JDK's RC2 or similar), which OpenSSL 3 cannot decrypt; re-create the store with a current keytool or openssl`,
  );
}

function certsOfSafeContents(buf: Buffer, out: Buffer[]): void {
  for (const bag of children(buf, expect(buf, readTlv(buf, 0), 0x30, 'SafeContents'))) {
    const [idT, valueT] = children(buf, expect(buf, bag, 0x30, 'SafeBag'));
    if (oid(buf, idT!) !== OID_CERT_BAG) continue; // keys and secrets: not for a trust store
    const [certBag] = children(buf, expect(buf, valueT, 0xa0, 'bag value'));
    const [certIdT, certValueT] = children(buf, expect(buf, certBag, 0x30, 'CertBag'));
    if (oid(buf, certIdT!) !== OID_X509_CERT) continue;
    const [octets] = children(buf, expect(buf, certValueT, 0xa0, 'certificate value'));
    out.push(Buffer.from(content(buf, expect(buf, octets, 0x04, 'certificate'))));
  }
}

/** Every X.509 certificate (DER) in a PKCS#12 file. Throws Pkcs12Error/DerError on a bad file or password. */
export function pkcs12Certificates(file: Buffer, password: string): Buffer[] {
  const pfx = children(file, expect(file, readTlv(file, 0), 0x30, 'PFX'));
  if (integer(file, pfx[0]!) !== 3) throw new Pkcs12Error('not a PKCS#12 version 3 file');
  const [typeT, contentT] = children(file, expect(file, pfx[1], 0x30, 'authSafe'));
  if (oid(file, typeT!) !== OID_DATA) throw new Pkcs12Error('public-key protected PKCS#12 files are not supported');
  const [octets] = children(file, expect(file, contentT, 0xa0, 'authSafe content'));
  const authSafe = content(file, expect(file, octets, 0x04, 'authSafe data'));
  if (pfx[2]) checkMac(file, pfx[2], authSafe, password);
  const certs: Buffer[] = [];
  for (const ci of children(authSafe, expect(authSafe, readTlv(authSafe, 0), 0x30, 'AuthenticatedSafe'))) {
    const [tT, cT] = children(authSafe, expect(authSafe, ci, 0x30, 'ContentInfo'));
    const type = oid(authSafe, tT!);
    const [inner] = children(authSafe, expect(authSafe, cT, 0xa0, 'ContentInfo content'));
    if (type === OID_DATA) {
      certsOfSafeContents(Buffer.from(content(authSafe, expect(authSafe, inner, 0x04, 'data'))), certs);
    } else if (type === OID_ENCRYPTED_DATA) {
      const [, eci] = children(authSafe, expect(authSafe, inner, 0x30, 'EncryptedData'));
      const [, algT, encT] = children(authSafe, expect(authSafe, eci, 0x30, 'EncryptedContentInfo'));
      if (!encT || (encT.tag !== 0x80 && encT.tag !== 0xa0)) throw new Pkcs12Error('encrypted content missing');
      const data =
        encT.tag === 0x80
          ? content(authSafe, encT)
          : Buffer.concat(children(authSafe, encT).map((c) => content(authSafe, expect(authSafe, c, 0x04, 'encrypted chunk'))));
      certsOfSafeContents(decrypt(authSafe, algT!, data, password), certs);
    }
  }
  return certs;
}
