// The query API's parameters read as Loki reads them (pkg/loghttp): times as ns epoch, unix
// seconds (10 digits or fewer, or with a fraction) or RFC 3339; steps as durations or seconds;
// limit and direction. Pure functions: the shell passes `nowNs`.

import { rfc3339ToNs } from '../logEvent.js';
import type { Direction } from './evaluate.js';
import { parseDurationNs } from './logql.js';

/** A parameter Loki would refuse; 400 with the message. */
export class ParamError extends Error {}

export type Params = Record<string, string | string[] | undefined>;

export const one = (p: Params, name: string): string | undefined => {
  const v = p[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
};

export const many = (p: Params, name: string): string[] => {
  const v = p[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

export function parseTime(text: string | undefined, defaultNs: bigint, name: string): bigint {
  if (text === undefined || text === '') return defaultNs;
  if (text.includes('.') && /^\d+\.\d*$/.test(text)) {
    const [s, frac] = text.split('.') as [string, string];
    return BigInt(s) * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0'));
  }
  if (/^-?\d{1,19}$/.test(text)) {
    const n = BigInt(text);
    return text.replace('-', '').length <= 10 ? n * 1_000_000_000n : n;
  }
  const ns = rfc3339ToNs(text);
  if (ns === undefined) throw new ParamError(`invalid ${name} parameter ${JSON.stringify(text)}: want ns epoch, unix seconds or RFC3339`);
  return ns;
}

/** A step or range: a duration (15s, 1m) or seconds with an optional fraction. */
export function parseStepNs(text: string, name = 'step'): bigint {
  if (/^\d+(\.\d+)?$/.test(text)) return BigInt(Math.round(Number(text) * 1e9));
  const ns = parseDurationNs(text);
  if (ns === undefined) throw new ParamError(`invalid ${name} parameter ${JSON.stringify(text)}: want a duration like 15s or seconds`);
  return ns;
}

/** Loki's default step: the range over 250 points, at least one second. */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const seconds = (endNs - startNs) / 1_000_000_000n / 250n;
  return (seconds < 1n ? 1n : seconds) * 1_000_000_000n;
}

export function parseLimit(text: string | undefined, entriesMax: number): number {
  if (text === undefined || text === '') return Math.min(100, entriesMax);
  if (!/^\d+$/.test(text)) throw new ParamError(`invalid limit parameter ${JSON.stringify(text)}: want a non-negative integer`);
  const n = Number(text);
  if (n > entriesMax) throw new ParamError(`max entries limit per query exceeded, limit > max_entries_limit (${n} > ${entriesMax})`);
  return n;
}

export function parseDirection(text: string | undefined): Direction {
  if (text === undefined || text === '') return 'backward';
  const d = text.toLowerCase();
  if (d !== 'forward' && d !== 'backward')
    throw new ParamError(`invalid direction parameter ${JSON.stringify(text)}: want forward or backward`);
  return d;
}

export interface RangeParams {
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  limit: number;
  direction: Direction;
}

/** Steps per series a range query may ask for (Loki's 11,000). */
export const stepPointsMax = 11_000;

export function parseRangeParams(p: Params, nowNs: bigint, entriesMax: number): RangeParams {
  const endNs = parseTime(one(p, 'end'), nowNs, 'end');
  const startNs = parseTime(one(p, 'start'), endNs - 3_600_000_000_000n, 'start');
  if (endNs < startNs) throw new ParamError('end timestamp must not be before or equal to start time');
  const stepText = one(p, 'step');
  const stepNs = stepText === undefined || stepText === '' ? defaultStepNs(startNs, endNs) : parseStepNs(stepText);
  if (stepNs <= 0n) throw new ParamError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((endNs - startNs) / stepNs > BigInt(stepPointsMax)) {
    throw new ParamError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  return { startNs, endNs, stepNs, limit: parseLimit(one(p, 'limit'), entriesMax), direction: parseDirection(one(p, 'direction')) };
}
