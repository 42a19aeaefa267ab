// ACL checks and auth schemes (world, auth, digest, ip, super, sasl), as ZooKeeper applies them.

import { digestOf } from '../protocol/acls.js';
import { Err } from '../protocol/constants.js';
import type { AclT, IdT } from '../protocol/records.js';
import { validX500Name } from './tls/der.js';
import { saslMatches, validSaslAclId } from './sasl/saslAuth.js';

/** Result of an auth packet: the ids to add, or AUTHFAILED. */
export function authenticate(scheme: string, auth: Buffer | null, superDigest: string | undefined, remoteAddress = ''): IdT[] | number {
  if (scheme === 'digest') {
    // Null auth data makes DigestAuthenticationProvider throw (caught as AUTHFAILED).
    if (auth === null) return Err.AUTHFAILED;
    const id = digestOf(auth.toString('utf8'));
    const out: IdT[] = [{ scheme: 'digest', id }];
    if (superDigest !== undefined && id === superDigest) out.push({ scheme: 'super', id: '' });
    return out;
  }
  // IPAuthenticationProvider accepts any auth packet and adds the connection's own address
  // (which every connection already holds); it cannot claim another address.
  if (scheme === 'ip') return [{ scheme: 'ip', id: remoteAddress }];
  // No provider for world, super, sasl, x509 or anything else: AUTHFAILED.
  return Err.AUTHFAILED;
}

/** Java's Integer.parseInt for plain decimal text (optional sign), or undefined. */
function javaInt(s: string): number | undefined {
  if (!/^[+-]?\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/**
 * IPAuthenticationProvider.addr2Bytes: ZooKeeper 3.8 parses dotted IPv4 only (its IPv6 parser
 * is a TODO), so IPv6 ACL ids are invalid and never match.
 */
function ipToBytes(ip: string): Buffer | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const v = javaInt(parts[i]!);
    if (v === undefined || v < 0 || v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** The `/bits` suffix of an ip ACL id: undefined if absent, NaN if invalid. */
function cidrBits(aclId: string, addrBytes: number): number | undefined {
  const slash = aclId.indexOf('/');
  if (slash < 0) return undefined;
  const bits = javaInt(aclId.slice(slash + 1));
  return bits === undefined || bits < 0 || bits > addrBytes * 8 ? NaN : bits;
}

/** IPAuthenticationProvider.matches: address or CIDR. */
export function ipMatches(remote: string, aclId: string): boolean {
  const slash = aclId.indexOf('/');
  const b = ipToBytes(slash < 0 ? aclId : aclId.slice(0, slash));
  if (!b) return false;
  let bits = cidrBits(aclId, b.length) ?? b.length * 8;
  if (Number.isNaN(bits)) return false;
  const a = ipToBytes(remote.startsWith('::ffff:') ? remote.slice(7) : remote);
  if (!a) return false;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

/** IPAuthenticationProvider.isValid. */
function validIpAcl(id: string): boolean {
  const slash = id.indexOf('/');
  const b = ipToBytes(slash < 0 ? id : id.slice(0, slash));
  return b !== undefined && !Number.isNaN(cidrBits(id, b.length) ?? 0);
}

function matches(auth: IdT, acl: IdT): boolean {
  if (auth.scheme !== acl.scheme) return false;
  if (acl.scheme === 'ip') return ipMatches(auth.id, acl.id);
  // A `sasl` id exists only after a SASL exchange; fixupAcl admits `sasl` ACLs only with the provider.
  if (acl.scheme === 'sasl') return saslMatches(auth.id, acl.id);
  return auth.id === acl.id;
}

/** ZooKeeperServer.checkACL. Returns true if `perm` is granted. */
export function checkAcl(acl: readonly AclT[], perm: number, auth: readonly IdT[], skipAcl: boolean): boolean {
  if (skipAcl || acl.length === 0) return true;
  for (const id of auth) if (id.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const id = a.id;
    if (id.scheme === 'world' && id.id === 'anyone') return true;
    for (const mine of auth) if (matches(mine, id)) return true;
  }
  return false;
}

/** Java's String.split(":") length: trailing empty strings are dropped. */
function javaSplitColonCount(s: string): number {
  const parts = s.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length;
}

/**
 * PrepRequestProcessor.fixupACL: validates an ACL list and expands the `auth` pseudo-scheme
 * into the caller's authenticated ids. Returns the list to store, or INVALIDACL. Duplicates are
 * removed from the request's list first (removeDuplicates); entries produced by the expansion
 * are kept as they come, as ZooKeeper does. `x509Enabled`: the x509 provider is registered
 * (a secure client port), so x509 ids are valid.
 */
/** Authentication providers configured beside digest and ip (their ACL schemes are valid). */
export interface AclProviders {
  /** x509: a TLS client port (tls/). */
  x509?: boolean;
  /** sasl: authProvider.N=SASLAuthenticationProvider (sasl/). */
  sasl?: boolean;
}

export function fixupAcl(acl: readonly AclT[] | null, auth: readonly IdT[], providers: AclProviders = {}): AclT[] | number {
  if (acl == null || acl.length === 0) return Err.INVALIDACL;
  // The usual list, one world:anyone entry, needs no dedup or expansion (and no garbage per create).
  if (acl.length === 1 && acl[0]!.id.scheme === 'world' && acl[0]!.id.id === 'anyone') return [acl[0]!];
  const uniq: AclT[] = [];
  const seen = new Set<string>();
  for (const a of acl) {
    const key = `${a.perms}|${a.id.scheme}|${a.id.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    uniq.push(a);
  }
  const out: AclT[] = [];
  const add = (perms: number, id: IdT): void => {
    out.push({ perms, id: { scheme: id.scheme, id: id.id } });
  };
  for (const a of uniq) {
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') {
      add(a.perms, a.id);
    } else if (scheme === 'auth') {
      let any = false;
      for (const mine of auth) {
        // Only providers with isAuthenticated() expand: digest, x509, sasl (not ip; super has no provider).
        if (mine.scheme === 'digest' || mine.scheme === 'x509' || (providers.sasl && mine.scheme === 'sasl')) {
          add(a.perms, mine);
          any = true;
        }
      }
      if (!any) return Err.INVALIDACL;
    } else if (scheme === 'digest') {
      // DigestAuthenticationProvider.isValid: id.split(":").length == 2.
      if (javaSplitColonCount(id) !== 2) return Err.INVALIDACL;
      add(a.perms, a.id);
    } else if (scheme === 'ip') {
      if (!validIpAcl(id)) return Err.INVALIDACL;
      add(a.perms, a.id);
    } else if (scheme === 'x509' && providers.x509) {
      // X509AuthenticationProvider.isValid (the provider exists with a TLS port): an X.500 name.
      if (!validX500Name(id)) return Err.INVALIDACL;
      add(a.perms, a.id);
    } else if (scheme === 'sasl' && providers.sasl) {
      // authProvider.N=SASLAuthenticationProvider: a Kerberos-style name.
      if (!validSaslAclId(id)) return Err.INVALIDACL;
      add(a.perms, a.id);
    } else {
      // No provider (world with another id, super, sasl without authProvider, x509, unknown): INVALIDACL.
      return Err.INVALIDACL;
    }
  }
  return out;
}

/** Java's String.hashCode (over UTF-16 code units). */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The jute-generated Id.hashCode(). */
function idHash(id: IdT): number {
  let r = 17;
  r = (Math.imul(37, r) + javaStringHash(id.scheme)) | 0;
  r = (Math.imul(37, r) + javaStringHash(id.id)) | 0;
  return r;
}

/**
 * Adds an auth id to a connection's ids unless present. ZooKeeper keeps them in a
 * ConcurrentHashMap-backed set, so whoAmI, `cons` and the `auth` ACL expansion list them in that
 * map's iteration order: by bucket (spread hash masked by the table size, 16 until more than 12
 * entries), insertion order within a bucket. The list is kept in that order.
 */
export function addAuthId(ids: IdT[], id: IdT): void {
  if (ids.some((a) => a.scheme === id.scheme && a.id === id.id)) return;
  ids.push(id);
  let n = 16;
  while (ids.length > n * 0.75) n *= 2;
  const bucket = (x: IdT): number => {
    const h = idHash(x);
    return (h ^ (h >>> 16)) & 0x7fffffff & (n - 1);
  };
  const keyed = ids.map((x, i) => ({ x, i, b: bucket(x) }));
  keyed.sort((a, b) => a.b - b.b || a.i - b.i);
  for (let i = 0; i < keyed.length; i++) ids[i] = keyed[i]!.x;
}

/** Stable key for the ACL cache (one shared array per distinct list). */
export function aclKey(acl: readonly AclT[]): string {
  let s = '';
  for (const a of acl) s += `${a.perms},${a.id.scheme},${a.id.id};`;
  return s;
}
