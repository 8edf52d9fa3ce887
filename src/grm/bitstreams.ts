// The bitstreams a tenant may use, registration (a tenant's own, or published at once by an operator)
// and publication (docs/bitstreams.md, "Ownership"). A registration may bring a new image of a
// function: the live pool learns that adapters can load it.
import { RaError } from '../common/errors.js';
import { defaultBitstreamLimits, validateBitstreamUpload } from './bitstream-upload.js';
import type { GrmContext } from './context.js';
import { GrmCode } from './types.js';

/** The bitstreams `tenant` may use: published ones and its own. */
export function listBitstreams(
  ctx: GrmContext,
  tenant?: string,
): { id: string; function: string; version: string; signed: boolean }[] {
  return ctx.catalog
    .list(tenant)
    .map((e) => ({ id: e.id, function: e.function, version: e.version, signed: e.signature.signed }));
}

/** Registers a tenant's bitstream as its own; an operator's registration is published to every tenant. */
export function registerBitstream(ctx: GrmContext, tenant: string, body: unknown): { id: string } {
  const limits = ctx.options.bitstreamLimits ?? defaultBitstreamLimits;
  const upload = validateBitstreamUpload(body, limits);
  const operator = ctx.options.operators?.has(tenant) ?? false;
  const owned = ctx.catalog.list().filter((e) => e.owner === tenant);
  const id = (upload.descriptor as { id?: unknown }).id;
  const replacing = owned.some((e) => e.id === id);
  if (!operator && !replacing) {
    const usedBytes = owned.reduce((n, e) => n + e.imageBytes, 0);
    if (owned.length >= limits.perTenantCount || usedBytes + upload.image.length > limits.perTenantBytes) {
      throw new RaError(
        GrmCode.BITSTREAM_QUOTA,
        `tenant ${tenant} holds ${owned.length} bitstreams of ${usedBytes} bytes; the limit is ${limits.perTenantCount} bitstreams and ${limits.perTenantBytes} bytes: remove one first`,
        { count: owned.length, bytes: usedBytes },
      );
    }
  }
  const entry = ctx.catalog.register(upload, operator ? {} : { owner: tenant });
  ctx.pool.catalogChanged();
  ctx.log.info({ bitstream: entry.id, tenant, published: entry.owner === undefined }, 'bitstream registered');
  return { id: entry.id };
}

/** An operator makes a tenant's bitstream usable by every tenant. */
export function publishBitstream(ctx: GrmContext, tenant: string, id: string): { id: string } {
  if (!ctx.options.operators?.has(tenant)) {
    throw new RaError(
      GrmCode.FORBIDDEN,
      `only operators may publish bitstreams; ${tenant} is not one (serve --operators)`,
    );
  }
  const entry = ctx.catalog.publish(ctx.catalog.get(id).id);
  ctx.log.info({ bitstream: entry.id, by: tenant }, 'bitstream published');
  return { id: entry.id };
}
