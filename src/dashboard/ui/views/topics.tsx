// Topics: the list (from the view, paginated), one topic's partitions and configs (fetched), its
// messages (seek by offset or timestamp, server-side search, live tail newest on top) and a produce form.

import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { Message, MessagePage, TopicCreate, TopicDetail } from '../../api.js';
import { ConfirmButton, ErrorBox, Link, Section, Tabs, Txt, usePage } from '../components.js';
import { enc, fmtBytes, fmtTime, getJson, send } from '../lib.js';
import { navigate, useEventSource, useOnViewChange, useRoute, useView } from '../store.js';
import { TopicRows, Waiting } from './cluster.js';

const topicsPageSize = 100;
/** Messages kept by a live tail (oldest dropped first). */
const tailMessagesMax = 500;

function CreateTopic(): JSX.Element {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [rf, setRf] = useState('1');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  return (
    <form
      class="row"
      data-testid="topic-create"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        const body: TopicCreate = { name, partitions: Number(partitions), replicationFactor: Number(rf) };
        try {
          await send('POST', '/api/topics', body);
          setDone(`created ${name}`);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        New topic
        <input value={name} onInput={(e) => setName(e.currentTarget.value)} required data-testid="topic-create-name" />
      </label>
      <label>
        Partitions
        <input type="number" min="1" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} />
      </label>
      <label>
        Replication factor
        <input type="number" min="1" value={rf} onInput={(e) => setRf(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary">
        Create
      </button>
      {done ? <span class="ok">{done}</span> : null}
      <ErrorBox error={error} />
    </form>
  );
}

export function TopicsPage(): JSX.Element {
  const { view } = useView();
  const [filter, setFilter] = useState('');
  const [internal, setInternal] = useState(false);
  const topics = useMemo(() => {
    const all = view?.kafka.topics ?? [];
    const f = filter.toLowerCase();
    return all.filter((t) => (internal || !t.internal) && (!f || t.name.toLowerCase().includes(f)));
  }, [view?.kafka.topics, filter, internal]);
  const { rows, pager } = usePage(topics, topicsPageSize, filter);
  if (!view) return <Waiting />;
  return (
    <div data-testid="topics-page">
      <h1>Topics ({topics.length})</h1>
      <div class="row">
        <label>
          Filter by name
          <input value={filter} onInput={(e) => setFilter(e.currentTarget.value)} data-testid="topics-filter" />
        </label>
        <label>
          <span>
            <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.currentTarget.checked)} /> internal topics
          </span>
        </label>
      </div>
      <TopicRows topics={rows} />
      {pager}
      <Section title="Create a topic">
        <CreateTopic />
      </Section>
    </div>
  );
}

function Partitions(props: { t: TopicDetail }): JSX.Element {
  return (
    <table data-testid="partitions">
      <thead>
        <tr>
          <th class="num">Partition</th>
          <th>Leader</th>
          <th>Replicas</th>
          <th>ISR</th>
          <th class="num">Log start</th>
          <th class="num">Log end</th>
          <th class="num">High watermark</th>
        </tr>
      </thead>
      <tbody>
        {props.t.partitions.map((p) => (
          <tr key={p.partition}>
            <td class="num">{p.partition}</td>
            <td class={p.leader < 0 ? 'bad' : ''}>{p.leader < 0 ? 'none' : <Link href={`/brokers/${p.leader}`}>{p.leader}</Link>}</td>
            <td>{p.replicas.join(', ')}</td>
            <td class={p.isr.length < p.replicas.length ? 'warn' : ''}>{p.isr.join(', ')}</td>
            <td class="num">{p.logStartOffset ?? ''}</td>
            <td class="num">{p.logEndOffset ?? ''}</td>
            <td class="num">{p.highWatermark ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Configs(props: { t: TopicDetail; reload: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const alter = async (configs: Record<string, string | null>): Promise<void> => {
    setError(null);
    try {
      await send('PATCH', `/api/topics/${enc(props.t.name)}/configs`, { configs });
      props.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void alter({ [name]: value });
        }}
      >
        <label>
          Config
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required data-testid="config-name" />
        </label>
        <label>
          Value
          <input value={value} onInput={(e) => setValue(e.currentTarget.value)} data-testid="config-value" />
        </label>
        <button type="submit">Set override</button>
      </form>
      <ErrorBox error={error} />
      <table data-testid="configs">
        <thead>
          <tr>
            <th>Name</th>
            <th>Value</th>
            <th>Source</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.t.configs.map((c) => (
            <tr key={c.name}>
              <td>{c.name}</td>
              <td>{c.sensitive ? '(sensitive)' : <Txt v={c.value} max={200} />}</td>
              <td>{c.isDefault ? <span class="muted">default</span> : 'override'}</td>
              <td>
                {!c.isDefault && !c.readOnly ? (
                  <button type="button" onClick={() => void alter({ [c.name]: null })}>
                    Remove override
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function MessageRows(props: { messages: Message[]; testid: string }): JSX.Element {
  return (
    <table data-testid={props.testid}>
      <thead>
        <tr>
          <th class="num">Partition</th>
          <th class="num">Offset</th>
          <th>Timestamp</th>
          <th>Key</th>
          <th>Value</th>
          <th>Headers</th>
        </tr>
      </thead>
      <tbody>
        {props.messages.map((m) => (
          <tr key={`${m.partition}-${m.offset}`} data-testid="message-row" data-offset={m.offset}>
            <td class="num">{m.partition}</td>
            <td class="num">{m.offset}</td>
            <td>{fmtTime(m.timestamp)}</td>
            <td>
              <Txt v={m.key} max={200} />
              {m.keyEncoding === 'base64' && m.key !== null ? <span class="muted"> (base64)</span> : null}
            </td>
            <td data-testid="message-value">
              <Txt v={m.value} max={2000} />
              {m.valueEncoding === 'base64' && m.value !== null ? <span class="muted"> (base64)</span> : null}
              {m.truncated ? (
                <div class="muted" data-testid="message-truncated">
                  value cut: {fmtBytes(m.valueBytes)} in all ({m.valueBytes} bytes); read it whole with `clustergenie consume`
                </div>
              ) : null}
            </td>
            <td>
              {m.headers.map((h) => (
                <div key={h.key}>
                  <Txt v={h.key} max={100} />=<Txt v={h.value} max={200} />
                </div>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Messages(props: { t: TopicDetail }): JSX.Element {
  const name = props.t.name;
  const [partition, setPartition] = useState('');
  const [seek, setSeek] = useState<'offset' | 'timestamp'>('offset');
  const [from, setFrom] = useState('');
  const [limit, setLimit] = useState('50');
  const [search, setSearch] = useState('');
  const [page, setPage] = useState<MessagePage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tailing, setTailing] = useState(false);
  const [tail, setTail] = useState<Message[]>([]);
  const load = async (offsetOverride?: string): Promise<void> => {
    setError(null);
    const q = new URLSearchParams();
    if (partition !== '') q.set('partition', partition);
    const f = offsetOverride ?? from;
    if (f !== '') {
      if (seek === 'timestamp' && offsetOverride === undefined)
        q.set('timestamp', String(Number.isNaN(Date.parse(f)) ? Number(f) : Date.parse(f)));
      else q.set('offset', f);
    }
    q.set('limit', limit);
    if (search) q.set('search', search);
    try {
      setPage(await getJson<MessagePage>(`/api/topics/${enc(name)}/messages?${q}`));
    } catch (e) {
      setError(e);
    }
  };
  const tailUrl = tailing ? `/api/topics/${enc(name)}/tail${partition === '' ? '' : `?partition=${enc(partition)}`}` : null;
  const live = useEventSource(tailUrl, ['message'], (_ev, data) => {
    try {
      const m = JSON.parse(data) as Message;
      setTail((old) => [m, ...old].slice(0, tailMessagesMax));
    } catch {
      // skip a bad frame
    }
  });
  const nextOffset = page && partition !== '' ? page.next[partition] : undefined;
  return (
    <div data-testid="messages">
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          Partition
          <select value={partition} onChange={(e) => setPartition(e.currentTarget.value)} disabled={tailing} data-testid="msg-partition">
            <option value="">all</option>
            {props.t.partitions.map((p) => (
              <option key={p.partition} value={String(p.partition)}>
                {p.partition}
              </option>
            ))}
          </select>
        </label>
        <label>
          Seek by
          <select
            value={seek}
            onChange={(e) => setSeek(e.currentTarget.value as 'offset' | 'timestamp')}
            disabled={tailing}
            data-testid="msg-seek"
          >
            <option value="offset">offset</option>
            <option value="timestamp">timestamp</option>
          </select>
        </label>
        <label>
          {seek === 'offset' ? 'From offset (empty: earliest)' : 'From time (ISO or ms)'}
          <input value={from} onInput={(e) => setFrom(e.currentTarget.value)} disabled={tailing} data-testid="msg-from" />
        </label>
        <label>
          Limit
          <input type="number" min="1" max="1000" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} disabled={tailing} />
        </label>
        <label>
          Search key, value, headers
          <input value={search} onInput={(e) => setSearch(e.currentTarget.value)} disabled={tailing} data-testid="msg-search" />
        </label>
        <button type="submit" class="primary" disabled={tailing} data-testid="msg-load">
          Load
        </button>
        <button
          type="button"
          data-testid="tail-toggle"
          onClick={() => {
            setTailing(!tailing);
          }}
        >
          {tailing ? 'Pause tail' : 'Live tail'}
        </button>
        {tailing ? (
          <span class={live ? 'ok' : 'muted'} data-testid="tail-state">
            {live ? 'tailing (newest on top)' : 'connecting…'}
          </span>
        ) : null}
      </form>
      <ErrorBox error={error} />
      {tail.length > 0 || tailing ? (
        <Section
          title={`Live tail (${tail.length}${tailing ? '' : ', paused'})`}
          right={
            <button type="button" onClick={() => setTail([])}>
              Clear
            </button>
          }
        >
          <MessageRows messages={tail} testid="tail-messages" />
        </Section>
      ) : null}
      {page ? (
        <Section title={`Messages (${page.messages.length}${search ? `, ${page.scanned} scanned` : ''})`}>
          <MessageRows messages={page.messages} testid="message-page" />
          {nextOffset !== undefined ? (
            <button type="button" onClick={() => void load(nextOffset)}>
              Next page (from offset {nextOffset})
            </button>
          ) : null}
        </Section>
      ) : null}
    </div>
  );
}

function Produce(props: { t: TopicDetail }): JSX.Element {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [partition, setPartition] = useState('');
  const [headers, setHeaders] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState('');
  return (
    <form
      data-testid="produce"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        const hs = headers
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => ({ key: l.slice(0, l.indexOf('=')), value: l.slice(l.indexOf('=') + 1) }));
        try {
          const r = await send<{ partition: number; offset: string | number }>('POST', `/api/topics/${enc(props.t.name)}/produce`, {
            key: key === '' ? null : key,
            value,
            ...(partition === '' ? {} : { partition: Number(partition) }),
            headers: hs,
          });
          setResult(`produced to partition ${r.partition} at offset ${r.offset}`);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div class="row">
        <label>
          Key (empty: null)
          <input value={key} onInput={(e) => setKey(e.currentTarget.value)} data-testid="produce-key" />
        </label>
        <label>
          Partition (empty: by key)
          <input type="number" min="0" value={partition} onInput={(e) => setPartition(e.currentTarget.value)} />
        </label>
      </div>
      <label>
        Value
        <textarea value={value} onInput={(e) => setValue(e.currentTarget.value)} data-testid="produce-value" />
      </label>
      <label>
        Headers (one key=value a line)
        <textarea value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" data-testid="produce-submit">
        Produce
      </button>{' '}
      {result ? (
        <span class="ok" data-testid="produce-result">
          {result}
        </span>
      ) : null}
      <ErrorBox error={error} />
    </form>
  );
}

export function TopicPage(props: { name: string }): JSX.Element {
  const { query } = useRoute();
  const tab = query.get('tab') ?? 'partitions';
  const [t, setT] = useState<TopicDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = (): void => {
    getJson<TopicDetail>(`/api/topics/${enc(props.name)}`)
      .then((d) => {
        setT(d);
        setError(null);
      })
      .catch(setError);
  };
  // Partition state follows the view (leaders/ISR change), re-read at most every 5 s.
  useOnViewChange(reload, 5000, [props.name]);
  const base = `/topics/${enc(props.name)}`;
  return (
    <div data-testid="topic-page">
      <h1>
        Topic <Txt v={props.name} max={200} testid="topic-name" />
      </h1>
      <Tabs
        current={tab}
        tabs={[
          { id: 'partitions', label: 'Partitions', href: base },
          { id: 'configs', label: 'Configs', href: `${base}?tab=configs` },
          { id: 'messages', label: 'Messages', href: `${base}?tab=messages` },
          { id: 'produce', label: 'Produce', href: `${base}?tab=produce` },
        ]}
      />
      <ErrorBox error={error} />
      {!t ? (
        <p class="muted">loading…</p>
      ) : tab === 'configs' ? (
        <Configs t={t} reload={reload} />
      ) : tab === 'messages' ? (
        <Messages t={t} />
      ) : tab === 'produce' ? (
        <Produce t={t} />
      ) : (
        <>
          <Partitions t={t} />
          <p>
            Groups with offsets on it:{' '}
            {t.groups.length === 0
              ? 'none'
              : t.groups.map((g) => (
                  <span key={g}>
                    <Link href={`/groups/${enc(g)}`}>
                      <Txt v={g} max={80} />
                    </Link>{' '}
                  </span>
                ))}
          </p>
          <ConfirmButton
            label="Delete topic"
            danger
            testid="topic-delete"
            question={`Delete topic ${props.name} and all its messages?`}
            onConfirm={async () => {
              try {
                await send('DELETE', `/api/topics/${enc(props.name)}`);
                navigate('/topics');
              } catch (e) {
                setError(e);
              }
            }}
          />
        </>
      )}
    </div>
  );
}
