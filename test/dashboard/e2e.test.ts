// The dashboard end to end in headless Chromium (Debian's, via playwright-core): ZooKeeper (3
// members), 3 brokers and the job services as processes (JobsSystem), a log store and the
// dashboard in this process. Each scenario drives the page like a user and checks the real state
// with another client (zkCli.sh, kcat, kafkajs); a screenshot of each view is saved
// (DASHBOARD_SCREENSHOTS_DIR, else a temp dir removed at the end).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningDashboard, startDashboard } from '../../src/dashboard/server/dashboard.js';
import { type LogStore, startLogStore } from '../../src/genie/logs/store/server.js';
import { silentLogger } from '../../src/util/log.js';
import { JobsSystem } from '../helpers/jobsSystem.js';
import { waitFor } from '../helpers/wait.js';
import { zkCliScript } from '../interop/helpers/zkcli.js';
import { chromiumAvailable, chromiumPath, DashboardBrowser, screenshotsDir } from './browser.js';

const hostileHtml = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">';
/** An RTL override, C0 controls (BEL, ESC, NUL) and DEL around the HTML. */
const hostile = `${hostileHtml} \u202Edesrever\u202C \u0007\u001b[31m\u0000\u007f end`;
const oneMB = 1_000_000;
/** Deadline for the page to follow a change of the system (the view refreshes every 500 ms). */
const followMs = 30_000;

describe('dashboard in Chromium', { timeout: 900_000 }, () => {
  let sys: JobsSystem;
  let store: LogStore;
  let dash: RunningDashboard;
  let b: DashboardBrowser;
  let shots: { dir: string; temporary: boolean };
  let kafka: Kafka;
  let zkServer: string;
  let submittedJobId = '';

  const text = async (id: string): Promise<string> => ((await b.byTestId(id).first().textContent()) ?? '').trim();
  const waitText = async (id: string, pred: (t: string) => boolean, what: string, timeoutMs = followMs): Promise<string> =>
    waitFor(
      async () => {
        const t = await text(id).catch(() => '');
        return pred(t) ? t : '';
      },
      { timeoutMs, intervalMs: 100, what: `${what} (data-testid=${id})` },
    );
  const visible = async (id: string, timeoutMs = followMs): Promise<void> => {
    await b.byTestId(id).first().waitFor({ state: 'visible', timeout: timeoutMs });
  };
  const bodyText = (): Promise<string> => b.page.evaluate(() => document.body.textContent ?? '');
  const zkCliGet = async (path: string): Promise<string> => {
    const t = await zkCliScript(zkServer, [`get ${path}`]);
    return t.outputs[0]!.join('\n');
  };

  before(async () => {
    // No browser is a failure, never a skip: .ci/run installs Debian's chromium.
    assert.ok(chromiumAvailable(), `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
    shots = screenshotsDir();
    sys = await JobsSystem.start({ zookeepers: 3, brokers: 3, workers: 1, partitions: 3 });
    store = await startLogStore({ host: '127.0.0.1', port: 0, dataDir: ':memory:', lineBytesMax: 2 * oneMB, logger: silentLogger });
    dash = await startDashboard({
      zookeeper: sys.zkConnect,
      bootstrapServers: sys.bootstrap,
      jobsUrl: sys.api,
      logsUrl: store.url,
      host: '127.0.0.1',
      port: 0,
      refreshMs: 500,
      logger: silentLogger,
    });
    zkServer = sys.zkConnect.split(',')[0]!;
    kafka = new Kafka({ clientId: 'dashboard-e2e', brokers: sys.bootstrap.split(','), logLevel: logLevel.NOTHING });
    b = await DashboardBrowser.launch(dash.url, shots.dir);
  });

  after(async () => {
    await b?.close();
    await dash?.close();
    await store?.close();
    await sys?.close();
    if (shots.temporary) rmSync(shots.dir, { recursive: true, force: true });
    else console.log(`screenshots in ${shots.dir}`);
  });

  test('the overview shows the members and brokers; a killed broker shows down with under-replicated partitions, then recovers', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'e2e-urp', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();

    await b.open('/');
    await visible('overview');
    await waitFor(async () => (await b.page.locator('[data-testid^="zk-member-"]').count()) === 3, {
      timeoutMs: followMs,
      what: '3 members',
    });
    for (const id of [1, 2, 3]) await waitText(`broker-${id}-state`, (t) => t === 'up', `broker ${id} up`);
    await waitText('urp-total', (t) => t === '0', 'no under-replicated partitions');
    const modes = await b.byTestId('zk-mode').allTextContents();
    assert.deepEqual(modes.sort(), ['follower', 'follower', 'leader'], 'one leader and two followers');
    await b.shot('overview');

    await sys.cluster.broker(2).kill();
    await waitText('broker-2-state', (t) => t === 'down', 'broker 2 shown down');
    await waitText('urp-total', (t) => Number(t) > 0, 'under-replicated partitions shown');
    await b.shot('overview-broker-down');

    await sys.cluster.broker(2).start();
    await sys.cluster.broker(2).waitServing();
    await waitText('broker-2-state', (t) => t === 'up', 'broker 2 shown up again');
    await waitText('urp-total', (t) => t === '0', 'partitions in sync again', 90_000);
    await b.shot('overview-recovered');
  });

  test("a job's page follows it live to completed, with its progress and timeline", async () => {
    const r = await sys.post<{ id: string }>('/api/jobs', { type: 'sleep', payload: { ms: 3000 } });
    assert.equal(r.status, 202);
    await b.open(`/jobs/${encodeURIComponent(r.body.id)}`);
    await visible('job-page');
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add(await text('job-state').catch(() => ''));
        return seen.has('completed');
      },
      { timeoutMs: 60_000, intervalMs: 50, what: () => `job completed (states seen: ${[...seen].join(', ')})` },
    );
    assert.ok(seen.has('processing') || seen.has('queued'), `the page showed the job before it completed: ${[...seen].join(', ')}`);
    await waitFor(async () => (await b.page.locator('[data-testid="job-event"][data-type="job.progress"]').count()) >= 3, {
      what: 'progress events in the timeline',
    });
    assert.equal(await b.byTestId('progress').first().getAttribute('data-percent'), '100');
    await b.shot('job-live');
  });

  test('a job submitted from the page reaches completed with its progress', async () => {
    await b.open('/');
    await b.byTestId('nav-jobs').click();
    await visible('job-submit');
    await b.byTestId('job-type').fill('sleep');
    await b.byTestId('job-payload').fill('{"ms": 2000}');
    await b.byTestId('job-submit-button').click();
    await waitFor(
      async () => {
        if (/\/jobs\/[^/]+$/.test(new URL(b.page.url()).pathname)) return true;
        const err = b.byTestId('error');
        if ((await err.count()) > 0) throw new Error(`the page refused the job: ${await err.first().textContent()}`);
        return false;
      },
      { what: 'the page to open the submitted job' },
    ).catch(async (e) => {
      await b.shot('failed-job-submit');
      throw e;
    });
    submittedJobId = decodeURIComponent(new URL(b.page.url()).pathname.split('/')[2]!);
    await visible('job-page');
    await waitText('job-state', (t) => t === 'completed', 'job completed', 60_000);
    await waitFor(async () => (await b.byTestId('progress').first().getAttribute('data-percent')) === '100', { what: 'progress 100%' });
    await waitFor(async () => (await b.page.locator('[data-testid="job-event"][data-type="job.progress"]').count()) > 0, {
      what: 'progress events in the timeline',
    });
    assert.ok((await b.page.locator('[data-testid="job-event"][data-type="job.completed"]').count()) === 1);
    const job = await sys.get<{ state: string }>(`/api/jobs/${encodeURIComponent(submittedJobId)}`);
    assert.equal(job.body.state, 'completed');
    await b.shot('job-completed');
    await b.open('/jobs?state=completed');
    await visible('jobs-table');
    await b.shot('jobs');
  });

  test('the jobs view lists the worker with its pool size as registered in ZooKeeper (zkCli.sh); the overview counts it', async () => {
    await b.open('/jobs');
    await visible('workers');
    const row = b.page.locator('[data-testid="worker-row"][data-worker="worker-1"]');
    await row.waitFor({ state: 'visible', timeout: followMs });
    // The pool size the page shows is the one in the registration (the autoscaler may move it: compare until equal).
    const both = await waitFor(
      async () => {
        const line = (await zkCliGet('/clustergenie/workers/worker-1')).split('\n').find((l) => l.startsWith('{'));
        if (line === undefined) return undefined;
        const info = JSON.parse(line) as { capacity: number; pid: number };
        const shown = ((await row.locator('[data-testid="worker-capacity"]').textContent()) ?? '').trim();
        return shown === String(info.capacity) ? { info, shown } : undefined;
      },
      { timeoutMs: followMs, intervalMs: 500, what: 'the page shows the registered pool size of worker-1' },
    );
    assert.ok(both.info.capacity >= 1, `pool size ${both.info.capacity}`);
    assert.ok(((await row.textContent()) ?? '').includes(String(both.info.pid)), 'the row shows the worker pid');
    await visible('scaling');
    await b.shot('jobs-workers');
    await b.open('/');
    await waitText('workers-count', (t) => /^1\s*workers$/.test(t), 'one worker on the overview');
    await waitText('workers-pool', (t) => /^\d+\s*pool size$/.test(t) && Number.parseInt(t, 10) >= 1, 'the pool size on the overview');
  });

  test('a dead job is redriven from the DLQ tab and then completes', async () => {
    const r = await sys.post<{ id: string }>('/api/jobs', { type: 'fail', payload: { untilAttempt: 2 }, attempts: 1 });
    assert.equal(r.status, 202);
    const id = r.body.id;
    await waitFor(async () => (await sys.get<{ state: string }>(`/api/jobs/${encodeURIComponent(id)}`)).body.state === 'dead', {
      timeoutMs: 60_000,
      what: 'the job dead',
    });
    await b.open('/jobs?state=dead');
    await waitFor(async () => (await b.page.locator('[data-testid="job-row"]', { hasText: id }).count()) === 1, {
      timeoutMs: followMs,
      what: 'the dead job listed',
    });
    await b.shot('jobs-dead');
    await b.byTestId('redrive').click();
    await b.byTestId('redrive-confirm').click();
    await waitText('redrive-result', (t) => /^[1-9]\d* redriven/.test(t), 'the redrive answered');
    await waitFor(async () => (await sys.get<{ state: string }>(`/api/jobs/${encodeURIComponent(id)}`)).body.state === 'completed', {
      timeoutMs: 60_000,
      what: 'the redriven job completed',
    });
  });

  test('create, edit (with a version conflict) and delete a znode; zkCli.sh reads it back', async () => {
    await b.open('/zookeeper?path=/');
    await visible('zk-create');
    await b.byTestId('zk-create-name').fill('e2e');
    await b.byTestId('zk-create-data').fill('hello from the page');
    await b.byTestId('zk-create-submit').click();
    await b.page.waitForURL(/path=%2Fe2e$/);
    await waitText('zk-data', (t) => t.includes('hello from the page'), 'the new node shown');
    assert.match(await zkCliGet('/e2e'), /hello from the page/);

    await b.byTestId('zk-edit-data').fill('edited');
    await b.byTestId('zk-save').click();
    await visible('zk-saved');
    assert.match(await zkCliGet('/e2e'), /^edited$/m);
    await waitText('zk-stat-version', (t) => t === '1', 'version 1 shown');

    // Another client changes it; the page still edits version 1 and must show the conflict.
    await zkCliScript(zkServer, ['set /e2e from-zkcli']);
    await b.byTestId('zk-edit-data').fill('lost update');
    await b.byTestId('zk-save').click();
    await visible('zk-conflict');
    await b.shot('zookeeper-conflict');
    assert.match(await zkCliGet('/e2e'), /^from-zkcli$/m, 'the conflicting write did not land');
    await waitText('zk-stat-version', (t) => t === '2', 'the watch brought version 2');
    await waitText('zk-data', (t) => t.includes('from-zkcli'), 'the watch brought the new data');

    await b.byTestId('zk-delete').click();
    await b.byTestId('zk-delete-confirm').click();
    await b.page.waitForURL(/path=%2F$/);
    const after = await zkCliScript(zkServer, ['stat /e2e']);
    assert.match(after.outputs[0]!.join('\n'), /Node does not exist/);
    await b.shot('zookeeper');
  });

  test('export a subtree from the page and import it elsewhere; zkCli.sh reads the copy', async () => {
    const zk = await sys.cluster.zkClient();
    await zk.create('/e2e-src', Buffer.from('source'));
    await zk.create('/e2e-src/a', Buffer.from('imported child'));
    await zk.create('/e2e-dst', Buffer.from('destination'));
    await b.open('/zookeeper?path=/e2e-src');
    await waitText('zk-data', (t) => t.includes('source'), 'the source node');
    const [download] = await Promise.all([b.page.waitForEvent('download'), b.byTestId('zk-export').click()]);
    const file = join(shots.dir, 'export-e2e-src.json');
    await download.saveAs(file);
    const tree = JSON.parse(readFileSync(file, 'utf8')) as { children: unknown[] };
    assert.equal(tree.children.length, 1, 'the export holds the child');

    await b.open('/zookeeper?path=/e2e-dst');
    await waitText('zk-data', (t) => t.includes('destination'), 'the destination node');
    await b.byTestId('zk-import-file').setInputFiles(file);
    await visible('zk-import-result');
    assert.match(await zkCliGet('/e2e-dst/a'), /^imported child$/m);
    await visible('zk-node-/e2e-dst/a');
    await b.shot('zookeeper-import');
    if (shots.temporary) rmSync(file);
  });

  test('create a topic, override a config, produce and delete it from the page (checked with kafkajs and kcat)', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await b.open('/topics');
      await b.byTestId('topic-create-name').fill('e2e-created');
      await b.page.locator('[data-testid="topic-create"] input[type="number"]').first().fill('2');
      await b.page.locator('[data-testid="topic-create"] button[type="submit"]').click();
      await waitFor(async () => (await admin.listTopics()).includes('e2e-created'), {
        timeoutMs: followMs,
        what: 'the topic created',
      }).catch(async (e) => {
        await b.shot('failed-topic-create');
        throw new Error(`${(e as Error).message}; the form says: ${await text('topic-create').catch(() => '?')}`);
      });
      // The brokers may list the topic before every partition's metadata reached them: wait for 2.
      let partitions = 0;
      await waitFor(
        async () => {
          partitions = (await admin.fetchTopicMetadata({ topics: ['e2e-created'] })).topics[0]!.partitions.length;
          return partitions === 2;
        },
        { timeoutMs: 10_000, what: () => `e2e-created with 2 partitions (metadata says ${partitions})` },
      ).catch(() => assert.equal(partitions, 2));

      await b.open('/topics/e2e-created?tab=configs');
      await b.byTestId('config-name').fill('retention.ms');
      await b.byTestId('config-value').fill('123456');
      await b.page.locator('button', { hasText: 'Set override' }).click();
      await waitFor(
        async () => {
          const d = await admin.describeConfigs({
            resources: [{ type: 2, name: 'e2e-created', configNames: ['retention.ms'] }],
            includeSynonyms: false,
          });
          return d.resources[0]!.configEntries.find((c) => c.configName === 'retention.ms')?.configValue === '123456';
        },
        { what: 'retention.ms overridden' },
      );
      await b.shot('topic-configs');

      await b.open('/topics/e2e-created?tab=produce');
      await b.byTestId('produce-key').fill('k1');
      await b.byTestId('produce-value').fill('produced from the page');
      await b.byTestId('produce-submit').click();
      await visible('produce-result');
      const consumed = await new Promise<string>((resolve, reject) =>
        execFile(
          '/usr/bin/kcat',
          ['-C', '-b', sys.bootstrap, '-t', 'e2e-created', '-e', '-f', '%k=%s\\n'],
          { timeout: 30_000 },
          (err, out) => (err ? reject(new Error(`kcat -C failed: ${err.message}`)) : resolve(out)),
        ),
      );
      assert.match(consumed, /^k1=produced from the page$/m);

      await b.open('/topics/e2e-created');
      await visible('partitions');
      await b.byTestId('topic-delete').click();
      await b.byTestId('topic-delete-confirm').click();
      await b.page.waitForURL(/\/topics$/);
      await waitFor(async () => !(await admin.listTopics()).includes('e2e-created'), { timeoutMs: followMs, what: 'the topic deleted' });
    } finally {
      await admin.disconnect();
    }
  });

  test('a live tail shows messages produced by kcat, newest on top, and keeps them when paused', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'e2e-tail', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    await b.open('/topics/e2e-tail?tab=messages');
    await b.byTestId('tail-toggle').click();
    await waitText('tail-state', (t) => t.startsWith('tailing'), 'tail connected');
    await runKcat(sys.bootstrap, 'e2e-tail', ['tail-1', 'tail-2', 'tail-3']);
    const rows = b.page.locator('[data-testid="tail-messages"] [data-testid="message-value"]');
    await waitFor(async () => (await rows.count()) >= 3, { timeoutMs: followMs, what: '3 tailed messages' });
    const values = (await rows.allTextContents()).map((v) => v.trim());
    assert.deepEqual(values.slice(0, 3), ['tail-3', 'tail-2', 'tail-1'], 'newest on top');
    await b.shot('topic-tail');
    await b.byTestId('tail-toggle').click();
    assert.ok((await rows.count()) >= 3, 'pausing keeps the results');
  });

  test('a LogQL query on /logs shows lines pushed to the store', async () => {
    await pushLog(store.url, { service: 'e2e', level: 'info' }, ['hello from the e2e logs', 'second line']);
    await b.open(`/logs?query=${encodeURIComponent('{service="e2e"} |= "e2e"')}&from=now-1h&to=now`);
    await waitText('logs-results', (t) => t.includes('hello from the e2e logs'), 'the pushed line');
    assert.ok(!(await text('logs-results')).includes('second line'), 'the line filter applied');
    await b.shot('logs');
    await b.byTestId('logs-tail-toggle').click();
    // The tail starts from now: push until a line shows (the server's WebSocket to the store may take a moment).
    await waitFor(
      async () => {
        await pushLog(store.url, { service: 'e2e', level: 'info' }, [`tailed e2e line ${Date.now()}`]);
        return (await text('logs-tail').catch(() => '')).includes('tailed e2e line');
      },
      { timeoutMs: followMs, intervalMs: 500, what: 'a pushed line in the live tail' },
    );
    await b.shot('logs-tail');
  });

  test("resetting a group's offsets from the page commits them (read back with kafkajs admin)", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'e2e-group', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'e2e-group', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'e2e-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'e2e-group', fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    await waitFor(() => seen >= 10, { timeoutMs: 60_000, what: 'the group consumed 10 messages' });
    await consumer.disconnect(); // commits, leaves: the group is Empty
    await waitFor(
      async () => (await admin.fetchOffsets({ groupId: 'e2e-group', topics: ['e2e-group'] }))[0]!.partitions[0]!.offset === '10',
      { what: 'offset 10 committed' },
    );

    await b.open('/groups/e2e-group');
    await waitText('committed', (t) => t === '10', 'committed offset 10 shown');
    await waitText('group-state', (t) => t.toLowerCase() === 'empty', 'group Empty');
    await b.byTestId('reset-topic').fill('e2e-group');
    await b.byTestId('reset-to').selectOption('offset');
    await b.byTestId('reset-value').fill('3');
    await b.byTestId('reset-submit').click();
    await b.byTestId('reset-submit-confirm').click();
    await visible('reset-result');
    const offsets = await admin.fetchOffsets({ groupId: 'e2e-group', topics: ['e2e-group'] });
    assert.equal(offsets[0]!.partitions[0]!.offset, '3');
    await admin.disconnect();
    await waitText('committed', (t) => t === '3', 'the page shows the new offset');
    await b.shot('group');
  });

  test('hostile payloads in a znode, a message, a job and a log line render inert as text', async () => {
    const zk = await sys.cluster.zkClient();
    await zk.create('/hostile', Buffer.from(hostile));
    await zk.create('/hostile-big', Buffer.concat([Buffer.from(hostileHtml), Buffer.alloc(oneMB - hostileHtml.length, 'x')]));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'e2e-hostile', numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'e2e-hostile',
      messages: [
        { key: hostileHtml, value: hostile, headers: { [hostileHtml]: hostile } },
        { key: 'big', value: hostileHtml + 'y'.repeat(oneMB - hostileHtml.length) },
      ],
    });
    await producer.disconnect();
    const job = await sys.post<{ id: string }>('/api/jobs', { type: 'echo', payload: { html: hostile, big: 'z'.repeat(400_000) } });
    assert.equal(job.status, 202);
    await pushLog(store.url, { service: 'hostile', level: 'warn' }, [hostile, hostileHtml + 'w'.repeat(oneMB)]);

    const inert = async (name: string): Promise<void> => {
      const body = await bodyText();
      assert.ok(body.includes('<script>window.__pwned=1</script>'), `${name}: the HTML shows as text`);
      assert.ok(!body.includes('\u202E'), `${name}: no raw RTL override in the page`);
      assert.equal(await b.pwned(), undefined, `${name}: no payload script ran`);
      assert.deepEqual(b.dialogs, [], `${name}: no dialog`);
      assert.equal(await b.page.locator('img[src="x"]').count(), 0, `${name}: no <img> element from the payload`);
      await b.shot(`hostile-${name}`);
      // Still responsive: a click navigates within a deadline.
      const t0 = Date.now();
      await b.byTestId('nav-overview').click();
      await visible('overview', 5000);
      console.log(`hostile ${name}: navigation after viewing took ${Date.now() - t0} ms`);
      await b.page.goBack();
    };

    await b.open('/zookeeper?path=/hostile');
    await waitText('zk-data', (t) => t.includes('\\u202e'), 'the znode with the RTL override shown escaped');
    await inert('znode');
    await b.open('/zookeeper?path=/hostile-big');
    await visible('zk-truncated');
    assert.equal(await b.byTestId('zk-raw').getAttribute('href'), '/api/zk/node/raw?path=%2Fhostile-big');
    await inert('znode-1mb');

    await b.open('/topics/e2e-hostile?tab=messages');
    await b.byTestId('msg-load').click();
    await waitFor(async () => (await b.page.locator('[data-testid="message-row"]').count()) === 2, { what: '2 messages' });
    await visible('message-truncated');
    await inert('message');

    await b.open(`/jobs/${encodeURIComponent(job.body.id)}`);
    await waitText('job-payload-view', (t) => t.includes('<script>'), 'the job payload shown');
    await visible('job-event');
    await inert('job');

    await b.open(`/logs?query=${encodeURIComponent('{service="hostile"}')}&from=now-1h&to=now`);
    await waitFor(async () => (await b.page.locator('[data-testid="logs-results"] [data-testid="log-row"]').count()) === 2, {
      timeoutMs: followMs,
      what: 'the 2 hostile log lines',
    });
    await inert('log');
    assert.deepEqual(b.pageErrors, [], 'no page errors');
    assert.deepEqual(
      b.consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)),
      [],
      'no CSP violations',
    );
  });

  test('views reload from their URLs and the back button returns', async () => {
    if (!submittedJobId) {
      // The submit test failed before it had an id: a job submitted to the Job Service directly.
      const r = await sys.post<{ id: string }>('/api/jobs', { type: 'echo', payload: { for: 'urls' } });
      assert.equal(r.status, 202);
      submittedJobId = r.body.id;
    }
    await b.open('/topics/cluster-events');
    await waitText('topic-name', (t) => t === 'cluster-events', 'topic view reloaded');
    await b.open('/groups/clustergenie-workers');
    await waitText('group-id', (t) => t === 'clustergenie-workers', 'group view reloaded');
    await b.open(`/jobs/${encodeURIComponent(submittedJobId)}`);
    await waitText('job-id', (t) => t === submittedJobId, 'job view reloaded');
    await visible('job-event'); // the timeline comes back from the job's history
    await b.open('/zookeeper?path=/brokers/ids');
    await waitText('zk-selected', (t) => t === '/brokers/ids', 'znode view reloaded');
    await visible('zk-node-/brokers/ids');

    await b.open('/');
    await visible('overview');
    await b.byTestId('nav-topics').click();
    await visible('topics-page');
    await b.byTestId('topics-table').getByRole('link', { name: 'cluster-events', exact: true }).click();
    await waitText('topic-name', (t) => t === 'cluster-events', 'topic opened from the list');
    await b.page.goBack();
    await visible('topics-page');
    assert.equal(new URL(b.page.url()).pathname, '/topics');
    await b.page.goBack();
    await visible('overview');
    assert.equal(new URL(b.page.url()).pathname, '/');
    await b.open('/alerts');
    await visible('charts');
    await b.shot('alerts');
    await b.open('/brokers');
    await visible('brokers-page');
    await b.shot('brokers');
    await b.open('/topics');
    await b.shot('topics');
  });

  test('overview render time with many topics and jobs (measured, not asserted)', {
    skip: process.env.DASHBOARD_PERF === '0',
  }, async () => {
    const topicsWanted = Number(process.env.DASHBOARD_PERF_TOPICS ?? 1000);
    const jobsWanted = Number(process.env.DASHBOARD_PERF_JOBS ?? 10_000);
    const admin = kafka.admin();
    await admin.connect();
    const t0 = Date.now();
    for (let i = 0; i < topicsWanted; i += 100) {
      const topics = Array.from({ length: Math.min(100, topicsWanted - i) }, (_, k) => ({
        topic: `perf-${String(i + k).padStart(4, '0')}`,
        numPartitions: 1,
        replicationFactor: 1,
      }));
      await admin.createTopics({ topics, timeout: 60_000 });
    }
    await admin.disconnect();
    const topicsMs = Date.now() - t0;
    const t1 = Date.now();
    for (let i = 0; i < jobsWanted; i += 1000) {
      const jobs = Array.from({ length: Math.min(1000, jobsWanted - i) }, (_, k) => ({
        type: 'echo',
        payload: { n: i + k },
        delayMs: 3_600_000, // held by the scheduler: the jobs stay in the view without loading the worker
      }));
      const r = await sys.post<unknown>('/api/jobs/batch', { jobs });
      assert.equal(r.status, 202);
    }
    const jobsMs = Date.now() - t1;
    const viewOf = async (): Promise<{ topics: number; jobs: number; bytes: number }> => {
      const r = await fetch(`${dash.url}/api/view`);
      const raw = await r.text();
      const v = JSON.parse(raw) as { kafka: { topics: unknown[] }; jobs: { byState?: Record<string, number> } };
      const jobs = Object.values(v.jobs.byState ?? {}).reduce((a, n) => a + n, 0);
      return { topics: v.kafka.topics.length, jobs, bytes: raw.length };
    };
    const v = await waitFor(
      async () => {
        const x = await viewOf();
        return x.topics >= topicsWanted && x.jobs >= jobsWanted ? x : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: `a view with ${topicsWanted} topics and ${jobsWanted} jobs` },
    );
    const renders: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = Date.now();
      await b.open('/');
      await waitText('topics-count', (t) => Number(/\d+/.exec(t)?.[0] ?? 0) >= topicsWanted, 'the overview with every topic', 30_000);
      renders.push(Date.now() - start);
    }
    await b.shot('overview-many');
    const nav = await b.page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      return n ? { domContentLoadedMs: Math.round(n.domContentLoadedEventEnd), loadMs: Math.round(n.loadEventEnd) } : null;
    });
    const result = {
      topics: v.topics,
      jobs: v.jobs,
      viewBytes: v.bytes,
      overviewRenderMs: renders,
      overviewRenderMsMedian: [...renders].sort((a, c) => a - c)[1],
      navigation: nav,
      setup: { createTopicsMs: topicsMs, submitJobsMs: jobsMs },
    };
    writeFileSync(join(shots.dir, 'overview-render.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`overview render with many topics and jobs: ${JSON.stringify(result)}`);
    assert.ok(renders.length === 3);
  });
});

/** Produces `values` to partition 0 of `topic` with kcat, one line each. */
async function runKcat(bootstrap: string, topic: string, values: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('/usr/bin/kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', '0'], { timeout: 30_000 }, (err) =>
      err ? reject(new Error(`kcat -P failed: ${err.message}`)) : resolve(),
    );
    child.stdin!.end(`${values.join('\n')}\n`);
  });
}

/** Pushes lines to the log store in Loki's JSON push format (one stream, now, 1 µs apart). */
async function pushLog(url: string, labels: Record<string, string>, lines: readonly string[]): Promise<void> {
  const base = BigInt(Date.now()) * 1_000_000n;
  const values = lines.map((l, i) => [String(base + BigInt(i) * 1000n), l]);
  const r = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: labels, values }] }),
  });
  assert.equal(r.status, 204, `push to the log store: ${await r.text()}`);
}
