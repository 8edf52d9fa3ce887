// Grants over the GRM's HTTP API (GET /v1/allocations/{id}/grants, docs/access.md): the only call of
// the client library that talks to the GRM. What comes back is checked before a window is opened.
import type { Allocation } from '../common/model.js';
import { ClientCode, RaError } from './errors.js';

export interface GrmEndpoint {
  /** The GRM's base URL, e.g. http://127.0.0.1:7300 */
  url: string;
  /** The tenant's bearer token: the GRM hands an allocation's grants to its own tenant only */
  token: string;
}

/** The allocation `id` with a grant on each placement; the GRM's error code and message when refused. */
export async function fetchGrants(grm: GrmEndpoint, id: string): Promise<Allocation> {
  const url = `${grm.url.replace(/\/+$/, '')}/v1/allocations/${encodeURIComponent(id)}/grants`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${grm.token}` } });
  } catch (err) {
    throw new RaError(
      ClientCode.GRANT_INVALID,
      `cannot reach the GRM at ${grm.url}: ${(err as Error).message}; check the URL and that rafabric serve runs`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RaError(ClientCode.GRANT_INVALID, `${url} answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: unknown; message?: unknown } }).error;
    throw new RaError(
      typeof e?.code === 'string' ? e.code : ClientCode.GRANT_INVALID,
      `grants of allocation ${id}: ${typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`}`,
    );
  }
  const a = body as Partial<Allocation>;
  if (typeof a.id !== 'string' || !Array.isArray(a.resources))
    throw new RaError(ClientCode.GRANT_INVALID, `${url} answered with something that is not an allocation`);
  return a as Allocation;
}
