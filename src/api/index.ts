// The GRM HTTP API: createApiServer, its token list, its status table and its OpenAPI document.
export { authHook, type Principal, principalOf, type Role, tenantOf } from './auth.js';
export { ApiCode, type ErrorBody, errorBody, failureOf, statusByCode } from './errors.js';
export { ID_PATTERN } from './input.js';
export { openApiDocument } from './openapi.js';
export { allowedMethods, type RegisteredRoute, registeredRoutes } from './route-table.js';
export { type ApiServerOptions, createApiServer, DEFAULT_BODY_LIMIT_BYTES } from './server.js';
export { MIN_TOKEN_CHARS, parseMetricsToken, parseOperators, parseTokens } from './tokens.js';
