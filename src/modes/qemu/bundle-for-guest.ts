// A node program as one file for a QEMU guest: a guest reads every module over virtio-9p and compiles
// it under TCG, so one file instead of every dist/ module and dependency is most of a program's start
// (qemu/README.md, "Boot time"). Used at build time by scripts/bundle-agent.mjs (the guest agent,
// dist/bundle/agent.js) and at test time by the single-VM QEMU test (its guest script); never by
// the runtime code, so esbuild (a devDependency) is imported only when a bundle is made.
// The native addon stays a .node file: it is loaded by absolute path at run time (src/driver/native.ts),
// which esbuild leaves alone.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface GuestBundle {
  /** The program's entry module (a compiled dist/ file, or a script that imports dist/). */
  entry: string;
  outfile: string;
  /**
   * Where the bundle's code should believe it sits when `outfile` is elsewhere: the code derives the
   * package root, the addon and the shipped bitstreams from its own location, two levels under the
   * root like dist/<area>/<module>.js (say `<root>/dist/bundle/<name>.js`). Without it the bundle
   * uses its real location at run time, so it may be copied with the folders it needs.
   */
  runsAs?: string;
}

/** Bundles `entry` with everything it imports (node_modules included) into `outfile`. */
export async function bundleForGuest(
  b: GuestBundle,
): Promise<{ modules: number; bytes: number | undefined }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [b.entry],
    outfile: b.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies (grpc-js, protobufjs, commander...) call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __rafabricCreateRequire } from 'node:module'; const require = __rafabricCreateRequire(import.meta.url);",
    },
    ...(b.runsAs ? { define: { 'import.meta.url': JSON.stringify(pathToFileURL(b.runsAs).href) } } : {}),
    external: ['*.node'],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  return {
    modules: Object.keys(result.metafile.inputs).length,
    bytes: result.metafile.outputs[path.relative(process.cwd(), b.outfile)]?.bytes,
  };
}
