// The one status table, as the client sees it: every code keeps its code and message at its status;
// anything else is a generic 500 that names the request id, with the real error only in the log.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { statusByCode } from '../../src/api/errors.js';
import { BitstreamCode } from '../../src/bitstream/codes.js';
import { DriverCode, RaError } from '../../src/driver/errors.js';
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

  it('maps every GrmCode and BitstreamCode but BITSTREAM_KEY', () => {
    for (const code of Object.values(GrmCode)) expect(statusByCode.has(code), code).toBe(true);
    for (const code of Object.values(BitstreamCode))
      expect(statusByCode.has(code), code).toBe(code !== 'BITSTREAM_KEY');
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
