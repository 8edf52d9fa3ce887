// `rafabric agent` on its own (bin/rafabric.js picks this entry when the first argument is `agent`):
// the agent's process then loads only the agent's modules, about a third of what every command's
// dependencies add up to (serve's HTTP stack alone is ~560 files). It matters most inside a QEMU guest,
// where node reads each module over 9p and compiles it under TCG (qemu/README.md).
import { Command } from 'commander';
import { registerAgentCommand } from './commands/agent.js';
import { runProgram } from './run.js';

const program = new Command('rafabric')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) });
registerAgentCommand(program);
await runProgram(program, process.argv);
