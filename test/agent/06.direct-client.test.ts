// The embedded mode's in-process agent client calls the handlers directly: it keeps the stream
// client's contract (results, the agent's error codes, unknown methods, timeouts, close).
import { describe, expect, it } from 'vitest';
import { DirectAgentClient } from '../../src/agent/protocol.js';
import { RaError } from '../../src/common/errors.js';

const handlers = {
  echo: async (p: Record<string, unknown>) => ({ got: p.value }),
  nothing: async () => undefined,
  refuse: async () => {
    throw new RaError('SLICE_STATE', 'reserving slice 1: adapter answered SLICE_STATE', { entry: 1 });
  },
  crash: async () => {
    throw new TypeError('x is not a function');
  },
  never: () => new Promise<unknown>(() => {}),
};

describe('DirectAgentClient', () => {
  it('answers with the handler result (null for none)', async () => {
    const c = new DirectAgentClient(handlers, 's1');
    expect(await c.call('echo', { value: 7 })).toEqual({ got: 7 });
    expect(await c.call('nothing')).toBeNull();
  });

  it("a refusal carries the agent's code, message and details; anything else is AGENT_FAILED", async () => {
    const c = new DirectAgentClient(handlers, 's1');
    await expect(c.call('refuse')).rejects.toMatchObject({
      code: 'SLICE_STATE',
      message: 'reserving slice 1: adapter answered SLICE_STATE',
      details: { entry: 1 },
    });
    await expect(c.call('crash')).rejects.toMatchObject({
      code: 'AGENT_FAILED',
      message: 'x is not a function',
    });
    await expect(c.call('launch')).rejects.toMatchObject({
      code: 'AGENT_PROTOCOL',
      message: 'unknown method launch',
    });
  });

  it('a call with no answer times out; close fails what is pending and every later call', async () => {
    const c = new DirectAgentClient(handlers, 's1');
    await expect(c.call('never', {}, 30)).rejects.toMatchObject({ code: 'AGENT_TIMEOUT' });
    const pending = c.call('never');
    c.close();
    await expect(pending).rejects.toMatchObject({ code: 'AGENT_DISCONNECTED' });
    await expect(c.call('echo', { value: 1 })).rejects.toMatchObject({ code: 'AGENT_DISCONNECTED' });
  });
});
