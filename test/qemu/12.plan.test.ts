// A topology as launch plans: each VM gets the model's adapters in topology order, with the identity
// the model wrote into each register file (serial -> cxl-type3 sn, 1 + CAP_QUEUES -> MSI-X vectors).
// The register files here are written by the test at the offsets of ra-spec §3.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qemuArgs } from '../../src/modes/qemu/command-line.js';
import { planVms } from '../../src/modes/qemu/plan.js';
import { MiB, parseTopology } from '../../src/modes/qemu/topology.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A register file head as ra-model leaves it: MAGIC 0x000, SERIAL 0x010, CAP_MEM_BYTES 0x020, CAP_QUEUES 0x03C. */
function writeBar(
  index: number,
  serial: bigint,
  memoryBytes: number,
  queues: number,
  magic = 0x42464152,
  folder = dir,
): void {
  const head = Buffer.alloc(0x80);
  head.writeUInt32LE(magic, 0x000);
  head.writeBigUInt64LE(serial, 0x010);
  head.writeBigUInt64LE(BigInt(memoryBytes), 0x020);
  head.writeUInt32LE(queues, 0x03c);
  writeFileSync(path.join(folder, `ra${index}.bar`), head);
}

const guest = { kernel: '/k', initrd: '/i', modulesDir: '/m' };

describe('planVms', () => {
  it('hands each VM its adapters in model order, with identity from the register files', () => {
    for (let i = 0; i < 3; i++) writeBar(i, 0xab00n + BigInt(i), 512 * MiB, 4);
    const t = parseTopology({
      adapterMemoryBytes: 512 * MiB,
      queues: 4,
      vms: [
        { name: 'a', adapters: 2 },
        { name: 'b', adapters: 1, iommu: true },
      ],
    });
    const plans = planVms(t, { modelDir: dir, workDir: '/w', guest, scriptFor: (vm) => `/w/${vm}.sh` });
    expect(plans.map((p) => p.vm.name)).toEqual(['a', 'b']);
    expect(plans[1]!.adapters).toEqual([
      {
        local: 0,
        socketPath: path.join(dir, 'ra2.sock'),
        memoryPath: path.join(dir, 'ra2.mem'),
        memoryBytes: 512 * MiB,
        vectors: 5,
        serial: 0xab02n,
      },
    ]);
    expect(plans[0]!.adapters.map((a) => [a.local, a.serial])).toEqual([
      [0, 0xab00n],
      [1, 0xab01n],
    ]);
    expect(plans[1]).toMatchObject({ qmpSocket: '/w/b.qmp', sharedDir: '/w', script: '/w/b.sh' });
    expect(qemuArgs(plans[1]!).join(' ')).toContain(
      `mem-path=${path.join(dir, 'ra2.mem')},size=${512 * MiB}`,
    );
  });

  it('refuses a register file without the RA magic (no model serving the folder)', () => {
    writeBar(0, 1n, 256 * MiB, 2, 0);
    const t = parseTopology({ vms: [{ name: 'a', adapters: 1 }] });
    expect(() => planVms(t, { modelDir: dir, workDir: '/w', guest })).toThrow(/ra0\.bar has no RA magic/);
  });

  it("one model per VM (cluster): adapter j of each VM is ra<j> of that VM's model; the agent port is forwarded on 127.0.0.1 only", () => {
    const dirA = path.join(dir, 'model-a');
    const dirB = path.join(dir, 'model-b');
    for (const [d, serial] of [
      [dirA, 0xa0n],
      [dirB, 0xb0n],
    ] as const) {
      mkdirSync(d, { recursive: true });
      writeBar(0, serial, 256 * MiB, 2, 0x42464152, d);
    }
    const t = parseTopology({
      vms: [
        { name: 'a', adapters: 1 },
        { name: 'b', adapters: 1 },
      ],
    });
    const plans = planVms(t, {
      modelDirOf: (vm) => (vm === 'a' ? dirA : dirB),
      workDir: '/w',
      guest,
      agentForwardFor: (vm) => ({ hostPort: vm === 'a' ? 40001 : 40002, guestPort: 7480 }),
    });
    expect(plans.map((p) => [p.vm.name, p.adapters[0]!.serial, p.adapters[0]!.socketPath])).toEqual([
      ['a', 0xa0n, path.join(dirA, 'ra0.sock')],
      ['b', 0xb0n, path.join(dirB, 'ra0.sock')],
    ]);
    const args = qemuArgs(plans[1]!);
    const netdev = args[args.indexOf('-netdev') + 1];
    expect(netdev).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40002-10.0.2.15:7480');
    expect(args).toContain('virtio-net-pci,netdev=net0,bus=pcie.0');
    // without a forward, no network device at all
    const plain = planVms(t, { modelDirOf: () => dirA, workDir: '/w', guest });
    expect(qemuArgs(plain[0]!)).not.toContain('-netdev');
  });

  it('refuses a plan with neither modelDir nor modelDirOf', () => {
    const t = parseTopology({ vms: [{ name: 'a', adapters: 1 }] });
    expect(() => planVms(t, { workDir: '/w', guest })).toThrow(/give modelDir .* or modelDirOf/);
  });
});
