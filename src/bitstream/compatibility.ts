// Can this adapter host this bitstream? Checked against the adapter's identity (ra-spec §3) in the
// order the adapter itself checks (§5.4 CMD_SLOT_LOAD 6-8), so a refusal here predicts its answer.

import { RaError } from '../common/errors.js';
import type { AdapterIdentity } from '../driver/adapter.js';
import { functionIds } from '../driver/functions.js';
import { Img } from '../driver/regs.js';
import { BitstreamCode } from './codes.js';
import { type Descriptor, payloadBytesOf, specMaxNumber, specNumber } from './descriptor.js';

/** What the checks need of an adapter; absent fields are not checked (catalog queries). */
export type TargetAdapter = Partial<
  Pick<
    AdapterIdentity,
    'uri' | 'specVersion' | 'slotBytes' | 'stagingBytes' | 'functions' | 'contextsPerEngine'
  >
>;

/** Every reason `d` cannot be loaded on `target` (empty when it can). */
export function compatibilityProblems(d: Descriptor, target: TargetAdapter): RaError[] {
  const where = target.uri ? `adapter ${target.uri}` : 'the adapter';
  const out: RaError[] = [];
  if (target.specVersion !== undefined) {
    const spec = specNumber(target.specVersion);
    const min = specNumber(d.compatibility.specMin)!;
    const max = specMaxNumber(d.compatibility.specMax)!;
    if (spec === undefined || spec < min || spec > max) {
      out.push(
        new RaError(
          BitstreamCode.SPEC,
          `bitstream ${d.id} runs on RA spec ${d.compatibility.specMin} to ${d.compatibility.specMax}; ${where} implements spec ${target.specVersion}: use an image built for it`,
        ),
      );
    }
  }
  if (target.functions !== undefined) {
    const id = functionIds[d.function];
    if (((target.functions >>> id) & 1) === 0) {
      out.push(
        new RaError(
          BitstreamCode.FUNCTION,
          `${where} cannot host function ${d.function} (CAP_FUNCTIONS 0x${target.functions.toString(16)} lacks bit ${id}): choose another adapter`,
        ),
      );
    }
  }
  if (target.contextsPerEngine !== undefined && d.interface.contexts > target.contextsPerEngine) {
    out.push(
      new RaError(
        BitstreamCode.CONTEXTS,
        `bitstream ${d.id} provides ${d.interface.contexts} contexts; ${where} allows at most ${target.contextsPerEngine} per engine (CAP_CONTEXTS)`,
      ),
    );
  }
  const payloadBytes = payloadBytesOf(d);
  if (target.slotBytes !== undefined && payloadBytes > target.slotBytes) {
    out.push(
      new RaError(
        BitstreamCode.TOO_BIG,
        `bitstream ${d.id} has a ${payloadBytes}-byte payload; the slots of ${where} take at most ${target.slotBytes} bytes (CAP_SLOT_BYTES)`,
      ),
    );
  }
  if (target.stagingBytes !== undefined && d.image.bytes > target.stagingBytes) {
    out.push(
      new RaError(
        BitstreamCode.TOO_BIG,
        `bitstream ${d.id} is ${d.image.bytes} bytes (header ${Img.HEADER_BYTES} + payload); the staging window of ${where} holds ${target.stagingBytes} bytes, and loading from memory slices is not supported yet`,
      ),
    );
  }
  return out;
}

/** Throws the first reason `d` cannot be loaded on `target`. */
export function assertCompatible(d: Descriptor, target: TargetAdapter): void {
  const [first] = compatibilityProblems(d, target);
  if (first) throw first;
}
