// The one status table, as the client sees it: every code keeps its code and message at its status;
// anything else is a generic 500 that names the request id, with the real error only in the log.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/api/errors.js';
import { BitstreamCode } from '../../src/bitstream/codes.js';
import { AgentCode, DriverCode, StoreCode } from '../../src/common/codes.js';
import { RaError } from '../../src/common/errors.js';
import { GrmCode } from '../../src/grm/types.js';
import { ALICE, expectError, harness } from './helpers.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

async function answerTo(err: unknown, options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  h.grm.failNext('list', err);
  return h.call(ALICE, 'GET', '/v1/allocations');
}

describe('status table', () => {
  const expected: [string, number][] = [
    [GrmCode.INVALID_REQUEST, 400],
    [GrmCode.UNAUTHORIZED, 401],
    [GrmCode.NOT_FOUND, 404],
    [GrmCode.RESOURCE_UNAVAILABLE, 409],
    [GrmCode.CONFLICT, 409],
    [GrmCode.PAYLOAD_TOO_LARGE, 413],
    [GrmCode.ADAPTER_FAILURE, 502],
    [GrmCode.QUOTA_EXCEEDED, 429],
    ...(['DESCRIPTOR', 'PATH', 'IMAGE', 'SIZE', 'HASH', 'HEADER', 'PIPELINE', 'TOO_BIG'] as const).map(
      (k): [string, number] => [BitstreamCode[k], 400],
    ),
    [BitstreamCode.UNSIGNED, 403],
    [BitstreamCode.UNKNOWN_KEY, 403],
    [BitstreamCode.BAD_SIGNATURE, 403],
    [BitstreamCode.EXISTS, 409],
    [BitstreamCode.SPEC, 409],
    [BitstreamCode.NOT_FOUND, 404],
    [DriverCode.TIMEOUT, 503],
    [DriverCode.ADAPTER_GONE, 503],
    [DriverCode.ADAPTER_HUNG, 503],
    ['SLOT_BUSY', 502],
  ];
  it.each(expected)('%s -> %i, with its message and details', async (code, status) => {
    expect(statusByCode.get(code)).toBe(status);
    const res = await answerTo(new RaError(code, `what went wrong: ${code}`, { hint: 1 }));
    expect(expectError(res, status, code)).toBe(`what went wrong: ${code}`);
    expect(res.json()).toMatchObject({ error: { details: { hint: 1 } } });
  });

  it('maps BITSTREAM_KEY to 500 on purpose: a malformed server-side key is ours, its message names paths', () => {
    expect(statusByCode.get(BitstreamCode.KEY)).toBe(500);
  });

  // Issue 9: the store's and the agent's codes used to be NOT_FOUND/CONFLICT/INVALID_ARGUMENT, so a
  // store refusal of the GRM's own write reached the client as 400 and an agent's "adapter not on this
  // server" as 404. They are their own codes now, and the client sees the GRM's failure, not its fault.
  it.each([
    [StoreCode.INVALID_ARGUMENT, 500, 'INTERNAL'],
    [StoreCode.NOT_FOUND, 500, 'INTERNAL'],
    [StoreCode.CONFLICT, 500, 'INTERNAL'],
    [AgentCode.UNKNOWN_ADAPTER, 502, AgentCode.UNKNOWN_ADAPTER],
  ])('%s reaches the client as %i %s', async (code, status, answered) => {
    const res = await answerTo(new RaError(code, `${code}: the GRM's own request was refused`));
    expectError(res, status, answered);
  });

  it.each([
    ['an unmapped RaError code', new RaError('SOMETHING_NEW', 'internal detail /srv/x')],
    ['a plain Error', new Error('cannot read /var/lib/rafabric/store: EACCES')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'slices')")],
    ['a thrown string', 'boom'],
    ['a RaError claiming INTERNAL', new RaError('INTERNAL', 'internal detail')],
  ])('%s -> 500 INTERNAL, generic, with the request id; the log has the real error', async (_name, err) => {
    const { lines, logger } = capturingLogger();
    const res = await answerTo(err, { logger });
    const message = expectError(res, 500, 'INTERNAL');
    expect(message).not.toMatch(/internal detail|\/var|undefined|boom/);
    const { requestId } = (res.json() as { error: { details: { requestId: string } } }).error.details;
    const logged = lines.find((line) => line.reqId === requestId && line.msg === 'request failed');
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain(
      typeof err === 'string' ? 'boom' : (err as Error).message.slice(0, 10),
    );
  });

  it('logs the client errors at info, not error', async () => {
    const { lines, logger } = capturingLogger();
    await answerTo(new RaError('NOT_FOUND', 'no allocation al-9'), { logger });
    expect(lines.some((line) => line.msg === 'no allocation al-9' && line.level === 30)).toBe(true);
    expect(lines.some((line) => (line.level as number) >= 50)).toBe(false);
  });
});
