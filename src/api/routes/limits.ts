// Body limits per route (issue: unbounded input): each route takes what its largest valid request
// needs and no more, so an oversized body is refused before it is read, parsed or validated.
import type { FastifyInstance } from 'fastify';
import { defaultBitstreamLimits } from '../../grm/bitstream-upload.js';
import { MAX_GANG_MEMBERS } from '../../grm/gang-validate.js';

/** An allocation or resize request: at most 64 resources of a few short fields each. */
export const ALLOCATION_BODY_LIMIT_BYTES = 64 * 1024;

/** A gang: up to MAX_GANG_MEMBERS allocation requests. */
export const GANG_BODY_LIMIT_BYTES = ALLOCATION_BODY_LIMIT_BYTES * MAX_GANG_MEMBERS;

/** A bitstream: an image no larger than the staging window (ra-spec §2), base64, plus its descriptor. */
export const BITSTREAM_BODY_LIMIT_BYTES = Math.ceil(defaultBitstreamLimits.imageBytes / 3) * 4 + 256 * 1024;

/** A route's own limit, never above the server's (ApiServerOptions.bodyLimitBytes). */
export function routeBodyLimit(app: FastifyInstance, bytes: number): number {
  return Math.min(bytes, app.initialConfig.bodyLimit ?? bytes);
}
