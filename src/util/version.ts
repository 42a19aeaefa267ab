// The package version, for --version, the dashboard's /api/info and anything else that reports it.

import { readFileSync } from 'node:fs';

let versionCache: string | undefined;

/** package.json's version (three levels above the build's src/util), read once. */
export function packageVersion(): string {
  if (versionCache === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
      versionCache = pkg.version ?? 'unknown';
    } catch {
      versionCache = 'unknown';
    }
  }
  return versionCache;
}
