// GRM <-> agent protocol. The GRM talks to every agent through one seam, AgentClient: call(method,
// params) with the methods of src/agent/agent.ts. Implementations: the in-process ones here (embedded
// mode: DirectAgentClient calls the handlers; StreamAgentClient speaks newline-delimited JSON over a
// pair of PassThrough streams) and the network one, gRPC with mutual TLS (src/agent/rpc/client.ts,
// docs/cluster.md).
//   request  {"id": 7, "method": "program", "params": {...}}
//   response {"id": 7, "result": {...}}  or  {"id": 7, "error": {"code", "message"}}
import { type Duplex, Duplex as DuplexStream, PassThrough } from 'node:stream';
import { AgentCode } from '../common/codes.js';
import { RaError } from '../common/errors.js';

const MAX_LINE_BYTES = 128 * 1024 * 1024;
/** Longer than any single adapter operation (a 3 MiB image at 1 GB/s, a 32 MiB job). */
const CALL_TIMEOUT_MS = 120_000;

export type Handler = (params: Record<string, unknown>) => Promise<unknown>;

/** Splits a stream into JSON lines; refuses lines over MAX_LINE_BYTES. */
function onLines(stream: Duplex, fn: (message: unknown) => void, onError: (err: Error) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE_BYTES) {
      onError(new Error('agent protocol: message over the size limit'));
      buffered = '';
      return;
    }
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) {
        try {
          fn(JSON.parse(line));
        } catch (err) {
          onError(err as Error);
        }
      }
      nl = buffered.indexOf('\n');
    }
  });
}

/** Serves `handlers` on a stream; each request is answered, errors as {code, message}. */
export function serveAgent(stream: Duplex, handlers: Record<string, Handler>): void {
  onLines(
    stream,
    (msg) => {
      const m = msg as { id?: unknown; method?: unknown; params?: unknown };
      const reply = (body: object) => stream.write(`${JSON.stringify({ id: m.id, ...body })}\n`);
      if (typeof m.id !== 'number' || typeof m.method !== 'string') {
        reply({ error: { code: AgentCode.PROTOCOL, message: 'request needs a numeric id and a method' } });
        return;
      }
      const handler = Object.hasOwn(handlers, m.method) ? handlers[m.method] : undefined;
      if (!handler) {
        reply({ error: { code: AgentCode.PROTOCOL, message: `unknown method ${m.method}` } });
        return;
      }
      const params =
        typeof m.params === 'object' && m.params !== null ? (m.params as Record<string, unknown>) : {};
      handler(params).then(
        (result) => reply({ result: result ?? null }),
        (err: unknown) => {
          const e = err as RaError;
          reply({
            error: {
              code: e.code ?? AgentCode.FAILED,
              message: e.message ?? String(err),
              details: e.details,
            },
          });
        },
      );
    },
    (err) =>
      stream.write(
        `${JSON.stringify({ id: null, error: { code: AgentCode.PROTOCOL, message: err.message } })}\n`,
      ),
  );
}

/** What the GRM holds for each server's agent. */
export interface AgentClient {
  /** The server whose adapters the agent owns (adapter ids are `<server>/ra<N>`). */
  readonly server: string;
  /** One agent method; fails with the agent's RaError, or TIMEOUT after timeoutMs. */
  call<T>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** The in-process AgentClient: JSON lines over a stream served by serveAgent. */
export class StreamAgentClient implements AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedError: RaError | undefined;

  constructor(
    private readonly stream: Duplex,
    readonly server: string,
  ) {
    onLines(
      stream,
      (msg) => {
        const m = msg as {
          id: number;
          result?: unknown;
          error?: { code: string; message: string; details?: Record<string, unknown> };
        };
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new RaError(m.error.code, m.error.message, m.error.details));
        else p.resolve(m.result);
      },
      () => undefined,
    );
    stream.on('close', () => this.fail('agent connection closed'));
    stream.on('error', (err) => this.fail(`agent connection failed: ${err.message}`));
  }

  /** One request; an agent that does not answer within timeoutMs fails it with AGENT_TIMEOUT. */
  call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new RaError(
            AgentCode.TIMEOUT,
            `${this.server}: agent did not answer ${method} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const settle =
        <V>(fn: (v: V) => void) =>
        (v: V) => {
          clearTimeout(timer);
          fn(v);
        };
      this.pending.set(id, { resolve: settle(resolve as (v: unknown) => void), reject: settle(reject) });
      this.stream.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private fail(message: string): void {
    this.closedError ??= new RaError(AgentCode.DISCONNECTED, `${this.server}: ${message}`);
    for (const p of this.pending.values()) p.reject(this.closedError);
    this.pending.clear();
  }

  close(): void {
    this.stream.end();
    this.fail('closed');
  }
}

/**
 * The in-process AgentClient without a wire (embedded mode): calls the agent's handlers directly.
 * Same contract as the stream client (an unknown method or a failed handler rejects with an RaError
 * carrying the agent's code, TIMEOUT after timeoutMs, DISCONNECTED once closed), minus a JSON encode,
 * a JSON decode and four stream hops per call, which cost the embedded GRM as much CPU as planning.
 * Nothing is copied: handlers only read their parameters and return objects of their own.
 */
export class DirectAgentClient implements AgentClient {
  private closedError: RaError | undefined;
  private readonly pending = new Set<(err: RaError) => void>();

  constructor(
    private readonly handlers: Record<string, Handler>,
    readonly server: string,
  ) {}

  call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler) return Promise.reject(new RaError(AgentCode.PROTOCOL, `unknown method ${method}`));
    return new Promise<T>((resolve, reject) => {
      const fail = (err: RaError) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new RaError(
              AgentCode.TIMEOUT,
              `${this.server}: agent did not answer ${method} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      this.pending.add(fail);
      handler(params).then(
        (result) => {
          if (!this.pending.has(fail)) return; // timed out or closed meanwhile
          clearTimeout(timer);
          this.pending.delete(fail);
          resolve((result ?? null) as T);
        },
        (err: unknown) => {
          if (!this.pending.has(fail)) return;
          const e = err as RaError;
          fail(new RaError(e.code ?? AgentCode.FAILED, e.message ?? String(err), e.details));
        },
      );
    });
  }

  close(): void {
    this.closedError ??= new RaError(AgentCode.DISCONNECTED, `${this.server}: closed`);
    for (const fail of [...this.pending]) fail(this.closedError);
  }
}

/** `new AgentClient(stream, server)` builds the in-process client (embedded mode). */
export const AgentClient = StreamAgentClient;

/** Two connected duplex streams: what one writes, the other reads. */
export function inProcessChannel(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const a = DuplexStream.from({ readable: bToA, writable: aToB });
  const b = DuplexStream.from({ readable: aToB, writable: bToA });
  return [a, b];
}
