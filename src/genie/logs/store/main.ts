// `clustergenie log-store`: the embedded Loki-compatible log store until SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { createLogger } from '../../../util/log.js';
import { startLogStore } from './server.js';

const USAGE = `usage: clustergenie log-store [options]
  --host <addr>              listen address (default 127.0.0.1)
  --port <n>                 HTTP port (default 3100, as Loki; 0 = any free port)
  --data-dir <dir>           directory for logs.db, or :memory: (default ./data/log-store)
  --retention-hours <h>      drop entries older than this (default 168)
  --retention-bytes <n>      keep at most this many line bytes, oldest dropped first (default 1073741824)
  --log-level <level>        trace|debug|info|warn|error (default warn)`;

function numberOption(name: string, v: string | undefined, min: number, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, not ${v}`);
  }
  return n;
}

export async function runLogStore(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '3100' },
        'data-dir': { type: 'string', default: './data/log-store' },
        'retention-hours': { type: 'string' },
        'retention-bytes': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  let port: number;
  let retentionHours: number | undefined;
  let retentionBytes: number | undefined;
  try {
    port = numberOption('port', str('port'), 0, true) ?? 3100;
    if (port > 65535) throw new Error(`--port must be <= 65535, not ${port}`);
    retentionHours = numberOption('retention-hours', str('retention-hours'), 0, false);
    retentionBytes = numberOption('retention-bytes', str('retention-bytes'), 0, true);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger('log-store', str('log-level'));
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  let store: Awaited<ReturnType<typeof startLogStore>>;
  try {
    store = await startLogStore({
      host: str('host') ?? '127.0.0.1',
      port,
      dataDir: str('data-dir') ?? './data/log-store',
      logger,
      ...(retentionHours !== undefined ? { retentionMs: retentionHours * 3600 * 1000 } : {}),
      ...(retentionBytes !== undefined ? { retentionBytesMax: retentionBytes } : {}),
    });
  } catch (e) {
    process.stderr.write(`log-store: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`log-store listening on ${store.url}\n`);
  const sig = await signalled;
  logger.info({ signal: sig }, 'stopping');
  await store.close();
}
