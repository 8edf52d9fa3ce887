// Agents' registrations in etcd (docs/cluster.md, "Agents in etcd"): an agent started with `--etcd` puts
// `<prefix>agents/<server> -> {"server", "address"}` under a lease it keeps alive, so GRM replicas started
// with `serve --etcd ... --agents-from-etcd` find it. A dead agent's key goes when its lease expires
// (`ttlSeconds`); a restarted agent registers again.
import { Etcd3, type Lease } from 'etcd3';
import { StoreCode, StoreError } from './errors.js';
import { DEFAULT_KEY_PREFIX } from './etcd-store.js';

/** Default TTL of an agent's registration lease, in seconds. */
export const DEFAULT_AGENT_TTL_SECONDS = 10;

export interface AgentRegistration {
  server: string;
  /** HOST:PORT the agent serves gRPC on. */
  address: string;
}

const agentsKey = (prefix: string) => `${prefix}agents/`;

/** Registers an agent under a lease kept alive until stop() (which revokes it: the key goes at once). */
export async function registerAgent(o: {
  endpoints: string[];
  registration: AgentRegistration;
  keyPrefix?: string;
  ttlSeconds?: number;
}): Promise<{ stop(): Promise<void> }> {
  const client = new Etcd3({ hosts: o.endpoints, dialTimeout: 2000 });
  let lease: Lease | undefined;
  try {
    lease = client.lease(o.ttlSeconds ?? DEFAULT_AGENT_TTL_SECONDS, { autoKeepAlive: true });
    await lease
      .put(`${agentsKey(o.keyPrefix ?? DEFAULT_KEY_PREFIX)}${o.registration.server}`)
      .value(JSON.stringify(o.registration))
      .exec();
  } catch (err) {
    client.close();
    throw new StoreError(
      StoreCode.UNAVAILABLE,
      `could not register agent ${o.registration.server} in etcd at ${o.endpoints.join(',')} ` +
        `(${(err as Error).message}): check that etcd runs, or start the agent without --etcd`,
    );
  }
  const held = lease;
  return {
    async stop() {
      await held.revoke().catch(() => undefined);
      client.close();
    },
  };
}

/** The agents registered now, by server name (a value that is not a registration is refused: CORRUPT). */
export async function listAgents(o: {
  endpoints: string[];
  keyPrefix?: string;
}): Promise<AgentRegistration[]> {
  const client = new Etcd3({ hosts: o.endpoints, dialTimeout: 2000 });
  try {
    const prefix = agentsKey(o.keyPrefix ?? DEFAULT_KEY_PREFIX);
    let values: Record<string, string>;
    try {
      values = await client.getAll().prefix(prefix).strings();
    } catch (err) {
      throw new StoreError(
        StoreCode.UNAVAILABLE,
        `could not read the agents registered in etcd at ${o.endpoints.join(',')} (${(err as Error).message})`,
      );
    }
    return Object.entries(values)
      .map(([key, value]) => parseRegistration(key, value))
      .sort((a, b) => a.server.localeCompare(b.server));
  } finally {
    client.close();
  }
}

function parseRegistration(key: string, value: string): AgentRegistration {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const r = parsed as Partial<AgentRegistration> | undefined;
  if (typeof r?.server !== 'string' || typeof r.address !== 'string' || !key.endsWith(`/${r.server}`)) {
    throw new StoreError(
      StoreCode.CORRUPT,
      `etcd key ${key} is not an agent registration ({"server", "address"}): delete it (etcdctl del ${key})`,
      { key },
    );
  }
  return { server: r.server, address: r.address };
}
