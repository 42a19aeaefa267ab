// ACL values both sides of the protocol use (ZooDefs.Ids) and the digest scheme's id function.

import { createRequire } from 'node:module';
import { Perms } from './constants.js';
import type { AclT } from './records.js';

const entry = (perms: number, scheme: string, id: string): AclT => Object.freeze({ perms, id: Object.freeze({ scheme, id }) }) as AclT;

/** world:anyone with all permissions. */
export const OPEN_ACL_UNSAFE: readonly AclT[] = Object.freeze([entry(Perms.ALL, 'world', 'anyone')]);
/** world:anyone, read only (the ACL of /zookeeper/config). */
export const READ_ACL_UNSAFE: readonly AclT[] = Object.freeze([entry(Perms.READ, 'world', 'anyone')]);
/** All permissions for the creator's authenticated ids (the `auth` pseudo-scheme). */
export const CREATOR_ALL_ACL: readonly AclT[] = Object.freeze([entry(Perms.ALL, 'auth', '')]);

// node:crypto (~16 internal modules) is loaded on the first digest, not at import: a server
// start needs none, and module loading is most of its start-up CPU (docs/PERFORMANCE.md).
let crypto: typeof import('node:crypto') | undefined;

/** DigestAuthenticationProvider's id for `user:password`: `user:base64(sha1("user:password"))`. */
export function digestOf(userPassword: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${crypto.createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}
