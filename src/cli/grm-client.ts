// The CLI's one way to talk to a GRM over HTTP: an openapi-fetch client typed by the types generated
// from the API's OpenAPI document (src/api/generated/openapi.d.ts, `npm run gen:api`). Paths, bodies
// and answers are the document's, so every CLI command and test exercises the published contract,
// and a change to the document that breaks a command fails the type check.
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from '../api/generated/openapi.js';
import { CliCode, GrmCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';

/** The API's schemas by component name (Allocation, AdapterView, ...). */
export type ApiSchemas = components['schemas'];
export type GrmClient = Client<paths>;

/** Where the GRM is and who is asking (--url, --token or $RAFABRIC_TOKEN). */
export interface GrmAddress {
  url: string;
  token?: string;
}

/** A client sending the tenant's bearer token; refuses at once when there is no token. */
export function grmClient(o: GrmAddress): GrmClient {
  const token = o.token ?? process.env.RAFABRIC_TOKEN;
  if (!token) throw new RaError(GrmCode.UNAUTHORIZED, 'no token: pass --token TOKEN or set RAFABRIC_TOKEN');
  return createClient<paths>({ baseUrl: o.url, headers: { authorization: `Bearer ${token}` } });
}

/** What an openapi-fetch call resolves to, as far as `call` reads it. */
interface Answer<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/**
 * Sends one request and returns the answer's body. A GRM refusal becomes an RaError with the GRM's
 * code and message (the CLI prints them and exits non-zero); no answer at all is GRM_UNREACHABLE.
 */
export async function call<D>(o: GrmAddress, send: (api: GrmClient) => Promise<Answer<D>>): Promise<D> {
  const api = grmClient(o);
  let answer: Answer<D>;
  try {
    answer = await send(api);
  } catch (err) {
    // The CLI's own refusal raised while building the request is not a network failure: it keeps its code.
    if (err instanceof RaError) throw err;
    throw new RaError(
      CliCode.GRM_UNREACHABLE,
      `cannot reach the GRM at ${o.url}: ${(err as Error).cause ?? (err as Error).message} (is \`rafabric serve\` running?)`,
    );
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const failure = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RaError(failure?.code ?? `HTTP_${response.status}`, failure?.message ?? response.statusText);
  }
  return data as D;
}
