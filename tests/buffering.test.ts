/**
 * proxy_buffering: with it on (the default), a client that does not read does not hold the
 * upstream: the body goes to memory and a temp file and the backend finishes at once; with it
 * off (or X-Accel-Buffering: no) the backend waits for the client. nginx and nxproxy side by side.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLocal } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';


const BODY = 16 * 1024 * 1024;
const running = new Sides();
let backend: http.Server;
/** path -> ms from the backend's first byte to its last byte being accepted by the socket */
const finished = new Map<string, number>();
const ports = running.ports;

const conf = (port: number, b: number, prefix: string) => `${preamble(prefix)}
  server {
    listen 127.0.0.1:${port};
    location /on/ { proxy_pass http://127.0.0.1:${b}; }
    location /off/ { proxy_buffering off; proxy_pass http://127.0.0.1:${b}; }
    location /accel/ { proxy_pass http://127.0.0.1:${b}; }
  }
}
`;

const sides = sidesFor('the proxy_buffering tests');

/** Asks for the body, reads only the response head, waits, and reports how long the backend took. */
async function slowClient(port: number, p: string, waitMs: number): Promise<{ backendMs: number; got: number }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let got = 0;
    c.once('data', (d) => {
      got += d.length;
      c.pause();
      setTimeout(() => {
        const backendMs = finished.get(p) ?? Infinity;
        c.resume();
        c.on('data', (x) => (got += x.length));
        c.on('end', () => resolve({ backendMs, got }));
      }, waitMs);
    });
    c.on('error', reject);
  });
}

describe('proxy_buffering and a client that does not read', () => {
  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      const headers: Record<string, string | number> = { 'Content-Length': BODY };
      if (req.url?.startsWith('/accel/')) headers['X-Accel-Buffering'] = 'no';
      res.writeHead(200, headers);
      const t0 = Date.now();
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < BODY) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(() => finished.set(req.url ?? '', Date.now() - t0));
      };
      pump();
    });
    const b = await listenLocal(backend);
    await running.start(sides, 'buf', (port, dir) => conf(port, b, dir));
  });
  afterAll(() => {
    running.kill();
    backend?.close();
  });

  for (const side of sides) {
    it(`${side}: proxy_buffering on releases the backend before the client reads`, async () => {
      const r = await slowClient(ports[side], `/on/${side}`, 1500);
      expect(r.backendMs).toBeLessThan(1500);
      expect(r.got).toBeGreaterThan(BODY);
    });
    it(`${side}: proxy_buffering off keeps the backend waiting for the client`, async () => {
      const r = await slowClient(ports[side], `/off/${side}`, 1500);
      expect(r.backendMs).toBe(Infinity);
      expect(r.got).toBeGreaterThan(BODY);
    });
    it(`${side}: X-Accel-Buffering: no from the backend turns buffering off`, async () => {
      const r = await slowClient(ports[side], `/accel/${side}`, 1500);
      expect(r.backendMs).toBe(Infinity);
      expect(r.got).toBeGreaterThan(BODY);
    });
  }
});
