#!/usr/bin/env node
// Entry point of the `rafabric` command; the CLI itself is compiled from src/cli/.
// `agent` alone loads only its own modules (src/cli/agent-main.ts).
import(process.argv[2] === 'agent' ? '../dist/cli/agent-main.js' : '../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli')) {
    console.error('rafabric is not built yet: run `npm run build` in the package folder.');
    process.exit(1);
  }
  throw err;
});
