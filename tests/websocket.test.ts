/**
 * WebSocket through nginx and nxproxy side by side: upgraded only when the configuration passes
 * Upgrade/Connection on, messages of all sizes both ways, fragmented frames, idle timeout,
 * and closing either side closes the other.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';


const running = new Sides();
let backend: WebSocketServer;
let backendPort = 0;
const serverClosed: number[] = [];
const ports = running.ports;

const conf = (port: number, prefix: string) => `${preamble(prefix)}
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location /ws/ {
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1s;
      proxy_pass http://127.0.0.1:${backendPort};
    }
    location /plain/ { proxy_pass http://127.0.0.1:${backendPort}; }
  }
}
`;

function open(port: number, p: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${p}`);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, data: Buffer | string): Promise<Buffer> {
  return new Promise((resolve) => {
    ws.once('message', (m: Buffer) => resolve(m));
    ws.send(data);
  });
}

const sides = sidesFor('the WebSocket tests');

describe('WebSocket upgrade', () => {
  beforeAll(async () => {
    backend = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => backend.once('listening', () => r()));
    backendPort = (backend.address() as net.AddressInfo).port;
    backend.on('connection', (ws, req) => {
      ws.on('message', (m, isBinary) => {
        if (m.toString() === 'close-from-server') ws.close(4000, 'bye');
        else ws.send(m, { binary: isBinary });
      });
      ws.on('close', () => serverClosed.push(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? 0)));
    });
    await running.start(sides, 'ws', conf);
  });
  afterAll(() => {
    running.kill();
    backend?.close();
  });

  for (const side of sides) {
    describe(side, () => {
      it('echoes small, large and binary messages through the tunnel', async () => {
        const ws = await open(ports[side], '/ws/echo');
        expect((await echo(ws, 'hello')).toString()).toBe('hello');
        const big = Buffer.alloc(3 * 1024 * 1024, 7);
        expect((await echo(ws, big)).equals(big)).toBe(true);
        const bin = Buffer.from([0, 1, 2, 255]);
        expect((await echo(ws, bin)).equals(bin)).toBe(true);
        ws.close();
      });

      it('carries fragmented messages', async () => {
        const ws = await open(ports[side], '/ws/frag');
        const got = new Promise<Buffer>((r) => ws.once('message', (m: Buffer) => r(m)));
        ws.send('part-1 ', { fin: false });
        ws.send('part-2 ', { fin: false });
        ws.send('end', { fin: true });
        expect((await got).toString()).toBe('part-1 part-2 end');
        ws.close();
      });

      it('does not upgrade without the Upgrade/Connection configuration', async () => {
        await expect(open(ports[side], '/plain/x')).rejects.toThrow(/status 426|status 400|Unexpected|socket hang up|status 200/);
      });

      it('closing the server side closes the client', async () => {
        const ws = await open(ports[side], '/ws/c');
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.send('close-from-server');
        expect(await closed).toBe(4000);
      });

      it('closing the client side closes the upstream connection', async () => {
        const id = Math.floor(Math.random() * 1e9);
        const ws = await open(ports[side], `/ws/x?id=${id}`);
        ws.terminate();
        for (let i = 0; i < 100 && !serverClosed.includes(id); i++) await new Promise((r) => setTimeout(r, 20));
        expect(serverClosed).toContain(id);
      });

      it('proxy_read_timeout closes an idle tunnel', async () => {
        const ws = await open(ports[side], '/ws/idle');
        const t0 = Date.now();
        await new Promise<void>((r) => ws.once('close', () => r()));
        const idle = Date.now() - t0;
        expect(idle).toBeGreaterThanOrEqual(900);
        expect(idle).toBeLessThan(5000);
      });
    });
  }
});
