// The client commands' shared frame on commander: --help and --version on every (sub)command,
// usage mistakes exit 2, a CliError ends with its own exit code and message, anything else is a
// failure with a one-line message (no stack unless CLUSTERGENIE_DEBUG is set).

import { Command, CommanderError } from 'commander';
import { packageVersion } from '../util/version.js';
import { CliError, ExitCode } from './exitCodes.js';

/** The package version (util/version.ts). */
export const cliVersion = packageVersion;

/** A top-level client command (`clustergenie <name> ...`), ready for subcommands and options. */
export function clientProgram(name: string, description: string): Command {
  const program = new Command(`clustergenie ${name}`);
  program
    .description(description)
    .version(cliVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  return program;
}

/** A subcommand that inherits the program's error handling. */
export function subcommand(parent: Command, nameAndArgs: string, description: string): Command {
  return parent.command(nameAndArgs).description(description).exitOverride().showHelpAfterError('(add --help for usage)');
}

/** Runs `program` on `args` (without the command name) and returns the exit code. */
export async function runProgram(program: Command, args: string[]): Promise<number> {
  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage mistakes were already printed.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof CliError) {
      if (e.message !== '') process.stderr.write(`clustergenie: ${e.message}\n`);
      return e.exitCode;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`clustergenie: ${message}\n`);
    if (process.env.CLUSTERGENIE_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return ExitCode.failure;
  }
}

/** Parses a non-negative integer option value, or explains which flag is wrong. */
export function intOption(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new CliError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`, ExitCode.usage);
    return n;
  };
}
