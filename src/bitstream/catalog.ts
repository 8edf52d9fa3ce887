// The bitstream catalog the GRM serves `{kind: "logic", bitstream: id}` and function requests from:
// a folder of verified `<id>.rabit.json` + `<id>.rabit` pairs (docs/bitstreams.md, "Catalog").
// Everything in it passed verifyBitstream under the catalog's trust store and policy.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RaError } from '../driver/errors.js';
import { BitstreamCode } from './codes.js';
import { compatibilityProblems, type TargetAdapter } from './compatibility.js';
import {
  compareVersions,
  DESCRIPTOR_FILE_SUFFIX,
  type Descriptor,
  type SlotFunctionName,
  type SlotSizeClass,
} from './descriptor.js';
import { readBitstream, writeBitstreamFiles } from './files.js';
import { resolveInside } from './paths.js';
import { canonicalJson, sha256Hex } from './signing.js';
import { defaultPolicy, type SignaturePolicy, type SignatureStatus, TrustStore } from './trust.js';
import { type VerifiedBitstream, verifyBitstream } from './verify.js';

export interface CatalogEntry {
  id: string;
  function: SlotFunctionName;
  version: string;
  contexts: number;
  sizeClass: SlotSizeClass;
  imageBytes: number;
  payloadBytes: number;
  /** sha256 of the image file. */
  imageSha256: string;
  /** sha256 of the payload: what SLOT_IMAGE_HASH reads once loaded. */
  payloadSha256: string;
  signature: SignatureStatus;
  descriptor: Descriptor;
  descriptorPath: string;
  imagePath: string;
}

/** A descriptor in the folder that failed verification and is not served. */
export interface CatalogProblem {
  file: string;
  code: string;
  message: string;
}

export interface CatalogOptions {
  /** A TrustStore, or a folder / JSON file to load one from; the package's trust store by default. */
  trust?: TrustStore | string;
  policy?: SignaturePolicy;
  /** Create the folder if it does not exist. */
  create?: boolean;
  /** Throw on the first invalid descriptor instead of listing it in `problems`. */
  strict?: boolean;
}

export type RegisterSource = string | { descriptor: unknown; image: Uint8Array };

export class Catalog {
  private readonly entries = new Map<string, CatalogEntry>();
  readonly problems: CatalogProblem[] = [];

  private constructor(
    readonly dir: string,
    readonly trust: TrustStore,
    readonly policy: SignaturePolicy,
  ) {}

  /** Opens a catalog folder and verifies every descriptor in it. */
  static open(
    dir: string,
    { trust, policy = defaultPolicy, create = false, strict = false }: CatalogOptions = {},
  ): Catalog {
    const folder = path.resolve(dir);
    if (create) mkdirSync(folder, { recursive: true });
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch (err) {
      throw new RaError(
        BitstreamCode.NOT_FOUND,
        `catalog folder ${folder} cannot be read: ${(err as Error).message}`,
      );
    }
    const store = trust instanceof TrustStore ? trust : TrustStore.load(trust);
    const catalog = new Catalog(folder, store, policy);
    for (const name of names.filter((n) => n.endsWith(DESCRIPTOR_FILE_SUFFIX)).sort()) {
      try {
        catalog.add(catalog.verifyInPlace(name));
      } catch (err) {
        if (strict || !(err instanceof RaError)) throw err;
        catalog.problems.push({ file: path.join(folder, name), code: err.code, message: err.message });
      }
    }
    return catalog;
  }

  private verifyInPlace(name: string): {
    verified: VerifiedBitstream;
    descriptorPath: string;
    imagePath: string;
  } {
    const descriptorPath = resolveInside(this.dir, name, 'catalog descriptor');
    const files = readBitstream(descriptorPath);
    const verified = this.verify({
      descriptor: files.descriptor,
      image: files.image,
      subject: `descriptor ${name}`,
    });
    const expected = `${verified.descriptor.id}${DESCRIPTOR_FILE_SUFFIX}`;
    if (name !== expected) {
      throw new RaError(
        BitstreamCode.DESCRIPTOR,
        `${name} describes bitstream ${verified.descriptor.id}: rename it to ${expected}`,
      );
    }
    return { verified, descriptorPath, imagePath: files.imagePath };
  }

  private verify(input: { descriptor: unknown; image: Uint8Array; subject?: string }): VerifiedBitstream {
    return verifyBitstream(input, { trust: this.trust, policy: this.policy });
  }

  private add({
    verified,
    descriptorPath,
    imagePath,
  }: {
    verified: VerifiedBitstream;
    descriptorPath: string;
    imagePath: string;
  }): CatalogEntry {
    const d = verified.descriptor;
    const entry: CatalogEntry = {
      id: d.id,
      function: d.function,
      version: d.version,
      contexts: d.interface.contexts,
      sizeClass: d.footprint.slotSizeClass,
      imageBytes: d.image.bytes,
      payloadBytes: verified.payloadBytes,
      imageSha256: verified.imageSha256,
      payloadSha256: d.image.payloadSha256,
      signature: verified.signature,
      descriptor: d,
      descriptorPath,
      imagePath,
    };
    this.entries.set(d.id, entry);
    return entry;
  }

  /**
   * Verifies a bitstream (a descriptor path with its image beside it, or the two in memory) and
   * copies it into the catalog. Registering identical content again is a no-op; other content under
   * an existing id is refused unless `replace`.
   */
  register(source: RegisterSource, { replace = false }: { replace?: boolean } = {}): CatalogEntry {
    const input =
      typeof source === 'string'
        ? (() => {
            const files = readBitstream(source);
            return {
              descriptor: files.descriptor,
              image: files.image,
              subject: `descriptor ${path.basename(files.descriptorPath)}`,
            };
          })()
        : source;
    const verified = this.verify(input);
    const d = verified.descriptor;
    const existing = this.entries.get(d.id);
    if (existing && !replace) {
      const same =
        existing.imageSha256 === verified.imageSha256 &&
        canonicalJson(existing.descriptor) === canonicalJson(d);
      if (same) return existing;
      throw new RaError(
        BitstreamCode.EXISTS,
        `bitstream ${d.id} is already in the catalog with other content (version ${existing.version}): give the new one another id, or replace it`,
      );
    }
    const written = writeBitstreamFiles(this.dir, d, verified.image);
    return this.add({ verified, descriptorPath: written.descriptorPath, imagePath: written.imagePath });
  }

  /** Removes a bitstream's files from the catalog. */
  unregister(id: string): void {
    const entry = this.get(id);
    rmSync(entry.descriptorPath, { force: true });
    rmSync(entry.imagePath, { force: true });
    this.entries.delete(id);
  }

  list(): CatalogEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): CatalogEntry {
    const entry = this.entries.get(id);
    if (!entry) {
      const known = this.list()
        .map((e) => e.id)
        .join(', ');
      throw new RaError(
        BitstreamCode.NOT_FOUND,
        `no bitstream '${id}' in catalog ${this.dir} (it has: ${known || 'nothing'})`,
      );
    }
    return entry;
  }

  /** Entries providing `fn` that `target` can host, newest version first (then by id). */
  findByFunction(fn: string, target: TargetAdapter = {}): CatalogEntry[] {
    return this.list()
      .filter((e) => e.function === fn && compatibilityProblems(e.descriptor, target).length === 0)
      .sort((a, b) => compareVersions(b.version, a.version) || (a.id < b.id ? -1 : 1));
  }

  /** The image bytes of `id`, re-checked against the sha256 verified at registration. */
  image(id: string): Buffer {
    const entry = this.get(id);
    const file = resolveInside(this.dir, path.basename(entry.imagePath), `catalog image of ${id}`);
    const image = readFileSync(file);
    const sha = sha256Hex(image);
    if (image.length !== entry.imageBytes || sha !== entry.imageSha256) {
      throw new RaError(
        BitstreamCode.HASH,
        `image of ${id} changed on disk since it was verified (${image.length} bytes, sha256 ${sha}; expected ${entry.imageBytes} bytes, ${entry.imageSha256}): register it again`,
      );
    }
    return image;
  }
}
