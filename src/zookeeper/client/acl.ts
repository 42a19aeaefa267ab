// ACL constants and helpers for clients (ZooDefs.Ids and friends).

import { isIP } from 'node:net';
import { digestOf } from '../protocol/acls.js';
import { Perms } from '../protocol/constants.js';
import type { Acl } from './types.js';

export { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, CREATOR_ALL_ACL } from '../protocol/acls.js';

/** DigestAuthenticationProvider id: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): string {
  return digestOf(`${user}:${password}`);
}

/** An ACL entry granting `perms` to the digest identity `user` with `password`. */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): Acl {
  return { perms, id: { scheme: 'digest', id: digestId(user, password) } };
}

/** An ACL entry granting `perms` to an IP address or CIDR block (`10.0.0.0/8`). */
export function ipAcl(cidr: string, perms: number = Perms.ALL): Acl {
  const slash = cidr.indexOf('/');
  const base = slash < 0 ? cidr : cidr.slice(0, slash);
  const kind = isIP(base);
  const bits = slash < 0 ? undefined : Number(cidr.slice(slash + 1));
  if (kind === 0 || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > (kind === 4 ? 32 : 128)))) {
    throw new TypeError(`not an IP address or CIDR block: ${cidr}`);
  }
  return { perms, id: { scheme: 'ip', id: cidr } };
}

/** world:anyone with the given permissions. */
export function worldAcl(perms: number): Acl {
  return { perms, id: { scheme: 'world', id: 'anyone' } };
}
