// The end-to-end benchmark's lean HTTP/1.1 client (scripts/bench/http-client.mjs) against a small
// node:http server on 127.0.0.1 that answers as the GRM does: it must reuse its connections, read
// answers split across packets, and refuse every answer the benchmark must not count.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface GrmClient {
  allocate(resources: unknown[]): Promise<{ id: string }>;
  free(id: string): Promise<undefined>;
  close(): void;
}
const { grmClient } = (await import(path.resolve(__dirname, '../../scripts/bench/http-client.mjs'))) as {
  grmClient: (url: string, token: string, connections: number) => GrmClient;
};

describe('bench HTTP client', () => {
  let server: http.Server;
  let url = '';
  /** What the next POST answers: the test sets it. */
  let answer: (res: http.ServerResponse) => void;
  const sockets = new Set<unknown>();
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        if (req.method === 'DELETE') {
          res.writeHead(204).end();
          return;
        }
        answer(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (status: number, value: unknown) => (res: http.ServerResponse) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  it('allocates and frees over kept-alive connections, sending the token and the body', async () => {
    answer = json(201, { id: 'alloc-1', resources: [] });
    const api = grmClient(url, 'tok', 2);
    sockets.clear();
    seen.length = 0;
    try {
      for (let i = 0; i < 5; i++) {
        const a = await api.allocate([{ kind: 'compute', units: 1 }]);
        expect(a.id).toBe('alloc-1');
        expect(await api.free(a.id)).toBeUndefined();
      }
      expect(sockets.size).toBe(1); // one request at a time: one connection, reused
      expect(seen[0]).toEqual({
        method: 'POST',
        url: '/v1/allocations',
        auth: 'Bearer tok',
        body: JSON.stringify({ resources: [{ kind: 'compute', units: 1 }] }),
      });
      expect(seen[1]).toMatchObject({ method: 'DELETE', url: '/v1/allocations/alloc-1', body: '' });
    } finally {
      api.close();
    }
  });

  it('reads an answer that arrives in pieces', async () => {
    const text = JSON.stringify({ id: 'alloc-2', pad: 'x'.repeat(100_000) });
    answer = (res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, 10));
      setTimeout(() => res.end(text.slice(10)), 20);
    };
    const api = grmClient(url, 'tok', 1);
    try {
      expect((await api.allocate([])).id).toBe('alloc-2');
    } finally {
      api.close();
    }
  });

  it('refuses an unexpected status, an allocation without an id, a body that is no JSON and a chunked answer', async () => {
    const api = grmClient(url, 'tok', 4);
    try {
      answer = json(409, { code: 'CONFLICT', message: 'no room' });
      await expect(api.allocate([])).rejects.toThrow(/answered 409 \(expected 201\).*no room/);
      answer = json(201, { resources: [] });
      await expect(api.allocate([])).rejects.toThrow(/without an allocation id/);
      answer = (res) => res.writeHead(201, { 'content-length': 3 }).end('{x}');
      await expect(api.allocate([])).rejects.toThrow(/no JSON/);
      answer = (res) => {
        res.writeHead(201, { 'content-type': 'application/json' }); // no length: node:http sends it chunked
        res.end('{"id":"a"}');
      };
      await expect(api.allocate([])).rejects.toThrow(/chunked answers are not supported/);
      answer = json(201, { id: 'after-errors' }); // a failed connection is replaced, not reused
      expect((await api.allocate([])).id).toBe('after-errors');
    } finally {
      api.close();
    }
  });
});
