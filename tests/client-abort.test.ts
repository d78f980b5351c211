/**
 * A client that goes away while the upstream works, side by side with nginx. nginx (epoll with
 * EPOLLRDHUP) takes a half-close as the client leaving: the upstream connection is closed and
 * nothing is answered, unless proxy_ignore_client_abort is on. Answers nginx makes itself are
 * still sent to a half-closed client.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLocal } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';

const sides = sidesFor('the client abort tests');
const running = new Sides();
let backend: http.Server;
/** Per request id: how the backend's answer ended. */
const ended = new Map<string, 'finished' | 'cut'>();

const conf = (backendPort: number) => (port: number, prefix: string) => `${preamble(prefix, 'info')}
  server {
    listen 127.0.0.1:${port};
    location /slow { proxy_pass http://127.0.0.1:${backendPort}; }
    location /slow-ignore { proxy_ignore_client_abort on; proxy_pass http://127.0.0.1:${backendPort}; }
    location /ret { return 200 "ok\\n"; }
  }
}
`;

/** Sends a GET, half-closes at once; the bytes received and how long until the server closed. */
function halfClose(port: number, target: string): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let answer = '';
    const c = net.connect(port, '127.0.0.1', () => c.end(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`));
    c.on('data', (d) => (answer += d.toString('latin1')));
    c.on('close', () => resolve({ answer, ms: Date.now() - t0 }));
    c.on('error', reject);
    setTimeout(() => c.destroy(), 5000);
  });
}

describe('client going away while the upstream works', () => {
  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      res.on('close', () => ended.set(id, res.writableFinished ? 'finished' : 'cut'));
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' });
        res.end('slow\n');
      }, 400);
    });
    const b = await listenLocal(backend);
    await running.start(sides, 'abort', conf(b));
  });
  afterAll(() => {
    running.kill();
    backend?.close();
  });

  for (const side of sides) {
    it(`${side}: a half-close while the upstream has not answered ends the request unanswered`, async () => {
      const id = `${side}-half`;
      const r = await halfClose(running.ports[side], `/slow?id=${id}`);
      expect(r.answer).toBe('');
      expect(r.ms).toBeLessThan(350);
      // the upstream connection is closed too: the backend's answer (due after 400 ms) never
      // completes. nginx may close it before the request is even written (then the backend
      // sees no request at all); nxproxy has handed the request over by then and cuts it.
      await new Promise((r) => setTimeout(r, 700));
      expect(ended.get(id)).not.toBe('finished');
      expect(running.errorLog(side)).toMatch(
        /\[info\] .*epoll_wait\(\) reported that client prematurely closed connection, so upstream connection is closed too while (?:connecting to|sending request to) upstream, client: 127\.0\.0\.1, server: , request: "GET \/slow\?id=\S+ HTTP\/1\.1", upstream: "http:\/\/127\.0\.0\.1:\d+\/slow\?id=\S+", host: "x"/,
      );
    });

    it(`${side}: with proxy_ignore_client_abort on, the half-closed client still gets the answer`, async () => {
      const id = `${side}-ignore`;
      const r = await halfClose(running.ports[side], `/slow-ignore?id=${id}`);
      expect(r.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nslow\n$/);
      expect(ended.get(id)).toBe('finished');
    });

    it(`${side}: a client that closes its connection: the upstream request runs on only with proxy_ignore_client_abort`, async () => {
      for (const [where, want] of [['/slow', 'not finished'], ['/slow-ignore', 'finished']] as const) {
        const id = `${side}-close-${where.slice(1)}`;
        await new Promise<void>((resolve) => {
          const c = net.connect(running.ports[side], '127.0.0.1', () => {
            c.write(`GET ${where}?id=${id} HTTP/1.1\r\nHost: x\r\n\r\n`);
            setTimeout(() => c.destroy(), 100);
          });
          c.on('close', () => resolve());
          c.on('error', () => undefined);
        });
        await new Promise((r) => setTimeout(r, 700));
        if (want === 'finished') expect(ended.get(id)).toBe('finished');
        else expect(ended.get(id)).not.toBe('finished');
      }
    });

    it(`${side}: an answer made without an upstream still goes to a half-closed client`, async () => {
      const r = await halfClose(running.ports[side], '/ret');
      expect(r.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok\n$/);
    });
  }
});
