// Kafka message layouts, declared once. Each API's request and response is a table of fields
// with version ranges (the same facts Kafka's own message definitions carry); the codecs for a
// given version are built from the table on first use and cached, so a handler never reads or
// writes a field by hand. Both encodings come from the same table: the classic one (int16
// string lengths, int32 array counts) and the flexible one (KIP-482: unsigned-varint lengths
// plus one, and a tagged-field buffer at the end of every struct).
//
// Version ranges are written as Kafka writes them: '0+', '3-7', '5' or 'none'.

import { isDeepStrictEqual } from 'node:util';
import { type KafkaReader, KafkaWriter, ProtocolError } from './buffers.js';

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'uuid'
  | 'string'
  | 'bytes'
  /** A record set: decoded as a Buffer slice of the request (no copy), encoded from a Buffer or Buffer[]. */
  | 'records';

export interface FieldDecl {
  readonly name: string;
  readonly type: Primitive | ArrayOf | StructDecl;
  /** Versions in which the field exists ('0+' when omitted). */
  readonly versions?: string;
  /** Versions in which null is allowed (strings, bytes, records, arrays, structs). */
  readonly nullable?: string;
  /** A tagged field: its tag number, and the versions in which it may appear. */
  readonly tag?: number;
  readonly taggedVersions?: string;
  /** Value used when the field is absent in a version (and omitted from a tag buffer when equal). */
  readonly default?: unknown;
}

export interface ArrayOf {
  readonly array: Primitive | StructDecl;
}

export interface StructDecl {
  readonly struct: readonly FieldDecl[];
}

export interface MessageDecl {
  readonly name: string;
  readonly apiKey: number;
  readonly type: 'request' | 'response';
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldDecl[];
}

export const arrayOf = (t: Primitive | StructDecl): ArrayOf => ({ array: t });
export const struct = (fields: readonly FieldDecl[]): StructDecl => ({ struct: fields });

/** Decoded message values are plain objects keyed by field name. */
// biome-ignore lint/suspicious/noExplicitAny: message shapes are declared as data, not types
export type Msg = Record<string, any>;

// ---- version ranges ---------------------------------------------------------------------

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

export function parseVersions(spec: string | undefined, whenMissing = '0+'): VersionRange {
  const s = (spec ?? whenMissing).trim();
  if (s === 'none') return NO_VERSIONS;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { min: Number(m[1]), max: Number.MAX_SAFE_INTEGER };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { min: Number(m[1]), max: Number(m[2]) };
  m = /^(\d+)$/.exec(s);
  if (m) return { min: Number(m[1]), max: Number(m[1]) };
  throw new Error(`bad version range '${s}'`);
}

export function inRange(r: VersionRange, v: number): boolean {
  return v >= r.min && v <= r.max;
}

// ---- compiled codecs ----------------------------------------------------------------------

type Decode = (r: KafkaReader) => unknown;
type Encode = (w: KafkaWriter, v: unknown) => void;

interface CompiledField {
  readonly name: string;
  readonly decode: Decode;
  readonly encode: Encode;
  readonly fallback: () => unknown;
}

interface CompiledTagged extends CompiledField {
  readonly tag: number;
  readonly isDefault: (v: unknown) => boolean;
}

export interface MessageCodec {
  decode(r: KafkaReader): Msg;
  encode(w: KafkaWriter, v: Msg): void;
}

function defaultFor(f: FieldDecl, version: number): () => unknown {
  if (f.default !== undefined) {
    const d = f.default;
    return () => d;
  }
  const nullable = inRange(parseVersions(f.nullable, 'none'), version);
  const t = f.type;
  if (typeof t === 'object') {
    if ('array' in t) return nullable ? () => null : () => [];
    return nullable ? () => null : () => defaultStruct(t, version);
  }
  switch (t) {
    case 'bool':
      return () => false;
    case 'string':
      return nullable ? () => null : () => '';
    case 'bytes':
    case 'records':
      return nullable ? () => null : () => EMPTY;
    case 'uuid':
      return () => ZERO_UUID;
    default:
      return () => 0;
  }
}

const EMPTY = Buffer.alloc(0);
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

function defaultStruct(s: StructDecl, version: number): Msg {
  const o: Msg = {};
  for (const f of s.struct) o[f.name] = defaultFor(f, version)();
  return o;
}

function primitiveCodec(t: Primitive, flexible: boolean, nullable: boolean): { decode: Decode; encode: Encode } {
  switch (t) {
    case 'bool':
      return { decode: (r) => r.int8() !== 0, encode: (w, v) => w.int8(v ? 1 : 0) };
    case 'int8':
      return { decode: (r) => r.int8(), encode: (w, v) => w.int8(v as number) };
    case 'int16':
      return { decode: (r) => r.int16(), encode: (w, v) => w.int16(v as number) };
    case 'uint16':
      return { decode: (r) => r.uint16(), encode: (w, v) => w.uint16(v as number) };
    case 'int32':
      return { decode: (r) => r.int32(), encode: (w, v) => w.int32(v as number) };
    case 'uint32':
      return { decode: (r) => r.uint32(), encode: (w, v) => w.uint32(v as number) };
    case 'int64':
      return { decode: (r) => r.int64(), encode: (w, v) => w.int64(v as number) };
    case 'float64':
      return { decode: (r) => r.float64(), encode: (w, v) => w.float64(v as number) };
    case 'uuid':
      return { decode: (r) => r.uuid(), encode: (w, v) => w.uuid(v as string) };
    case 'string':
      return flexible
        ? { decode: (r) => r.compactString(nullable), encode: (w, v) => w.compactString(v as string | null) }
        : { decode: (r) => r.string(nullable), encode: (w, v) => w.string(v as string | null) };
    case 'bytes':
      return flexible
        ? { decode: (r) => r.compactBytes(nullable), encode: (w, v) => w.compactBytes(v as Buffer | null) }
        : { decode: (r) => r.bytes(nullable), encode: (w, v) => w.bytes(v as Buffer | null) };
    case 'records':
      return flexible
        ? { decode: (r) => r.compactBytes(nullable), encode: (w, v) => w.compactRecords(v as Buffer | Buffer[] | null) }
        : { decode: (r) => r.bytes(nullable), encode: (w, v) => w.records(v as Buffer | Buffer[] | null) };
  }
}

function typeCodec(
  t: Primitive | ArrayOf | StructDecl,
  version: number,
  flexible: boolean,
  nullable: boolean,
): { decode: Decode; encode: Encode } {
  if (typeof t === 'string') return primitiveCodec(t, flexible, nullable);
  if ('array' in t) {
    const el = typeCodec(t.array, version, flexible, false);
    const elDecode = el.decode;
    const elEncode = el.encode;
    return {
      decode: (r) => {
        const n = flexible ? r.uvarint() - 1 : r.int32();
        if (n < 0) {
          if (!nullable) throw new ProtocolError('null array in a non-nullable field');
          return null;
        }
        // Every element takes at least one byte: a count past the bytes left is a lie.
        if (n > r.remaining()) throw new ProtocolError(`array count ${n} exceeds the ${r.remaining()} bytes left`);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = elDecode(r);
        return out;
      },
      encode: (w, v) => {
        const a = v as unknown[] | null | undefined;
        if (a == null) {
          if (flexible) w.uvarint(0);
          else w.int32(-1);
          return;
        }
        if (flexible) w.uvarint(a.length + 1);
        else w.int32(a.length);
        for (let i = 0; i < a.length; i++) elEncode(w, a[i]);
      },
    };
  }
  const inner = compileStruct(t.struct, version, flexible);
  if (!nullable) return inner as { decode: Decode; encode: Encode };
  // A nullable struct is prefixed by an int8: -1 null, 1 present.
  return {
    decode: (r) => (r.int8() < 0 ? null : inner.decode(r)),
    encode: (w, v) => {
      if (v == null) w.int8(-1);
      else {
        w.int8(1);
        inner.encode(w, v as Msg);
      }
    },
  };
}

function compileStruct(fields: readonly FieldDecl[], version: number, flexible: boolean): MessageCodec {
  const present: CompiledField[] = [];
  const absent: { name: string; fallback: () => unknown }[] = [];
  const tagged: CompiledTagged[] = [];
  for (const f of fields) {
    const fallback = defaultFor(f, version);
    const nullable = inRange(parseVersions(f.nullable, 'none'), version);
    if (f.tag !== undefined) {
      if (flexible && inRange(parseVersions(f.taggedVersions ?? f.versions), version)) {
        const c = typeCodec(f.type, version, true, nullable);
        const d = fallback();
        tagged.push({
          name: f.name,
          tag: f.tag,
          ...c,
          fallback,
          // Structs and bytes decode to fresh objects: compare them by content, as Kafka omits
          // a tagged field equal to its default.
          isDefault: (v) =>
            v === undefined ||
            v === d ||
            (Array.isArray(v) && v.length === 0 && Array.isArray(d)) ||
            (Buffer.isBuffer(v) && Buffer.isBuffer(d) && v.equals(d)) ||
            (d !== null && typeof d === 'object' && !Buffer.isBuffer(d) && isDeepStrictEqual(v, d)),
        });
      } else absent.push({ name: f.name, fallback });
      continue;
    }
    if (!inRange(parseVersions(f.versions), version)) {
      absent.push({ name: f.name, fallback });
      continue;
    }
    const c = typeCodec(f.type, version, flexible, nullable);
    present.push({ name: f.name, ...c, fallback });
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const byTag = new Map(tagged.map((t) => [t.tag, t]));

  return {
    decode(r: KafkaReader): Msg {
      const o: Msg = {};
      for (let i = 0; i < present.length; i++) {
        const f = present[i] as CompiledField;
        o[f.name] = f.decode(r);
      }
      for (let i = 0; i < absent.length; i++) {
        const f = absent[i] as { name: string; fallback: () => unknown };
        o[f.name] = f.fallback();
      }
      if (flexible) {
        for (const t of tagged) o[t.name] = t.fallback();
        const n = r.uvarint();
        for (let i = 0; i < n; i++) {
          const tag = r.uvarint();
          const size = r.uvarint();
          const known = byTag.get(tag);
          if (known) {
            const sub = r.sub(size);
            o[known.name] = known.decode(sub);
          } else r.skip(size); // unknown tags are ignored, as KIP-482 says
        }
      }
      return o;
    },
    encode(w: KafkaWriter, v: Msg): void {
      for (let i = 0; i < present.length; i++) {
        const f = present[i] as CompiledField;
        const x = v[f.name];
        f.encode(w, x === undefined ? f.fallback() : x);
      }
      if (flexible) {
        const out: CompiledTagged[] = [];
        for (const t of tagged) if (!t.isDefault(v[t.name])) out.push(t);
        w.uvarint(out.length);
        for (const t of out) {
          w.uvarint(t.tag);
          const sub = new KafkaWriter(64);
          t.encode(sub, v[t.name]);
          const bytes = sub.toBuffer();
          w.uvarint(bytes.length);
          w.raw(bytes);
        }
      }
    },
  };
}

/** One message declaration with a codec per version, built on first use. */
export class Message {
  readonly valid: VersionRange;
  readonly flexible: VersionRange;
  private readonly codecs = new Map<number, MessageCodec>();

  constructor(readonly decl: MessageDecl) {
    this.valid = parseVersions(decl.validVersions);
    this.flexible = parseVersions(decl.flexibleVersions);
  }

  isFlexible(version: number): boolean {
    return inRange(this.flexible, version);
  }

  codec(version: number): MessageCodec {
    let c = this.codecs.get(version);
    if (!c) {
      if (!inRange(this.valid, version)) throw new ProtocolError(`${this.decl.name} has no version ${version}`);
      c = compileStruct(this.decl.fields, version, this.isFlexible(version));
      this.codecs.set(version, c);
    }
    return c;
  }

  decode(r: KafkaReader, version: number): Msg {
    return this.codec(version).decode(r);
  }

  encode(w: KafkaWriter, version: number, v: Msg): void {
    this.codec(version).encode(w, v);
  }
}
