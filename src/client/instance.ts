// An instance's direct access to its allocation (docs/access.md): the allocation as Grm.grants
// returns it (a grant on each placement) opened into tenant windows, one per adapter, and mapped
// memory slices. Nothing here talks to the GRM: data moves between this process and the adapters,
// and between adapters over the fabric (ra-spec §8.9), never through a server's CPU.
import type { AccessGrant, Allocation } from '../common/model.js';
import type { SliceRef } from './descriptors.js';
import { ClientCode, RaError } from './errors.js';
import { fetchGrants, type GrmEndpoint } from './http.js';
import { MappedSlice } from './memory.js';

/** Mappings start on a page (mmap's offset rule). */
const PAGE_BYTES = 4096;

import { type TenantCompletion, TenantWindow, type WindowOptions } from './window.js';

/** A granted slice: the adapter id (`<server>/ra<port>`) and its slice index there. */
export interface GrantedSlice {
  adapter: string;
  slice: number;
}

export class Instance {
  private readonly windows = new Map<string, TenantWindow>(); // by adapter id
  private readonly mapped = new Set<MappedSlice>();

  private constructor(
    readonly allocation: string,
    private readonly grants: ReadonlyMap<string, AccessGrant>,
  ) {}

  /** Opens every window the allocation's grants name. Fails with GRANT_INVALID when a placement has none. */
  static open(allocation: Allocation, opts: WindowOptions = {}): Instance {
    const grants = new Map<string, AccessGrant>();
    for (const r of allocation.resources)
      for (const p of r.placements) {
        if (!p.grant)
          throw new RaError(
            ClientCode.GRANT_INVALID,
            `allocation ${allocation.id}: placement ${p.adapter} slice ${p.slice} carries no grant; fetch the allocation with its grants (GET /v1/allocations/{id}/grants, Grm.grants)`,
          );
        grants.set(`${p.adapter}#${p.slice}`, p.grant);
      }
    const inst = new Instance(allocation.id, grants);
    try {
      for (const g of grants.values())
        if (!inst.windows.has(g.adapter)) inst.windows.set(g.adapter, TenantWindow.open(g.window, opts));
    } catch (err) {
      inst.close();
      throw err;
    }
    return inst;
  }

  /** Fetches the allocation's grants from the GRM over HTTP (its tenant's token) and opens them. */
  static async fetch(grm: GrmEndpoint, allocation: string, opts: WindowOptions = {}): Promise<Instance> {
    return Instance.open(await fetchGrants(grm, allocation), opts);
  }

  grant(s: GrantedSlice): AccessGrant {
    const g = this.grants.get(`${s.adapter}#${s.slice}`);
    if (!g)
      throw new RaError(
        ClientCode.NOT_GRANTED,
        `slice ${s.slice} of ${s.adapter} is not part of allocation ${this.allocation}`,
      );
    return g;
  }

  /** The slice as a descriptor names it. */
  ref(s: GrantedSlice): SliceRef {
    const g = this.grant(s);
    return { port: g.port, slice: g.slice };
  }

  /** The tenant window (queue) of an adapter of this allocation. */
  window(adapter: string): TenantWindow {
    const w = this.windows.get(adapter);
    if (!w)
      throw new RaError(ClientCode.NOT_GRANTED, `allocation ${this.allocation} has no slice on ${adapter}`);
    return w;
  }

  /**
   * Maps a memory slice for load/store (its grant file, ra-spec §18.7: nothing else of the adapter
   * memory, and nothing at all once the grant is revoked): the whole slice, or
   * `part` of it — a mapping holds at most 4 GiB, so a larger slice is mapped in parts. `part.offset`
   * is a multiple of the 4 KiB page.
   */
  map(s: GrantedSlice, part?: { offset: number; bytes: number }): MappedSlice {
    const g = this.grant(s);
    if (!g.memory)
      throw new RaError(
        ClientCode.NOT_GRANTED,
        `slice ${s.slice} of ${s.adapter} is not a memory slice mappable from here (embedded mode only)`,
      );
    const { offset = 0, bytes = g.memory.bytes - offset } = part ?? {};
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(bytes) ||
      offset < 0 ||
      offset % PAGE_BYTES !== 0 ||
      bytes <= 0 ||
      offset + bytes > g.memory.bytes
    )
      throw new RaError(
        ClientCode.GRANT_INVALID,
        `slice ${s.slice} of ${s.adapter}: part ${offset}+${bytes} is not inside its ${g.memory.bytes} bytes at a multiple of ${PAGE_BYTES}`,
      );
    const m = MappedSlice.map(g.memory.path, g.slice, g.memory.base + offset, bytes);
    this.mapped.add(m);
    return m;
  }

  /**
   * Copies between two granted memory slices, on one adapter or across the fabric (ra-spec §8.9): the
   * source adapter's DMA engine runs it.
   */
  copy(
    from: GrantedSlice & { offset: number },
    to: GrantedSlice & { offset: number },
    bytes: number,
  ): Promise<TenantCompletion> {
    return this.window(from.adapter).submit([
      {
        op: 'copy',
        src: this.ref(from),
        srcOffset: from.offset,
        dst: this.ref(to),
        dstOffset: to.offset,
        bytes,
      },
    ]);
  }

  /** Runs the engine of a granted context (or compute) slice on `bytes` at `src`, output at `dst`. */
  job(
    engine: GrantedSlice,
    src: GrantedSlice & { offset: number },
    dst: GrantedSlice & { offset: number },
    bytes: number,
    opts: { params?: Uint8Array; inlineKey?: boolean } = {},
  ): Promise<TenantCompletion> {
    return this.window(engine.adapter).submit([
      {
        op: 'job',
        ctxSlice: this.grant(engine).slice,
        src: this.ref(src),
        srcOffset: src.offset,
        dst: this.ref(dst),
        dstOffset: dst.offset,
        bytes,
        ...opts,
      },
    ]);
  }

  close(): void {
    for (const m of this.mapped) m.close();
    this.mapped.clear();
    for (const w of this.windows.values()) w.close();
    this.windows.clear();
  }
}
