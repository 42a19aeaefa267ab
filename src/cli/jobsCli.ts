// `clustergenie jobs`: the Job Service HTTP API (docs/API.md) from the terminal, through the typed
// client (src/genie/jobs/client.ts), so it works against any Job Service by --url. Exit codes:
// unknown job 4, refused by the job's state 5, service unreachable 6; `watch` and `submit --wait`
// end 0 when the job completed and 1 when it ended otherwise (dead, cancelled).

import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { JobsApiError, JobsClient } from '../genie/jobs/client.js';
import { JOB_PRIORITIES, JOB_STATES, type JobState, type JobSubmission } from '../genie/jobs/events.js';
import type { JobView } from '../genie/jobs/view.js';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson, printTable, safeText } from './output.js';
import { clientProgram, intOption, runProgram, subcommand } from './program.js';
import { baseUrl, fetchWithTimeout, isConnectionError, onInterrupt, parseDurationMs, unreachable } from './servicesCli.js';

const defaultUrl = 'http://127.0.0.1:8081';
/** Bytes of a --payload @file read (the API refuses payloads over 512 KiB anyway). */
const payloadFileBytesMax = 1024 * 1024;
/** Longest a string cell (payload, error) is shown in a table or `show` before it is cut. */
const cellCharsMax = 200;

interface GlobalOpts {
  url: string;
  json?: boolean;
}

interface Ctx {
  client: JobsClient;
  url: string;
  json: boolean;
}

function ctxOf(opts: GlobalOpts): Ctx {
  const url = baseUrl(opts.url, '--url');
  return { client: new JobsClient(url, { fetch: fetchWithTimeout }), url, json: opts.json === true };
}

/** Runs one API call, turning its failures into the documented exit codes. */
async function call<T>(ctx: Ctx, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw apiError(ctx, what, e);
  }
}

function apiError(ctx: Ctx, what: string, e: unknown): Error {
  if (e instanceof JobsApiError) {
    const where = e.field ? ` (field ${e.field})` : '';
    const msg = `${what}: ${e.message}${where}`;
    if (e.status === 404) return new CliError(msg, ExitCode.notFound);
    if (e.status === 409) return new CliError(msg, ExitCode.conflict);
    if (e.status === 400 || e.status === 413 || e.status === 415) return new CliError(msg, ExitCode.usage);
    if (e.status === 503) return new CliError(`${msg}; try again shortly`, ExitCode.unavailable);
    return new CliError(msg, ExitCode.failure);
  }
  if (isConnectionError(e)) return unreachable('the Job Service', ctx.url, '--url', e);
  return e instanceof Error ? e : new Error(String(e));
}

function parsePayload(text: string): unknown {
  let source = text;
  let from = '--payload';
  if (text.startsWith('@')) {
    const path = text.slice(1);
    from = `--payload file ${path}`;
    try {
      const buf = readFileSync(path === '-' ? 0 : path);
      if (buf.length > payloadFileBytesMax) throw new CliError(`${from} is larger than ${payloadFileBytesMax} bytes`, ExitCode.usage);
      source = buf.toString('utf8');
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`cannot read ${from}: ${(e as Error).message}`, ExitCode.usage);
    }
  }
  try {
    return JSON.parse(source);
  } catch (e) {
    throw new CliError(`${from} is not JSON (${(e as Error).message}); quote it, e.g. --payload '{"ms":1000}'`, ExitCode.usage);
  }
}

const short = (v: unknown): string => {
  const s = typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
  return s.length > cellCharsMax ? `${s.slice(0, cellCharsMax)}…` : s;
};

function jobLine(j: JobView): string {
  const progress = j.progress ? ` ${Math.round(j.progress.percent)}%` : '';
  return `${j.id} ${j.type} ${j.state}${progress} attempt ${j.attempt}/${j.attemptLimit}`;
}

function printJob(j: JobView): void {
  const rows: [string, unknown][] = [
    ['id', j.id],
    ['type', j.type],
    ['state', j.state + (j.cancelRequested && j.state !== 'cancelled' ? ' (cancel requested)' : '')],
    ['priority', j.priority],
    ['attempt', `${j.attempt} of ${j.attemptLimit}`],
    ['created', j.createdAt],
    ['updated', j.updatedAt],
    ['started', j.startedAt],
    ['finished', j.finishedAt],
    ['run at', j.runAt],
    ['worker', j.worker],
    ['ordering key', j.orderingKey],
    ['schedule', j.schedule],
    ['progress', j.progress ? `${j.progress.percent}%${j.progress.message ? ` ${j.progress.message}` : ''}` : null],
    ['duration', j.durationMs === null ? null : `${j.durationMs} ms`],
    ['payload', short(j.payload)],
    ['result', j.result === undefined || j.result === null ? null : short(j.result)],
    ['last error', j.lastError ? `${j.lastError.reason}: ${short(j.lastError.message)}` : null],
    ['cancel reason', j.cancelReason],
  ];
  for (const [k, v] of rows)
    if (v !== null && v !== undefined && v !== '') process.stdout.write(`${k.padEnd(14)} ${safeText(String(v))}\n`);
}

/** Follows the job's SSE stream to its end; returns the final view. Progress bar on a TTY, event lines otherwise. */
async function follow(ctx: Ctx, id: string): Promise<JobView> {
  const abort = new AbortController();
  const stopListening = onInterrupt(() => abort.abort());
  const tty = process.stderr.isTTY === true && !ctx.json;
  let bar: import('cli-progress').SingleBar | undefined;
  if (tty) {
    const { SingleBar, Presets } = await import('cli-progress');
    bar = new SingleBar(
      { format: `${id} [{bar}] {percentage}% {state} {message}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(100, 0, { state: 'waiting', message: '' });
  }
  try {
    for await (const e of ctx.client.stream(id, { signal: abort.signal })) {
      const ev = e.event as { progress?: { percent?: number; message?: string | null }; percent?: number; message?: string };
      const percent = ev.progress?.percent ?? ev.percent;
      const state = e.type.replace(/^job\./, '');
      if (bar)
        bar.update(typeof percent === 'number' ? percent : state === 'completed' ? 100 : bar.getProgress() * 100, { state, message: '' });
      else if (!ctx.json)
        process.stdout.write(
          `${e.at} ${e.type}${e.attempt !== null ? ` attempt ${e.attempt}` : ''}${typeof percent === 'number' ? ` ${percent}%` : ''}\n`,
        );
    }
  } catch (e) {
    if (!abort.signal.aborted) throw apiError(ctx, `watching job ${id}`, e);
  } finally {
    bar?.stop();
    stopListening();
  }
  if (abort.signal.aborted) throw new CliError(`stopped watching job ${id} (it keeps running)`, ExitCode.failure);
  return call(ctx, `job ${id}`, () => ctx.client.get(id));
}

function finish(ctx: Ctx, j: JobView): number {
  if (ctx.json) printJson(j);
  else {
    process.stdout.write(`${safeText(jobLine(j))}\n`);
    if (j.state === 'completed' && j.result !== undefined && j.result !== null)
      process.stdout.write(`result ${safeText(short(j.result))}\n`);
    if (j.lastError) process.stdout.write(`last error ${safeText(`${j.lastError.reason}: ${short(j.lastError.message)}`)}\n`);
  }
  return j.state === 'completed' ? ExitCode.ok : ExitCode.failure;
}

/** --since as the API wants it: an RFC 3339 time as given, or a duration ago (15m, 2h) made into one. */
function sinceOf(text: string): string {
  if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text)) return text;
  return new Date(Date.now() - parseDurationMs(text, '--since')).toISOString();
}

function stateList(text: string): JobState[] {
  const states = text.split(',').map((s) => s.trim());
  for (const s of states)
    if (!(JOB_STATES as readonly string[]).includes(s))
      throw new CliError(`--state must be among ${JOB_STATES.join(', ')} (comma-separated), got ${JSON.stringify(s)}`, ExitCode.usage);
  return states as JobState[];
}

export async function runJobsCli(args: string[]): Promise<number> {
  const program = clientProgram('jobs', 'submit, inspect, watch, cancel, retry and redrive jobs through the Job Service HTTP API');
  program
    .addOption(new Option('--url <url>', 'the Job Service').default(defaultUrl).env('CLUSTERGENIE_JOBS_URL'))
    .option('--json', 'one JSON document on stdout, for scripts');
  let code: number = ExitCode.ok;
  const g = (cmd: { optsWithGlobals(): GlobalOpts }): Ctx => ctxOf(cmd.optsWithGlobals());

  subcommand(program, 'submit <type>', 'submit a job (202); --wait follows it to its end')
    .option('--payload <json|@file>', 'the payload: JSON text, @file or @- for stdin')
    .addOption(new Option('--priority <p>', 'scheduling priority').choices([...JOB_PRIORITIES]))
    .option('--attempts <n>', 'attempts before the job is dead (1-100, default 3)', intOption('--attempts'))
    .option('--delay <ms>', 'run no earlier than this many ms from now', intOption('--delay'))
    .option('--timeout <ms>', 'limit of one attempt in ms', intOption('--timeout'))
    .option('--ordering-key <key>', 'jobs with one key run one at a time, in order')
    .option('--key <id>', 'idempotency key: a repeat submission returns the same job')
    .option('--wait', 'follow the job until it completes (exit 0) or ends otherwise (exit 1)')
    .action(async (type: string, o, cmd) => {
      const ctx = g(cmd);
      const job: JobSubmission = { type };
      if (o.payload !== undefined) job.payload = parsePayload(o.payload);
      if (o.priority !== undefined) job.priority = o.priority;
      if (o.attempts !== undefined) job.attempts = o.attempts;
      if (o.delay !== undefined) job.delayMs = o.delay;
      if (o.timeout !== undefined) job.timeoutMs = o.timeout;
      if (o.orderingKey !== undefined) job.orderingKey = o.orderingKey;
      const r = await call(ctx, `submitting a ${type} job`, () =>
        ctx.client.submit(job, o.key !== undefined ? { idempotencyKey: o.key } : {}),
      );
      if (!o.wait) {
        if (ctx.json) printJson(r);
        else process.stdout.write(`${r.id}\n${r.duplicate ? `(a job with this key exists: ${r.state})\n` : ''}`);
        return;
      }
      if (!ctx.json) process.stderr.write(`submitted ${r.id}${r.duplicate ? ' (existing job)' : ''}\n`);
      code = finish(ctx, await follow(ctx, r.id));
    });

  subcommand(program, 'list', 'jobs, newest first')
    .option('--state <states>', `comma-separated: ${JOB_STATES.join(', ')}`)
    .option('--type <type>', 'only this job type')
    .option('--q <text>', 'full-text search over id, type, payload, error and result')
    .option('--since <time|duration>', 'created at or after this RFC 3339 time, or this long ago (15m, 2h, 1d)')
    .option('--limit <n>', 'at most n jobs (1-1000, default 50)', intOption('--limit'))
    .option('--cursor <cursor>', 'the next page (nextCursor of the previous one)')
    .action(async (o, cmd) => {
      const ctx = g(cmd);
      const list = await call(ctx, 'listing jobs', () =>
        ctx.client.list({
          ...(o.state !== undefined ? { state: stateList(o.state) } : {}),
          ...(o.type !== undefined ? { type: o.type } : {}),
          ...(o.q !== undefined ? { q: o.q } : {}),
          ...(o.since !== undefined ? { since: sinceOf(o.since) } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
          ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
        }),
      );
      if (ctx.json) return printJson(list);
      printTable(
        ['ID', 'TYPE', 'STATE', 'ATTEMPT', 'PROGRESS', 'CREATED', 'ERROR'],
        list.jobs.map((j) => [
          j.id,
          j.type,
          j.state,
          `${j.attempt}/${j.attemptLimit}`,
          j.progress ? `${Math.round(j.progress.percent)}%` : '',
          j.createdAt,
          j.lastError ? short(j.lastError.message).slice(0, 60) : '',
        ]),
      );
      if (list.nextCursor) process.stderr.write(`more: --cursor ${list.nextCursor}\n`);
    });

  subcommand(program, 'show <id>', "one job's state, payload, result and last error")
    .option('--events', 'also its event history')
    .action(async (id: string, o, cmd) => {
      const ctx = g(cmd);
      const job = await call(ctx, `job ${id}`, () => ctx.client.get(id));
      const events = o.events ? await call(ctx, `events of job ${id}`, () => ctx.client.events(id)) : undefined;
      if (ctx.json) return printJson(events ? { ...job, events } : job);
      printJob(job);
      for (const e of events ?? [])
        process.stdout.write(`  ${e.at} ${e.type}${e.attempt !== null ? ` attempt ${e.attempt}` : ''} (${e.partition}-${e.offset})\n`);
    });

  subcommand(program, 'watch <id>', 'follow a job live until it ends: exit 0 completed, 1 dead or cancelled').action(
    async (id: string, _o, cmd) => {
      const ctx = g(cmd);
      code = finish(ctx, await follow(ctx, id));
    },
  );

  subcommand(program, 'cancel <id>', 'ask the worker running it to cancel it (5 when it already finished)')
    .option('--reason <text>', 'why (kept with the job)')
    .action(async (id: string, o, cmd) => {
      const ctx = g(cmd);
      const r = await call(ctx, `cancelling job ${id}`, () => ctx.client.cancel(id, o.reason));
      if (ctx.json) printJson(r);
      else process.stdout.write(`cancel requested for ${r.id} (state ${r.state})\n`);
    });

  subcommand(program, 'retry <id>', 'run a dead or cancelled job again with a fresh attempt budget').action(async (id: string, _o, cmd) => {
    const ctx = g(cmd);
    const r = await call(ctx, `retrying job ${id}`, () => ctx.client.retry(id));
    if (ctx.json) printJson(r);
    else process.stdout.write(`${r.id} queued again (attempt ${r.attempt})\n`);
  });

  subcommand(program, 'redrive [ids...]', 're-queue dead jobs: these ids, --type t, or --all (the newest up to --limit)')
    .option('--type <type>', 'dead jobs of this type')
    .option('--all', 'dead jobs of every type')
    .option('--limit <n>', 'at most n jobs (default 100, at most 1000)', intOption('--limit'))
    .action(async (ids: string[], o, cmd) => {
      const ctx = g(cmd);
      if (ids.length === 0 && o.type === undefined && !o.all)
        throw new CliError('redrive needs job ids, --type <type> or --all (every dead job)', ExitCode.usage);
      if (ids.length > 0 && (o.type !== undefined || o.all))
        throw new CliError('give either job ids or --type/--all, not both', ExitCode.usage);
      const r = await call(ctx, 'redriving dead jobs', () =>
        ctx.client.redrive(
          ids.length > 0
            ? { ids }
            : { ...(o.type !== undefined ? { type: o.type } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) },
        ),
      );
      if (ctx.json) return printJson(r);
      for (const j of r.redriven) process.stdout.write(`${j.id} queued again (attempt ${j.attempt})\n`);
      for (const s of r.skipped) process.stdout.write(`${safeText(s.id)} skipped: ${safeText(s.reason)}\n`);
      process.stderr.write(`${r.redriven.length} redriven, ${r.skipped.length} skipped\n`);
    });

  const parsed = await runProgram(program, args);
  return parsed === ExitCode.ok ? code : parsed;
}
