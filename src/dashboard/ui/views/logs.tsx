// Logs: a LogQL query over a time range against the log store (its Loki API, passed through by the
// server), results newest first, and a live tail. The query and range live in the URL.

import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { LogLine } from '../../api.js';
import { ErrorBox, Section, Txt } from '../components.js';
import { fmtTime, getJson } from '../lib.js';
import { navigate, useEventSource, useRoute } from '../store.js';

const defaultQuery = '{service=~".+"}';
/** Lines kept by the live tail (oldest dropped first). */
const tailLinesMax = 1000;
const lineCharsMax = 4000;

interface LokiStreams {
  data?: { resultType?: string; result?: { stream: Record<string, string>; values: [string, string][] }[] };
}

/** "now", "now-15m", "now-2h", "now-1d", an ISO time or epoch ms -> epoch ms. */
export function parseTime(s: string, nowMs: number): number | null {
  const t = s.trim();
  if (t === '' || t === 'now') return nowMs;
  const rel = /^now-(\d+)([smhd])$/.exec(t);
  if (rel) return nowMs - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d+$/.test(t)) return Number(t);
  const d = Date.parse(t);
  return Number.isNaN(d) ? null : d;
}

function LogRows(props: { lines: LogLine[]; testid: string }): JSX.Element {
  return (
    <table data-testid={props.testid}>
      <thead>
        <tr>
          <th>Time</th>
          <th>Labels</th>
          <th>Line</th>
        </tr>
      </thead>
      <tbody>
        {props.lines.map((l, i) => (
          <tr key={`${l.ts}-${i}`} data-testid="log-row">
            <td>{fmtTime(Math.floor(Number(l.ts) / 1e6))}</td>
            <td>
              <Txt
                v={Object.entries(l.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}
                max={200}
              />
            </td>
            <td data-testid="log-line">
              <Txt v={l.line} max={lineCharsMax} />
              {l.truncated ? <span class="muted"> (line cut by the server)</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LogsPage(): JSX.Element {
  const { query } = useRoute();
  const q = query.get('query') ?? '';
  const from = query.get('from') ?? 'now-1h';
  const to = query.get('to') ?? 'now';
  const [draft, setDraft] = useState({ q: q || defaultQuery, from, to, limit: '200' });
  const [lines, setLines] = useState<LogLine[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tailing, setTailing] = useState(false);
  const [tail, setTail] = useState<LogLine[]>([]);

  useEffect(() => setDraft((d) => ({ ...d, q: q || d.q, from, to })), [q, from, to]);
  useEffect(() => {
    if (!q) return;
    const now = Date.now();
    const start = parseTime(from, now);
    const end = parseTime(to, now);
    if (start === null || end === null) {
      setError(new Error(`Cannot read the time range "${from}" .. "${to}": use now, now-15m, an ISO time or epoch ms`));
      return;
    }
    const p = new URLSearchParams({
      query: q,
      start: `${start}000000`,
      end: `${end}000000`,
      limit: draft.limit,
      direction: 'backward',
    });
    setError(null);
    getJson<LokiStreams>(`/api/logs/query_range?${p}`)
      .then((r) => {
        const out: LogLine[] = [];
        for (const s of r.data?.result ?? []) {
          for (const [ts, line] of s.values) out.push({ ts, labels: s.stream, line, truncated: false });
        }
        out.sort((a, b) => (BigInt(b.ts) > BigInt(a.ts) ? 1 : BigInt(b.ts) < BigInt(a.ts) ? -1 : 0));
        setLines(out);
      })
      .catch((e) => {
        setLines(null);
        setError(e);
      });
  }, [q, from, to]);

  const live = useEventSource(tailing ? `/api/logs/tail?query=${encodeURIComponent(q || draft.q)}` : null, ['log'], (_e, data) => {
    try {
      const l = JSON.parse(data) as LogLine;
      setTail((old) => [l, ...old].slice(0, tailLinesMax));
    } catch {
      // skip a bad frame
    }
  });

  return (
    <div data-testid="logs-page">
      <h1>Logs</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const p = new URLSearchParams({ query: draft.q, from: draft.from, to: draft.to });
          navigate(`/logs?${p}`);
        }}
      >
        <label style={{ flex: '1' }}>
          LogQL query
          <input value={draft.q} onInput={(e) => setDraft({ ...draft, q: e.currentTarget.value })} data-testid="logs-query" />
        </label>
        <label>
          From
          <input value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} data-testid="logs-from" />
        </label>
        <label>
          To
          <input value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} data-testid="logs-to" />
        </label>
        <label>
          Limit
          <input
            type="number"
            min="1"
            max="5000"
            value={draft.limit}
            onInput={(e) => setDraft({ ...draft, limit: e.currentTarget.value })}
          />
        </label>
        <button type="submit" class="primary" data-testid="logs-run">
          Run query
        </button>
        <button type="button" data-testid="logs-tail-toggle" onClick={() => setTailing(!tailing)}>
          {tailing ? 'Pause tail' : 'Live tail'}
        </button>
        {tailing ? <span class={live ? 'ok' : 'muted'}>{live ? 'tailing' : 'connecting…'}</span> : null}
      </form>
      <ErrorBox error={error} />
      {tail.length > 0 || tailing ? (
        <Section title={`Live tail (${tail.length}${tailing ? '' : ', paused'})`}>
          <LogRows lines={tail} testid="logs-tail" />
        </Section>
      ) : null}
      {lines ? (
        <Section title={`Results (${lines.length}, newest first)`}>
          <LogRows lines={lines} testid="logs-results" />
        </Section>
      ) : null}
    </div>
  );
}
