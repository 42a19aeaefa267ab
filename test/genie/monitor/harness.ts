// Shared pieces of the monitor's end-to-end tests. The monitor runs as `clustergenie monitor`
// child processes restarted when they exit, as `clustergenie up` supervises them: the services
// are crash-only (@platformatic/kafka 1.35 can throw from a callback while a broker leaves the
// cluster, see src/genie/serviceStartup.ts), and a test process would count that as its own
// failure. Alerts are read back from `monitoring.alerts` with a @platformatic/kafka consumer.

import { type ChildProcess, spawn } from 'node:child_process';
import { Consumer, type Message, stringDeserializers } from '@platformatic/kafka';
import type { KafkaEndpoint } from '../../../src/genie/kafka.js';
import { type AlertRecord, MONITOR_TOPICS } from '../../../src/genie/monitor/events.js';
import { freePort } from '../../../src/util/net.js';
import { killOnExit, waitExit } from '../../helpers/children.js';
import { waitFor } from '../../helpers/wait.js';

const mainModule = new URL('../../../src/genie/monitor/monitorMain.js', import.meta.url).href;
/** Output lines kept per process for failure messages. */
const outputLinesMax = 40;

/** One monitor candidate, restarted whenever it exits until stop(). */
export class MonitorProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  port = 0;
  /** Exit codes of runs that ended without stop() (crash-only restarts). */
  readonly unplannedExits: (number | null)[] = [];
  readonly output: string[] = [];

  constructor(
    readonly id: string,
    private readonly args: string[],
  ) {}

  async start(): Promise<void> {
    this.port = await freePort();
    this.spawn();
    await waitFor(() => this.metrics(), {
      timeoutMs: 30_000,
      what: () => `monitor ${this.id} serving /metrics: ${this.output.join('\n')}`,
    });
  }

  private spawn(): void {
    const code = `import(${JSON.stringify(mainModule)}).then((m) => m.runMonitor(process.argv.slice(1)))`;
    const child = spawn(
      process.execPath,
      ['-e', code, '--', '--id', this.id, '--metrics-port', String(this.port), '--log-level', 'warn', ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        for (const line of text.split('\n')) if (line.trim() !== '') this.output.push(line.slice(0, 400));
        if (this.output.length > outputLinesMax) this.output.splice(0, this.output.length - outputLinesMax);
      });
    }
    child.once('exit', (code) => {
      if (this.stopping || this.child !== child) return;
      this.unplannedExits.push(code);
      this.spawn();
    });
    this.child = child;
  }

  /** The /metrics text, or '' while it does not answer. */
  async metrics(): Promise<string> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(3000) });
      return res.ok ? await res.text() : '';
    } catch {
      return '';
    }
  }

  async isLeader(): Promise<boolean> {
    return /^clustergenie_monitor_leader 1$/m.test(await this.metrics());
  }

  /** Firing alerts as `name` or `name{label=value}` from the ALERTS-like gauge. */
  async firing(): Promise<string[]> {
    const text = await this.metrics();
    return [...text.matchAll(/^clustergenie_alerts\{([^}]*)\} 1$/gm)]
      .map((m) => Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])))
      .filter((l) => l['alertstate'] === 'firing')
      .map((l) => l['alertname']!);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 15_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
  }
}

export class AlertReader {
  received: AlertRecord[] = [];
  private readers = 0;

  constructor(private readonly kafka: KafkaEndpoint) {}

  /**
   * Reads `monitoring.alerts` from the start with a fresh consumer (own group) until `done`
   * holds; keeps what it read in `received`. Fresh per wait: a consumer that lived through a
   * broker stop may sit on a stale fetch for long, and that is not these tests' subject.
   */
  async until(done: () => unknown, timeoutMs: number, what: () => string): Promise<void> {
    const reader = new Consumer({
      ...this.kafka,
      clientId: 'alerts-reader',
      groupId: `monitor-test-reader-${process.pid}-${++this.readers}`,
      deserializers: stringDeserializers,
      maxWaitTime: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    const seen: AlertRecord[] = [];
    this.received = seen;
    try {
      const stream = await reader.consume({ topics: [MONITOR_TOPICS.alerts], mode: 'earliest', autocommit: false });
      stream.on('data', (msg: Message<string, string, string, string>) => seen.push(JSON.parse(msg.value) as AlertRecord));
      await waitFor(done, { timeoutMs, what });
    } finally {
      await new Promise<void>((resolve) => reader.close(true, () => resolve()));
    }
  }

  got(type: AlertRecord['type'], name: string, label?: [string, string]): AlertRecord | undefined {
    return this.received.find(
      (r) => r.type === type && r.labels['alertname'] === name && (label === undefined || r.labels[label[0]] === label[1]),
    );
  }

  summary(): string {
    return this.received
      .map((r) => `${r.type}:${r.labels['alertname']}${r.labels['broker'] ?? r.labels['topic'] ?? r.labels['member'] ?? ''}`)
      .join(', ');
  }
}
