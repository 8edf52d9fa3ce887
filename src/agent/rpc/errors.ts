// Errors across the wire: an agent's RaError travels as a gRPC status plus its code and details in
// the trailing metadata, and comes back as the same RaError; failures of the connection itself
// (agent down, TLS refused, deadline passed) become RaErrors with the agent's transport codes
// (AgentCode in src/common/codes.ts).
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { AgentCode, DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { CODE_METADATA_KEY, DETAILS_METADATA_KEY } from './schema.js';

const statusOfCode: Record<string, status> = {
  [DriverCode.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [AgentCode.INVALID_PARAMS]: status.INVALID_ARGUMENT,
  [AgentCode.UNKNOWN_ADAPTER]: status.NOT_FOUND,
  [AgentCode.NO_BITSTREAM]: status.NOT_FOUND,
  [AgentCode.VERSION_MISMATCH]: status.FAILED_PRECONDITION,
  [AgentCode.PROTOCOL]: status.INVALID_ARGUMENT,
  [DriverCode.TIMEOUT]: status.DEADLINE_EXCEEDED,
};

const MAX_DETAILS_CHARS = 4096;

/** What a server handler sends back for an error thrown by the agent. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e =
    err instanceof RaError ? err : new RaError(AgentCode.FAILED, (err as Error)?.message ?? String(err));
  const metadata = new Metadata();
  metadata.set(CODE_METADATA_KEY, e.code);
  if (e.details) {
    const json = JSON.stringify(e.details);
    if (json.length <= MAX_DETAILS_CHARS) metadata.set(DETAILS_METADATA_KEY, json);
  }
  return { code: statusOfCode[e.code] ?? status.ABORTED, details: e.message, metadata };
}

/** The RaError a client call failed with: the agent's own, or one naming the connection failure. */
export function fromServiceError(
  err: ServiceError,
  where: { server: string; address: string; method: string; deadlineMs: number },
): RaError {
  const code = err.metadata?.get(CODE_METADATA_KEY)[0];
  if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) {
    let details: Record<string, unknown> | undefined;
    const raw = err.metadata.get(DETAILS_METADATA_KEY)[0];
    if (typeof raw === 'string') {
      try {
        details = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        details = undefined;
      }
    }
    return new RaError(code, err.details, details);
  }
  const at = `${where.server}: agent at ${where.address}`;
  // The agent's certificate names another server: whoever answers there is not the one expected (the
  // handshake checks the name, so Hello never runs to say so). A misconfiguration, not an outage.
  const presented = /is not in the cert's altnames: ([^\s)]+?)\.?(?:\s|\)|$)/.exec(err.details ?? '')?.[1];
  if (err.code === status.UNAVAILABLE && presented)
    return new RaError(
      AgentCode.MISMATCH,
      `${at} presents the certificate of ${presented.slice(0, 64)}, not of ${where.server}: another server ` +
        'answers at that address; check --agents (server=HOST:PORT)',
      { grpcStatus: err.code },
    );
  switch (err.code) {
    case status.UNAVAILABLE:
      return new RaError(
        AgentCode.UNREACHABLE,
        `${at} is unreachable during ${where.method} (${err.details}); it is down, restarting or refused ` +
          'the TLS handshake (certificates from another cluster CA?). The client keeps reconnecting.',
        { grpcStatus: err.code },
      );
    case status.DEADLINE_EXCEEDED:
      return new RaError(
        DriverCode.TIMEOUT,
        `${at} did not answer ${where.method} within ${where.deadlineMs} ms`,
        { grpcStatus: err.code },
      );
    case status.CANCELLED:
      return new RaError(DriverCode.CLOSED, `${at}: ${where.method} cancelled (${err.details})`);
    case status.RESOURCE_EXHAUSTED:
      return new RaError(AgentCode.PROTOCOL, `${at}: ${where.method}: ${err.details}`, {
        grpcStatus: err.code,
      });
    default:
      return new RaError(
        AgentCode.PROTOCOL,
        `${at} failed ${where.method} with gRPC status ${status[err.code] ?? err.code}: ${err.details}`,
        { grpcStatus: err.code },
      );
  }
}
