// One table of exit codes for every `clustergenie` command (docs/CLI.md prints it): scripts and
// health checks branch on these, so a number never changes meaning.

export const ExitCode = {
  /** Done as asked; `status`: everything healthy. */
  ok: 0,
  /** Failed for a reason not listed below (the message says what). */
  failure: 1,
  /** Bad command line or config: an unknown flag, a missing or invalid argument, a garbage config file. */
  usage: 2,
  /** `status` (and health-style checks): the system answers but is unhealthy. */
  unhealthy: 3,
  /** The thing named does not exist: znode, topic, group, job. */
  notFound: 4,
  /** Refused by a precondition: znode version mismatch, already exists, not empty, group not empty. */
  conflict: 5,
  /** Could not reach ZooKeeper, Kafka or a service in time. */
  unavailable: 6,
  /** A port or data directory is taken by another process. */
  busy: 7,
  /** Internal error: a bug; please report it with the message. */
  software: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries the exit code the command should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}
