// The dashboard page: a left nav, a top bar with health and the stream state, and one view per
// route. Routing is on location (history API), so every view has a URL that reloads and the back
// button works; the server answers index.html for every non-API path.

import { type JSX, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Link } from './components.js';
import { getInfo, getToken, loadInfo, onToken, setToken } from './lib.js';
import { startViewStream, useRoute, useView } from './store.js';
import { css } from './styles.js';
import { AlertsPage, BrokerPage, BrokersPage, Overview } from './views/cluster.js';
import { GroupPage, GroupsPage } from './views/groups.js';
import { JobPage, JobsPage } from './views/jobs.js';
import { LogsPage } from './views/logs.js';
import { TopicPage, TopicsPage } from './views/topics.js';
import { ZooKeeperPage } from './views/zookeeper.js';

const sections = [
  { id: '', label: 'Overview' },
  { id: 'zookeeper', label: 'ZooKeeper' },
  { id: 'brokers', label: 'Brokers' },
  { id: 'topics', label: 'Topics' },
  { id: 'groups', label: 'Consumer groups' },
  { id: 'jobs', label: 'Jobs' },
  { id: 'logs', label: 'Logs' },
  { id: 'alerts', label: 'Alerts' },
];

function Page(): JSX.Element {
  const { parts } = useRoute();
  const [section, id] = parts;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'zookeeper':
      return <ZooKeeperPage />;
    case 'brokers':
      return id === undefined ? <BrokersPage /> : <BrokerPage id={id} />;
    case 'topics':
      return id === undefined ? <TopicsPage /> : <TopicPage name={id} />;
    case 'groups':
      return id === undefined ? <GroupsPage /> : <GroupPage id={id} />;
    case 'jobs':
      return id === undefined ? <JobsPage /> : <JobPage id={id} />;
    case 'dlq':
      return <JobsPage dlq />;
    case 'logs':
      return <LogsPage />;
    case 'alerts':
      return <AlertsPage />;
    default:
      return (
        <div data-testid="not-found">
          <h1>Not found</h1>
          <Link href="/">Back to the overview</Link>
        </div>
      );
  }
}

function TokenBox(): JSX.Element | null {
  const [, setTick] = useState(0);
  const [draft, setDraft] = useState('');
  useEffect(() => onToken(() => setTick((t) => t + 1)), []);
  if (!getInfo()?.tokenRequired || getToken()) return null;
  return (
    <form
      class="row"
      data-testid="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (draft) setToken(draft);
      }}
    >
      <label>
        Token for writes (asked once, kept for this tab)
        <input type="password" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} data-testid="token-input" />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

function TopBar(): JSX.Element {
  const { view, connected, everConnected } = useView();
  const zkOk = view?.zookeeper.healthy ?? false;
  const kafkaOk = view?.kafka.healthy ?? false;
  const firing = view?.alerts.firing.length ?? 0;
  return (
    <div class="topbar" data-testid="topbar">
      <span data-testid="stream-state" class={connected ? 'ok' : 'bad'}>
        {connected ? '● live' : everConnected ? '○ reconnecting' : '○ connecting'}
      </span>
      {view ? (
        <>
          <Link href="/zookeeper">
            ZooKeeper <span class={zkOk ? 'ok' : 'bad'}>{zkOk ? 'healthy' : 'unhealthy'}</span>
          </Link>
          <Link href="/brokers">
            Kafka <span class={kafkaOk ? 'ok' : 'bad'}>{kafkaOk ? 'healthy' : 'unhealthy'}</span>
          </Link>
          <Link href="/alerts">
            <span class={firing ? 'bad' : 'ok'}>{firing} firing</span>
          </Link>
          <span class="muted">view at {new Date(view.atMs).toLocaleTimeString()}</span>
        </>
      ) : (
        <span class="muted">waiting for the first view…</span>
      )}
      <span class="spacer" />
      <TokenBox />
    </div>
  );
}

function App(): JSX.Element {
  const { parts } = useRoute();
  const current = parts[0] ?? '';
  return (
    <div class="layout">
      <nav class="nav" data-testid="nav">
        <div class="brand">ClusterGenie</div>
        {sections.map((s) => (
          <Link key={s.id} href={`/${s.id}`} class={s.id === current ? 'current' : ''} testid={`nav-${s.id || 'overview'}`}>
            {s.label}
          </Link>
        ))}
      </nav>
      <main class="main">
        <TopBar />
        <Page />
      </main>
    </div>
  );
}

const style = document.createElement('style');
style.textContent = css;
document.head.appendChild(style);
startViewStream();
void loadInfo();
render(<App />, document.getElementById('app') as HTMLElement);
