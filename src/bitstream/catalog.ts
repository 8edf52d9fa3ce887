// The bitstream catalog the GRM serves `{kind: "logic", bitstream: id}` and function requests from:
// a folder of verified `<id>.rabit.json` + `<id>.rabit` pairs (docs/bitstreams.md, "Catalog").
// Everything in it passed verifyBitstream under the catalog's trust store and policy.
// A bitstream a tenant registers is that tenant's (docs/bitstreams.md, "Ownership"): an
// `<id>.owner.json` beside it names the owner, and only that tenant sees and loads it until an
// operator publishes it (removes the owner file). Entries without an owner file are published.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RaError } from '../common/errors.js';
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

const OWNER_FILE_SUFFIX = '.owner.json';

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
  /** The tenant that registered it and alone may use it; absent: published to every tenant. */
  owner?: string;
  /** From an included catalog (the package's shipped bitstreams): never replaced or removed here. */
  readOnly?: boolean;
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
  /**
   * Read-only, published entries served beside this folder's (the package's shipped bitstreams,
   * verified under their own trust store). Their keys verify loads of them; registrations are
   * verified under `trust` alone.
   */
  include?: Catalog;
}

export type RegisterSource = string | { descriptor: unknown; image: Uint8Array };

export class Catalog {
  private readonly entries = new Map<string, CatalogEntry>();
  readonly problems: CatalogProblem[] = [];

  /** Verifies loads: `registrationTrust` plus the keys of an included catalog. */
  readonly trust: TrustStore;

  private constructor(
    readonly dir: string,
    /** Verifies what is registered into this folder. */
    readonly registrationTrust: TrustStore,
    readonly policy: SignaturePolicy,
    include?: Catalog,
  ) {
    this.trust = include ? TrustStore.union(registrationTrust, include.trust) : registrationTrust;
    for (const e of include?.list() ?? []) this.entries.set(e.id, { ...e, readOnly: true });
  }

  /** Opens a catalog folder and verifies every descriptor in it. */
  static open(
    dir: string,
    { trust, policy = defaultPolicy, create = false, strict = false, include }: CatalogOptions = {},
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
    const catalog = new Catalog(folder, store, policy, include);
    for (const name of names.filter((n) => n.endsWith(DESCRIPTOR_FILE_SUFFIX)).sort()) {
      try {
        const found = catalog.verifyInPlace(name);
        if (catalog.entries.get(found.verified.descriptor.id)?.readOnly) {
          throw new RaError(
            BitstreamCode.EXISTS,
            `${name} reuses the id of a shipped bitstream: it is not served; remove it`,
          );
        }
        catalog.add(found, catalog.readOwner(found.verified.descriptor.id));
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
    return verifyBitstream(input, { trust: this.registrationTrust, policy: this.policy });
  }

  private ownerPath(id: string): string {
    // Ids match the descriptor schema's pattern (no separators), so the name stays in the folder.
    return path.join(this.dir, `${id}${OWNER_FILE_SUFFIX}`);
  }

  private readOwner(id: string): string | undefined {
    const file = this.ownerPath(id);
    if (!existsSync(file)) return undefined;
    const owner = (JSON.parse(readFileSync(file, 'utf8')) as { owner?: unknown }).owner;
    if (typeof owner !== 'string' || owner === '')
      throw new RaError(
        BitstreamCode.DESCRIPTOR,
        `${id}${OWNER_FILE_SUFFIX} names no owner: fix or remove it`,
      );
    return owner;
  }

  private writeOwner(id: string, owner: string | undefined): void {
    const file = this.ownerPath(id);
    if (owner === undefined) {
      rmSync(file, { force: true });
      return;
    }
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify({ owner })}\n`);
    renameSync(temp, file);
  }

  private add(
    {
      verified,
      descriptorPath,
      imagePath,
    }: {
      verified: VerifiedBitstream;
      descriptorPath: string;
      imagePath: string;
    },
    owner: string | undefined,
  ): CatalogEntry {
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
      ...(owner !== undefined ? { owner } : {}),
    };
    this.entries.set(d.id, entry);
    return entry;
  }

  /**
   * Verifies a bitstream (a descriptor path with its image beside it, or the two in memory) and
   * copies it into the catalog. Registering identical content again is a no-op; other content under
   * an existing id is refused unless `replace`. With `owner`, the bitstream is that tenant's alone
   * (another tenant's id is never replaced); without, it is published.
   */
  register(
    source: RegisterSource,
    { replace = false, owner }: { replace?: boolean; owner?: string } = {},
  ): CatalogEntry {
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
    if (existing && (existing.readOnly || existing.owner !== owner)) {
      throw new RaError(BitstreamCode.EXISTS, `bitstream id ${d.id} is taken: give yours another id`);
    }
    if (existing && !replace) {
      const same =
        existing.imageSha256 === verified.imageSha256 &&
        canonicalJson(existing.descriptor) === canonicalJson(d);
      if (same) return existing;
      throw new RaError(
        BitstreamCode.EXISTS,
        `bitstream ${d.id} is already in the catalog with other content (version ${existing.version}): give the new one another id (a registered bitstream is never replaced under the allocations that may run it)`,
      );
    }
    // The owner file goes first: a crash between the writes never leaves a tenant's image published.
    this.writeOwner(d.id, owner);
    const written = writeBitstreamFiles(this.dir, d, verified.image);
    return this.add(
      { verified, descriptorPath: written.descriptorPath, imagePath: written.imagePath },
      owner,
    );
  }

  /** An operator's decision: every tenant may use the bitstream from now on. */
  publish(id: string): CatalogEntry {
    const entry = this.get(id);
    if (entry.owner === undefined) return entry;
    this.writeOwner(id, undefined);
    const { owner: _o, ...published } = entry;
    this.entries.set(id, published);
    return published;
  }

  /** Removes a bitstream's files from the catalog. */
  unregister(id: string): void {
    const entry = this.get(id);
    if (entry.readOnly)
      throw new RaError(BitstreamCode.EXISTS, `bitstream ${id} ships with the package and cannot be removed`);
    rmSync(entry.descriptorPath, { force: true });
    rmSync(entry.imagePath, { force: true });
    this.writeOwner(id, undefined);
    this.entries.delete(id);
  }

  /** Every entry, or only those `tenant` may use (published ones and its own). */
  list(tenant?: string): CatalogEntry[] {
    return [...this.entries.values()]
      .filter((e) => tenant === undefined || visibleTo(e, tenant))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  has(id: string, tenant?: string): boolean {
    const entry = this.entries.get(id);
    return entry !== undefined && (tenant === undefined || visibleTo(entry, tenant));
  }

  /**
   * The entry `id`; with `tenant`, only if that tenant may use it (another tenant's bitstream does
   * not exist for it). The message names no server path and lists nobody else's ids.
   */
  get(id: string, tenant?: string): CatalogEntry {
    const entry = this.entries.get(id);
    if (!entry || (tenant !== undefined && !visibleTo(entry, tenant))) {
      const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
      throw new RaError(
        BitstreamCode.NOT_FOUND,
        `no bitstream '${shown}' in the catalog${tenant !== undefined ? ` for tenant ${tenant}` : ''}: list them with GET /v1/bitstreams`,
        { bitstream: shown },
      );
    }
    return entry;
  }

  /** Entries providing `fn` that `target` can host (and `tenant` may use), newest version first (then by id). */
  findByFunction(fn: string, target: TargetAdapter = {}, tenant?: string): CatalogEntry[] {
    return this.list(tenant)
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

/** Published entries are every tenant's; an owned one only its owner's. */
export function visibleTo(entry: CatalogEntry, tenant: string): boolean {
  return entry.owner === undefined || entry.owner === tenant;
}
