// The `rafabric` command. Each subcommand family lives in src/cli/commands/<name>.ts and exports
// register(program); this file only wires them and turns errors into one clear line and an exit code.
import { Command, CommanderError } from 'commander';
import { CliCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { registerAdapterCommands } from './commands/adapter.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerBitstreamCommands } from './commands/bitstream.js';
import { registerCertsCommand } from './commands/certs.js';
import { registerClientCommands } from './commands/client.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerModelCommand } from './commands/model.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTopCommand } from './commands/top.js';
import { exitCodes, printError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('rafabric')
    .description('Pool reconfigurable adapters and hand out whole adapters or slices of them on demand.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  registerDemoCommand(program);
  registerServeCommand(program);
  registerClientCommands(program);
  registerTopCommand(program);
  registerModelCommand(program);
  registerAdapterCommands(program);
  registerBitstreamCommands(program);
  registerAgentCommand(program);
  registerCertsCommand(program);
  registerClusterCommands(program);
  return program;
}

/**
 * Refusals of what the user typed: the command line's own, and the driver's refusal of an argument
 * before it touched a register (the bitstream and key tools and the certificate lookup raise it too).
 */
const usageCodes: ReadonlySet<string> = new Set([CliCode.USAGE, DriverCode.INVALID_ARGUMENT]);

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
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

await main(process.argv);
