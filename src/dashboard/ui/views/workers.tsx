// Workers and their pool sizes, and the autoscaler's scaling events: drawn from the fanned-out view
// alone (registrations read from ZooKeeper and `worker.scaled` records read once by the server).

import type { JSX } from 'preact';
import type { DashboardView } from '../../api.js';
import { Link, Section, Txt } from '../components.js';
import { fmtNum, fmtTime } from '../lib.js';

/** Rows of the scaling table on the jobs view (the view keeps up to 200). */
const scalingRowsMax = 50;

export function WorkersPanel(props: { v: DashboardView }): JSX.Element {
  const w = props.v.workers;
  return (
    <Section title={`Workers (${w.list.length})`} wide testid="workers">
      {w.error ? (
        <p class="warn" data-testid="workers-error">
          <Txt v={w.error} max={500} />
        </p>
      ) : null}
      <table data-testid="workers-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>Host</th>
            <th class="num">Pid</th>
            <th class="num">Pool size</th>
            <th class="num">Running</th>
            <th class="num">Queued</th>
            <th>Started</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {w.list.map((x) => (
            <tr key={x.id} data-testid="worker-row" data-worker={x.id}>
              <td>
                <Txt v={x.id} max={80} />
              </td>
              <td>
                <Txt v={x.host} max={80} />
              </td>
              <td class="num">{x.pid >= 0 ? x.pid : ''}</td>
              <td class="num" data-testid="worker-capacity">
                {fmtNum(x.capacity)}
              </td>
              <td class="num">{fmtNum(x.running)}</td>
              <td class="num">{fmtNum(x.queued)}</td>
              <td>{fmtTime(x.startedAt)}</td>
              <td>{fmtTime(x.updatedAt)}</td>
            </tr>
          ))}
          {w.list.length === 0 ? (
            <tr>
              <td colSpan={8} class="muted">
                no worker registered
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {w.omitted ? <p class="muted">{fmtNum(w.omitted)} more not listed</p> : null}
    </Section>
  );
}

export function ScalingPanel(props: { v: DashboardView }): JSX.Element {
  const events = props.v.scaling.slice(0, scalingRowsMax);
  return (
    <Section title="Scaling events (since the dashboard started, newest first)" wide testid="scaling">
      {props.v.scalingError ? (
        <p class="warn" data-testid="scaling-error">
          <Txt v={props.v.scalingError} max={500} />
        </p>
      ) : null}
      <table data-testid="scaling-table">
        <thead>
          <tr>
            <th>At</th>
            <th>Worker</th>
            <th class="num">Pool size</th>
            <th>Reason</th>
            <th class="num">Backlog</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e, i) => (
            <tr key={`${e.worker}-${e.at}-${i}`} data-testid="scaling-row" data-worker={e.worker}>
              <td>{fmtTime(e.at)}</td>
              <td>
                <Txt v={e.worker} max={80} />
              </td>
              <td class="num" data-testid="scaling-change">
                {e.from} → {e.to}
                {e.scope === 'processes' ? ' processes' : ''}
              </td>
              <td>
                <Txt v={e.reason} max={200} />
              </td>
              <td class="num">{e.backlog === undefined ? '' : fmtNum(e.backlog)}</td>
            </tr>
          ))}
          {events.length === 0 ? (
            <tr>
              <td colSpan={5} class="muted">
                none yet
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </Section>
  );
}

/** The overview's line: worker count and total pool size, linking to the jobs view. */
export function WorkersSummary(props: { v: DashboardView }): JSX.Element {
  const w = props.v.workers;
  const pool = w.list.reduce((n, x) => n + x.capacity, 0);
  const running = w.list.reduce((n, x) => n + x.running, 0);
  return (
    <div data-testid="workers-summary">
      <span class="stat">
        <Link href="/jobs" testid="workers-count">
          <b>{fmtNum(w.list.length + (w.omitted ?? 0))}</b>workers
        </Link>
      </span>
      <span class="stat" data-testid="workers-pool">
        <b>{fmtNum(pool)}</b>pool size
      </span>
      <span class="stat">
        <b>{fmtNum(running)}</b>running
      </span>
      {w.error ? (
        <p class="warn">
          <Txt v={w.error} max={300} />
        </p>
      ) : null}
    </div>
  );
}
