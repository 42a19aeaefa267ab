// The dashboard's safety rules as pure checks: where it may listen without a token, what a write
// must carry (the CSRF header, a same-origin Origin, the bearer token when one is configured), and
// the headers every answer gets.

import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { ApiError } from '../api.js';
import { writeHeaders } from '../api.js';

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Throws when the options would expose writes without a token. */
export function checkListenOptions(o: { host: string; token?: string | undefined }): void {
  if (!isLoopbackHost(o.host) && (o.token === undefined || o.token === '')) {
    throw new Error(
      `the dashboard would listen on ${o.host} (not a loopback address) without a token: ` +
        'pass --token (or set CLUSTERGENIE_DASHBOARD_TOKEN), or listen on 127.0.0.1 with --host',
    );
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isWrite(method: string): boolean {
  return WRITE_METHODS.has(method.toUpperCase());
}

function sameToken(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why a write request is refused (403), or undefined when it may proceed (pure). Browsers cannot
 * send the custom CSRF header cross-site without a preflight we never grant; Origin, when sent,
 * must name this very host.
 */
export function writeRefusal(headers: Record<string, string | string[] | undefined>, token: string | undefined): ApiError | undefined {
  const one = (k: string): string | undefined => {
    const v = headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  if (one(writeHeaders.csrf) === undefined) {
    return { error: `writes need the ${writeHeaders.csrf} header (the dashboard page sends it)`, code: 'FORBIDDEN' };
  }
  const origin = one('origin');
  if (origin !== undefined && origin !== 'null') {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return { error: `unreadable Origin ${JSON.stringify(origin.slice(0, 100))}`, code: 'FORBIDDEN' };
    }
    if (originHost !== one('host')) return { error: 'cross-origin write refused (Origin does not match Host)', code: 'FORBIDDEN' };
  } else if (origin === 'null') {
    return { error: 'cross-origin write refused (Origin: null)', code: 'FORBIDDEN' };
  }
  if (token !== undefined && token !== '') {
    const auth = one(writeHeaders.authorization) ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !sameToken(m[1]!, token)) return { error: 'writes need Authorization: Bearer <the dashboard token>', code: 'FORBIDDEN' };
  }
  return undefined;
}

/** The page's Content-Security-Policy: only our own scripts plus the inline import map (by hash). */
export function contentSecurityPolicy(importMapSha256: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'sha256-${importMapSha256}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
