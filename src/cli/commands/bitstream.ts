// `rafabric bitstream ...`: inspect, verify, sign, keygen and load bitstreams (docs/bitstreams.md),
// as OPAE's `packager`/`fpgaconf` and XRT's `xclbinutil`/`xbutil program` do for theirs.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { formatDescriptor, specText } from '../../bitstream/descriptor.js';
import { descriptorPathFor, readBitstream } from '../../bitstream/files.js';
import { parseImageHeader } from '../../bitstream/image.js';
import { checkImage } from '../../bitstream/image-checks.js';
import { loadBitstream } from '../../bitstream/loader.js';
import { readSigningKey, sha256Hex, signDescriptor, writeKeyPair } from '../../bitstream/signing.js';
import { defaultTrustPath, type SignatureStatus, TrustStore } from '../../bitstream/trust.js';
import { verifyBitstreamFile } from '../../bitstream/verify.js';
import { RaError } from '../../common/errors.js';
import { Adapter } from '../../driver/adapter.js';
import { functionName } from '../../driver/functions.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { parseInteger } from '../parse.js';

interface TrustFlags {
  trust?: string;
  allowUnsigned?: boolean;
}

function policyOf(o: TrustFlags) {
  return {
    trust: TrustStore.load(o.trust ?? defaultTrustPath),
    policy: { allowUnsigned: o.allowUnsigned === true },
  };
}

function signatureText(s: SignatureStatus): string {
  return s.signed ? `signed by ${s.keyId} (${s.keyName})` : 'UNSIGNED (accepted by --allow-unsigned)';
}

/** With --json a refusal is printed as {ok: false, code, message} on stdout and exits 1. */
async function jsonRefusals(json: boolean | undefined, run: () => Promise<void> | void): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!json || !(err instanceof RaError)) throw err;
    printJson({ ok: false, code: err.code, message: err.message });
    process.exitCode = 1;
  }
}

function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

function inspect(file: string, json: boolean | undefined): void {
  const descriptorFile =
    file.endsWith('.rabit') && !existsSync(`${file}.json`) ? undefined : descriptorPathFor(file);
  if (!descriptorFile) {
    // A bare image: its header is all there is to show.
    const image = readFileSync(file);
    const header = parseImageHeader(image);
    const info = { imagePath: path.resolve(file), bytes: image.length, sha256: sha256Hex(image), header };
    if (json) {
      printJson(info);
      return;
    }
    process.stdout.write(
      `${formatTable(['field', 'value'], headerRows(header, image.length))}\n(no descriptor beside it)\n`,
    );
    return;
  }
  const files = readBitstream(descriptorFile);
  const d = files.descriptor;
  const header = parseImageHeader(files.image);
  let consistency: { ok: true } | { ok: false; code: string; message: string } = { ok: true };
  try {
    checkImage(d, files.image);
  } catch (err) {
    if (!(err instanceof RaError)) throw err;
    consistency = { ok: false, code: err.code, message: err.message };
  }
  if (json) {
    printJson({
      descriptorPath: files.descriptorPath,
      imagePath: files.imagePath,
      descriptor: d,
      header,
      consistency,
    });
    return;
  }
  const rows: [string, unknown][] = [
    ['id', d.id],
    ['function', d.function],
    ['version', d.version],
    ['vendor', d.vendor],
    ['description', d.description],
    ['contexts', d.interface.contexts],
    ['register window', `${d.interface.registerWindow.bytes} bytes at ${d.interface.registerWindow.offset}`],
    [
      'footprint',
      `${d.footprint.slotSizeClass} slot, ${formatBytes(d.footprint.memoryBytes)} memory, ${d.footprint.computeUnits} compute units`,
    ],
    ['spec', `${d.compatibility.specMin} .. ${d.compatibility.specMax}`],
    ['image', `${files.imagePath} (${d.image.bytes} bytes)`],
    ['image sha256', d.image.sha256],
    ['payload sha256', d.image.payloadSha256],
    ['pipeline', d.pipeline?.map((s) => `${s.op}(${s.arg})`).join(' -> ')],
    [
      'signature',
      d.signature
        ? `${d.signature.algorithm} by key ${d.signature.keyId} (not verified: use verify)`
        : 'none',
    ],
    ['image vs descriptor', consistency.ok ? 'consistent' : `${consistency.message} [${consistency.code}]`],
  ];
  process.stdout.write(`${formatTable(['field', 'value'], rows)}\n\nheader (ra-spec §13)\n`);
  process.stdout.write(`${formatTable(['field', 'value'], headerRows(header, files.image.length))}\n`);
}

function headerRows(h: ReturnType<typeof parseImageHeader>, bytes: number): [string, unknown][] {
  return [
    ['magic', `0x${h.magic.toString(16)}`],
    ['format', h.format],
    ['function', `${h.functionId} (${functionName(h.functionId) ?? 'unknown'})`],
    ['spec', `${specText(h.specMin)} .. ${specText(h.specMax)}`],
    ['contexts', h.contexts],
    ['payload', `${h.payloadBytes} bytes (file holds ${bytes - 128})`],
    ['payload sha256', h.payloadSha256],
    ['version', `0x${h.version.toString(16).padStart(8, '0')}`],
    ['name', h.name],
  ];
}

/**
 * A cli-progress bar on stderr when it is a terminal, shown from the first progress report (that is,
 * once every check passed and the adapter configures the slot). stdout keeps the result line.
 */
class LoadProgress {
  private bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly slot: number,
    private readonly label: string,
  ) {}

  update(permille: number): void {
    if (!this.enabled) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `slot ${this.slot} [{bar}] {percentage}% ${this.label}`,
          hideCursor: true,
          stream: process.stderr,
          fps: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(1000, 0);
    }
    this.bar.update(permille);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

export function registerBitstreamCommands(program: Command): void {
  const cmd = program
    .command('bitstream')
    .description('inspect, verify, sign and load bitstreams (<id>.rabit.json beside <id>.rabit)');

  cmd
    .command('inspect <file>')
    .description(
      'show a descriptor and its image header (FILE: <id>.rabit.json or <id>.rabit); checks no signature',
    )
    .option('--json', 'machine-readable output')
    .action((file: string, o: { json?: boolean }) => inspect(file, o.json));

  cmd
    .command('verify <file>')
    .description(
      'run every check a load runs except the adapter ones: schema, image, hashes, header, signature',
    )
    .option(
      '--trust <dir>',
      "trust store: a folder of *.pub.pem or a JSON key list (default: the package's bitstreams/trust)",
    )
    .option('--allow-unsigned', 'accept an image without a signature (development only)')
    .option('--json', 'machine-readable output')
    .action((file: string, o: TrustFlags & { json?: boolean }) =>
      jsonRefusals(o.json, () => {
        const v = verifyBitstreamFile(file, policyOf(o));
        const d = v.descriptor;
        if (o.json) {
          return printJson({
            ok: true,
            id: d.id,
            version: d.version,
            function: d.function,
            descriptorPath: v.descriptorPath,
            imagePath: v.imagePath,
            imageBytes: d.image.bytes,
            payloadBytes: v.payloadBytes,
            imageSha256: v.imageSha256,
            payloadSha256: d.image.payloadSha256,
            signature: v.signature,
          });
        }
        process.stdout.write(
          `ok  ${d.id} ${d.version} (${d.function}, ${v.payloadBytes}-byte payload) ${signatureText(v.signature)}\n`,
        );
      }),
    );

  cmd
    .command('sign <file>')
    .description('sign a descriptor and its image with an ed25519 private key (replaces any signature)')
    .requiredOption('--key <pem>', 'PKCS#8 ed25519 private key (rafabric bitstream keygen)')
    .option(
      '--out <file>',
      'write the signed descriptor here instead of over FILE (keep it beside its image)',
    )
    .action((file: string, o: { key: string; out?: string }) => {
      const files = readBitstream(file);
      const checked = checkImage(files.descriptor, files.image);
      const key = readSigningKey(o.key);
      const signed = signDescriptor(files.descriptor, checked.imageSha256, key);
      const out = path.resolve(o.out ?? files.descriptorPath);
      writeAtomically(out, formatDescriptor(signed));
      process.stdout.write(`signed ${signed.id} with key ${key.keyId} -> ${out}\n`);
      if (path.dirname(out) !== path.dirname(files.imagePath)) {
        process.stdout.write(
          `note: ${out} is not beside its image ${files.imagePath}; move them together before use\n`,
        );
      }
    });

  cmd
    .command('keygen')
    .description(
      'make an ed25519 key pair: NAME.key.pem (private, mode 0600) and NAME.pub.pem (for trust stores)',
    )
    .requiredOption('--out-dir <dir>', 'folder to write the two files into')
    .option('--name <name>', 'file name stem', 'rafabric-signing')
    .action((o: { outDir: string; name: string }) => {
      const k = writeKeyPair(o.outDir, o.name);
      process.stdout.write(
        `key ${k.keyId}\n  private ${k.privateKeyPath} (keep it secret)\n  public  ${k.publicKeyPath} (copy into trust stores)\n`,
      );
    });

  cmd
    .command('load <uri> <file>')
    .description('verify a bitstream for an adapter, then load it into a slot')
    .requiredOption('--slot <n>', 'slot index')
    .option('--force', 'reprogram a slot whose contexts are in use (their slices are released)')
    .option(
      '--trust <dir>',
      "trust store: a folder of *.pub.pem or a JSON key list (default: the package's bitstreams/trust)",
    )
    .option('--allow-unsigned', 'accept an image without a signature (development only)')
    .option('--json', 'machine-readable output')
    .action((uri: string, file: string, o: TrustFlags & { slot: string; force?: boolean; json?: boolean }) =>
      jsonRefusals(o.json, async () => {
        const slot = parseInteger('--slot', o.slot, 0, 31);
        const { trust, policy } = policyOf(o);
        const adapter = Adapter.open(uri);
        const progress = new LoadProgress(
          process.stderr.isTTY === true && !o.json,
          slot,
          path.basename(file),
        );
        const started = Date.now();
        try {
          const loaded = await loadBitstream(adapter, slot, file, {
            force: o.force === true,
            trust,
            policy,
            onProgress: (permille) => progress.update(permille),
          });
          progress.stop();
          const ms = Date.now() - started;
          if (o.json) return printJson({ ok: true, uri, ms, ...loaded });
          process.stdout.write(
            `loaded ${loaded.id} ${loaded.version} into slot ${slot} of ${uri} in ${ms} ms: ${loaded.slot.state}, ${loaded.function}, ${loaded.slot.contexts} contexts, ${signatureText(loaded.signature)}\n`,
          );
        } catch (err) {
          progress.stop();
          throw err;
        } finally {
          adapter.close();
        }
      }),
    );
}
