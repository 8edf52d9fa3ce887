// A test's guest script bundled into one file, as the guest agent is (scripts/bundle-agent.mjs): the
// guest then reads one file over 9p instead of every dist/ module and dependency it imports (the
// single-VM guest's imports took 94 s under load). The script imports the built dist/, so the
// bundle is what `npm run build` made. The native addon stays a .node file, found from the package
// root, which the code derives from its own location (src/driver/native.ts): the bundle is told it
// sits in dist/bundle/, wherever the file is written.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = path.resolve(import.meta.dirname, '..', '..');

/** Bundles `entry` (a guest script under test/qemu/guest/) into `outfile`. */
export async function bundleGuestScript(entry: string, outfile: string): Promise<void> {
  const esbuild = await import('esbuild');
  const asIfAt = pathToFileURL(path.join(repo, 'dist', 'bundle', path.basename(outfile))).href;
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies call require(); node's built-ins are all they ask for at run time
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    define: { 'import.meta.url': JSON.stringify(asIfAt) },
    external: ['*.node'],
    logLevel: 'warning',
  });
}
