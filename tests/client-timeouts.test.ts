/**
 * Client-side timeouts side by side with nginx: client_body_timeout (the connection is closed
 * without an answer), client_header_timeout, keepalive_timeout (an idle connection is closed;
 * the request's location decides how long) and the lingering close after an early answer.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLocal } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';

const sides = sidesFor('the client timeout tests');
const running = new Sides();
const ports = running.ports;

let bigPort = 0;
let big: http.Server;

const conf = (port: number, prefix: string) => `${preamble(prefix, 'info')}
  client_body_timeout 1s;
  keepalive_timeout 1s;
  send_timeout 1s;
  server {
    listen 127.0.0.1:${port};
    client_header_timeout 1s;
    location / { return 200 "ok"; }
    location /short { keepalive_timeout 300ms; return 200 "ok"; }
    location /small { client_max_body_size 10; proxy_pass http://127.0.0.1:9; }
    location /upload { proxy_pass http://127.0.0.1:9; }
    location /big { proxy_buffering off; proxy_pass http://127.0.0.1:${bigPort}; }
    location /bigbuf { proxy_pass http://127.0.0.1:${bigPort}; }
  }
}
`;

/** Sends `data`, then waits: the answer received and when the server closed. */
function exchange(port: number, data: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let answer = '';
    const c = net.connect(port, '127.0.0.1', () => c.write(data));
    c.on('data', (d) => (answer += d.toString('latin1')));
    c.on('close', () => resolve({ ms: Date.now() - t0, answer }));
    c.on('error', reject);
    setTimeout(() => c.destroy(), 6000);
  });
}

describe('client timeouts', () => {
  beforeAll(async () => {
    big = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': 64 * 1024 * 1024 });
      const chunk = Buffer.alloc(64 * 1024, 'b');
      let sent = 0;
      const pump = () => {
        while (sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (sent = Infinity));
      pump();
    });
    bigPort = await listenLocal(big);
    await running.start(sides, 'cto', conf);
  });
  afterAll(() => {
    running.kill();
    big?.close();
  });

  for (const side of sides) {
    it(`${side}: client_body_timeout closes the connection without an answer`, async () => {
      const r = await exchange(ports[side], 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      expect(r.answer).toBe('');
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(3000);
    });
    for (const [where, mode] of [
      ['/big', 'proxy_buffering off'],
      ['/bigbuf', 'proxy_buffering on'],
    ]) {
      it(`${side}: send_timeout gives up on a client that stops reading (${mode})`, async () => {
        // a paused client cannot see the server's FIN: pause past send_timeout, then read what is left
        const got = await new Promise<number>((resolve) => {
          let n = 0;
          const c = net.connect(ports[side], '127.0.0.1', () => c.write(`GET ${where} HTTP/1.1\r\nHost: x\r\n\r\n`));
          c.on('data', (d) => (n += d.length));
          c.once('data', () => {
            c.pause();
            setTimeout(() => c.resume(), 2500);
          });
          c.on('close', () => resolve(n));
          c.on('error', () => undefined);
          setTimeout(() => c.destroy(), 15_000);
        });
        // the response was cut short: the server closed the connection instead of sending it all
        expect(got).toBeLessThan(64 * 1024 * 1024);
      });
    }
    it(`${side}: keepalive_timeout of the request's location decides the idle time`, async () => {
      const r = await exchange(ports[side], 'GET /short HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(r.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(r.ms).toBeGreaterThanOrEqual(250);
      expect(r.ms).toBeLessThan(850);
    });
    it(`${side}: client_header_timeout closes a connection whose head does not complete, unanswered`, async () => {
      const r = await exchange(ports[side], 'GET / HTTP/1.1\r\nHost: x\r\n');
      expect(r.answer).toBe('');
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(1800);
    });
    it(`${side}: an answer before the body was read is followed by a lingering close`, async () => {
      // 413 goes out at once; the connection stays open while the rest of the body comes
      const got = await new Promise<{ answer: string; openAfterAnswer: boolean; closedMsAfterRest: number }>((resolve, reject) => {
        let answer = '';
        let openAfterAnswer = false;
        let restAt = 0;
        const c = net.connect(ports[side], '127.0.0.1', () => c.write('POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n' + 'a'.repeat(50)));
        c.on('data', (d) => {
          answer += d.toString('latin1');
          if (!answer.includes('</html>') || restAt) return;
          setTimeout(() => {
            openAfterAnswer = !c.destroyed && c.readyState === 'open';
            restAt = Date.now();
            c.write('b'.repeat(150));
          }, 300);
        });
        c.on('close', () => resolve({ answer, openAfterAnswer, closedMsAfterRest: restAt ? Date.now() - restAt : -1 }));
        c.on('error', reject);
        setTimeout(() => c.destroy(), 6000);
      });
      expect(got.answer).toMatch(/^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
      expect(got.answer).toMatch(/\r\nConnection: close\r\n/);
      expect(got.openAfterAnswer).toBe(true);
      expect(got.closedMsAfterRest).toBeGreaterThanOrEqual(0);
      expect(got.closedMsAfterRest).toBeLessThan(1000);
    });
    it(`${side}: keepalive_timeout closes an idle connection after its answer`, async () => {
      const r = await exchange(ports[side], 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(r.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(1800);
    });
  }
});
