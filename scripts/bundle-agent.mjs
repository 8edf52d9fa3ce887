// Bundles `rafabric agent` (dist/cli/agent-main.js and everything it imports, node_modules included)
// into one file, dist/bundle/agent.js, for QEMU guests: a guest reads every module over virtio-9p and
// compiles it under TCG, so one file instead of ~270 is most of the agent's start (qemu/README.md,
// "Boot time"). The native addon stays build/Release/rafabric_native.node: it is loaded by absolute
// path at run time (src/driver/native.ts), which esbuild leaves alone.
// Run by `npm run build` after tsc; bundles the compiled dist/, so it always matches the build.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'cli', 'agent-main.js');
// Two levels under the package root, like dist/<area>/<module>.js: paths the code derives from its
// own location (the package root, the addon, the shipped bitstreams) stay right.
const outfile = path.join(root, 'dist', 'bundle', 'agent.js');

if (!existsSync(entry)) {
  console.error(`bundle-agent: ${entry} is missing: run \`npm run build:ts\` first`);
  process.exit(1);
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  console.error(`bundle-agent: esbuild is not installed (a devDependency: run \`npm ci\`): ${err.message}`);
  process.exit(1);
}
mkdirSync(path.dirname(outfile), { recursive: true });
const started = Date.now();
const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (grpc-js, protobufjs, commander...) call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __rafabricCreateRequire } from 'node:module'; const require = __rafabricCreateRequire(import.meta.url);",
  },
  external: ['*.node'],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs).length;
const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes;
console.log(
  `bundle-agent: ${path.relative(root, outfile)} from ${inputs} modules${bytes ? `, ${(bytes / 1024).toFixed(0)} KiB` : ''}, ${Date.now() - started} ms`,
);
