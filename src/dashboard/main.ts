// `clustergenie dashboard`: the dashboard server in the foreground until SIGINT/SIGTERM.

import { Option } from 'commander';
import { CliError, ExitCode } from '../cli/exitCodes.js';
import { clientProgram, intOption, runProgram } from '../cli/program.js';
import { createLogger } from '../util/log.js';
import { startDashboard } from './server/dashboard.js';
import { checkListenOptions } from './server/security.js';

export async function runDashboard(args: string[]): Promise<void> {
  const program = clientProgram('dashboard', 'the ClusterGenie dashboard: one live page over ZooKeeper, Kafka, jobs, logs and alerts')
    .option('--zookeeper <connect>', 'ZooKeeper connect string host:port,...', '127.0.0.1:2181')
    .option('--bootstrap-server <servers>', 'Kafka bootstrap servers host:port,...', '127.0.0.1:9092')
    .option('--jobs-url <url>', 'Job Service base URL', 'http://127.0.0.1:8081')
    .option('--logs-url <url>', 'log store (Loki API) base URL', 'http://127.0.0.1:3100')
    .option('--host <addr>', 'address to listen on (a non-loopback one needs --token)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', intOption('--port'), 3000)
    .addOption(new Option('--token <token>', 'bearer token required for writes').env('CLUSTERGENIE_DASHBOARD_TOKEN'))
    .option('--refresh-ms <ms>', 'view refresh period', intOption('--refresh-ms'), 1000)
    .option('--log-level <level>', 'log level (trace, debug, info, warn, error)', process.env['CLUSTERGENIE_LOG_LEVEL'] ?? 'warn')
    .action(async (opts: Record<string, string | number | undefined>) => {
      try {
        checkListenOptions({ host: String(opts['host']), token: opts['token'] === undefined ? undefined : String(opts['token']) });
      } catch (e) {
        throw new CliError((e as Error).message, ExitCode.usage);
      }
      const log = createLogger('dashboard', String(opts['logLevel']));
      const d = await startDashboard({
        zookeeper: String(opts['zookeeper']),
        bootstrapServers: String(opts['bootstrapServer']),
        jobsUrl: String(opts['jobsUrl']),
        logsUrl: String(opts['logsUrl']),
        host: String(opts['host']),
        port: Number(opts['port']),
        ...(opts['token'] !== undefined ? { token: String(opts['token']) } : {}),
        refreshMs: Number(opts['refreshMs']),
        logger: log,
      });
      process.stdout.write(`Dashboard on ${d.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await d.close();
    });
  const code = await runProgram(program, args);
  if (code !== ExitCode.ok) process.exitCode = code;
}
