// `clustergenie alerts`: the alerts the monitor raised, read from the `monitoring.alerts` topic
// over the Kafka protocol only (no group is joined: the raw Fetch of topicReader.ts, from the
// earliest offsets to the ends as of the start), so it works against Apache Kafka too. The
// latest record per fingerprint is the alert's state (one fingerprint, one partition, in order).
// Exit 0 when nothing fires and 3 when something does, so a health check can run it.

import { Consumer } from '@platformatic/kafka';
import { TopicReader } from '../genie/topicReader.js';
import { bootstrapServers, clientBase } from '../genie/kafka.js';
import { type AlertRecord, MONITOR_TOPICS } from '../genie/monitor/events.js';
import { CliError, ExitCode } from './exitCodes.js';
import { printJson, printTable } from './output.js';
import { clientProgram, runProgram } from './program.js';

/** Distinct fingerprints kept; past it the oldest-seen are forgotten (a topic of that many alerts is a bug). */
const fingerprintsMax = 100_000;
/** Longest the whole read may take before Kafka counts as unreachable. */
const readTimeoutMs = 30_000;
const retryPauseMs = 200;

/** The latest record of each fingerprint, in topic order; records that are not alerts are skipped. */
export function latestAlerts(values: Iterable<string>): AlertRecord[] {
  const latest = new Map<string, AlertRecord>();
  for (const v of values) {
    let r: Partial<AlertRecord>;
    try {
      r = JSON.parse(v) as Partial<AlertRecord>;
    } catch {
      continue;
    }
    if (typeof r.fingerprint !== 'string' || (r.status !== 'firing' && r.status !== 'resolved')) continue;
    latest.delete(r.fingerprint); // re-inserted last: the map keeps the order of last change
    latest.set(r.fingerprint, { labels: {}, annotations: { summary: '' }, ...r } as AlertRecord);
    if (latest.size > fingerprintsMax) latest.delete(latest.keys().next().value as string);
  }
  return [...latest.values()];
}

/** The client's "no such topic" (its message, or that of an error it wraps), told apart from a Kafka that is down. */
function unknownTopic(e: unknown, depth = 0): boolean {
  if (!(e instanceof Error) || depth > 4) return false;
  if (/does not exist|unknown topic|UNKNOWN_TOPIC/i.test(e.message)) return true;
  return ((e as { errors?: unknown[] }).errors ?? []).some((inner) => unknownTopic(inner, depth + 1));
}

/** Every record value of the topic from its earliest offsets to its ends as of now ([] when the topic is missing). */
async function readTopic(bootstrap: string[], topic: string): Promise<{ values: string[]; missing: boolean }> {
  const consumer = new Consumer({
    ...clientBase({ bootstrapBrokers: bootstrap, clientId: 'clustergenie-alerts-cli' }),
    // Never joined (topicReader.ts reads without a group); the client requires an id.
    groupId: 'clustergenie-alerts-cli',
    retries: 2,
    retryDelay: retryPauseMs,
    timeout: 10_000,
  });
  const deadline = Date.now() + readTimeoutMs;
  try {
    const reader = new TopicReader(consumer, topic, { maxWaitMs: 100 });
    try {
      await reader.refresh();
    } catch (e) {
      if (unknownTopic(e)) return { values: [], missing: true };
      throw e;
    }
    const end = await reader.offsets('latest');
    const positions = await reader.offsets('earliest');
    const values: string[] = [];
    const behind = (): [number, bigint][] => [...positions].filter(([p, o]) => o < (end.get(p) ?? 0n));
    while (behind().length > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} did not finish within ${readTimeoutMs} ms`);
      const r = await reader.read(new Map(behind()));
      for (const rec of r.records) if (rec.value) values.push(rec.value.toString('utf8'));
      for (const [p, o] of r.next) positions.set(p, o);
      await reader.resetOutOfRange(positions, r.outOfRange);
      if (r.failed) await new Promise((res) => setTimeout(res, retryPauseMs));
    }
    return { values, missing: false };
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

export async function runAlertsCli(args: string[]): Promise<number> {
  const program = clientProgram('alerts', `firing alerts from ${MONITOR_TOPICS.alerts}: exit 0 when none fire, 3 when some do`);
  let code: number = ExitCode.ok;
  program
    .option('--bootstrap-server <host:port,...>', 'Kafka', '127.0.0.1:9092')
    .option('--all', 'also alerts that resolved (the latest state of every alert)')
    .option('--json', 'one JSON document on stdout, for scripts')
    .action(async (o: { bootstrapServer: string; all?: boolean; json?: boolean }) => {
      const bootstrap = bootstrapServers(o.bootstrapServer);
      if (bootstrap.length === 0) throw new CliError('--bootstrap-server is empty', ExitCode.usage);
      let read: { values: string[]; missing: boolean };
      try {
        read = await readTopic(bootstrap, MONITOR_TOPICS.alerts);
      } catch (e) {
        throw new CliError(
          `cannot read ${MONITOR_TOPICS.alerts} from Kafka at ${bootstrap.join(',')} (${(e as Error).message}); is it running? Point --bootstrap-server at it`,
          ExitCode.unavailable,
        );
      }
      if (read.missing && !o.json)
        process.stderr.write(`no topic ${MONITOR_TOPICS.alerts} yet: no monitor has published (clustergenie monitor)\n`);
      const latest = latestAlerts(read.values);
      const firing = latest.filter((a) => a.status === 'firing');
      const shown = o.all ? latest : firing;
      code = firing.length > 0 ? ExitCode.unhealthy : ExitCode.ok;
      if (o.json) return printJson({ firing: firing.length, alerts: shown });
      if (shown.length === 0) {
        process.stdout.write(o.all ? 'no alerts\n' : 'no alerts firing\n');
        return;
      }
      printTable(
        ['STATUS', 'ALERT', 'SEVERITY', 'LABELS', 'SINCE', 'ENDED', 'SUMMARY'],
        shown.map((a) => {
          const { alertname, severity, ...rest } = a.labels;
          return [
            a.status,
            alertname ?? '',
            severity ?? '',
            Object.entries(rest)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            a.startsAt,
            a.status === 'resolved' ? a.endsAt : '',
            a.annotations?.summary ?? '',
          ];
        }),
      );
      process.stderr.write(`${firing.length} firing${o.all ? `, ${latest.length - firing.length} resolved` : ''}\n`);
    });
  const parsed = await runProgram(program, args);
  return parsed === ExitCode.ok ? code : parsed;
}
