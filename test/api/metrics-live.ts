// What the live /metrics tests share: a real embedded GRM behind a server, a parser of the Prometheus
// text format (written here, so the tests read the output as a scraper would, not through prom-client),
// and a register reader that opens the adapters through the driver without asking the GRM.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { Adapter } from '../../src/driver/adapter.js';
import { type SliceInfo, Slices } from '../../src/driver/slices.js';
import { type SlotInfo, Slots } from '../../src/driver/slots.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';
import { MiB, quietLog } from '../grm/helpers.js';

export const TOKENS = { alice: 'alice-metrics-token', bob: 'bob-metrics-token' } as const;
export type Tenant = keyof typeof TOKENS;

export interface LivePool {
  pool: Embedded;
  app: FastifyInstance;
  adapters: number;
  call(tenant: Tenant, method: string, url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** GET /metrics, parsed. */
  scrape(): Promise<Samples>;
  /** The raw text of GET /metrics. */
  scrapeText(): Promise<string>;
}

/** beforeAll: an embedded pool of `adapters` adapters and a server on it; afterAll: both stopped. */
export function useLivePool(adapters = 2): LivePool {
  const live = { adapters } as LivePool;
  let stateDir = '';
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'api-metrics-'));
    live.pool = await startEmbedded({
      adapters,
      memoryBytes: 256 * MiB,
      stateDir,
      log: quietLog,
      reallocateEveryMs: 3_600_000,
    });
    live.app = createApiServer(live.pool.grm, {
      tokens: new Map(Object.entries(TOKENS).map(([tenant, token]) => [token, tenant])),
      logger: false,
    });
    live.call = (tenant, method, url, body) =>
      live.app.inject({
        method: method as 'GET',
        url,
        headers: {
          authorization: `Bearer ${TOKENS[tenant]}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    live.scrapeText = async () => {
      const res = await live.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      return res.body;
    };
    live.scrape = async () => parseMetrics(await live.scrapeText());
  });
  afterAll(async () => {
    await live.app?.close();
    await live.pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });
  return live;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Samples {
  constructor(
    readonly samples: readonly Sample[],
    /** metric family name -> its TYPE line's type. */
    readonly types: ReadonlyMap<string, string>,
  ) {}

  /** The sample with exactly these labels (undefined when absent). */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.entries(labels).sort();
    return this.samples.find(
      (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(want),
    )?.value;
  }

  /** The sample's value, 0 when the series does not exist yet (a counter not yet incremented). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.get(name, labels) ?? 0;
  }

  /** Every sample of `name` whose labels include `labels`. */
  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The Prometheus text format (version 0.0.4) as a scraper reads it. */
export function parseMetrics(text: string): Samples {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(labelPair)) labels[k!] = v!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return new Samples(samples, types);
}

export interface AdapterRegisters {
  /** The GRM's id for it: <server>/ra<fabric port>. */
  id: string;
  memoryBytes: number;
  computeUnits: number;
  sliceEntries: number;
  slots: SlotInfo[];
  slices: SliceInfo[];
}

/** Every adapter's identity, slot table and slices in use, read through the driver (ra-spec §3, §9, §10). */
export function readRegisters(live: LivePool): AdapterRegisters[] {
  const out: AdapterRegisters[] = [];
  for (let i = 0; i < live.adapters; i++) {
    const a = Adapter.open(`shm://${path.join(live.pool.modelDir, `ra${i}.sock`)}`);
    try {
      out.push({
        id: `${live.pool.agent.server}/ra${a.identity.fabricId}`,
        memoryBytes: a.identity.memoryBytes,
        computeUnits: a.identity.computeUnits,
        sliceEntries: a.identity.slices,
        slots: new Slots(a).list(),
        slices: new Slices(a).inUse(),
      });
    } finally {
      a.close();
    }
  }
  return out;
}

/** Opens adapter `index` through the driver for `fn` (fault injection), then closes it. */
export function withAdapter<T>(live: LivePool, index: number, fn: (a: Adapter) => T): T {
  const a = Adapter.open(`shm://${path.join(live.pool.modelDir, `ra${index}.sock`)}`);
  try {
    return fn(a);
  } finally {
    a.close();
  }
}
