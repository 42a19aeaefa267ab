// `<data-dir>/prometheus/targets.json`: every /metrics address `clustergenie up` runs, in
// Prometheus' file_sd format, so a user's Prometheus finds them all with one scrape config:
//
//   scrape_configs:
//     - job_name: clustergenie
//       file_sd_configs: [{ files: ['<data-dir>/prometheus/targets.json'] }]
//
// Each group carries a `job` label (zookeeper, kafka, jobs-service, ...) that overrides the scrape
// config's job name, so stock dashboards that filter on job="zookeeper" or job="kafka" work.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ScrapeTarget {
  /** The `job` label: the kind of component. */
  job: string;
  /** host:port of its /metrics. */
  address: string;
  /** Extra labels (e.g. the member or broker id). */
  labels?: Record<string, string>;
}

interface FileSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** file_sd groups: one per target, so each keeps its own labels. */
export function fileSdGroups(targets: readonly ScrapeTarget[]): FileSdGroup[] {
  return targets.map((t) => ({ targets: [t.address], labels: { job: t.job, ...t.labels } }));
}

export function targetsPath(dataDir: string): string {
  return join(dataDir, 'prometheus', 'targets.json');
}

/** Written whole (temp file + rename): Prometheus re-reads the file when it changes and must never see half of it. */
export function writePrometheusTargets(dataDir: string, targets: readonly ScrapeTarget[]): string {
  const path = targetsPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp`;
  writeFileSync(temp, `${JSON.stringify(fileSdGroups(targets), null, 2)}\n`);
  renameSync(temp, path);
  return path;
}
