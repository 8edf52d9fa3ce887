// Bearer tokens from `--tokens alice=TOKEN,bob=TOKEN` or RAFABRIC_TOKENS: token -> tenant; which
// tenants are operators (`--operators`), and the scrape token of /metrics (`--metrics-token`).
// Errors name the entry and the tenant, never the token (it is a secret and may land in logs).
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';

const TENANT_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** RFC 6750 b64token, so that the token fits an Authorization header unchanged. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;
export const MIN_TOKEN_CHARS = 8;

function refuse(message: string): never {
  throw new RaError(GrmCode.INVALID_REQUEST, `tokens: ${message}`);
}

/**
 * Parses "tenant=token,tenant=token". A tenant may hold several tokens (to rotate them); a token may
 * belong to one tenant only, or a request could not say whose it is.
 */
export function parseTokens(text: string): Map<string, string> {
  const tokens = new Map<string, string>();
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) refuse('none given; pass tenant=TOKEN pairs separated by commas');
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const eq = entry.indexOf('=');
    if (eq < 0) refuse(`${where} is not tenant=TOKEN`);
    const tenant = entry.slice(0, eq).trim();
    const token = entry.slice(eq + 1).trim();
    if (!TENANT_PATTERN.test(tenant)) {
      refuse(`${where}: the tenant name must be 1 to 64 characters of a-z, 0-9, "_" or "-"`);
    }
    if (token.length < MIN_TOKEN_CHARS) {
      refuse(`${where} (${tenant}): the token must be at least ${MIN_TOKEN_CHARS} characters`);
    }
    if (!TOKEN_PATTERN.test(token)) {
      refuse(`${where} (${tenant}): the token may hold only A-Z a-z 0-9 . _ ~ + / - (and trailing =)`);
    }
    const owner = tokens.get(token);
    if (owner !== undefined) refuse(`${where} (${tenant}): the same token is already given to ${owner}`);
    tokens.set(token, tenant);
  });
  return tokens;
}

/**
 * `--operators ops,root` (or RAFABRIC_OPERATORS): tenants whose tokens are operator tokens (issue 16).
 * The role belongs to the tenant, not to one token, so rotating an operator's tokens keeps its role;
 * each name must be a tenant of `tokens`, or the operator could never authenticate.
 */
export function parseOperators(text: string, tokens: Map<string, string>): Set<string> {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const tenants = new Set(tokens.values());
  for (const [index, name] of names.entries()) {
    const where = `operators: entry ${index + 1}`;
    if (!TENANT_PATTERN.test(name))
      throw new RaError(
        GrmCode.INVALID_REQUEST,
        `${where}: an operator is a tenant name, 1 to 64 characters of a-z, 0-9, "_" or "-"`,
      );
    if (!tenants.has(name))
      throw new RaError(
        GrmCode.INVALID_REQUEST,
        `${where} (${name}) has no token; give it one in --tokens (${name}=TOKEN) or remove it from --operators`,
      );
  }
  return new Set(names);
}

/**
 * `--metrics-token TOKEN` (or RAFABRIC_METRICS_TOKEN): the token GET /metrics then requires (operator
 * tokens open it too). Never a tenant's token: a scrape credential must not open /v1.
 */
export function parseMetricsToken(token: string, tokens: Map<string, string>): string {
  const trimmed = token.trim();
  if (trimmed.length < MIN_TOKEN_CHARS)
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `metrics token: must be at least ${MIN_TOKEN_CHARS} characters`,
    );
  if (!TOKEN_PATTERN.test(trimmed))
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      'metrics token: may hold only A-Z a-z 0-9 . _ ~ + / - (and trailing =)',
    );
  const owner = tokens.get(trimmed);
  if (owner !== undefined)
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `metrics token: it is also ${owner}'s tenant token; give the scraper a token of its own`,
    );
  return trimmed;
}
