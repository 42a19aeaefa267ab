// Declarative jute record schemas. Each record is declared once as a field table; its encoder
// and decoder are generated from that table (compiled to straight-line code once, on first use,
// so the hot path runs no interpreter loop and builds objects of one fixed shape).

import { JuteReader, JuteWriter } from './jute.js';

export type Prim = 'int' | 'long' | 'longN' | 'bool' | 'buffer' | 'ustring' | 'ustringN';
export interface VectorOf<E extends FieldType = FieldType> {
  readonly vector: E;
}
export type FieldType = Prim | VectorOf | Codec<unknown>;
export type FieldList = readonly (readonly [string, FieldType])[];

/**
 * Field type to TS type. `long` is a bigint (session ids use all 64 bits); `longN` is a jute long
 * held as a number (zxids, times). A null ustring decodes as ''; a `ustringN` keeps null (where
 * ZooKeeper gives null a meaning of its own). A null buffer stays null, because ZooKeeper
 * distinguishes null data from empty data.
 */
export type TypeOf<F> = F extends 'int'
  ? number
  : F extends 'long'
    ? bigint
    : F extends 'longN'
      ? number
      : F extends 'bool'
        ? boolean
        : F extends 'buffer'
          ? Buffer | null
          : F extends 'ustring'
            ? string
            : F extends 'ustringN'
              ? string | null
              : F extends VectorOf<infer E>
                ? TypeOf<E>[]
                : F extends Codec<infer T>
                  ? T
                  : never;

export type RecordOf<L extends FieldList> = {
  -readonly [K in L[number] as K[0]]: TypeOf<K[1]>;
};

export interface Codec<T> {
  readonly name: string;
  readonly fields: FieldList;
  encode(w: JuteWriter, v: T): void;
  decode(r: JuteReader): T;
}

function isCodec(t: FieldType): t is Codec<unknown> {
  return typeof t === 'object' && 'encode' in t;
}

function isVector(t: FieldType): t is VectorOf {
  return typeof t === 'object' && 'vector' in t;
}

export function vector<E extends FieldType>(e: E): VectorOf<E> {
  return { vector: e };
}

let uniq = 0;

/**
 * Declare a record; returns its codec. The encoder and decoder are compiled on first use, not
 * here: a server declares ~60 records at import and uses a handful while it starts, and
 * compiling them all cost ~4 ms of CPU per process start (docs/PERFORMANCE.md, cold start). The
 * first call replaces the codec's methods with the compiled ones, so later calls go straight to
 * them; a method taken off the codec before that keeps working through the stub.
 */
export function record<const L extends FieldList>(name: string, fields: L): Codec<RecordOf<L>> {
  type Encode = (w: JuteWriter, v: RecordOf<L>) => void;
  type Decode = (r: JuteReader) => RecordOf<L>;
  let compiled: { encode: Encode; decode: Decode } | undefined;
  const codec: { name: string; fields: L; encode: Encode; decode: Decode } = {
    name,
    fields,
    encode: (w, v) => (compiled ?? compile()).encode(w, v),
    decode: (r) => (compiled ?? compile()).decode(r),
  };
  const compile = (): { encode: Encode; decode: Decode } => {
    compiled = compileRecord(name, fields);
    codec.encode = compiled.encode;
    codec.decode = compiled.decode;
    return compiled;
  };
  return codec;
}

function compileRecord<const L extends FieldList>(
  name: string,
  fields: L,
): { encode: (w: JuteWriter, v: RecordOf<L>) => void; decode: (r: JuteReader) => RecordOf<L> } {
  const refs: unknown[] = [];
  const ref = (v: unknown): string => {
    refs.push(v);
    return `refs[${refs.length - 1}]`;
  };

  const enc = (t: FieldType, expr: string): string => {
    if (t === 'ustringN') return `w.ustring(${expr});`;
    if (typeof t === 'string') {
      return `w.${t}(${expr});`;
    }
    if (isCodec(t)) return `${ref(t)}.encode(w, ${expr});`;
    if (isVector(t)) {
      const a = `a${uniq++}`;
      const e = `e${uniq++}`;
      return `{ const ${a} = ${expr}; if (${a} == null) w.int(-1); else { w.int(${a}.length); for (const ${e} of ${a}) { ${enc(t.vector, e)} } } }`;
    }
    throw new Error(`bad field type in ${name}`);
  };

  const dec = (t: FieldType): string => {
    if (t === 'ustring') return `(r.ustring() ?? '')`;
    if (t === 'ustringN') return 'r.ustring()';
    if (typeof t === 'string') return `r.${t}()`;
    if (isCodec(t)) return `${ref(t)}.decode(r)`;
    if (isVector(t)) {
      return `${ref(readVector)}(r, (r) => ${dec(t.vector)})`;
    }
    throw new Error(`bad field type in ${name}`);
  };

  const encBody = fields.map(([f, t]) => enc(t, `v[${JSON.stringify(f)}]`)).join('\n');
  // Field order in the object literal matters: the decoder must read fields in wire order.
  const decBody =
    fields.map(([, t], i) => `const f${i} = ${dec(t)};`).join('\n') +
    `\nreturn { ${fields.map(([f], i) => `${JSON.stringify(f)}: f${i}`).join(', ')} };`;

  const encode = new Function('refs', `return function encode_${name}(w, v) {\n${encBody}\n}`)(refs) as (
    w: JuteWriter,
    v: RecordOf<L>,
  ) => void;
  const decode = new Function('refs', `return function decode_${name}(r) {\n${decBody}\n}`)(refs) as (r: JuteReader) => RecordOf<L>;
  return { encode, decode };
}

function readVector<T>(r: JuteReader, el: (r: JuteReader) => T): T[] {
  const n = r.vectorCount();
  if (n < 0) return [];
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = el(r);
  return out;
}

/** Encode a record into a fresh buffer (tests, tools; not for hot paths). */
export function encodeToBuffer<T>(codec: Codec<T>, v: T): Buffer {
  const w = new JuteWriter(256);
  codec.encode(w, v);
  return w.toBuffer();
}

export function decodeFromBuffer<T>(codec: Codec<T>, buf: Buffer): T {
  return codec.decode(new JuteReader(buf));
}
