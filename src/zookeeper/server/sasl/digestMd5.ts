// DIGEST-MD5 (RFC 2831) server side, as ZooKeeper 3.8 runs it through Java's SASL provider:
// one challenge (realm, nonce, charset=utf-8, algorithm=md5-sess; no qop directive, which means
// qop=auth), one response to
// verify, one `rspauth` answer. Integrity and confidentiality layers (auth-int, auth-conf) are
// not offered, as ZooKeeper never wraps its traffic. A pure state machine: the nonce and the
// password lookup are injected; no I/O, clock or randomness here.

import { createHash } from 'node:crypto';

/** Java's DigestMD5Server rejects longer responses (MAX_RESPONSE_LENGTH). */
export const saslTokenBytesMax = 4096;

/** A failed exchange: ZooKeeper answers AUTHFAILED and closes the connection. */
export class SaslError extends Error {
  constructor(message: string) {
    super(`DIGEST-MD5: ${message}`);
    this.name = 'SaslError';
  }
}

export interface DigestMd5Config {
  /** The service of digest-uri: ZooKeeper uses "zookeeper". */
  protocol: string;
  /** The host of digest-uri and the default realm: ZooKeeper hard-codes "zk-sasl-md5". */
  serverName: string;
  /** The realm offered in the challenge (default: serverName, as Java's provider). */
  realm?: string;
  /** A fresh, unguessable nonce for this exchange (the shell draws it from crypto). */
  nonce: string;
  /** The password of `user`, or undefined if the user is unknown. */
  passwordOf(user: string): string | undefined;
}

/** The ZooKeeper defaults of protocol and serverName (SecurityUtils.createSaslServer). */
export const ZK_DIGEST_PROTOCOL = 'zookeeper';
export const ZK_DIGEST_SERVER_NAME = 'zk-sasl-md5';

type State = 'initial' | 'challenged' | 'complete' | 'failed';

/** One DIGEST-MD5 exchange on one connection. */
export class DigestMd5Server {
  private state: State = 'initial';
  private user: string | undefined;
  private readonly realm: string;

  constructor(private readonly cfg: DigestMd5Config) {
    this.realm = cfg.realm ?? cfg.serverName;
  }

  get isComplete(): boolean {
    return this.state === 'complete';
  }

  /** The authenticated user name once complete (ZooKeeper adds it as the `sasl` auth id). */
  get authorizationId(): string | undefined {
    return this.state === 'complete' ? this.user : undefined;
  }

  /**
   * Evaluates one client token and returns the server's token. Throws SaslError when the
   * exchange fails; the exchange is then over for good.
   */
  evaluate(token: Buffer): Buffer {
    if (this.state === 'complete' || this.state === 'failed') {
      this.state = 'failed';
      throw new SaslError('authentication already finished; a new exchange needs a new connection');
    }
    try {
      if (token.length > saslTokenBytesMax) {
        throw new SaslError(`token of ${token.length} bytes exceeds saslTokenBytesMax (${saslTokenBytesMax} bytes)`);
      }
      if (this.state === 'initial') {
        // DIGEST-MD5 is server-first: whatever the client opens with, Java's provider ignores it
        // and challenges (clients send an empty token).
        this.state = 'challenged';
        return Buffer.from(this.challenge(), 'utf8');
      }
      const rspauth = this.verify(token);
      this.state = 'complete';
      return Buffer.from(`rspauth=${rspauth}`, 'utf8');
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }

  private challenge(): string {
    // Java's provider leaves qop out when it offers only "auth" (the RFC's default).
    return `realm="${quote(this.realm)}",nonce="${quote(this.cfg.nonce)}",charset=utf-8,algorithm=md5-sess`;
  }

  /** Checks a digest-response (RFC 2831 2.1.2) and returns the rspauth value. */
  private verify(token: Buffer): string {
    const text = decodeUtf8(token);
    const d = parseDirectives(text);
    const need = (name: string): string => {
      const v = d.get(name);
      if (v === undefined) throw new SaslError(`digest response lacks the required directive ${name}`);
      return v;
    };
    const charset = d.get('charset');
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new SaslError(`unsupported charset ${charset}`);
    const username = need('username');
    const realm = d.get('realm') ?? '';
    if (d.has('realm') && realm !== this.realm) throw new SaslError(`unknown realm "${realm}"; this server's realm is "${this.realm}"`);
    if (need('nonce') !== this.cfg.nonce) throw new SaslError('nonce does not match the challenge');
    const cnonce = need('cnonce');
    const nc = need('nc');
    if (!/^[0-9a-fA-F]{8}$/.test(nc) || Number.parseInt(nc, 16) !== 1) throw new SaslError(`nonce count ${nc} is not 00000001`);
    const qop = d.get('qop') ?? 'auth';
    if (qop !== 'auth') throw new SaslError(`qop ${qop} was not offered (only auth is)`);
    const digestUri = need('digest-uri');
    const expectedUri = `${this.cfg.protocol}/${this.cfg.serverName}`;
    if (digestUri.toLowerCase() !== expectedUri.toLowerCase()) {
      throw new SaslError(`digest-uri "${digestUri}" does not match "${expectedUri}"`);
    }
    const response = need('response');
    if (!/^[0-9a-fA-F]{32}$/.test(response)) throw new SaslError('response is not 32 hex digits');
    const authzid = d.get('authzid');
    const password = this.cfg.passwordOf(username);
    // Unknown user and wrong password fail alike, so the answer does not reveal which users exist.
    if (password === undefined) throw new SaslError(`authentication of "${username}" failed`);
    const p = { username, realm, password, nonce: this.cfg.nonce, cnonce, nc, qop, digestUri, authzid };
    if (responseValue(p, 'AUTHENTICATE') !== response.toLowerCase()) throw new SaslError(`authentication of "${username}" failed`);
    this.user = username;
    return responseValue(p, '');
  }
}

/** What the response and rspauth values are computed from. */
export interface DigestParams {
  username: string;
  realm: string;
  password: string;
  nonce: string;
  cnonce: string;
  nc: string;
  qop: string;
  digestUri: string;
  authzid: string | undefined;
}

/**
 * The `response` (method "AUTHENTICATE") or `rspauth` (method "") value for qop=auth:
 * HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))), with
 * A1 = H(user:realm:password):nonce:cnonce[:authzid] and A2 = method:digest-uri.
 */
export function responseValue(p: DigestParams, method: 'AUTHENTICATE' | ''): string {
  const userHash = md5(Buffer.concat([rfcBytes(p.username), COLON, rfcBytes(p.realm), COLON, rfcBytes(p.password)]));
  const a1Parts = [userHash, Buffer.from(`:${p.nonce}:${p.cnonce}`, 'utf8')];
  if (p.authzid !== undefined) a1Parts.push(Buffer.from(`:${p.authzid}`, 'utf8'));
  const ha1 = md5(Buffer.concat(a1Parts)).toString('hex');
  const ha2 = md5(Buffer.from(`${method}:${p.digestUri}`, 'utf8')).toString('hex');
  return md5(Buffer.from(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`, 'utf8')).toString('hex');
}

const COLON = Buffer.from(':');

function md5(b: Buffer): Buffer {
  return createHash('md5').update(b).digest();
}

/**
 * RFC 2831 2.1.2.1 with charset=utf-8: a string every character of which fits ISO 8859-1 is
 * hashed in 8859-1, anything else in UTF-8 (as Java's provider and Cyrus SASL do).
 */
function rfcBytes(s: string): Buffer {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return Buffer.from(s, 'utf8');
  return Buffer.from(s, 'latin1');
}

function decodeUtf8(b: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new SaslError('digest response is not valid UTF-8');
  }
}

/** Directives in a response: each at most once (RFC 2831 says the rest must not repeat). */
const MAX_DIRECTIVES = 32;

/**
 * Parses `name=value` directives separated by commas (RFC 2831 "#rule": empty elements and
 * linear white space allowed); a value is a token or a quoted-string with backslash escapes.
 * Names are case-insensitive.
 */
export function parseDirectives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = text.length;
  const skipWs = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r' || text[i] === '\n')) i++;
  };
  for (;;) {
    skipWs();
    if (i >= n) break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    while (i < n && /[A-Za-z0-9_-]/.test(text[i]!)) i++;
    const name = text.slice(start, i).toLowerCase();
    if (name === '') throw new SaslError(`malformed digest response at offset ${start}: expected a directive name`);
    skipWs();
    if (text[i] !== '=') throw new SaslError(`malformed digest response: directive ${name} has no '='`);
    i++;
    skipWs();
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new SaslError(`malformed digest response: unterminated quoted value of ${name}`);
        const ch = text[i++]!;
        if (ch === '"') break;
        if (ch === '\\') {
          if (i >= n) throw new SaslError(`malformed digest response: unterminated quoted value of ${name}`);
          value += text[i++]!;
        } else {
          value += ch;
        }
      }
    } else {
      const vs = i;
      while (i < n && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++;
      value = text.slice(vs, i);
    }
    if (out.has(name)) throw new SaslError(`malformed digest response: directive ${name} appears more than once`);
    if (out.size >= MAX_DIRECTIVES) throw new SaslError(`malformed digest response: more than ${MAX_DIRECTIVES} directives`);
    out.set(name, value);
    skipWs();
    if (i < n && text[i] !== ',') throw new SaslError(`malformed digest response: expected ',' after directive ${name}`);
  }
  return out;
}

/** A quoted-string body: backslash before '"' and '\'. */
function quote(s: string): string {
  return s.replace(/["\\]/g, (c) => `\\${c}`);
}
