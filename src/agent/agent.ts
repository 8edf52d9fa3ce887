// The per-server agent: owns this server's adapters through the driver and executes what the GRM
// decided (program, release, resize slices; load bitstreams; run jobs; move data). It makes no
// placement decision of its own: every slice it programs was named by the GRM.

import type { Catalog } from '../bitstream/catalog.js';
import { loadBitstream } from '../bitstream/loader.js';
import { AgentCode, DriverCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';
import { isSlotFunction } from '../common/functions.js';
import { adapterId } from '../common/ids.js';
import { ownerKeyHex } from '../common/owner-key.js';
import { DEFAULT_ZONE } from '../common/schema/model.js';
import { Adapter } from '../driver/adapter.js';
import { copyInPieces } from '../driver/copy.js';
import { DmaController } from '../driver/dma.js';
import { functionIds, functionNames } from '../driver/functions.js';
import { HEARTBEAT_HUNG_MS } from '../driver/heartbeat.js';
import { HostBuffer } from '../driver/hostmem.js';
import { jobBufferBytes, runJob } from '../driver/jobs.js';
import { type SliceKindName, Slices } from '../driver/slices.js';
import { Slots } from '../driver/slots.js';
import { TenantWindows } from '../driver/tenants.js';
import { intParam, jobParams, ownerKeyParam } from './params.js';
import type { Handler } from './protocol.js';

export interface AgentSlot {
  index: number;
  state: string;
  function?: string;
  image?: string;
  /** SLOT_IMAGE_HASH (ra-spec §9): which image the engine runs. */
  imageHash?: string;
  contexts: number;
  contextsUsed: number;
}

export interface AgentSlice {
  entry: number;
  kind: string;
  state: string;
  base: number;
  length: number;
  slot?: number;
  ownerKey: string;
  bytesMoved: number;
  busyNs: number;
  jobs: number;
  lastActiveNs: number;
}

export interface AgentAdapter {
  id: string;
  uri: string;
  server: string;
  fabricId: number;
  health: 'healthy' | 'degraded' | 'unhealthy';
  memoryBytes: number;
  memoryAlignBytes: number;
  computeUnits: number;
  slotCount: number;
  contextsPerEngine: number;
  sliceEntries: number;
  functionsSupported: string[];
  /** Fabric zone of this server (agent --zone; DEFAULT_ZONE when not given). */
  zone?: string;
  /** Device model: DEVICE_ID (ra-spec §3) as "ra-0x<hex>". */
  model?: string;
  /** Firmware: the register file's SPEC_VERSION (ra-spec §3). */
  firmware?: string;
  clockNs: number;
  slots: AgentSlot[];
  slices: AgentSlice[];
}

/** A tenant window open on an adapter (listWindows); absent fields are unknown. */
export interface WindowState {
  window: number;
  queue: number;
  ownerKey?: string;
  path?: string;
  memoryPath?: string;
}

interface Owned {
  adapter: Adapter;
  dma: DmaController;
  id: string;
}

const hexKey = ownerKeyHex;

export class Agent {
  private readonly owned = new Map<string, Owned>();

  private constructor(
    readonly server: string,
    private readonly catalog: Catalog,
    readonly zone: string,
  ) {}

  /** Opens every adapter URI of this server. Adapter ids are `<server>/ra<fabric port>`. */
  static open(
    server: string,
    uris: readonly string[],
    catalog: Catalog,
    options: { zone?: string } = {},
  ): Agent {
    const agent = new Agent(server, catalog, options.zone ?? DEFAULT_ZONE);
    try {
      for (const uri of uris) {
        const adapter = Adapter.open(uri);
        const id = adapterId(server, adapter.identity.fabricId);
        try {
          agent.owned.set(id, { adapter, dma: new DmaController(adapter), id });
        } catch (err) {
          adapter.close();
          throw err;
        }
      }
    } catch (err) {
      agent.close(); // what was opened before the failure
      throw err;
    }
    return agent;
  }

  get adapterIds(): string[] {
    return [...this.owned.keys()];
  }

  /** An open adapter and its DMA queue, for handlers a mode adds beside these (src/modes/qemu). */
  opened(id: string): { adapter: Adapter; dma: DmaController } | undefined {
    const o = this.owned.get(id);
    return o ? { adapter: o.adapter, dma: o.dma } : undefined;
  }

  private get(params: Record<string, unknown>): Owned {
    const id = params.adapter;
    const o = typeof id === 'string' ? this.owned.get(id) : undefined;
    if (!o)
      throw new RaError(AgentCode.UNKNOWN_ADAPTER, `adapter ${String(id)} is not on server ${this.server}`);
    return o;
  }

  /** What the GRM plans against: capacities, slot table and slice table read from the registers. */
  inventory(): AgentAdapter[] {
    return [...this.owned.values()].map(({ adapter, id }) => {
      const unhealthy = adapter.isClosed || adapter.waiter.gone !== undefined;
      const status = unhealthy ? undefined : adapter.status();
      // A stopped or hung adapter still answers register reads (its file stays mapped): only a
      // heartbeat that stopped moving tells (ra-spec §17.7; bound in src/driver/heartbeat.ts).
      const hung = status !== undefined && status.heartbeatAgeMs > HEARTBEAT_HUNG_MS;
      const health = !status || status.halted || status.fatal || hung ? 'unhealthy' : 'healthy';
      const ident = adapter.identity;
      const base = {
        id,
        uri: adapter.uri,
        server: this.server,
        fabricId: ident.fabricId,
        health,
        memoryBytes: ident.memoryBytes,
        memoryAlignBytes: ident.memoryAlignBytes,
        computeUnits: ident.computeUnits,
        slotCount: ident.slots,
        contextsPerEngine: ident.contextsPerEngine,
        sliceEntries: ident.slices,
        functionsSupported: functionNames.filter(
          (f) => isSlotFunction(f) && (ident.functions & (1 << functionIds[f])) !== 0,
        ),
        zone: this.zone,
        model: `ra-0x${ident.deviceId.toString(16)}`,
        firmware: ident.specVersion,
        clockNs: status?.clockNs ?? 0,
      } as const;
      if (health === 'unhealthy') return { ...base, slots: [], slices: [] };
      return {
        ...base,
        slots: new Slots(adapter).list().map((s) => ({
          index: s.index,
          state: s.state,
          ...(s.function ? { function: s.function } : {}),
          ...(s.imageName ? { image: s.imageName } : {}),
          ...(s.state !== 'empty' ? { imageHash: s.imageHash } : {}),
          contexts: s.contexts,
          contextsUsed: s.contextsUsed,
        })),
        slices: new Slices(adapter).inUse().map((s) => ({
          entry: s.entry,
          kind: s.kind,
          state: s.state,
          base: s.base,
          length: s.length,
          ...(s.slot !== undefined ? { slot: s.slot } : {}),
          ownerKey: hexKey(s.ownerKey),
          bytesMoved: s.bytesMoved,
          busyNs: s.busyNs,
          jobs: s.jobs,
          lastActiveNs: s.lastActiveNs,
        })),
      };
    });
  }

  async program(p: Record<string, unknown>): Promise<void> {
    const { adapter } = this.get(p);
    const kind = p.kind as SliceKindName;
    if (!['memory', 'compute', 'context'].includes(kind))
      throw new RaError(AgentCode.INVALID_PARAMS, `unknown slice kind ${String(kind)}`);
    const placement = {
      kind,
      ownerKey: ownerKeyParam(p),
      base: intParam(p, 'base'),
      length: intParam(p, 'length'),
      ...(kind === 'context' ? { slot: intParam(p, 'slot') } : {}),
    };
    await new Slices(adapter).program(placement, intParam(p, 'entry'));
  }

  async release(p: Record<string, unknown>): Promise<void> {
    const { adapter } = this.get(p);
    await new Slices(adapter).release(intParam(p, 'entry'), ownerKeyParam(p));
  }

  async resize(p: Record<string, unknown>): Promise<void> {
    const { adapter } = this.get(p);
    await new Slices(adapter).resize(intParam(p, 'entry'), ownerKeyParam(p), intParam(p, 'length'));
  }

  /**
   * Opens a tenant window (ra-spec §18) onto slices that carry `ownerKey`: the instance's direct
   * path. Returns the window file and the prefix of its memory slices' grant files (§18.7).
   */
  async openWindow(
    p: Record<string, unknown>,
  ): Promise<{ window: number; queue: number; path: string; memoryPath?: string }> {
    const { adapter } = this.get(p);
    if (!Array.isArray(p.slices))
      throw new RaError(AgentCode.INVALID_PARAMS, 'slices must be a list of {port, slice}');
    const grants = p.slices.map((g: unknown) => {
      const o = (typeof g === 'object' && g !== null ? g : {}) as Record<string, unknown>;
      return { port: intParam(o, 'port'), slice: intParam(o, 'slice') };
    });
    const { memoryPrefix, ...opened } = await new TenantWindows(adapter).open(ownerKeyParam(p), grants);
    // memoryPath: the prefix of the window's grant files; slice s is `${memoryPath}${s}` (ra-spec §18.7)
    return { ...opened, memoryPath: memoryPrefix };
  }

  /** Closes (revokes) a tenant window: nothing submitted through it afterwards reaches a slice. */
  async closeWindow(p: Record<string, unknown>): Promise<void> {
    const { adapter } = this.get(p);
    await new TenantWindows(adapter).close(intParam(p, 'window'), ownerKeyParam(p));
  }

  /**
   * The adapter's open tenant windows with the keys they were opened with and their files: a GRM
   * finds the windows its stored grants name, and closes those no allocation holds (docs/access.md).
   */
  listWindows(p: Record<string, unknown>): { windows: WindowState[] } {
    const { adapter } = this.get(p);
    const windows = new TenantWindows(adapter).list().map((w) => {
      return {
        window: w.window,
        queue: w.queue,
        ...(w.ownerKey !== 0n ? { ownerKey: hexKey(w.ownerKey) } : {}),
        // memoryPath: the prefix of the window's grant files, as openWindow answers it (ra-spec §18.7)
        ...(w.path ? { path: w.path, memoryPath: `${w.path}.m` } : {}),
      };
    });
    return { windows };
  }

  /** Loads a catalog bitstream (by id, or the newest for a function) into a slot. */
  async load(p: Record<string, unknown>): Promise<void> {
    const { adapter } = this.get(p);
    const slot = intParam(p, 'slot');
    const entry =
      typeof p.bitstream === 'string'
        ? this.catalog.get(p.bitstream)
        : typeof p.function === 'string'
          ? this.catalog.findByFunction(p.function, adapter.identity)[0]
          : undefined;
    if (!entry)
      throw new RaError(
        AgentCode.NO_BITSTREAM,
        `no catalog bitstream for ${String(p.bitstream ?? p.function)}`,
      );
    await loadBitstream(adapter, slot, entry, {
      trust: this.catalog.trust,
      policy: this.catalog.policy,
      force: p.force === true,
    });
  }

  /**
   * Runs one job: the engine slice and a scratch memory slice (both programmed by the GRM with the
   * allocation's owner key) on the same adapter; input in and output out through a host buffer.
   */
  async runJob(p: Record<string, unknown>): Promise<{ output: string }> {
    const { adapter, dma } = this.get(p);
    // Every parameter is checked before anything changes on the adapter.
    const { fn, input, key, params, ownerKey, engineEntry, memoryEntry } = jobParams(p);
    const memorySliceBytes = intParam(p, 'memoryBytes');
    // The scratch slice may sit on another adapter of this server: the engine reaches it over the fabric.
    const memoryPort =
      typeof p.memoryAdapter === 'string'
        ? this.get({ adapter: p.memoryAdapter }).adapter.identity.fabricId
        : adapter.identity.fabricId;
    const host = await HostBuffer.create(adapter, jobBufferBytes(fn, input.length, params));
    try {
      const output = await runJob(dma, memoryPort, host, {
        fn,
        engineEntry,
        memoryEntry,
        memorySliceBytes,
        ownerKey,
        input,
        ...(params ? { params } : {}),
        ...(key ? { key } : {}),
      });
      return { output: output.toString('base64') };
    } finally {
      await host.close();
    }
  }

  /**
   * DMA between two memory slices (migration keeps contents), executed by the source adapter of this
   * server in pieces of at most its CAP_MAX_TRANSFER (ra-spec §3). The destination is an adapter of
   * this server (`dstAdapter`) or, over a fabric shared by several servers' models, any adapter of
   * the fabric by its port (`dstFabricPort`, ra-spec §8.9): the bytes move adapter to adapter.
   */
  async copy(p: Record<string, unknown>): Promise<void> {
    const src = this.get({ adapter: p.srcAdapter });
    const ident = src.adapter.identity;
    const dstPort = this.destinationPort(p, ident.fabricPorts);
    await copyInPieces(src.dma, ident.maxTransferBytes, ident.ringDepth, {
      op: 'copy',
      ownerKey: ownerKeyParam(p),
      src: { adapter: src.adapter.identity.fabricId, slice: intParam(p, 'srcEntry') },
      srcOffset: intParam(p, 'srcOffset'),
      dst: { adapter: dstPort, slice: intParam(p, 'dstEntry') },
      dstOffset: intParam(p, 'dstOffset'),
      bytes: intParam(p, 'bytes'),
    });
  }

  /** Fabric port of a copy's destination: `dstFabricPort` if given, else that of local `dstAdapter`. */
  private destinationPort(p: Record<string, unknown>, fabricPorts: number): number {
    if (p.dstFabricPort === undefined) return this.get({ adapter: p.dstAdapter }).adapter.identity.fabricId;
    const port = intParam(p, 'dstFabricPort');
    if (port >= fabricPorts)
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `dstFabricPort ${port} is not a port of this fabric (ports 0..${fabricPorts - 1}, ra-spec §8.9)`,
      );
    return port;
  }

  handlers(): Record<string, Handler> {
    return {
      inventory: async () => ({ server: this.server, adapters: this.inventory() }),
      program: (p) => this.program(p),
      release: (p) => this.release(p),
      resize: (p) => this.resize(p),
      load: (p) => this.load(p),
      runJob: (p) => this.runJob(p),
      copy: (p) => this.copy(p),
      openWindow: (p) => this.openWindow(p),
      closeWindow: (p) => this.closeWindow(p),
      listWindows: async (p) => this.listWindows(p),
    };
  }

  close(): void {
    for (const o of this.owned.values()) {
      o.dma.close();
      o.adapter.close();
    }
    this.owned.clear();
  }
}
