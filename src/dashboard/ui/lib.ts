// The page's plumbing without UI: HTTP calls with the write headers and token, text made safe to
// show, formatting. Types come from ../api.ts (type-only imports: the browser never loads that file).

import type { ApiError, DashboardInfo } from '../api.js';

/** Mirrors api.ts's writeHeaders/valueBytesMax (a value import would make the browser fetch ../api.js). */
export const csrfHeader = 'x-clustergenie-csrf';
export const valueBytesMax = 64 * 1024;
/** Characters of one value shown in a table cell; the detail view shows up to valueBytesMax. */
export const cellCharsMax = 300;
const tokenKey = 'clustergenie.token';

let info: DashboardInfo | undefined;
let tokenListeners: (() => void)[] = [];

export async function loadInfo(): Promise<DashboardInfo | undefined> {
  try {
    const r = await fetch('/api/info');
    if (r.ok) info = (await r.json()) as DashboardInfo;
  } catch {
    // The page still works read-only; the header shows the stream state.
  }
  return info;
}

export function getInfo(): DashboardInfo | undefined {
  return info;
}

export function getToken(): string | null {
  return sessionStorage.getItem(tokenKey);
}

export function setToken(token: string): void {
  sessionStorage.setItem(tokenKey, token);
  for (const l of tokenListeners) l();
}

export function onToken(l: () => void): () => void {
  tokenListeners.push(l);
  return () => {
    tokenListeners = tokenListeners.filter((x) => x !== l);
  };
}

/** An answer >= 400 as an error that keeps its status and code (409 BADVERSION, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

async function errorOf(r: Response, what: string): Promise<HttpError> {
  let code = `HTTP_${r.status}`;
  let message = `${what} failed: HTTP ${r.status}`;
  try {
    const body = (await r.json()) as Partial<ApiError> | { error?: { code?: string; message?: string } };
    // The dashboard answers {error, code}; the Job Service {error: {code, message}}.
    const e = (body as { error?: unknown }).error;
    if (typeof e === 'string') {
      message = `${what} failed: ${e}`;
      code = (body as ApiError).code ?? code;
    } else if (e && typeof e === 'object') {
      const je = e as { code?: string; message?: string };
      message = `${what} failed: ${je.message ?? je.code ?? r.status}`;
      code = je.code ?? code;
    }
  } catch {
    // Not JSON: keep the status.
  }
  return new HttpError(r.status, code, message);
}

export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  if (!r.ok) throw await errorOf(r, `GET ${url}`);
  return (await r.json()) as T;
}

/** A write: JSON body, the CSRF header, and the token when the dashboard needs one. */
export async function send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { [csrfHeader]: '1', accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw await errorOf(r, `${method} ${url}`);
  const text = await r.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Bidi embeddings/overrides/isolates and marks, and other invisible format characters: shown as
// escapes so a value cannot reorder or hide the text around it.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const unsafeChars = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** Text as it may be shown: control and bidi characters replaced by visible escapes (\n and \t kept). */
export function visible(s: string): string {
  return s.replace(unsafeChars, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** visible() and cut to `max` characters, saying how much was left out. */
export function clip(s: string, max = cellCharsMax): string {
  const v = s.length > max ? `${s.slice(0, max)}… (${s.length - max} more chars)` : s;
  return visible(v);
}

/** Any JSON value as text (pretty when asked), safe to show. */
export function jsonText(v: unknown, pretty = false): string {
  if (v === undefined) return '';
  try {
    return JSON.stringify(v, null, pretty ? 2 : undefined) ?? String(v);
  } catch {
    return String(v);
  }
}

export function fmtTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = new Date(typeof ms === 'string' && /^\d+$/.test(ms) ? Number(ms) : ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace('T', ' ').replace('Z', '');
}

export function fmtNum(n: number | undefined | null, digits = 0): string {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Saves text as a file through an object URL (no inline script, CSP-safe). */
export function download(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const enc = encodeURIComponent;
