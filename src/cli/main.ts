// The `rafabric` command. Each subcommand family lives in src/cli/commands/<name>.ts and exports
// register(program); this file only wires them (run.ts turns errors into one clear line and an exit code).
import { Command } from 'commander';
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
import { runProgram } from './run.js';

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

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}

await main(process.argv);
