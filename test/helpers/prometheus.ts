// A real Prometheus (Debian's `prometheus` package) on a free loopback port, scraping the targets of
// a file_sd file every second, for tests that claim "Prometheus scrapes it". Missing binary: the
// test fails (a skipped interop test is a failure).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/net.js';
import { killOnExit, waitExit } from './children.js';
import { waitFor } from './wait.js';

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly output: () => string,
  ) {}

  /** Scrapes the file_sd targets in `targetsFile` every second. */
  static async start(targetsFile: string): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'cg-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: clustergenie',
        '    file_sd_configs:',
        `      - files: ['${targetsFile}']`,
        '        refresh_interval: 1s',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const url = `http://127.0.0.1:${port}`;
    const failed = await Promise.race([
      spawnError,
      waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${out}`);
          return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true ? true : undefined;
        },
        { timeoutMs: 30_000, what: () => `prometheus ready: ${out}` },
      ),
    ]);
    if (failed instanceof Error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot run prometheus (apt-get install prometheus): ${failed.message}`);
    }
    return new Prometheus(child, dir, url, () => out);
  }

  get log(): string {
    return this.output();
  }

  async activeTargets(): Promise<PromTarget[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: PromTarget[] } };
    return body.data.activeTargets;
  }

  /** An instant PromQL query's vector. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    return body.data!.result;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    if (!(await waitExit(this.child, 10_000))) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
