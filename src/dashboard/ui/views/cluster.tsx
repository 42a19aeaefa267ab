// Overview, brokers and alerts: everything here is drawn from the fanned-out view alone (no fetches).

import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import type { AlertView, BrokerView, DashboardView, TopicSummary, ZkMemberView } from '../../api.js';
import { Badge, Chart, Link, Section, Txt } from '../components.js';
import { enc, fmtNum, fmtTime } from '../lib.js';
import { useView } from '../store.js';
import { WorkersSummary } from './workers.js';

/** Rows of a list shown on the overview; the full table is one link away (keeps the first render fast). */
const overviewRowsMax = 15;
const jobStates = ['queued', 'processing', 'completed', 'failed', 'dead', 'delayed'];

export function Waiting(): JSX.Element {
  return <p class="muted">Waiting for the first view from the server…</p>;
}

function MembersTable(props: { members: ZkMemberView[] }): JSX.Element {
  return (
    <table data-testid="zk-members">
      <thead>
        <tr>
          <th>Member</th>
          <th>State</th>
          <th>Mode</th>
          <th>zxid</th>
          <th class="num">Latency avg/max ms</th>
          <th class="num">Connections</th>
          <th class="num">Outstanding</th>
          <th class="num">Synced followers</th>
          <th class="num">Znodes</th>
        </tr>
      </thead>
      <tbody>
        {props.members.map((m) => (
          <tr key={m.member} data-testid={`zk-member-${m.member}`}>
            <td>
              <Link href="/zookeeper">{m.member}</Link>
            </td>
            <td>
              <Badge ok={m.up} />
              {m.error ? <Txt v={` ${m.error}`} max={120} /> : null}
            </td>
            <td data-testid="zk-mode">{m.mode ?? ''}</td>
            <td>{m.zxid ?? ''}</td>
            <td class="num">
              {fmtNum(m.avgLatencyMs, 1)} / {fmtNum(m.maxLatencyMs)}
            </td>
            <td class="num">{fmtNum(m.connections)}</td>
            <td class="num">{fmtNum(m.outstandingRequests)}</td>
            <td class="num">{m.mode === 'leader' ? fmtNum(m.syncedFollowers) : ''}</td>
            <td class="num">{fmtNum(m.znodeCount)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BrokersTable(props: { brokers: BrokerView[] }): JSX.Element {
  return (
    <table data-testid="brokers">
      <thead>
        <tr>
          <th>Broker</th>
          <th>Address</th>
          <th>State</th>
          <th>Controller</th>
          <th class="num">Leaders</th>
          <th class="num">Replicas</th>
          <th class="num">Under-replicated</th>
        </tr>
      </thead>
      <tbody>
        {props.brokers.map((b) => (
          <tr key={b.id} data-testid={`broker-${b.id}`} data-up={String(b.up)}>
            <td>
              <Link href={`/brokers/${b.id}`}>{b.id}</Link>
            </td>
            <td>{b.host ? `${b.host}:${b.port}` : ''}</td>
            <td data-testid={`broker-${b.id}-state`}>
              <Badge ok={b.up} />
            </td>
            <td>{b.controller ? 'controller' : ''}</td>
            <td class="num">{fmtNum(b.leaders)}</td>
            <td class="num">{fmtNum(b.replicas)}</td>
            <td class={b.underReplicated ? 'num warn' : 'num'} data-testid={`broker-${b.id}-urp`}>
              {fmtNum(b.underReplicated)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Topics needing attention first (offline, under-replicated), then by name. */
function worstTopics(topics: TopicSummary[], n: number): TopicSummary[] {
  const bad = topics.filter((t) => t.offline > 0 || t.underReplicated > 0);
  bad.sort((a, b) => b.offline - a.offline || b.underReplicated - a.underReplicated || (a.name < b.name ? -1 : 1));
  if (bad.length >= n) return bad.slice(0, n);
  const rest: TopicSummary[] = [];
  for (const t of topics) {
    if (rest.length >= n - bad.length) break;
    if (!(t.offline > 0 || t.underReplicated > 0) && !t.internal) rest.push(t);
  }
  return [...bad, ...rest];
}

export function TopicRows(props: { topics: TopicSummary[] }): JSX.Element {
  return (
    <table data-testid="topics-table">
      <thead>
        <tr>
          <th>Topic</th>
          <th class="num">Partitions</th>
          <th class="num">RF</th>
          <th class="num">Under-replicated</th>
          <th class="num">Offline</th>
          <th class="num">Messages</th>
        </tr>
      </thead>
      <tbody>
        {props.topics.map((t) => (
          <tr key={t.name} data-testid="topic-row">
            <td>
              <Link href={`/topics/${enc(t.name)}`}>
                <Txt v={t.name} max={120} />
              </Link>
              {t.internal ? <span class="muted"> internal</span> : null}
            </td>
            <td class="num">{t.partitions}</td>
            <td class="num">{t.replicationFactor}</td>
            <td class={t.underReplicated ? 'num warn' : 'num'}>{t.underReplicated}</td>
            <td class={t.offline ? 'num bad' : 'num'}>{t.offline}</td>
            <td class="num">{fmtNum(t.messages)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function JobsSummary(props: { v: DashboardView }): JSX.Element {
  const j = props.v.jobs;
  if (!j.up) return <p class="bad">Job Service unreachable{j.error ? `: ${j.error}` : ''}</p>;
  // The tab states first, then any other state the Job Service counts (created, retrying, cancelled).
  const states = [...jobStates, ...Object.keys(j.byState ?? {}).filter((s) => !jobStates.includes(s))];
  return (
    <div data-testid="jobs-summary">
      {states.map((s) => (
        <span class="stat" key={s}>
          <Link href={`/jobs?state=${s}`} testid={`jobs-count-${s}`}>
            <b>{fmtNum(j.byState?.[s] ?? 0)}</b>
            {s}
          </Link>
        </span>
      ))}
      <span class="stat">
        <b>{fmtNum(j.completedPerSec, 1)}</b>completed/s
      </span>
    </div>
  );
}

function AlertsTable(props: { alerts: AlertView[]; testid: string }): JSX.Element {
  if (props.alerts.length === 0) return <p class="muted">none</p>;
  return (
    <table data-testid={props.testid}>
      <thead>
        <tr>
          <th>Alert</th>
          <th>Severity</th>
          <th>Status</th>
          <th>Summary</th>
          <th>Since</th>
          <th>Ended</th>
        </tr>
      </thead>
      <tbody>
        {props.alerts.map((a) => (
          <tr key={`${a.fingerprint}-${a.startsAt}`}>
            <td>
              <Txt v={a.labels.alertname ?? a.fingerprint} max={80} />
            </td>
            <td>
              <Txt v={a.labels.severity ?? ''} max={20} />
            </td>
            <td class={a.status === 'firing' ? 'bad' : 'ok'}>{a.status}</td>
            <td>
              <Txt v={a.summary} max={300} />
            </td>
            <td>{fmtTime(a.startsAt)}</td>
            <td>{fmtTime(a.endsAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Overview(): JSX.Element {
  const { view } = useView();
  const topTopics = useMemo(() => (view ? worstTopics(view.kafka.topics, overviewRowsMax) : []), [view?.kafka.topics]);
  const topGroups = useMemo(
    () => (view ? [...view.groups].sort((a, b) => b.lag - a.lag || (a.id < b.id ? -1 : 1)).slice(0, overviewRowsMax) : []),
    [view?.groups],
  );
  if (!view) return <Waiting />;
  const k = view.kafka;
  return (
    <div data-testid="overview" data-atms={String(view.atMs)}>
      <h1>Overview</h1>
      <div class="cards">
        <Section
          title="ZooKeeper"
          wide
          testid="overview-zookeeper"
          right={<Badge ok={view.zookeeper.healthy} yes="quorum" no="no quorum" />}
        >
          {view.zookeeper.error ? <Txt v={view.zookeeper.error} max={300} /> : null}
          <MembersTable members={view.zookeeper.members} />
        </Section>
        <Section title="Kafka brokers" wide testid="overview-kafka" right={<Badge ok={k.healthy} yes="healthy" no="unhealthy" />}>
          {k.error ? <Txt v={k.error} max={300} /> : null}
          <p>
            Controller: <span data-testid="controller">{k.controller ?? 'none'}</span> · under-replicated partitions:{' '}
            <span class={k.underReplicatedPartitions ? 'warn' : ''} data-testid="urp-total">
              {k.underReplicatedPartitions}
            </span>{' '}
            · offline: <span class={k.offlinePartitions ? 'bad' : ''}>{k.offlinePartitions}</span>
          </p>
          <BrokersTable brokers={k.brokers} />
        </Section>
        <Section
          title="Topics"
          testid="overview-topics"
          right={
            <Link href="/topics" testid="topics-count">
              all {k.topics.length} topics
            </Link>
          }
        >
          <TopicRows topics={topTopics} />
        </Section>
        <Section title="Consumer groups" testid="overview-groups" right={<Link href="/groups">all {view.groups.length} groups</Link>}>
          <table>
            <thead>
              <tr>
                <th>Group</th>
                <th>State</th>
                <th class="num">Members</th>
                <th class="num">Lag</th>
              </tr>
            </thead>
            <tbody>
              {topGroups.map((g) => (
                <tr key={g.id}>
                  <td>
                    <Link href={`/groups/${enc(g.id)}`}>
                      <Txt v={g.id} max={80} />
                    </Link>
                  </td>
                  <td>{g.state}</td>
                  <td class="num">{g.members}</td>
                  <td class="num">{fmtNum(g.lag)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Jobs" testid="overview-jobs" right={<Link href="/jobs">all jobs</Link>}>
          <JobsSummary v={view} />
        </Section>
        <Section title="Workers" testid="overview-workers" right={<Link href="/jobs">workers and scaling</Link>}>
          <WorkersSummary v={view} />
        </Section>
        <Section title="Firing alerts" testid="overview-alerts" right={<Link href="/alerts">history and charts</Link>}>
          <AlertsTable alerts={view.alerts.firing} testid="firing-alerts" />
        </Section>
      </div>
    </div>
  );
}

export function BrokersPage(): JSX.Element {
  const { view } = useView();
  if (!view) return <Waiting />;
  return (
    <div data-testid="brokers-page">
      <h1>Brokers</h1>
      <p>
        Controller: {view.kafka.controller ?? 'none'} · under-replicated partitions: {view.kafka.underReplicatedPartitions} · offline
        partitions: {view.kafka.offlinePartitions}
      </p>
      <BrokersTable brokers={view.kafka.brokers} />
    </div>
  );
}

export function BrokerPage(props: { id: string }): JSX.Element {
  const { view } = useView();
  if (!view) return <Waiting />;
  const b = view.kafka.brokers.find((x) => String(x.id) === props.id);
  if (!b) return <p data-testid="broker-missing">Broker {props.id} is not in the view (never registered).</p>;
  return (
    <div data-testid="broker-page">
      <h1>Broker {b.id}</h1>
      <BrokersTable brokers={[b]} />
      <p>
        <Link href={`/logs?query=${enc(`{service=~".+"} |= "broker ${b.id}"`)}`}>Logs mentioning broker {b.id}</Link>
      </p>
    </div>
  );
}

export function AlertsPage(): JSX.Element {
  const { view } = useView();
  const charts = useMemo(() => {
    const s = view?.series ?? [];
    const xs = s.map((p) => p.atMs / 1000);
    return {
      xs,
      msgs: s.map((p) => p.messagesInPerSec ?? null),
      lag: s.map((p) => p.lagTotal ?? null),
      zk: s.map((p) => p.zkAvgLatencyMs ?? null),
      jobs: s.map((p) => p.jobsCompletedPerSec ?? null),
    };
  }, [view?.series]);
  if (!view) return <Waiting />;
  return (
    <div data-testid="alerts-page">
      <h1>Alerts</h1>
      {view.alerts.error ? (
        <p class="warn" data-testid="alerts-error">
          <Txt v={view.alerts.error} max={500} />
        </p>
      ) : null}
      <Section title={`Firing (${view.alerts.firing.length})`}>
        <AlertsTable alerts={view.alerts.firing} testid="alerts-firing" />
      </Section>
      <Section title="History (newest first)">
        <AlertsTable alerts={view.alerts.history} testid="alerts-history" />
      </Section>
      <Section title="Metrics" testid="charts">
        <Chart title="Messages in / s" xs={charts.xs} ys={charts.msgs} />
        <Chart title="Consumer lag (total)" xs={charts.xs} ys={charts.lag} />
        <Chart title="ZooKeeper latency avg (ms)" xs={charts.xs} ys={charts.zk} />
        <Chart title="Jobs completed / s" xs={charts.xs} ys={charts.jobs} />
      </Section>
    </div>
  );
}
