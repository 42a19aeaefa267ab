// A small DER reader: enough of ASN.1 to read PKCS#12 trust stores (pkcs12.ts) and to print a
// certificate's subject as Java's X500Principal.getName() does (RFC 2253), which is the id the
// x509 ACL scheme uses. Malformed input throws DerError; nothing here trusts a length field.

export class DerError extends Error {
  override name = 'DerError';
}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one TLV at `offset`, which must lie within [offset, limit). Definite lengths only (DER). */
export function readTlv(buf: Buffer, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tags are not used here (byte ${offset})`);
  let len = buf[offset + 1]!;
  let body = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`unsupported length form at byte ${offset}`);
    if (body + n > limit) throw new DerError(`truncated length at byte ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new DerError(`length ${len} at byte ${offset} runs past the end`);
  return { tag, start: offset, body, end };
}

/** The TLVs inside a constructed value. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.body; p < parent.end; ) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Children of a value that must have `tag`; `what` names it in the error. */
export function expect(_buf: Buffer, t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag)
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got ${t ? `0x${t.tag.toString(16)}` : 'nothing'}`);
  return t;
}

export function content(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.body, t.end);
}

export function oid(buf: Buffer, t: Tlv): string {
  expect(buf, t, 0x06, 'object identifier');
  const b = content(buf, t);
  if (b.length === 0) throw new DerError('empty object identifier');
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export function integer(buf: Buffer, t: Tlv): number {
  expect(buf, t, 0x02, 'integer');
  const b = content(buf, t);
  if (b.length > 6) throw new DerError('integer too large');
  return b.length === 0 ? 0 : b.readIntBE(0, b.length);
}

/** RFC 2253 keywords Java prints by name; every other attribute type prints as its OID. */
const RFC2253_KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

function stringValue(buf: Buffer, t: Tlv): string | undefined {
  const b = content(buf, t);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return b.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString (read as Latin-1, as Java does for T61)
      return b.toString('latin1');
    case 0x1e: {
      // BMPString: UTF-16BE
      const le = Buffer.from(b);
      le.swap16();
      return le.toString('utf16le');
    }
    default:
      return undefined;
  }
}

/** RFC 2253 section 2.4 escaping, as X500Principal.getName() applies it. */
function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (',+"\\<>;'.includes(c)) out += `\\${c}`;
    else if (c.charCodeAt(0) < 0x20) out += `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += c;
  }
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** A Name (SEQUENCE OF RDN) in RFC 2253 form: RDNs last-first, AVAs of one RDN joined by '+'. */
export function rfc2253(buf: Buffer, name: Tlv): string {
  expect(buf, name, 0x30, 'name');
  const rdns = children(buf, name).map((set) => {
    expect(buf, set, 0x31, 'relative distinguished name');
    return children(buf, set)
      .map((ava) => {
        const [type, value] = children(buf, expect(buf, ava, 0x30, 'attribute'));
        if (!type || !value) throw new DerError('attribute without type or value');
        const typeOid = oid(buf, type);
        const keyword = RFC2253_KEYWORDS[typeOid];
        const text = keyword ? stringValue(buf, value) : undefined;
        if (keyword && text !== undefined) return `${keyword}=${escapeValue(text)}`;
        return `${keyword ?? typeOid}=#${buf.subarray(value.start, value.end).toString('hex')}`;
      })
      .join('+');
  });
  return rdns.reverse().join(',');
}

/** The subject of a DER certificate in RFC 2253 form (X509Certificate.getSubjectX500Principal().getName()). */
export function subjectDn(cert: Buffer): string {
  const top = readTlv(cert, 0);
  const tbs = expect(cert, children(cert, expect(cert, top, 0x30, 'certificate'))[0], 0x30, 'tbsCertificate');
  const f = children(cert, tbs);
  // version [0] is optional; then serial, signature, issuer, validity, subject.
  const i = f[0]?.tag === 0xa0 ? 1 : 0;
  return rfc2253(cert, expect(cert, f[i + 4], 0x30, 'subject'));
}

/**
 * Whether `dn` parses as an X.500 name the way `new X500Principal(dn)` accepts it (what
 * X509AuthenticationProvider.isValid checks for an x509 ACL id): RDNs split on unescaped ',' or
 * ';', AVAs on '+', each `keyword=value` or `oid=value`. "" is the empty name.
 */
export function validX500Name(dn: string): boolean {
  if (dn.trim() === '') return true;
  const avas = dn.split(/(?<!\\)[,;+]/);
  return avas.every((ava) => /^\s*([A-Za-z][A-Za-z0-9-]*|(OID\.)?\d+(\.\d+)+)\s*=/i.test(ava));
}
