// Jobs: state tabs with search and filters, workers with their pool sizes and scaling events (from
// the fanned-out view, workers.tsx), a submit form, DLQ redrive, and one job's timeline from
// its events with live progress (/api/jobs/<id>/stream), retry and cancel. Shapes: docs/API.md.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ConfirmButton, ErrorBox, Link, Section, Tabs, Txt } from '../components.js';
import { enc, fmtTime, getJson, jsonText, send, valueBytesMax } from '../lib.js';
import { navigate, useEventSource, useOnViewChange, useRoute, useView } from '../store.js';
import { ScalingPanel, WorkersPanel } from './workers.js';

interface Job {
  id: string;
  type: string;
  state: string;
  priority?: string;
  payload?: unknown;
  attempt: number;
  attemptLimit?: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  runAt?: string | null;
  progress?: { percent?: number; message?: string | null } | null;
  result?: unknown;
  lastError?: { name?: string; message?: string; reason?: string } | null;
  worker?: string | null;
  cancelRequested?: boolean;
  durationMs?: number | null;
}

interface HistoryEvent {
  partition: number;
  offset: number;
  type: string;
  at: string;
  attempt?: number;
  event: Record<string, unknown>;
}

const jobsPageSize = 50;
const listRefreshMs = 2000;
const terminal = new Set(['completed', 'dead', 'cancelled']);
const eventTypes = [
  'job.requested',
  'job.created',
  'job.queued',
  'job.processing',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.retrying',
  'job.dead',
  'job.cancel-requested',
  'job.cancelled',
];
const tabs = ['all', 'queued', 'processing', 'completed', 'failed', 'dead', 'delayed', 'cancelled'];
/** "delayed" is not a state of its own: a queued or retrying job whose runAt is ahead. */
const tabStates: Record<string, string> = { delayed: 'created,queued,retrying', failed: 'failed,retrying' };

function ProgressBar(props: { percent: number | undefined }): JSX.Element {
  const p = Math.max(0, Math.min(100, props.percent ?? 0));
  return (
    <span data-testid="progress" data-percent={String(p)}>
      <span class="progress">
        <div style={{ width: `${p}%` }} />
      </span>{' '}
      {Math.round(p)}%
    </span>
  );
}

function SubmitForm(): JSX.Element {
  const [type, setType] = useState('sleep');
  const [payload, setPayload] = useState('{"ms": 2000}');
  const [priority, setPriority] = useState('normal');
  const [attempts, setAttempts] = useState('3');
  const [delayMs, setDelayMs] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      data-testid="job-submit"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        let parsed: unknown;
        try {
          parsed = payload.trim() === '' ? undefined : JSON.parse(payload);
        } catch (err) {
          setError(new Error(`The payload is not JSON: ${(err as Error).message}`));
          return;
        }
        try {
          const r = await send<{ id: string }>('POST', '/api/jobs', {
            type,
            ...(parsed === undefined ? {} : { payload: parsed }),
            priority,
            attempts: Number(attempts),
            ...(delayMs ? { delayMs: Number(delayMs) } : {}),
          });
          navigate(`/jobs/${enc(r.id)}`);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div class="row">
        <label>
          Type (sleep, echo, fail, http, cpu)
          <input value={type} onInput={(e) => setType(e.currentTarget.value)} required data-testid="job-type" />
        </label>
        <label>
          Priority
          <select value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
            <option value="high">high</option>
            <option value="normal">normal</option>
            <option value="low">low</option>
          </select>
        </label>
        <label>
          Attempts
          <input type="number" min="1" max="100" value={attempts} onInput={(e) => setAttempts(e.currentTarget.value)} />
        </label>
        <label>
          Delay ms (optional)
          <input type="number" min="0" value={delayMs} onInput={(e) => setDelayMs(e.currentTarget.value)} />
        </label>
      </div>
      <label>
        Payload (JSON)
        <textarea value={payload} onInput={(e) => setPayload(e.currentTarget.value)} data-testid="job-payload" />
      </label>
      <button type="submit" class="primary" data-testid="job-submit-button">
        Submit job
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

function Redrive(props: { onDone: () => void }): JSX.Element {
  const [type, setType] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState('');
  return (
    <div class="row" data-testid="dlq-redrive">
      <label>
        Only type (optional)
        <input value={type} onInput={(e) => setType(e.currentTarget.value)} />
      </label>
      <ConfirmButton
        label="Redrive dead jobs"
        testid="redrive"
        question={`Queue the newest dead jobs${type ? ` of type ${type}` : ''} again (up to 100)?`}
        onConfirm={async () => {
          setError(null);
          try {
            const r = await send<{ redriven: unknown[]; skipped: unknown[] }>('POST', '/api/dlq/redrive', type ? { type } : {});
            setResult(`${r.redriven.length} redriven, ${r.skipped.length} skipped`);
            props.onDone();
          } catch (e) {
            setError(e);
          }
        }}
      />
      {result ? (
        <span class="ok" data-testid="redrive-result">
          {result}
        </span>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}

export function JobsPage(props: { dlq?: boolean }): JSX.Element {
  const { query } = useRoute();
  const tab = props.dlq ? 'dead' : (query.get('state') ?? 'all');
  const q = query.get('q') ?? '';
  const type = query.get('type') ?? '';
  const [draftQ, setDraftQ] = useState(q);
  const [draftType, setDraftType] = useState(type);
  const [cursors, setCursors] = useState<string[]>([]);
  const [list, setList] = useState<{ jobs: Job[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { view } = useView();
  const cursor = cursors[cursors.length - 1];
  const load = (): void => {
    const p = new URLSearchParams();
    if (tab !== 'all') p.set('state', tabStates[tab] ?? tab);
    if (q) p.set('q', q);
    if (type) p.set('type', type);
    p.set('limit', String(jobsPageSize));
    if (cursor) p.set('cursor', cursor);
    getJson<{ jobs: Job[]; nextCursor: string | null }>(`/api/jobs?${p}`)
      .then((r) => {
        const now = Date.now();
        const jobs = tab === 'delayed' ? r.jobs.filter((j) => j.runAt && Date.parse(j.runAt) > now) : r.jobs;
        setList({ jobs, nextCursor: r.nextCursor });
        setError(null);
      })
      .catch(setError);
  };
  useOnViewChange(load, listRefreshMs, [tab, q, type, cursor]);
  const href = (state: string, nq = q, nt = type): string => {
    const p = new URLSearchParams();
    if (state !== 'all') p.set('state', state);
    if (nq) p.set('q', nq);
    if (nt) p.set('type', nt);
    const s = p.toString();
    return s ? `/jobs?${s}` : '/jobs';
  };
  return (
    <div data-testid="jobs-page">
      <h1>{props.dlq ? 'Dead-letter queue' : 'Jobs'}</h1>
      <Tabs current={tab} tabs={tabs.map((t) => ({ id: t, label: t, href: href(t) }))} />
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([]);
          navigate(href(tab, draftQ, draftType));
        }}
      >
        <label>
          Search (id, type, payload, error, result)
          <input value={draftQ} onInput={(e) => setDraftQ(e.currentTarget.value)} data-testid="jobs-search" />
        </label>
        <label>
          Type
          <input value={draftType} onInput={(e) => setDraftType(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      {tab === 'dead' ? <Redrive onDone={load} /> : null}
      <ErrorBox error={error} />
      {list ? (
        <table data-testid="jobs-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Type</th>
              <th>State</th>
              <th class="num">Attempt</th>
              <th>Created</th>
              <th>Progress</th>
              <th>Payload</th>
            </tr>
          </thead>
          <tbody>
            {list.jobs.map((j) => (
              <tr key={j.id} data-testid="job-row">
                <td>
                  <Link href={`/jobs/${enc(j.id)}`}>
                    <Txt v={j.id} max={60} />
                  </Link>
                </td>
                <td>
                  <Txt v={j.type} max={60} />
                </td>
                <td>{j.state}</td>
                <td class="num">
                  {j.attempt}
                  {j.attemptLimit ? `/${j.attemptLimit}` : ''}
                </td>
                <td>{fmtTime(j.createdAt)}</td>
                <td>{j.progress ? `${Math.round(j.progress.percent ?? 0)}%` : ''}</td>
                <td>
                  <Txt v={jsonText(j.payload)} max={120} />
                </td>
              </tr>
            ))}
            {list.jobs.length === 0 ? (
              <tr>
                <td colSpan={7} class="muted">
                  no jobs
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      ) : (
        <p class="muted">loading…</p>
      )}
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ‹ Newer
        </button>{' '}
        <button type="button" disabled={!list?.nextCursor} onClick={() => list?.nextCursor && setCursors([...cursors, list.nextCursor])}>
          Older ›
        </button>
      </div>
      {props.dlq || !view ? null : (
        <div class="cards">
          <WorkersPanel v={view} />
          <ScalingPanel v={view} />
        </div>
      )}
      {props.dlq ? null : (
        <Section title="Submit a job">
          <SubmitForm />
        </Section>
      )}
    </div>
  );
}

/** A job's JSON value (payload, result) pretty-printed and cut for display. */
function JsonValue(props: { v: unknown; testid: string }): JSX.Element {
  const text = jsonText(props.v, true);
  return (
    <pre class="value" data-testid={props.testid}>
      <Txt v={text} max={valueBytesMax} />
    </pre>
  );
}

export function JobPage(props: { id: string }): JSX.Element {
  const [job, setJob] = useState<Job | null>(null);
  const [events, setEvents] = useState<HistoryEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const reload = (): void => {
    getJson<Job>(`/api/jobs/${enc(props.id)}`)
      .then((j) => {
        setJob(j);
        setError(null);
      })
      .catch(setError);
  };
  useOnViewChange(reload, listRefreshMs, [props.id]);
  const done = job !== null && terminal.has(job.state);
  // The stream replays the history, then follows; it ends once the job is terminal.
  const live = useEventSource(done ? null : `/api/jobs/${enc(props.id)}/stream`, eventTypes, (_type, data) => {
    try {
      const ev = JSON.parse(data) as HistoryEvent;
      setEvents((old) => (old.some((x) => x.partition === ev.partition && x.offset === ev.offset) ? old : [...old, ev]));
      reload();
    } catch {
      // skip a bad frame
    }
  });
  // A finished job (or a reload of one) reads its history once.
  useOnViewChange(
    () => {
      if (done && events.length === 0) {
        getJson<{ events: HistoryEvent[] }>(`/api/jobs/${enc(props.id)}/events`)
          .then((r) => setEvents(r.events))
          .catch(setError);
      }
    },
    60_000,
    [done, props.id],
  );
  const act = async (what: 'cancel' | 'retry'): Promise<void> => {
    setError(null);
    try {
      await send('POST', `/api/jobs/${enc(props.id)}/${what}`);
      setNotice(what === 'cancel' ? 'cancel requested' : 'queued again');
      reload();
    } catch (e) {
      setError(e);
    }
  };
  const progressEvents = events.filter((e) => e.type === 'job.progress');
  const lastProgress = progressEvents[progressEvents.length - 1]?.event as { percent?: number } | undefined;
  const percent = job?.state === 'completed' ? 100 : (job?.progress?.percent ?? lastProgress?.percent);
  return (
    <div data-testid="job-page">
      <h1>
        Job <Txt v={props.id} max={200} testid="job-id" />
      </h1>
      <ErrorBox error={error} />
      {notice ? <div class="notice">{notice}</div> : null}
      {!job ? (
        <p class="muted">loading…</p>
      ) : (
        <>
          <p>
            State <b data-testid="job-state">{job.state}</b> · type <Txt v={job.type} max={100} /> · attempt {job.attempt}
            {job.attemptLimit ? ` of ${job.attemptLimit}` : ''} · worker <Txt v={job.worker ?? '–'} max={80} /> · progress{' '}
            <ProgressBar percent={percent} /> {job.progress?.message ? <Txt v={job.progress.message} max={200} /> : null}{' '}
            <span class="muted">{done ? '' : live ? '● live' : '○ connecting'}</span>
          </p>
          <div class="row">
            {!done ? (
              <ConfirmButton label="Cancel" danger testid="job-cancel" question="Cancel this job?" onConfirm={() => act('cancel')} />
            ) : null}
            {job.state === 'dead' || job.state === 'cancelled' ? (
              <ConfirmButton label="Retry" testid="job-retry" question="Run this job again?" onConfirm={() => act('retry')} />
            ) : null}
            <Link href={`/logs?query=${enc(`{service=~".+"} |= "${props.id}"`)}`}>Logs mentioning this job</Link>
          </div>
          {job.lastError ? (
            <div class="error" data-testid="job-error">
              {job.lastError.reason ? `[${job.lastError.reason}] ` : ''}
              <Txt v={`${job.lastError.name ?? 'Error'}: ${job.lastError.message ?? ''}`} max={2000} />
            </div>
          ) : null}
          <Section title="Timeline" testid="job-timeline">
            <table>
              <thead>
                <tr>
                  <th>At</th>
                  <th>Event</th>
                  <th class="num">Attempt</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={`${e.partition}-${e.offset}`} data-testid="job-event" data-type={e.type}>
                    <td>{fmtTime(e.at)}</td>
                    <td>{e.type}</td>
                    <td class="num">{e.attempt ?? ''}</td>
                    <td>
                      {e.type === 'job.progress' ? (
                        `${Math.round(Number((e.event as { percent?: number }).percent ?? 0))}%`
                      ) : e.type === 'job.requested' ? (
                        <span class="muted">submitted</span>
                      ) : (
                        <Txt v={jsonText(detailsOf(e.event))} max={300} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <div class="cards">
            <Section title="Payload">
              <JsonValue v={job.payload} testid="job-payload-view" />
            </Section>
            <Section title="Result">
              <JsonValue v={job.result} testid="job-result" />
            </Section>
          </div>
          <p class="muted">
            created {fmtTime(job.createdAt)} · started {fmtTime(job.startedAt)} · finished {fmtTime(job.finishedAt)}
            {job.runAt ? ` · due ${fmtTime(job.runAt)}` : ''}
          </p>
        </>
      )}
    </div>
  );
}

/** An event's own fields without the envelope (the timeline shows those in columns). */
function detailsOf(ev: Record<string, unknown>): Record<string, unknown> {
  const { v: _v, type: _t, jobId: _j, at: _a, producer: _p, attempt: _at, spec: _s, ...rest } = ev;
  return rest;
}
