// Fastify's own refusals (body limit, content type, bad URL) rephrased as RaErrors with our codes,
// so that they go through the one status table and say what to do next.
import { RaError } from '../common/errors.js';
import { GrmCode } from '../grm/types.js';
import { ApiCode } from './errors.js';
import { ID_RULE } from './input.js';

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/** The RaError a fastify error stands for, or undefined when it is not one of fastify's. */
export function fromFastifyError(err: unknown, bodyLimitBytes: number): RaError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode, message } = err as FastifyLikeError;
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RaError(
        GrmCode.PAYLOAD_TOO_LARGE,
        `request body is larger than ${bodyLimitBytes} bytes, this route's limit; send a smaller body`,
        { limitBytes: bodyLimitBytes },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RaError(
        ApiCode.UNSUPPORTED_MEDIA_TYPE,
        'request body must be JSON: send it with Content-Type: application/json',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RaError(GrmCode.INVALID_REQUEST, 'request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RaError(GrmCode.INVALID_REQUEST, 'request body is malformed JSON; send a JSON object');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RaError(GrmCode.INVALID_REQUEST, 'Content-Length does not match the body that was sent');
    case 'FST_ERR_BAD_URL':
      return new RaError(GrmCode.INVALID_REQUEST, 'the URL is malformed (bad percent-encoding)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new RaError(GrmCode.INVALID_REQUEST, `the id in the path is too long; ${ID_RULE}`);
  }
  // Any other client error fastify raises is still the client's: keep fastify's (safe) message.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new RaError(GrmCode.INVALID_REQUEST, typeof message === 'string' ? message : 'bad request');
  }
  return undefined;
}
