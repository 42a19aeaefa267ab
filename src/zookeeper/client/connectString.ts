// Connect strings (`host:port,host:port/chroot`), the client-side chroot, and client-side path
// validation (PathUtils rules, as the Java client applies them before sending).

import { pathError } from '../protocol/paths.js';
import { badArguments } from './errors.js';

export const DEFAULT_PORT = 2181;

export interface HostPort {
  host: string;
  port: number;
}

export interface ParsedConnectString {
  hosts: HostPort[];
  /** Chroot without a trailing slash, or '' for none. */
  chroot: string;
}

export function parseConnectString(s: string): ParsedConnectString {
  const slash = s.indexOf('/');
  const hostPart = slash < 0 ? s : s.slice(0, slash);
  let chroot = slash < 0 ? '' : s.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot !== '') {
    const err = pathError(chroot);
    if (err !== undefined) throw new TypeError(`invalid chroot ${JSON.stringify(chroot)}: ${err}`);
  }
  const hosts: HostPort[] = [];
  for (const raw of hostPart.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    let host: string;
    let portText: string | undefined;
    if (item.startsWith('[')) {
      const close = item.indexOf(']');
      if (close < 0) throw new TypeError(`invalid host ${JSON.stringify(item)}`);
      host = item.slice(1, close);
      const rest = item.slice(close + 1);
      if (rest !== '') {
        if (!rest.startsWith(':')) throw new TypeError(`invalid host ${JSON.stringify(item)}`);
        portText = rest.slice(1);
      }
    } else {
      const colon = item.lastIndexOf(':');
      if (colon >= 0 && item.indexOf(':') !== colon) {
        // Bare IPv6 address without brackets: no port.
        host = item;
      } else if (colon >= 0) {
        host = item.slice(0, colon);
        portText = item.slice(colon + 1);
      } else {
        host = item;
      }
    }
    let port = DEFAULT_PORT;
    if (portText !== undefined) {
      port = Number(portText);
      if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new TypeError(`invalid port in ${JSON.stringify(item)}`);
    }
    if (host === '') throw new TypeError(`empty host in ${JSON.stringify(item)}`);
    hosts.push({ host, port });
  }
  if (hosts.length === 0) throw new TypeError(`no hosts in connect string ${JSON.stringify(s)}`);
  return { hosts, chroot };
}

export function formatHost(h: HostPort): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/** Maps client paths to server paths and back for one chroot. */
export class Chroot {
  constructor(readonly prefix: string) {}

  toServer(path: string): string {
    if (this.prefix === '') return path;
    return path === '/' ? this.prefix : this.prefix + path;
  }

  /** Strip the chroot; paths outside it (should not happen) are returned unchanged. */
  toClient(serverPath: string): string {
    const p = this.prefix;
    if (p === '') return serverPath;
    if (serverPath === p) return '/';
    if (serverPath.length > p.length && serverPath.startsWith(p) && serverPath.charCodeAt(p.length) === 47) {
      return serverPath.slice(p.length);
    }
    return serverPath;
  }

  /** Is this server path inside the chroot? */
  contains(serverPath: string): boolean {
    const p = this.prefix;
    return p === '' || serverPath === p || (serverPath.startsWith(p) && serverPath.charCodeAt(p.length) === 47);
  }
}

/**
 * Validate a client path; throws BADARGUMENTS. Sequential creates may end in '/' (the server
 * appends the counter first), so they are checked with a digit appended, as the Java client does.
 */
export function validatePath(path: string, sequential = false): void {
  if (typeof path !== 'string') throw badArguments(undefined, 'path must be a string');
  const err = pathError(sequential ? `${path}1` : path);
  if (err !== undefined) throw badArguments(path, `invalid path: ${err}`);
}
