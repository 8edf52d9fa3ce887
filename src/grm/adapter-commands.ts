// Configuration commands (load, program, release, resize) go to an adapter one at a time, in the
// order the GRM issued them: a release queued before a program of the same extent runs first,
// whatever the transport does with concurrent requests. Different adapters run in parallel. Data
// movement (copy) and jobs do not queue here: they use slices already programmed and may take seconds.
import type { AgentClient } from '../agent/protocol.js';
import { RaError } from '../common/errors.js';
import { serverOf } from '../common/ids.js';
import { GrmCode } from './types.js';

export type ConfigureMethod = 'load' | 'program' | 'release' | 'resize';

export class AdapterCommands {
  private readonly byServer: Map<string, AgentClient>;
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(readonly agents: readonly AgentClient[]) {
    this.byServer = new Map(agents.map((a) => [a.server, a]));
  }

  /** The agent of the server the adapter id names (`<server>/ra<port>`). */
  agentFor(adapterId: string): AgentClient {
    const agent = this.byServer.get(serverOf(adapterId));
    if (!agent) throw new RaError(GrmCode.ADAPTER_FAILURE, `no agent serves adapter ${adapterId}`);
    return agent;
  }

  /** Runs one configuration command after every earlier one on the same adapter has finished. */
  run<T = unknown>(adapter: string, method: ConfigureMethod, params: Record<string, unknown>): Promise<T> {
    const agent = this.agentFor(adapter);
    const result = (this.tails.get(adapter) ?? Promise.resolve()).then(() =>
      agent.call<T>(method, { adapter, ...params }),
    );
    const tail = result.catch(() => undefined);
    this.tails.set(adapter, tail);
    void tail.then(() => {
      if (this.tails.get(adapter) === tail) this.tails.delete(adapter);
    });
    return result;
  }
}
