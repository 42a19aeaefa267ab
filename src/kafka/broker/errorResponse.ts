// The response a request gets when its handler fails unexpectedly: Kafka's getErrorResponse,
// derived from the declarations instead of written per API. Every errorCode field carries the
// error, and the response mirrors the request's topics, partitions, resources and groups (by
// field name, with the few renames Kafka's schemas make), so a client sees the error against
// each thing it asked about rather than an empty answer. As Kafka does for UNKNOWN_SERVER_ERROR,
// no error message is filled in: the exception's text stays in the broker's log.

import type { ArrayOf, FieldDecl, Msg, Primitive, StructDecl } from '../protocol/schema.js';

/** Request array names a response array may mirror, when the names differ. */
const ARRAY_SOURCES: Record<string, readonly string[]> = {
  responses: ['topicData', 'topics', 'topicNames', 'groups', 'resources'],
  partitionResponses: ['partitionData', 'partitions'],
  results: ['resources', 'topics', 'groups', 'topicPartitions'],
  topics: ['topicData', 'topicNames'],
  partitions: ['partitionIndexes', 'partitionData'],
  groups: ['groupsNames', 'groupIds'],
  coordinators: ['coordinatorKeys'],
};

/** Request scalar names a response scalar may be copied from, when the names differ. */
const SCALAR_SOURCES: Record<string, readonly string[]> = {
  name: ['topic', 'topicName'],
  topic: ['name'],
  partitionIndex: ['index', 'partition'],
  index: ['partitionIndex', 'partition'],
  partition: ['partitionIndex', 'index'],
  groupId: ['name'],
  key: ['name'],
};

function isErrorCode(f: FieldDecl): boolean {
  return f.type === 'int16' && /errorCode$/i.test(f.name);
}

function scalarKind(t: Primitive): 'string' | 'number' | 'boolean' | 'other' {
  if (t === 'string' || t === 'uuid') return 'string';
  if (t === 'bool') return 'boolean';
  if (t === 'bytes' || t === 'records') return 'other';
  return 'number';
}

function pick<T>(req: Msg, name: string, aliases: Record<string, readonly string[]>, ok: (v: unknown) => v is T): T | undefined {
  for (const n of [name, ...(aliases[name] ?? [])]) {
    const v = req[n];
    if (ok(v)) return v;
  }
  return undefined;
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/**
 * A response body for the fields of `decl`, mirroring `req` (a request struct, or a scalar the
 * request held where the response has a struct: a topic name, a partition index, a group id).
 */
function mirror(fields: readonly FieldDecl[], req: unknown, errorCode: number): Msg {
  const src: Msg = req !== null && typeof req === 'object' && !Array.isArray(req) ? (req as Msg) : {};
  const out: Msg = {};
  for (const f of fields) {
    if (isErrorCode(f)) {
      out[f.name] = errorCode;
      continue;
    }
    const t = f.type as Primitive | ArrayOf | StructDecl;
    if (typeof t === 'string') {
      const kind = scalarKind(t);
      let v: unknown = pick(src, f.name, SCALAR_SOURCES, (x): x is unknown => x !== undefined && typeof x === kind);
      // A scalar request element (a topic name, a partition index) fills the response struct's
      // first field of its kind: the name or the index it stands for.
      if (v === undefined && typeof req === kind && (f.name === 'name' || /partition|index|groupId|key/i.test(f.name))) v = req;
      if (v !== undefined) out[f.name] = v;
      continue;
    }
    if ('array' in t) {
      const items = pick(src, f.name, ARRAY_SOURCES, isArray);
      if (items === undefined) continue;
      const el = t.array;
      out[f.name] =
        typeof el === 'string' ? items.filter((x) => typeof x === scalarKind(el)) : items.map((x) => mirror(el.struct, x, errorCode));
      continue;
    }
    out[f.name] = mirror(t.struct, src[f.name] ?? req, errorCode);
  }
  return out;
}

/** The whole error response for a request body: see the file comment. */
export function errorResponse(responseFields: readonly FieldDecl[], req: Msg, errorCode: number): Msg {
  return mirror(responseFields, req, errorCode);
}
