#!/usr/bin/env node
// Generates and signs the bitstreams the project ships (bitstreams/<id>.rabit + <id>.rabit.json).
// Deterministic: payloads are configuration frames seeded by the id, descriptors carry no dates and
// ed25519 signatures are deterministic, so running it again rewrites nothing (idempotent).
//
//   node scripts/make-bitstreams.mjs            regenerate bitstreams/ (creates the dev key if missing)
//   node scripts/make-bitstreams.mjs --out DIR  write into DIR instead (used by tests)
//   node scripts/make-bitstreams.mjs --check    exit 1 if bitstreams/ differs from what would be written
//
// The signing key bitstreams/keys/rafabric-dev.key.pem is a DEVELOPMENT key and is public: anyone
// can sign with it. Deployments must use their own keys and trust store (docs/bitstreams.md).
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shippedDir = path.join(root, 'bitstreams');
const keyName = 'rafabric-dev';
const keyFile = path.join(shippedDir, 'keys', `${keyName}.key.pem`);
const trustDir = path.join(shippedDir, 'trust');
const DEV_KEY_WARNING = [
  'DEVELOPMENT KEY - NOT SECRET - DO NOT TRUST IN PRODUCTION.',
  'This private key is committed to the rafabric repository so that scripts/make-bitstreams.mjs is',
  'reproducible. Anyone can sign images with it. Deployments use their own key (rafabric bitstream',
  'keygen) and a trust store without rafabric-dev.pub.pem (docs/bitstreams.md).',
].join('\n');

const KiB = 1024;

/** The bitstreams the project ships. Changing one changes its files: re-run and commit them. */
const shipped = [
  {
    id: 'aes-256-gcm',
    function: 'aes-256-gcm',
    contexts: 8,
    payloadBytes: 192 * KiB,
    description:
      'AES-256-GCM encryption engine (NIST SP 800-38D): 96-bit IV per job, key per context, 16-byte tag appended, no AAD.',
  },
  {
    id: 'sha256',
    function: 'sha256',
    contexts: 8,
    payloadBytes: 128 * KiB,
    description: 'SHA-256 engine (FIPS 180-4): one 32-byte digest of each job input.',
  },
  {
    id: 'crc32c',
    function: 'crc32c',
    contexts: 8,
    payloadBytes: 64 * KiB,
    description: 'CRC-32C (Castagnoli) engine: 4-byte little-endian checksum of each job input.',
  },
  {
    id: 'pipeline-xor-crc',
    function: 'pipeline',
    contexts: 4,
    payloadBytes: 96 * KiB,
    pipeline: [
      { op: 'xor', arg: 0x5a },
      { op: 'crc32c', arg: 0 },
    ],
    description:
      'Custom logic: every byte XOR 0x5a, then the CRC-32C of the result (4 bytes, little-endian).',
  },
  {
    id: 'pipeline-scramble',
    function: 'pipeline',
    contexts: 4,
    payloadBytes: 64 * KiB,
    pipeline: [
      { op: 'xor', arg: 0xa5 },
      { op: 'rotl', arg: 3 },
      { op: 'add', arg: 17 },
      { op: 'reverse', arg: 0 },
    ],
    description:
      'Custom logic: a length-preserving byte scrambler (XOR 0xa5, rotate left 3, add 17, reverse).',
  },
];

/**
 * Node 20 cannot import TypeScript: transpile src/bitstream (and what it imports from src/) into
 * build/make-bitstreams-<pid>/ with TypeScript's transpileModule, keeping relative paths, import it,
 * and remove the folder (inside the package, so node_modules resolves as for the sources).
 */
async function loadBitstreamModule() {
  const outRoot = path.join(root, 'build', `make-bitstreams-${process.pid}`);
  const pending = [path.join(root, 'src', 'bitstream', 'index.ts')];
  const done = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(path.resolve(path.dirname(file), `${m[1]}.ts`));
    }
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: false,
      },
      fileName: file,
    });
    const out = path.join(outRoot, path.relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(path.join(outRoot, 'package.json'), '{ "type": "module" }\n');
  try {
    return await import(pathToFileURL(path.join(outRoot, 'src', 'bitstream', 'index.js')).href);
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const args = { out: shippedDir, check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = path.resolve(argv[++i] ?? '');
    else if (argv[i] === '--check') args.check = true;
    else throw new Error(`unknown argument ${argv[i]} (usage: make-bitstreams.mjs [--out DIR] [--check])`);
  }
  return args;
}

const DEV_PUB_WARNING = [
  'DEVELOPMENT KEY - its private half is public (bitstreams/keys/rafabric-dev.key.pem).',
  'Trusting it means trusting anything anyone signs with it: remove this file from production trust',
  'stores (docs/bitstreams.md).',
].join('\n');

const asComment = (text) =>
  `${text
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')}\n`;

function ensureDevKey(b) {
  if (existsSync(keyFile)) return;
  const written = b.writeKeyPair(path.dirname(keyFile), keyName, { comment: DEV_KEY_WARNING });
  const pem = readFileSync(written.publicKeyPath, 'utf8').replace(/^#.*\n/gm, '');
  mkdirSync(trustDir, { recursive: true });
  writeFileSync(path.join(trustDir, `${keyName}.pub.pem`), asComment(DEV_PUB_WARNING) + pem);
  rmSync(written.publicKeyPath);
  console.log(`make-bitstreams: created development key ${written.keyId} (${keyFile})`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const b = await loadBitstreamModule();
  ensureDevKey(b);
  const key = b.readSigningKey(keyFile);
  const out = args.check ? mkdtempSync(path.join(os.tmpdir(), 'rafabric-bitstreams-')) : args.out;
  mkdirSync(out, { recursive: true });
  const trust = b.TrustStore.load(trustDir);
  let differs = false;
  for (const spec of shipped) {
    const { descriptor, image } = b.buildBitstream({ version: '1.0.0', vendor: 'rafabric', ...spec });
    const signed = b.signDescriptor(descriptor, descriptor.image.sha256, key);
    const written = b.writeBitstreamFiles(out, signed, image);
    const verified = b.verifyBitstreamFile(written.descriptorPath, { trust });
    if (args.check) {
      for (const f of [written.descriptorPath, written.imagePath]) {
        const shippedFile = path.join(shippedDir, path.basename(f));
        if (!existsSync(shippedFile) || !readFileSync(shippedFile).equals(readFileSync(f))) {
          console.log(`make-bitstreams: ${path.relative(root, shippedFile)} is out of date`);
          differs = true;
        }
      }
    } else {
      const state = written.changed ? 'wrote' : 'unchanged';
      console.log(
        `make-bitstreams: ${state} ${spec.id} (${verified.payloadBytes} payload bytes, signed by ${verified.signature.keyId})`,
      );
    }
  }
  if (args.check) {
    rmSync(out, { recursive: true, force: true });
    const known = new Set(shipped.flatMap((s) => [`${s.id}.rabit`, `${s.id}.rabit.json`]));
    for (const f of readdirSync(shippedDir).filter(
      (n) => n.endsWith('.rabit') || n.endsWith('.rabit.json'),
    )) {
      if (!known.has(f)) {
        console.log(`make-bitstreams: bitstreams/${f} is not generated by this script`);
        differs = true;
      }
    }
    if (differs) {
      console.log('make-bitstreams: run `node scripts/make-bitstreams.mjs` and commit the result');
      process.exitCode = 1;
    } else {
      console.log('make-bitstreams: bitstreams/ is up to date');
    }
  }
}

main().catch((err) => {
  console.error(`make-bitstreams: ${err.message}${err.code ? ` [${err.code}]` : ''}`);
  process.exitCode = 1;
});
