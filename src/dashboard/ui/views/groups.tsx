// Consumer groups: the list (from the view), one group's members, assignments and per-partition
// lag (re-read as the view changes), and an offset reset with a confirmation.

import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { GroupDetail, GroupOffset, OffsetReset } from '../../api.js';
import { ConfirmButton, ErrorBox, Link, Section, Txt, usePage } from '../components.js';
import { enc, fmtNum, getJson, send } from '../lib.js';
import { useOnViewChange, useView } from '../store.js';
import { Waiting } from './cluster.js';

const groupsPageSize = 100;
/** How often a group's detail (lag per partition) is re-read while the view changes. */
const groupRefreshMs = 3000;

export function GroupsPage(): JSX.Element {
  const { view } = useView();
  const [filter, setFilter] = useState('');
  const groups = useMemo(
    () => (view?.groups ?? []).filter((g) => !filter || g.id.toLowerCase().includes(filter.toLowerCase())),
    [view?.groups, filter],
  );
  const { rows, pager } = usePage(groups, groupsPageSize, filter);
  if (!view) return <Waiting />;
  return (
    <div data-testid="groups-page">
      <h1>Consumer groups ({groups.length})</h1>
      <label>
        Filter
        <input value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      <table data-testid="groups-table">
        <thead>
          <tr>
            <th>Group</th>
            <th>State</th>
            <th class="num">Members</th>
            <th class="num">Lag</th>
            <th>Topics</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((g) => (
            <tr key={g.id}>
              <td>
                <Link href={`/groups/${enc(g.id)}`}>
                  <Txt v={g.id} max={100} />
                </Link>
              </td>
              <td>{g.state}</td>
              <td class="num">{g.members}</td>
              <td class="num">{fmtNum(g.lag)}</td>
              <td>
                {g.topics.map((t) => (
                  <span key={t}>
                    <Link href={`/topics/${enc(t)}`}>
                      <Txt v={t} max={80} />
                    </Link>{' '}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pager}
    </div>
  );
}

function ResetForm(props: { g: GroupDetail; reload: () => void }): JSX.Element {
  const topics = [...new Set(props.g.offsets.map((o) => o.topic))].sort();
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [partitions, setPartitions] = useState('');
  const [to, setTo] = useState<'earliest' | 'latest' | 'offset' | 'timestamp'>('earliest');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<GroupOffset[] | null>(null);
  const body = (): OffsetReset => ({
    topic,
    ...(partitions.trim() ? { partitions: partitions.split(',').map((p) => Number(p.trim())) } : {}),
    to:
      to === 'offset'
        ? { offset: Number(value) }
        : to === 'timestamp'
          ? { timestamp: Number.isNaN(Date.parse(value)) ? Number(value) : Date.parse(value) }
          : to,
  });
  return (
    <div data-testid="reset-offsets">
      <p class="muted">The group must be Empty (no running consumers); the broker refuses a reset otherwise.</p>
      <div class="row">
        <label>
          Topic
          <input value={topic} onInput={(e) => setTopic(e.currentTarget.value)} list="group-topics" data-testid="reset-topic" />
          <datalist id="group-topics">
            {topics.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </label>
        <label>
          Partitions (comma-separated; empty: all)
          <input value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} data-testid="reset-partitions" />
        </label>
        <label>
          To
          <select value={to} onChange={(e) => setTo(e.currentTarget.value as typeof to)} data-testid="reset-to">
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">offset</option>
            <option value="timestamp">timestamp</option>
          </select>
        </label>
        {to === 'offset' || to === 'timestamp' ? (
          <label>
            {to === 'offset' ? 'Offset' : 'Time (ISO or ms)'}
            <input value={value} onInput={(e) => setValue(e.currentTarget.value)} data-testid="reset-value" />
          </label>
        ) : null}
        <ConfirmButton
          label="Reset offsets"
          danger
          testid="reset-submit"
          question={`Reset ${props.g.id}'s offsets on ${topic || '(no topic)'} to ${to === 'offset' || to === 'timestamp' ? `${to} ${value}` : to}?`}
          onConfirm={async () => {
            setError(null);
            setResult(null);
            try {
              const r = await send<{ offsets: GroupOffset[] }>('POST', `/api/groups/${enc(props.g.id)}/reset-offsets`, body());
              setResult(r.offsets);
              props.reload();
            } catch (e) {
              setError(e);
            }
          }}
        />
      </div>
      <ErrorBox error={error} />
      {result ? (
        <div class="notice" data-testid="reset-result">
          Committed:{' '}
          {result.map((o) => (
            <span key={`${o.topic}-${o.partition}`}>
              <Txt v={o.topic} max={80} />[{o.partition}]={o.committed}{' '}
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function GroupPage(props: { id: string }): JSX.Element {
  const [g, setG] = useState<GroupDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = (): void => {
    getJson<GroupDetail>(`/api/groups/${enc(props.id)}`)
      .then((d) => {
        setG(d);
        setError(null);
      })
      .catch(setError);
  };
  useOnViewChange(reload, groupRefreshMs, [props.id]);
  return (
    <div data-testid="group-page">
      <h1>
        Group <Txt v={props.id} max={200} testid="group-id" />
      </h1>
      <ErrorBox error={error} />
      {!g ? (
        <p class="muted">loading…</p>
      ) : (
        <>
          <p>
            State <b data-testid="group-state">{g.state}</b> · protocol {g.protocolType || '–'}/{g.protocol || '–'} · {g.members.length}{' '}
            members
          </p>
          <Section title="Lag per partition (refreshes live)">
            <table data-testid="group-offsets">
              <thead>
                <tr>
                  <th>Topic</th>
                  <th class="num">Partition</th>
                  <th class="num">Committed</th>
                  <th class="num">Log end</th>
                  <th class="num">Lag</th>
                </tr>
              </thead>
              <tbody>
                {g.offsets.map((o) => (
                  <tr key={`${o.topic}-${o.partition}`} data-testid={`offset-${o.topic}-${o.partition}`}>
                    <td>
                      <Link href={`/topics/${enc(o.topic)}`}>
                        <Txt v={o.topic} max={80} />
                      </Link>
                    </td>
                    <td class="num">{o.partition}</td>
                    <td class="num" data-testid="committed">
                      {o.committed}
                    </td>
                    <td class="num">{o.logEndOffset ?? ''}</td>
                    <td class={o.lag ? 'num warn' : 'num'}>{fmtNum(o.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Members and assignments">
            <table data-testid="group-members">
              <thead>
                <tr>
                  <th>Member</th>
                  <th>Client</th>
                  <th>Host</th>
                  <th>Assignments</th>
                </tr>
              </thead>
              <tbody>
                {g.members.map((m) => (
                  <tr key={m.memberId}>
                    <td>
                      <Txt v={m.memberId} max={100} />
                    </td>
                    <td>
                      <Txt v={m.clientId} max={100} />
                    </td>
                    <td>
                      <Txt v={m.host} max={100} />
                    </td>
                    <td>
                      {m.assignments.map((a) => (
                        <div key={a.topic}>
                          <Txt v={a.topic} max={80} />: {a.partitions.join(', ')}
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
                {g.members.length === 0 ? (
                  <tr>
                    <td colSpan={4} class="muted">
                      no members (the group is not consuming)
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </Section>
          <Section title="Reset offsets">
            <ResetForm g={g} reload={reload} />
          </Section>
        </>
      )}
    </div>
  );
}
