// `clustergenie logs query|tail`: LogQL against the log store through Loki's standard HTTP API only
// (query_range, and the /tail WebSocket), so it works the same against a real Grafana Loki. Log
// lines print as `<time> <labels> <line>`; metric results as a table. A query the store refuses
// (bad LogQL) exits 2 with the store's own message; an unreachable store exits 6 naming --url.

import { Option } from 'commander';
import WebSocket from 'ws';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson, printTable, safeText } from './output.js';
import { clientProgram, intOption, runProgram, subcommand } from './program.js';
import { baseUrl, fetchWithTimeout, isConnectionError, onInterrupt, parseDurationMs, parseTimeMs, unreachable } from './servicesCli.js';

const defaultUrl = 'http://127.0.0.1:3100';
const defaultSince = '1h';
const defaultLimit = 100;
/** Loki's own cap of entries per query (max_entries_limit_per_query). */
const limitMax = 5000;
/** Bytes of one tail frame accepted from the server (Loki's frames are one push's entries). */
const tailFrameBytesMax = 16 * 1024 * 1024;
/** Bytes of an error body quoted from the store. */
const errorBodyCharsMax = 500;

interface GlobalOpts {
  url: string;
  json?: boolean;
}

type Labels = Record<string, string>;
interface StreamsData {
  resultType: 'streams';
  result: { stream: Labels; values: [string, string][] }[];
}
interface MatrixData {
  resultType: 'matrix';
  result: { metric: Labels; values: [number, string][] }[];
}
interface VectorData {
  resultType: 'vector';
  result: { metric: Labels; value: [number, string] }[];
}
interface ScalarData {
  resultType: 'scalar';
  result: [number, string];
}
type QueryData = StreamsData | MatrixData | VectorData | ScalarData;

/** `{a="x", b="y"}` as LogQL writes a label set. */
export function formatLabels(labels: Labels): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ');
  return `{${inner}}`;
}

/** Nanoseconds since the epoch (Loki's timestamps) as an RFC 3339 time with nanoseconds. */
export function formatNs(ns: string): string {
  let n: bigint;
  try {
    n = BigInt(ns);
  } catch {
    return ns;
  }
  const ms = n / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

export interface LogEntry {
  ts: string;
  labels: Labels;
  line: string;
}

/** Every entry of a streams result, in time order (newest first when backward). */
export function entriesOf(data: StreamsData, direction: 'backward' | 'forward'): LogEntry[] {
  const all = data.result.flatMap((s) => s.values.map(([ts, line]) => ({ ts, labels: s.stream, line })));
  const cmp = (a: LogEntry, b: LogEntry): number => {
    const d = BigInt(a.ts) - BigInt(b.ts);
    return d === 0n ? 0 : d < 0n ? -1 : 1;
  };
  return all.sort((a, b) => (direction === 'backward' ? cmp(b, a) : cmp(a, b)));
}

const entryLine = (e: LogEntry): string => `${formatNs(e.ts)} ${safeText(formatLabels(e.labels))} ${safeText(e.line)}\n`;

const secondsIso = (s: number): string => new Date(s * 1000).toISOString();

function printResult(data: QueryData, direction: 'backward' | 'forward'): void {
  switch (data.resultType) {
    case 'streams':
      for (const e of entriesOf(data, direction)) process.stdout.write(entryLine(e));
      return;
    case 'matrix':
      printTable(
        ['TIME', 'SERIES', 'VALUE'],
        data.result.flatMap((s) => s.values.map(([t, v]) => [secondsIso(t), formatLabels(s.metric), v])),
      );
      return;
    case 'vector':
      printTable(
        ['TIME', 'SERIES', 'VALUE'],
        data.result.map((s) => [secondsIso(s.value[0]), formatLabels(s.metric), s.value[1]]),
      );
      return;
    case 'scalar':
      printTable(['TIME', 'VALUE'], [[secondsIso(data.result[0]), data.result[1]]]);
  }
}

/** The [start, end) range in ms from --since or --from/--to. */
function rangeOf(o: { since?: string; from?: string; to?: string }, now: number): { startMs: number; endMs: number } {
  const endMs = o.to !== undefined ? parseTimeMs(o.to, '--to') : now;
  const startMs = o.from !== undefined ? parseTimeMs(o.from, '--from') : endMs - parseDurationMs(o.since ?? defaultSince, '--since');
  if (startMs >= endMs) throw new CliError('the range is empty: --from (or --to minus --since) must be before --to', ExitCode.usage);
  return { startMs, endMs };
}

const nsOf = (ms: number): string => (BigInt(Math.floor(ms)) * 1_000_000n).toString();

async function query(url: string, logql: string, o: QueryOpts, json: boolean): Promise<void> {
  if (o.since !== undefined && o.from !== undefined) throw new CliError('give --since or --from, not both', ExitCode.usage);
  const { startMs, endMs } = rangeOf(o, Date.now());
  const direction = o.forward ? 'forward' : 'backward';
  const params = new URLSearchParams({
    query: logql,
    start: nsOf(startMs),
    end: nsOf(endMs),
    limit: String(o.limit ?? defaultLimit),
    direction,
  });
  if (o.step !== undefined) params.set('step', `${Math.max(1, Math.round(parseDurationMs(o.step, '--step') / 1000))}s`);
  let res: Response;
  try {
    res = await fetchWithTimeout(`${url}/loki/api/v1/query_range?${params}`, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw isConnectionError(e) ? unreachable('the log store', url, '--url', e) : e;
  }
  const text = await res.text();
  if (!res.ok) {
    const message = text.trim().slice(0, errorBodyCharsMax) || res.statusText;
    if (res.status === 400) throw new CliError(`the log store refused the query: ${message}`, ExitCode.usage);
    if (res.status >= 500 || res.status === 429)
      throw new CliError(`the log store failed (${res.status}): ${message}`, ExitCode.unavailable);
    throw new CliError(`the log store answered ${res.status}: ${message}`, ExitCode.failure);
  }
  let body: { status?: string; data?: QueryData };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new CliError(`${url} did not answer with Loki's JSON; is --url a Loki API?`, ExitCode.failure);
  }
  if (!body.data) throw new CliError(`${url} answered without data; is --url a Loki API?`, ExitCode.failure);
  if (json) printJson(body.data);
  else printResult(body.data, direction);
}

interface QueryOpts {
  since?: string;
  from?: string;
  to?: string;
  limit?: number;
  step?: string;
  forward?: boolean;
}

/** Follows the /tail WebSocket; resolves with the exit code after --count lines, Ctrl-C or the server closing. */
function tail(url: string, logql: string, o: { since?: string; limit?: number; count?: number }, json: boolean): Promise<number> {
  const startMs = o.since !== undefined ? Date.now() - parseDurationMs(o.since, '--since') : Date.now();
  const params = new URLSearchParams({ query: logql, start: nsOf(startMs), limit: String(o.limit ?? defaultLimit) });
  const wsUrl = `${url.replace(/^http/, 'ws')}/loki/api/v1/tail?${params}`;
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { maxPayload: tailFrameBytesMax, handshakeTimeout: 15_000 });
    let seen = 0;
    let done = false;
    const end = (result: number | Error): void => {
      if (done) return;
      done = true;
      stopListening();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (typeof result === 'number') resolve(result);
      else reject(result);
    };
    const stopListening = onInterrupt(() => end(ExitCode.ok));
    ws.on('open', () => {
      if (!json) process.stderr.write(`tailing ${safeText(logql)} on ${url} (Ctrl-C to stop)\n`);
    });
    ws.on('message', (data) => {
      let frame: { streams?: { stream: Labels; values: [string, string][] }[]; dropped_entries?: unknown[] | null };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return end(new CliError(`${url} sent a tail frame that is not JSON; is --url a Loki API?`, ExitCode.failure));
      }
      for (const e of entriesOf({ resultType: 'streams', result: frame.streams ?? [] }, 'forward')) {
        if (done) return;
        process.stdout.write(json ? `${JSON.stringify(e)}\n` : entryLine(e));
        seen++;
        if (o.count !== undefined && seen >= o.count) return end(ExitCode.ok);
      }
      if (frame.dropped_entries && frame.dropped_entries.length > 0 && !json)
        process.stderr.write(`(${frame.dropped_entries.length} entries dropped by the store: this tail read too slowly)\n`);
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        if (text.length < errorBodyCharsMax) text += d.toString();
      });
      res.on('end', () => {
        const message = text.trim().slice(0, errorBodyCharsMax) || res.statusMessage || '';
        const status = res.statusCode ?? 0;
        end(
          new CliError(
            status === 400 ? `the log store refused the query: ${message}` : `the log store answered ${status}: ${message}`,
            status === 400 ? ExitCode.usage : status >= 500 ? ExitCode.unavailable : ExitCode.failure,
          ),
        );
      });
    });
    ws.on('close', (code, reason) => {
      const why = reason.toString();
      // 1008 (policy violation) is how the store (and Loki) refuse a query on the tail socket.
      if (code === 1008) return end(new CliError(`the log store refused the query: ${why}`, ExitCode.usage));
      if (code === 1000 || code === 1005) return end(ExitCode.ok);
      end(new CliError(`the log store closed the tail (${code}${why ? ` ${why}` : ''})`, ExitCode.unavailable));
    });
    ws.on('error', (e) => end(isConnectionError(e) ? unreachable('the log store', url, '--url', e) : e));
  });
}

export async function runLogsCli(args: string[]): Promise<number> {
  const program = clientProgram('logs', "LogQL queries and live tail against the log store (Loki's HTTP API)");
  program
    .addOption(new Option('--url <url>', 'the log store or a Loki').default(defaultUrl).env('CLUSTERGENIE_LOGS_URL'))
    .option('--json', 'JSON for scripts (query: Loki\'s "data"; tail: one entry per line)');
  let code: number = ExitCode.ok;
  const globals = (cmd: { optsWithGlobals(): GlobalOpts }): { url: string; json: boolean } => {
    const g = cmd.optsWithGlobals();
    return { url: baseUrl(g.url, '--url'), json: g.json === true };
  };
  const limit = (v: string): number => {
    const n = intOption('--limit')(v);
    if (n < 1 || n > limitMax) throw new CliError(`--limit must be from 1 to ${limitMax}, got ${v}`, ExitCode.usage);
    return n;
  };

  subcommand(program, 'query <logql>', 'log lines (newest first) or a metric query over a time range')
    .option('--since <duration>', `how far back from --to (default ${defaultSince}): 30s, 15m, 1h, 2d`)
    .option('--from <time>', 'range start, RFC 3339 (instead of --since)')
    .option('--to <time>', 'range end, RFC 3339 (default now)')
    .option('--limit <n>', `at most n log lines (default ${defaultLimit})`, limit)
    .option('--step <duration>', 'metric queries: the step between points')
    .option('--forward', 'oldest first')
    .action(async (logql: string, o: QueryOpts, cmd) => {
      const g = globals(cmd);
      await query(g.url, logql, o, g.json);
    });

  subcommand(program, 'tail <logql>', 'new log lines as they arrive (Ctrl-C ends)')
    .option('--since <duration>', 'start with the lines of this recent past (default: only new ones)')
    .option('--limit <n>', `at most n lines of that past (default ${defaultLimit})`, limit)
    .option('--count <n>', 'end after n lines (for scripts)', intOption('--count'))
    .action(async (logql: string, o: { since?: string; limit?: number; count?: number }, cmd) => {
      const g = globals(cmd);
      if (o.count === 0) return;
      code = await tail(g.url, logql, o, g.json);
    });

  const parsed = await runProgram(program, args);
  return parsed === ExitCode.ok ? code : parsed;
}
