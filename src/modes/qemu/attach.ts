// Host side of an adapter's attachment to a VM: what QEMU needs from the device model's files.
// The model writes each adapter's identity into its register file (ra<i>.bar) before it serves the
// socket (ra-spec §3: MAGIC last), so the host reads the serial number and queue count there.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { Id, Reg } from '../../driver/regs.js';
import type { AdapterAttachment } from './command-line.js';
import type { PlacedAdapter } from './topology.js';

const IDENTITY_BYTES = 0x80;

export interface ModelFiles {
  socketPath: string;
  barPath: string;
  memoryPath: string;
}

/** The files ra-model serves adapter `index` from (ra-model --dir DIR). */
export function modelFiles(modelDir: string, index: number): ModelFiles {
  return {
    socketPath: path.join(modelDir, `ra${index}.sock`),
    barPath: path.join(modelDir, `ra${index}.bar`),
    memoryPath: path.join(modelDir, `ra${index}.mem`),
  };
}

/**
 * Reads adapter `a`'s identity from the model's register file and describes it for QEMU. The model
 * serves it as ra<modelIndex> (one model for the topology: `a.index`; one model per VM: `a.local`).
 */
export function attachAdapter(modelDir: string, a: PlacedAdapter, modelIndex = a.index): AdapterAttachment {
  const files = modelFiles(modelDir, modelIndex);
  const head = Buffer.alloc(IDENTITY_BYTES);
  const fd = openSync(files.barPath, 'r');
  try {
    readSync(fd, head, 0, IDENTITY_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (head.readUInt32LE(Reg.MAGIC) !== Id.MAGIC)
    throw new Error(`${files.barPath} has no RA magic: is ra-model serving ${modelDir}?`);
  return {
    local: a.local,
    socketPath: files.socketPath,
    memoryPath: files.memoryPath,
    memoryBytes: Number(head.readBigUInt64LE(Reg.CAP_MEM_BYTES)),
    vectors: 1 + head.readUInt32LE(Reg.CAP_QUEUES),
    serial: head.readBigUInt64LE(Reg.SERIAL),
  };
}
