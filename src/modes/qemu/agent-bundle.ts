// The guest agent as one file (dist/bundle/agent.js, made by `npm run build` with
// scripts/bundle-agent.mjs). A guest reads every module over virtio-9p and compiles it under TCG:
// `rafabric agent` from dist/ is ~270 files, the bundle one (the native addon stays a .node file).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The bundle's path under `repoRoot`; throws, saying to run `npm run build`, when it is missing or
 * older than the compiled agent entry it was made from (a `build:ts` without the bundle step).
 */
export function agentBundlePath(repoRoot: string): string {
  const bundle = path.join(repoRoot, 'dist', 'bundle', 'agent.js');
  const entry = path.join(repoRoot, 'dist', 'cli', 'agent-main.js');
  if (!existsSync(bundle))
    throw new Error(
      `the guest agent bundle ${bundle} is missing: run \`npm run build\` (it bundles the agent)`,
    );
  if (existsSync(entry) && statSync(entry).mtimeMs > statSync(bundle).mtimeMs)
    throw new Error(
      `the guest agent bundle ${bundle} is older than ${entry}: run \`npm run build\` (or \`npm run build:bundle\`)`,
    );
  return bundle;
}
