// Bundles `rafabric agent` (dist/cli/agent-main.js and everything it imports, node_modules included)
// into one file, dist/bundle/agent.js, for QEMU guests: a guest reads every module over virtio-9p and
// compiles it under TCG, so one file instead of ~270 is most of the agent's start (qemu/README.md,
// "Boot time"). The native addon stays build/Release/rafabric_native.node: it is loaded by absolute
// path at run time (src/driver/native.ts), which esbuild leaves alone.
// Run by `npm run build` after tsc; bundles the compiled dist/, so it always matches the build.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'cli', 'agent-main.js');
// Two levels under the package root, like dist/<area>/<module>.js: paths the code derives from its
// own location (the package root, the addon, the shipped bitstreams) stay right.
const outfile = path.join(root, 'dist', 'bundle', 'agent.js');
// How a bundle is made (one recipe for the agent and the QEMU test's guest script).
const recipe = path.join(root, 'dist', 'modes', 'qemu', 'bundle-for-guest.js');

for (const built of [entry, recipe]) {
  if (!existsSync(built)) {
    console.error(`bundle-agent: ${built} is missing: run \`npm run build:ts\` first`);
    process.exit(1);
  }
}
try {
  await import('esbuild');
} catch (err) {
  console.error(`bundle-agent: esbuild is not installed (a devDependency: run \`npm ci\`): ${err.message}`);
  process.exit(1);
}
const { bundleForGuest } = await import(pathToFileURL(recipe).href);
mkdirSync(path.dirname(outfile), { recursive: true });
const started = Date.now();
// No runsAs: the bundle finds the package root from where it really is, so it may be copied with
// the folders it reads (test/qemu/14.agent-bundle runs it so).
const { modules, bytes } = await bundleForGuest({ entry, outfile });
console.log(
  `bundle-agent: ${path.relative(root, outfile)} from ${modules} modules${bytes ? `, ${(bytes / 1024).toFixed(0)} KiB` : ''}, ${Date.now() - started} ms`,
);
