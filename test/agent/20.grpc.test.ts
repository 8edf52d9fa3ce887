// The agent protocol over the network: a real `rafabric agent` process on 127.0.0.1, a GRM-side
// client over mutual TLS. Every device effect is checked in the adapters' registers, read through
// the driver by the test itself, never from the agent's own answers.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentAdapter } from '../../src/agent/agent.js';
import { RemoteAgentClient, type WatchEvent } from '../../src/agent/rpc/client.js';
import { packageDefinition, SERVICE_NAME } from '../../src/agent/rpc/schema.js';
import { serveAgentRpc } from '../../src/agent/rpc/server.js';
import { readTls } from '../../src/agent/rpc/tls.js';
import { RaError } from '../../src/driver/errors.js';
import { Slices } from '../../src/driver/slices.js';
import { Slots } from '../../src/driver/slots.js';
import { Prng } from '../helpers/prng.js';
import {
  type AgentProcess,
  cli,
  MiB,
  remoteClient,
  slicesOf,
  startAgent,
  stopModel,
  withAdapter,
} from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'grpc-'));
const certs = path.join(work, 'certs');
const foreign = path.join(work, 'foreign');
const prng = new Prng(0x5eed_0010);
const ownerKey = () =>
  Array.from({ length: 16 }, () => prng.int(0, 15).toString(16))
    .join('')
    .replace(/^0/, '1');

async function failure(p: Promise<unknown>): Promise<RaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RaError);
  return err as RaError;
}

describe('agent over gRPC with mutual TLS', () => {
  let agent: AgentProcess;
  let client: RemoteAgentClient;

  beforeAll(async () => {
    expect(cli(['certs', '--dir', certs, '--agents', 'server1,server2']).status).toBe(0);
    expect(cli(['certs', '--dir', foreign, '--agents', 'server1']).status).toBe(0);
    agent = await startAgent({ server: 'server1', certs, stateDir: path.join(work, 'server1') });
    client = remoteClient(certs, agent);
  });
  afterAll(async () => {
    client?.close();
    const code = await agent?.stop();
    stopModel(path.join(work, 'server1'));
    rmSync(work, { recursive: true, force: true });
    expect(code).toBe(0); // SIGTERM stops the agent cleanly
  });

  it('shakes hands: both protocol versions, the server name, the agent instance', async () => {
    const hello = await client.handshake();
    expect(hello).toMatchObject({ protocolVersion: '2.1', server: 'server1', adapters: 2 });
    expect(hello.instance).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports an inventory equal to what the adapters registers say', async () => {
    const inv = await client.call<{ server: string; adapters: AgentAdapter[] }>('inventory');
    expect(inv.server).toBe('server1');
    expect(inv.adapters).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      withAdapter(agent.uri(i), (a) => {
        const got = inv.adapters.find((x) => x.fabricId === a.identity.fabricId)!;
        expect(got.id).toBe(`server1/ra${a.identity.fabricId}`);
        expect(got.health).toBe('healthy');
        expect(got.memoryBytes).toBe(a.identity.memoryBytes);
        expect(got.memoryBytes).toBe(64 * MiB);
        expect(got.computeUnits).toBe(a.identity.computeUnits);
        expect(got.slotCount).toBe(a.identity.slots);
        expect(got.sliceEntries).toBe(a.identity.slices);
        // The attributes selectors read cross the wire (agent.proto fields 16-18).
        expect(got.zone).toBe('default');
        expect(got.model).toBe(`ra-0x${a.identity.deviceId.toString(16)}`);
        expect(got.firmware).toBe(a.identity.specVersion);
        expect(got.slots.map((s) => [s.index, s.state, s.contexts])).toEqual(
          new Slots(a).list().map((s) => [s.index, s.state, s.contexts]),
        );
        expect(got.slices).toEqual([]);
        expect(new Slices(a).inUse()).toEqual([]);
      });
    }
  });

  it('programs and releases a slice through the network, as the registers show', async () => {
    const inv = await client.call<{ adapters: AgentAdapter[] }>('inventory');
    const target = inv.adapters[1]!;
    const key = ownerKey();
    const lengthBytes = 4 * MiB;
    const baseBytes = 8 * MiB;
    await client.call('program', {
      adapter: target.id,
      entry: 0, // entry 0 and base 0 must survive the wire as values, not as "absent"
      kind: 'memory',
      ownerKey: key,
      base: baseBytes,
      length: lengthBytes,
    });
    const uri = agent.uri(target.fabricId);
    expect(
      slicesOf(uri).map((s) => [
        s.entry,
        s.kind,
        s.base,
        s.length,
        s.ownerKey.toString(16).padStart(16, '0'),
      ]),
    ).toEqual([[0, 'memory', baseBytes, lengthBytes, key]]);
    // The inventory's slice table is the registers' slice table.
    const after = (await client.call<{ adapters: AgentAdapter[] }>('inventory')).adapters.find(
      (a) => a.id === target.id,
    )!;
    expect(after.slices).toEqual(
      slicesOf(uri).map((s) => ({
        entry: s.entry,
        kind: s.kind,
        state: s.state,
        base: s.base,
        length: s.length,
        ownerKey: s.ownerKey.toString(16).padStart(16, '0'),
        bytesMoved: s.bytesMoved,
        busyNs: s.busyNs,
        jobs: s.jobs,
        lastActiveNs: s.lastActiveNs,
      })),
    );
    // The agent's refusals come back with the adapter's own code, and change nothing.
    const overlap = await failure(
      client.call('program', {
        adapter: target.id,
        entry: 1,
        kind: 'memory',
        ownerKey: key,
        base: baseBytes,
        length: lengthBytes,
      }),
    );
    expect(overlap.code).toBe('OVERLAP');
    const wrongKey = await failure(
      client.call('release', { adapter: target.id, entry: 0, ownerKey: ownerKey() }),
    );
    expect(wrongKey.code).toBe('OWNER_KEY');
    expect(slicesOf(uri)).toHaveLength(1);
    await client.call('release', { adapter: target.id, entry: 0, ownerKey: key });
    expect(slicesOf(uri)).toEqual([]);
  });

  it('streams a snapshot, then only the adapter that changed after a program', async () => {
    const events: WatchEvent[] = [];
    const errors: RaError[] = [];
    const watch = client.watch((e) => events.push(e), { intervalMs: 50, onError: (e) => errors.push(e) });
    try {
      await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(events[0]).toMatchObject({ sequence: 1, snapshot: true });
      expect(events[0]!.adapters.map((a) => a.id).sort()).toEqual(['server1/ra0', 'server1/ra1']);
      // Quiet adapters send nothing (their clocks move, their state does not).
      await new Promise((r) => setTimeout(r, 300));
      expect(events).toHaveLength(1);
      const key = ownerKey();
      await client.call('program', {
        adapter: 'server1/ra0',
        entry: 3,
        kind: 'compute',
        ownerKey: key,
        base: 0,
        length: 2,
      });
      // program is two commands (reserve, then activate: ra-spec §5), and the agent samples its
      // registers between them when the second is slow to complete (under load): the stream may show
      // the slice 'reserved' before 'active'. What it promises is that it ends at the registers' state
      // and names only the adapter that changed.
      const latestRa0 = () => events.at(-1)!.adapters.find((a) => a.id === 'server1/ra0');
      await expect
        .poll(() => (events.length > 1 ? latestRa0()?.slices : undefined), { timeout: 5000 })
        .toMatchObject([{ entry: 3, kind: 'compute', state: 'active', base: 0, length: 2, ownerKey: key }]);
      const programmed = events.length;
      await client.call('release', { adapter: 'server1/ra0', entry: 3, ownerKey: key });
      await expect
        .poll(() => (events.length > programmed ? latestRa0()?.slices : undefined), { timeout: 5000 })
        .toEqual([]);
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      for (const e of events.slice(1)) {
        expect(e.snapshot).toBe(false);
        expect(e.adapters.map((a) => a.id)).toEqual(['server1/ra0']);
      }
      expect(errors).toEqual([]);
    } finally {
      watch.close();
    }
  });

  it('refuses bad parameters with a clear error before anything is sent or changed', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['program', { adapter: 'server1/ra0', entry: 'abc' }, /program: entry must be an integer/],
      ['program', { adapter: 'server1/ra0', entry: -1 }, /entry must be an integer 0\.\.4294967295/],
      ['program', { adapter: 'server1/ra0', base: 2 ** 53 }, /base must be a non-negative safe integer/],
      ['program', { adapter: 7 }, /adapter must be a string/],
      ['program', { adapter: 'server1/ra0', colour: 'red' }, /unknown parameter 'colour'/],
      ['load', { adapter: 'server1/ra0', slot: 0, force: 'yes' }, /force must be true or false/],
      ['runJob', { adapter: 'server1/ra0', input: '***' }, /input must be base64/],
    ];
    for (const [method, params, message] of cases) {
      const err = await failure(client.call(method, params));
      expect(err.code).toBe('AGENT_INVALID_PARAMS');
      expect(err.message).toMatch(message);
    }
    expect((await failure(client.call('format', {}))).code).toBe('AGENT_PROTOCOL');
    // What reaches the agent is validated there: a missing owner key is absent, not "" or 0.
    const missing = await failure(
      client.call('program', { adapter: 'server1/ra0', entry: 0, kind: 'memory', base: 0, length: MiB }),
    );
    expect(missing).toMatchObject({
      code: 'AGENT_INVALID_PARAMS',
      message: 'ownerKey must be 16 hex digits',
    });
    const unknownAdapter = await failure(
      client.call('release', { adapter: 'server9/ra0', entry: 0, ownerKey: ownerKey() }),
    );
    expect(unknownAdapter.code).toBe('AGENT_UNKNOWN_ADAPTER');
    expect(slicesOf(agent.uri(0))).toEqual([]);
  });

  it('refuses oversized fields and bad Watch intervals on the agent side', async () => {
    // Bypass the client's own checks to see the agent's.
    const raw = client as unknown as {
      unary(rpc: string, m: string, req: object, ms: number): Promise<unknown>;
    };
    const long = await failure(
      raw.unary('Release', 'release', { adapter: 'x'.repeat(5000), entry: 0 }, 5000),
    );
    expect(long).toMatchObject({ code: 'AGENT_INVALID_PARAMS' });
    expect(long.message).toMatch(/adapter is over 1024 characters/);
    const errors: RaError[] = [];
    const watch = client.watch(() => undefined, {
      intervalMs: 5,
      onError: (e) => errors.push(e),
      retryMs: 60_000,
    });
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    watch.close();
    expect(errors[0]).toMatchObject({ code: 'AGENT_INVALID_PARAMS' });
    expect(errors[0]!.message).toMatch(/intervalMs must be 20\.\.60000/);
  });

  it('an agent refuses a GRM of another major version, naming both versions', async () => {
    const future = remoteClient(certs, agent, { protocolVersion: '3.0' });
    try {
      const err = await failure(future.call('inventory'));
      expect(err.code).toBe('AGENT_VERSION_MISMATCH');
      expect(err.message).toMatch(
        /agent server1 speaks protocol 2\.1, GRM grm speaks 3\.0: major versions differ/,
      );
    } finally {
      future.close();
    }
    // A newer minor version of the same major is welcome.
    const minor = remoteClient(certs, agent, { protocolVersion: '2.7' });
    expect((await minor.handshake()).protocolVersion).toBe('2.1');
    minor.close();
  });

  it('an agent refuses a call that carries no protocol version (a GRM that skipped Hello)', async () => {
    const tls = readTls(certs, 'grm');
    const raw = new grpc.Client(agent.address, grpc.credentials.createSsl(tls.ca, tls.key, tls.cert), {
      'grpc.ssl_target_name_override': 'server1',
    });
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        raw.makeUnaryRequest(
          '/rafabric.agent.v2.Agent/Inventory',
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          (e) => resolve(e!),
        ),
      );
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toMatch(/call without a protocol version; call Hello first/);
      expect(err.metadata.get('rafabric-code')).toEqual(['AGENT_VERSION_MISMATCH']);
    } finally {
      raw.close();
    }
  });

  it('a GRM and an agent of different major versions do not talk; the error names both', async () => {
    const stub = {
      server: 'server2',
      adapterIds: [],
      handlers: () => ({}),
      inventory: () => [],
    } as unknown as Agent;
    const future = await serveAgentRpc(stub, {
      host: '127.0.0.1',
      port: 0,
      tls: readTls(certs, 'server2'),
      protocolVersion: '3.3',
    });
    const grm = remoteClient(certs, { server: 'server2', address: `127.0.0.1:${future.port}` });
    try {
      const err = await failure(grm.call('inventory'));
      expect(err.code).toBe('AGENT_VERSION_MISMATCH');
      expect(err.message).toMatch(
        /agent server2 speaks protocol 3\.3, GRM grm speaks 2\.1: major versions differ/,
      );
    } finally {
      grm.close();
      await future.close();
    }
  });

  /** A bare gRPC server answering Hello with `reply` and checking nothing: refusals are the GRM's own. */
  async function helloStub(reply: object): Promise<{ port: number; stop(): void }> {
    const server = new grpc.Server();
    const service = packageDefinition[SERVICE_NAME] as unknown as grpc.ServiceDefinition;
    server.addService(service, {
      Hello: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, reply),
    });
    const tls = readTls(certs, 'server2');
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true),
        (e, p) => (e ? reject(e) : resolve(p)),
      ),
    );
    return { port, stop: () => server.forceShutdown() };
  }

  it.each([
    [
      'an agent of another major version, even when the agent would talk',
      { protocolVersion: '3.0', server: 'server2', instance: 'x', adapters: 0 },
      'AGENT_VERSION_MISMATCH',
      /GRM speaks protocol 2\.1, agent server2 at 127\.0\.0\.1:\d+ speaks 3\.0: major versions differ/,
    ],
    [
      'an agent that says it serves another server',
      { protocolVersion: '2.0', server: 'server9', instance: 'x', adapters: 0 },
      'AGENT_MISMATCH',
      /agent at 127\.0\.0\.1:\d+ owns server 'server9', not 'server2'/,
    ],
  ])('a GRM refuses %s', async (_what, reply, code, message) => {
    const stub = await helloStub(reply);
    const grm = remoteClient(certs, { server: 'server2', address: `127.0.0.1:${stub.port}` });
    try {
      const err = await failure(grm.call('inventory'));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    } finally {
      grm.close();
      stub.stop();
    }
  });

  it('serves at most 16 Watch streams at once and says so to the 17th', async () => {
    const errors: RaError[] = [];
    let snapshots = 0;
    const opened = Array.from({ length: 16 }, () =>
      client.watch(
        () => {
          snapshots++;
        },
        { intervalMs: 60_000 },
      ),
    );
    // Each of the 16 has its snapshot (so it is open on the agent) before the 17th asks.
    await expect.poll(() => snapshots, { timeout: 10_000 }).toBe(16);
    const extra = client.watch(() => undefined, {
      intervalMs: 60_000,
      onError: (e) => errors.push(e),
      retryMs: 60_000,
    });
    try {
      await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
      expect(errors[0]).toMatchObject({ code: 'AGENT_BUSY' });
      expect(errors[0]!.message).toMatch(/already serves 16 Watch streams; close one/);
    } finally {
      extra.close();
      for (const w of opened) w.close();
    }
  });

  it('refuses peers whose certificates come from another cluster CA, in both directions', async () => {
    // The GRM trusts another CA: it refuses the agent's certificate.
    const trustsOther = remoteClient(foreign, agent, { identity: 'server1' });
    // The GRM trusts the right CA but presents a certificate of another CA: the agent refuses it.
    const own = readTls(certs, 'grm');
    const strange = readTls(foreign, 'server1');
    const presentsOther = new RemoteAgentClient({
      server: 'server1',
      address: agent.address,
      tls: { ca: own.ca, cert: strange.cert, key: strange.key },
    });
    // The agent at this address is server1, not the server2 the GRM expects there.
    const wrongName = remoteClient(certs, { server: 'server2', address: agent.address });
    try {
      const [untrusted, refused, misnamed] = await Promise.all(
        [trustsOther, presentsOther, wrongName].map((c) => failure(c.call('inventory'))),
      );
      for (const err of [untrusted!, refused!]) {
        expect(err.code).toBe('AGENT_UNREACHABLE');
        expect(err.message).toMatch(/is unreachable during hello .*refused the TLS handshake/);
      }
      expect(untrusted!.message).toMatch(/self-signed certificate in certificate chain/);
      // Another server answers at that address: a misconfiguration (cluster mode stops its start on it).
      expect(misnamed!.code).toBe('AGENT_MISMATCH');
      expect(misnamed!.message).toMatch(/presents the certificate of DNS:server1, not of server2/);
    } finally {
      for (const c of [trustsOther, presentsOther, wrongName]) c.close();
    }
    // The agent still serves its own cluster.
    expect((await client.call<{ adapters: unknown[] }>('inventory')).adapters).toHaveLength(2);
  });
});
