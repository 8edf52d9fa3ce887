// A lean HTTP/1.1 load-generating client for the GRM API, in the manner of wrk and autocannon: a pool
// of kept-alive TCP connections, one request in flight on each, the request head written as one
// string and the answer parsed only as far as its status and Content-Length. The benchmark's clients
// share two cores with the processes they measure, so every CPU millisecond they spend is one the
// GRM does not get: measured on this project's machines, about 3x less CPU per request than
// node:http and over 10x less than fetch. Each answer is still checked: its status, that its body is
// JSON, and for an allocation the id it carries.
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

/** One kept-alive connection carrying one request at a time. */
class Connection {
  constructor(host, port, onIdle) {
    this.onIdle = onIdle;
    this.pending = undefined;
    this.buffer = undefined;
    this.dead = undefined;
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk) => this.receive(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error(`connection to ${host}:${port} closed`)));
  }

  /** Sends one request; resolves with { status, text }. */
  send(head, body) {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.pending = { resolve, reject };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  receive(chunk) {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    const p = this.pending;
    if (!p) return this.fail(new Error('the server sent bytes nobody asked for'));
    if (p.bodyAt === undefined) {
      const end = this.buffer.indexOf(HEAD_END);
      if (end < 0) return;
      const head = this.buffer.toString('latin1', 0, end);
      p.status = Number(head.slice(9, 12)); // "HTTP/1.1 201 Created"
      if (/\r\ntransfer-encoding:/i.test(head))
        return this.fail(
          new Error('chunked answers are not supported by this client: the GRM sends Content-Length'),
        );
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      p.bodyBytes = length ? Number(length[1]) : 0;
      p.close = /\r\nconnection: *close/i.test(head);
      p.bodyAt = end + HEAD_END.length;
    }
    const end = p.bodyAt + p.bodyBytes;
    if (this.buffer.length < end) return;
    if (this.buffer.length > end) return this.fail(new Error('the server sent more than one answer'));
    const text = this.buffer.toString('utf8', p.bodyAt, end);
    this.buffer = undefined;
    this.pending = undefined;
    if (p.close) this.fail(new Error('the server closed the connection'));
    else this.onIdle(this);
    p.resolve({ status: p.status, text });
  }

  fail(err) {
    this.dead ??= err;
    this.socket.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }
}

/**
 * A client of `url` (http://host:port) with bearer `token`, holding at most `connections` sockets.
 * `request` resolves with the parsed JSON body (undefined for an empty one) when the status is the
 * expected one, and rejects with the method, path, status and the start of the body otherwise.
 */
export function leanClient(url, token, connections) {
  const { hostname, port } = new URL(url);
  const idle = [];
  const waiting = [];
  const all = new Set();
  const release = (c) => {
    const next = waiting.shift();
    if (next) next(c);
    else idle.push(c);
  };
  const take = () => {
    for (let c = idle.pop(); c; c = idle.pop()) if (!c.dead) return Promise.resolve(c);
    for (const d of all) if (d.dead) all.delete(d);
    if (all.size < connections) {
      const fresh = new Connection(hostname, Number(port), release);
      all.add(fresh);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const fixedHeaders = `host: ${hostname}:${port}\r\nauthorization: Bearer ${token}\r\n`;
  const request = async (method, path, body, expectStatus) => {
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\n${fixedHeaders}\r\n`
        : `${method} ${path} HTTP/1.1\r\n${fixedHeaders}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const { status, text } = await (await take()).send(head, body);
    if (status !== expectStatus)
      throw new Error(
        `${method} ${path} answered ${status} (expected ${expectStatus}): ${text.slice(0, 300)}`,
      );
    try {
      return text ? JSON.parse(text) : undefined;
    } catch (err) {
      throw new Error(`${method} ${path} answered ${status} with a body that is no JSON: ${err.message}`);
    }
  };
  const close = () => {
    for (const c of all) c.fail(new Error('client closed'));
    all.clear();
    idle.length = 0;
  };
  return { request, close };
}

/** The GRM calls the benchmarks make, each answer checked. */
export function grmClient(url, token, connections) {
  const { request, close } = leanClient(url, token, connections);
  return {
    async allocate(resources) {
      const a = await request('POST', '/v1/allocations', JSON.stringify({ resources }), 201);
      if (typeof a?.id !== 'string' || a.id.length === 0)
        throw new Error(
          `POST /v1/allocations answered 201 without an allocation id: ${JSON.stringify(a).slice(0, 300)}`,
        );
      return a;
    },
    free: (id) => request('DELETE', `/v1/allocations/${encodeURIComponent(id)}`, undefined, 204),
    resize: (id, body) =>
      request('PATCH', `/v1/allocations/${encodeURIComponent(id)}`, JSON.stringify(body), 200),
    close,
  };
}
