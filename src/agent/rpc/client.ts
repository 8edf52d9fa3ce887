// The GRM's side of the network protocol: an AgentClient (src/agent/protocol.ts) that reaches a
// remote agent over gRPC with mutual TLS. The channel reconnects by itself with exponential backoff
// and sends keepalive pings; every call has a deadline and fails fast while the agent is down
// (AGENT_UNREACHABLE), so the GRM never waits on a dead server.
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { AgentCode, DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import type { AgentAdapter } from '../agent.js';
import type { AgentClient } from '../protocol.js';
import { fromServiceError } from './errors.js';
import { decodeReply, encodeRequest } from './messages.js';
import {
  CALL_DEADLINE_MS,
  incompatibility,
  isAgentMethod,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  packageDefinition,
  rpcMethodOf,
  SERVICE_NAME,
  VERSION_METADATA_KEY,
} from './schema.js';
import type { TlsFiles } from './tls.js';

export interface RemoteAgentOptions {
  /** The server whose adapters the agent owns; its certificate must name it. */
  server: string;
  /** HOST:PORT the agent listens on. */
  address: string;
  tls: TlsFiles;
  /** This GRM's name, sent in Hello. */
  grm?: string;
  /** For tests of version refusal only. */
  protocolVersion?: string;
  /** Reconnect backoff bounds (grpc-js doubles the wait, with jitter, up to the maximum). */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Keepalive ping period; a peer that does not answer within keepaliveTimeoutMs is dropped. */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** Every default call deadline (CALL_DEADLINE_MS) times this (QEMU mode: agents in TCG guests). */
  deadlineFactor?: number;
}

export interface AgentHello {
  protocolVersion: string;
  server: string;
  instance: string;
  adapters: number;
}

export interface WatchEvent {
  sequence: number;
  snapshot: boolean;
  adapters: AgentAdapter[];
  sampledAtMs: number;
}

export interface WatchOptions {
  /** How often the agent samples its registers (ms; 0 = the agent's default, 1000). */
  intervalMs?: number;
  /** The stream is reopened after this long (every call has a deadline); a snapshot starts it again. */
  deadlineMs?: number;
  /** Told when the stream breaks; it is reopened after `retryMs` until close(). */
  onError?: (err: RaError) => void;
  retryMs?: number;
}

type MethodDefinition = protoLoader.MethodDefinition<object, object>;

export class RemoteAgentClient implements AgentClient {
  readonly server: string;
  readonly address: string;
  private readonly client: grpc.Client;
  private readonly methods: Record<string, MethodDefinition>;
  private readonly version: string;
  private hello: Promise<AgentHello> | undefined;
  private closed = false;
  /** Agent process instances seen, oldest first: more than one means it restarted. */
  readonly instances: string[] = [];

  constructor(private readonly o: RemoteAgentOptions) {
    this.server = o.server;
    this.address = o.address;
    this.version = o.protocolVersion ?? PROTOCOL_VERSION;
    this.methods = packageDefinition[SERVICE_NAME] as unknown as Record<string, MethodDefinition>;
    const credentials = grpc.credentials.createSsl(o.tls.ca, o.tls.key, o.tls.cert);
    this.client = new grpc.Client(o.address, credentials, {
      // The agent's certificate must be issued to this server name (its subjectAltName), whatever
      // address it is reached at: another server's agent on this address is refused.
      'grpc.ssl_target_name_override': o.server,
      'grpc.default_authority': o.server,
      'grpc.initial_reconnect_backoff_ms': o.reconnectInitialMs ?? 100,
      'grpc.min_reconnect_backoff_ms': o.reconnectInitialMs ?? 100,
      'grpc.max_reconnect_backoff_ms': o.reconnectMaxMs ?? 2000,
      'grpc.keepalive_time_ms': o.keepaliveMs ?? 10_000,
      'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs ?? 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // A call fails at once while the agent is down; the GRM decides what to retry.
      'grpc.enable_retries': 0,
    });
  }

  /** The handshake (done before the first call and again after the connection broke). */
  handshake(): Promise<AgentHello> {
    this.hello ??= this.sayHello().catch((err: unknown) => {
      this.hello = undefined;
      throw err;
    });
    return this.hello;
  }

  private async sayHello(): Promise<AgentHello> {
    const reply = (await this.unary(
      'Hello',
      'hello',
      { protocolVersion: this.version, grm: this.o.grm ?? 'grm' },
      CALL_DEADLINE_MS.hello * (this.o.deadlineFactor ?? 1),
    )) as AgentHello;
    const why = incompatibility(this.version, reply.protocolVersion);
    if (why)
      throw new RaError(
        AgentCode.VERSION_MISMATCH,
        `GRM speaks protocol ${this.version}, agent ${this.server} at ${this.address} speaks ` +
          `${reply.protocolVersion.slice(0, 40)}: ${why}; run a GRM and agents of the same major version`,
      );
    if (reply.server !== this.server)
      throw new RaError(
        AgentCode.MISMATCH,
        `agent at ${this.address} owns server '${reply.server.slice(0, 64)}', not '${this.server}'; check --server and the address`,
      );
    if (this.instances.at(-1) !== reply.instance) this.instances.push(reply.instance);
    return reply;
  }

  /** One agent method, as AgentClient.call: the same names, parameters and results as in-process. */
  async call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<T> {
    if (this.closed) throw new RaError(DriverCode.CLOSED, `${this.server}: agent client closed`);
    if (!isAgentMethod(method))
      throw new RaError(
        AgentCode.PROTOCOL,
        `${this.server}: unknown agent method ${String(method).slice(0, 64)}`,
      );
    const request = encodeRequest(method, params); // refused here: nothing was sent
    await this.handshake();
    const reply = await this.unary(
      rpcMethodOf[method],
      method,
      request,
      timeoutMs ?? CALL_DEADLINE_MS[method] * (this.o.deadlineFactor ?? 1),
    );
    return decodeReply(method, reply as Record<string, unknown>) as T;
  }

  private unary(rpc: string, method: string, request: object, deadlineMs: number): Promise<unknown> {
    const def = this.methods[rpc]!;
    const metadata = new grpc.Metadata();
    metadata.set(VERSION_METADATA_KEY, this.version);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err, reply) => {
          if (!err) return resolve(reply);
          // After a broken connection the agent may be a new process (or a new version): shake hands again.
          if (err.code === grpc.status.UNAVAILABLE) this.hello = undefined;
          reject(fromServiceError(err, { server: this.server, address: this.address, method, deadlineMs }));
        },
      );
    });
  }

  /**
   * Inventory, health and utilization as a stream: `onEvent` gets a snapshot of every adapter, then
   * only the adapters that changed. The stream is reopened (with a fresh snapshot) after its deadline
   * or a failure, until the returned close() is called.
   */
  watch(onEvent: (event: WatchEvent) => void, o: WatchOptions = {}): { close(): void } {
    const def = this.methods.Watch!;
    let call: grpc.ClientReadableStream<WatchEvent> | undefined;
    let retry: NodeJS.Timeout | undefined;
    let stopped = false;
    const deadlineMs = o.deadlineMs ?? 600_000;
    const open = () => {
      if (stopped || this.closed) return;
      const metadata = new grpc.Metadata();
      metadata.set(VERSION_METADATA_KEY, this.version);
      call = this.client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize as (b: Buffer) => WatchEvent,
        { intervalMs: o.intervalMs ?? 0 },
        metadata,
        { deadline: Date.now() + deadlineMs },
      );
      call.on('data', (event: WatchEvent) => onEvent(event));
      // 'status' ends every stream, in error or not: an agent that shut down ends it with OK.
      call.on('error', () => undefined);
      call.on('status', (st: grpc.StatusObject) => {
        if (stopped) return;
        const expired = st.code === grpc.status.DEADLINE_EXCEEDED || st.code === grpc.status.OK;
        if (!expired)
          o.onError?.(
            fromServiceError(st as grpc.ServiceError, {
              server: this.server,
              address: this.address,
              method: 'watch',
              deadlineMs,
            }),
          );
        retry = setTimeout(open, expired ? 0 : (o.retryMs ?? 1000));
      });
    };
    open();
    return {
      close() {
        stopped = true;
        clearTimeout(retry);
        call?.cancel();
      },
    };
  }

  /** The channel's state, for tests and diagnostics. */
  get connectivity(): string {
    return grpc.connectivityState[this.client.getChannel().getConnectivityState(false)] ?? 'UNKNOWN';
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}
