// The agent's side of the network protocol: agent.proto's service over gRPC with mutual TLS. Each
// call is checked (protocol version in the metadata, parameters against the message types) before
// the agent's own handlers (src/agent/agent.ts) validate and execute it.

import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { AgentCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import type { Agent } from '../agent.js';
import { ChangeTracker } from './changes.js';
import { toServiceError } from './errors.js';
import { encodeReply, requestParams } from './messages.js';
import {
  type AgentMethod,
  incompatibility,
  MAX_MESSAGE_BYTES,
  MAX_STRING_CHARS,
  PROTOCOL_VERSION,
  packageDefinition,
  rpcMethodOf,
  SERVICE_NAME,
  VERSION_METADATA_KEY,
} from './schema.js';
import type { TlsFiles } from './tls.js';

export const WATCH_DEFAULT_INTERVAL_MS = 1000;
export const WATCH_MIN_INTERVAL_MS = 20;
export const WATCH_MAX_INTERVAL_MS = 60_000;
/** Streams open at once; each samples the registers, so a misbehaving GRM cannot pile them up. */
export const MAX_WATCHERS = 16;

export interface AgentServerOptions {
  host: string;
  port: number;
  tls: TlsFiles;
  /** For tests of version refusal only: the version this agent claims. */
  protocolVersion?: string;
  /** Told of each refused or failed call (the command logs them). */
  onCallError?: (method: string, err: RaError) => void;
  /** How long a keepalive ping may go unanswered before the GRM's connection is dropped (5 s). */
  keepaliveTimeoutMs?: number;
}

export interface AgentServer {
  port: number;
  instance: string;
  close(): Promise<void>;
}

/** Starts serving `agent` on host:port (0: any free port) and resolves when listening. */
export async function serveAgentRpc(
  agent: Pick<Agent, 'server' | 'adapterIds' | 'handlers' | 'inventory'>,
  o: AgentServerOptions,
): Promise<AgentServer> {
  const version = o.protocolVersion ?? PROTOCOL_VERSION;
  const instance = randomUUID();
  const handlers = agent.handlers();
  const watchers = new Set<() => void>();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Pings find a GRM that vanished without closing its connection (its Watch streams end).
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs ?? 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  });

  const refuse = (method: string, err: unknown) => {
    const e =
      err instanceof RaError ? err : new RaError(AgentCode.FAILED, String((err as Error)?.message ?? err));
    o.onCallError?.(method, e);
    return toServiceError(e);
  };
  /** Every call but Hello carries the caller's version: a GRM that skipped Hello is refused too. */
  const versionProblem = (metadata: grpc.Metadata): RaError | undefined => {
    const theirs = metadata.get(VERSION_METADATA_KEY)[0];
    if (typeof theirs !== 'string')
      return new RaError(
        AgentCode.VERSION_MISMATCH,
        `agent ${agent.server}: call without a protocol version; call Hello first`,
      );
    const why = incompatibility(version, theirs);
    return why
      ? new RaError(
          AgentCode.VERSION_MISMATCH,
          `agent ${agent.server} speaks protocol ${version}, the GRM ${theirs.slice(0, 40)}: ${why}; run a GRM and agents of the same major version`,
        )
      : undefined;
  };

  const implementation: grpc.UntypedServiceImplementation = {
    Hello: (
      call: grpc.ServerUnaryCall<{ protocolVersion: string; grm: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const { protocolVersion, grm } = call.request;
      const why = incompatibility(version, protocolVersion);
      if (why || grm.length > MAX_STRING_CHARS) {
        callback(
          refuse(
            'Hello',
            why
              ? new RaError(
                  AgentCode.VERSION_MISMATCH,
                  `agent ${agent.server} speaks protocol ${version}, GRM ${grm.slice(0, 64) || '(unnamed)'} speaks ${protocolVersion.slice(0, 40)}: ${why}; run a GRM and agents of the same major version`,
                )
              : new RaError(AgentCode.INVALID_PARAMS, `Hello: grm name over ${MAX_STRING_CHARS} characters`),
          ),
        );
        return;
      }
      callback(null, {
        protocolVersion: version,
        server: agent.server,
        instance,
        adapters: agent.adapterIds.length,
      });
    },
    Watch: (call: grpc.ServerWritableStream<{ intervalMs: number }, unknown>) => watch(call),
  };
  for (const [method, rpc] of Object.entries(rpcMethodOf) as [AgentMethod, string][]) {
    implementation[rpc] = (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const problem = versionProblem(call.metadata);
      if (problem) return callback(refuse(rpc, problem));
      let params: Record<string, unknown>;
      try {
        params = requestParams(method, call.request);
      } catch (err) {
        return callback(refuse(rpc, err));
      }
      handlers[method]!(params).then(
        (result) => callback(null, encodeReply(method, result)),
        (err: unknown) => callback(refuse(rpc, err)),
      );
    };
  }

  function watch(call: grpc.ServerWritableStream<{ intervalMs: number }, unknown>): void {
    // grpc-js turns an 'error' event on a server stream into the call's status (code, details, metadata).
    const fail = (err: RaError): void => {
      call.emit('error', refuse('Watch', err));
    };
    const problem = versionProblem(call.metadata);
    if (problem) {
      fail(problem);
      return;
    }
    const intervalMs = call.request.intervalMs || WATCH_DEFAULT_INTERVAL_MS;
    const refusal =
      intervalMs < WATCH_MIN_INTERVAL_MS || intervalMs > WATCH_MAX_INTERVAL_MS
        ? new RaError(
            AgentCode.INVALID_PARAMS,
            `Watch: intervalMs must be ${WATCH_MIN_INTERVAL_MS}..${WATCH_MAX_INTERVAL_MS} (0 for ${WATCH_DEFAULT_INTERVAL_MS}), got ${intervalMs}`,
          )
        : watchers.size >= MAX_WATCHERS
          ? new RaError(
              AgentCode.BUSY,
              `agent ${agent.server} already serves ${MAX_WATCHERS} Watch streams; close one`,
            )
          : undefined;
    if (refusal) {
      fail(refusal);
      return;
    }
    const tracker = new ChangeTracker();
    let sequence = 0;
    let draining = false;
    const sample = () => {
      // A slow reader gets no new event until it drained the last: the next one then holds every
      // change since the last event it was sent (the tracker only advances on what was sent).
      if (draining || call.cancelled) return;
      const adapters = tracker.changed(agent.inventory());
      if (sequence > 0 && adapters.length === 0) return;
      sequence++;
      const more = call.write({ sequence, snapshot: sequence === 1, adapters, sampledAtMs: Date.now() });
      if (!more) {
        draining = true;
        call.once('drain', () => {
          draining = false;
        });
      }
    };
    const timer = setInterval(sample, intervalMs);
    const stop = () => {
      clearInterval(timer);
      watchers.delete(end);
    };
    const end = () => {
      stop();
      if (!call.writableEnded) call.end();
    };
    watchers.add(end);
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('finish', stop);
    try {
      sample();
    } catch (err) {
      stop();
      fail(err as RaError);
    }
  }

  const definition = packageDefinition[SERVICE_NAME] as protoLoader.ServiceDefinition;
  server.addService(definition as unknown as grpc.ServiceDefinition, implementation);
  const credentials = grpc.ServerCredentials.createSsl(
    o.tls.ca,
    [{ cert_chain: o.tls.cert, private_key: o.tls.key }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`,
      credentials,
      (err, bound) =>
        err
          ? reject(
              new RaError(
                AgentCode.LISTEN_FAILED,
                `agent ${agent.server}: cannot listen on ${o.host}:${o.port}: ${err.message}`,
              ),
            )
          : resolve(bound),
    ),
  );
  return {
    port,
    instance,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of [...watchers]) stop();
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
