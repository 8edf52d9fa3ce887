// Parses argv with a built program and turns errors into one clear line and an exit code (shared by
// the full CLI, main.ts, and the agent-only entry, agent-main.ts).
import { type Command, CommanderError } from 'commander';
import { CliCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { exitCodes, printError } from './output.js';

/**
 * Refusals of what the user typed: the command line's own, and the driver's refusal of an argument
 * before it touched a register (the bitstream and key tools and the certificate lookup raise it too).
 */
const usageCodes: ReadonlySet<string> = new Set([CliCode.USAGE, DriverCode.INVALID_ARGUMENT]);

/**
 * Makes `command` and every subcommand under it throw a CommanderError instead of exiting. Commander
 * copies a parent's exit handling into a subcommand only when the subcommand is created, and the
 * commands are registered before this runs: set on the root alone, a subcommand's usage error (missing
 * option, unknown option, bad argument) would call process.exit(1) itself.
 */
function throwInsteadOfExiting(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExiting(sub);
}

export async function runProgram(program: Command, argv: string[]): Promise<void> {
  throwInsteadOfExiting(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : exitCodes.usage;
      return;
    }
    printError(err);
    process.exitCode =
      err instanceof RaError && usageCodes.has(err.code) ? exitCodes.usage : exitCodes.failure;
  }
}
