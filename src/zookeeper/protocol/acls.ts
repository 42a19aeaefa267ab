// ACL values both sides of the protocol use (ZooDefs.Ids) and the digest scheme's id function.

import { createHash } from 'node:crypto';
import { Perms } from './constants.js';
import type { AclT } from './records.js';

const entry = (perms: number, scheme: string, id: string): AclT => Object.freeze({ perms, id: Object.freeze({ scheme, id }) }) as AclT;

/** world:anyone with all permissions. */
export const OPEN_ACL_UNSAFE: readonly AclT[] = Object.freeze([entry(Perms.ALL, 'world', 'anyone')]);
/** world:anyone, read only (the ACL of /zookeeper/config). */
export const READ_ACL_UNSAFE: readonly AclT[] = Object.freeze([entry(Perms.READ, 'world', 'anyone')]);
/** All permissions for the creator's authenticated ids (the `auth` pseudo-scheme). */
export const CREATOR_ALL_ACL: readonly AclT[] = Object.freeze([entry(Perms.ALL, 'auth', '')]);

/** DigestAuthenticationProvider's id for `user:password`: `user:base64(sha1("user:password"))`. */
export function digestOf(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}
