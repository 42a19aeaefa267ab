// ACL checks and auth schemes (world, auth, digest, ip, super), as ZooKeeper applies them.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Err, Perms } from '../protocol/constants.js';
import type { AclT, IdT } from '../protocol/records.js';

export const OPEN_ACL_UNSAFE: AclT[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
export const READ_ACL_UNSAFE: AclT[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

/** The auth ids a connection holds: ip is implicit; digest/super come from auth packets. */
export interface AuthInfo {
  ids: IdT[];
}

/** `user:password` -> `user:base64(sha1(user:password))`, DigestAuthenticationProvider's id. */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

export class AclError extends Error {
  constructor(readonly code: number) {
    super(`ACL error ${code}`);
  }
}

/** Result of an auth packet: the ids to add, or AUTHFAILED. */
export function authenticate(scheme: string, auth: Buffer | null, superDigest: string | undefined): IdT[] | number {
  if (scheme === 'digest') {
    const text = auth ? auth.toString('utf8') : '';
    const id = digestId(text);
    const out: IdT[] = [{ scheme: 'digest', id }];
    if (superDigest !== undefined && id === superDigest) out.push({ scheme: 'super', id: '' });
    return out;
  }
  // ip is implicit per connection and cannot be claimed; world/sasl/x509 have no auth packet.
  return Err.AUTHFAILED;
}

function ipToBytes(ip: string): Buffer | undefined {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map((p) => Number(p)));
  if (kind === 6) {
    // Expand :: and parse eight groups.
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    if (groups.length !== 8) return undefined;
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  }
  return undefined;
}

/** IPAuthenticationProvider.matches: address or CIDR. */
export function ipMatches(remote: string, aclId: string): boolean {
  const slash = aclId.indexOf('/');
  const base = slash < 0 ? aclId : aclId.slice(0, slash);
  const a = ipToBytes(remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4 ? remote.slice(7) : remote);
  const b = ipToBytes(base);
  if (!a || !b || a.length !== b.length) return false;
  let bits = slash < 0 ? a.length * 8 : Number(aclId.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > a.length * 8) return false;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

function validIpAcl(id: string): boolean {
  const slash = id.indexOf('/');
  const base = slash < 0 ? id : id.slice(0, slash);
  const kind = isIP(base);
  if (kind === 0) return false;
  if (slash < 0) return true;
  const bits = Number(id.slice(slash + 1));
  return Number.isInteger(bits) && bits >= 0 && bits <= (kind === 4 ? 32 : 128);
}

function matches(auth: IdT, acl: IdT): boolean {
  if (auth.scheme !== acl.scheme) return false;
  if (acl.scheme === 'ip') return ipMatches(auth.id, acl.id);
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

/**
 * PrepRequestProcessor.fixupACL: validates an ACL list and expands the `auth` pseudo-scheme
 * into the caller's authenticated ids. Returns the list to store, or INVALIDACL.
 */
export function fixupAcl(acl: readonly AclT[] | null, auth: readonly IdT[]): AclT[] | number {
  if (acl == null || acl.length === 0) return Err.INVALIDACL;
  const out: AclT[] = [];
  const seen = new Set<string>();
  const add = (a: AclT): void => {
    const key = `${a.perms}|${a.id.scheme}|${a.id.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } });
  };
  for (const a of acl) {
    const { scheme, id } = a.id;
    if (scheme === 'world') {
      if (id !== 'anyone') return Err.INVALIDACL;
      add(a);
    } else if (scheme === 'auth') {
      let any = false;
      for (const mine of auth) {
        if (mine.scheme === 'digest') {
          add({ perms: a.perms, id: mine });
          any = true;
        }
      }
      if (!any) return Err.INVALIDACL;
    } else if (scheme === 'digest') {
      if (id.split(':').length !== 2) return Err.INVALIDACL;
      add(a);
    } else if (scheme === 'ip') {
      if (!validIpAcl(id)) return Err.INVALIDACL;
      add(a);
    } else {
      return Err.INVALIDACL;
    }
  }
  return out;
}

/** Stable key for the ACL cache (one shared array per distinct list). */
export function aclKey(acl: readonly AclT[]): string {
  let s = '';
  for (const a of acl) s += `${a.perms},${a.id.scheme},${a.id.id};`;
  return s;
}
