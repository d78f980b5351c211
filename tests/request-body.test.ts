/**
 * Buffered request bodies (proxy_request_buffering on) larger than client_body_buffer_size go
 * through a temp file: they reach the backend intact, the process does not hold them, and a
 * retry on the next peer sends the whole body again. Side by side with nginx.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';
import { preamble, sidesFor, startSide } from './support/side-by-side.js';

const sides = sidesFor('the request-body tests');
const children: ChildProcess[] = [];
const ports: Record<string, number> = {};
let backend: http.Server;

const BODY = Buffer.alloc(6 * 1024 * 1024);
for (let i = 0; i < BODY.length; i++) BODY[i] = (i * 7) & 0xff;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function post(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent: false, headers: { 'Content-Length': BODY.length } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    // in pieces, so the body arrives over time
    let off = 0;
    const next = () => {
      if (off >= BODY.length) return void req.end();
      const piece = BODY.subarray(off, off + 256 * 1024);
      off += piece.length;
      if (req.write(piece)) setImmediate(next);
      else req.once('drain', next);
    };
    next();
  });
}

describe('buffered request bodies through temp files', () => {
  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => res.end(`${Buffer.concat(chunks).length} ${sha(Buffer.concat(chunks))}`));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    const b = (backend.address() as net.AddressInfo).port;
    const dead = await freePort();
    for (const side of sides) {
      const run = await startSide(
        side,
        'body',
        (port, prefix) => `${preamble(prefix)}
  client_max_body_size 10m;
  upstream retry { server 127.0.0.1:${dead}; server 127.0.0.1:${b}; }
  server {
    listen 127.0.0.1:${port};
    location /up { proxy_pass http://127.0.0.1:${b}; }
    location /retry { proxy_next_upstream error non_idempotent; proxy_pass http://retry; }
  }
}
`,
      );
      ports[side] = run.port;
      children.push(run.proc);
    }
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    backend?.close();
  });

  for (const side of sides) {
    it(`${side}: a 6 MiB upload arrives intact`, async () => {
      expect(await post(ports[side], '/up')).toEqual({ status: 200, body: `${BODY.length} ${sha(BODY)}` });
    });
    it(`${side}: after a failed peer, the retry sends the whole body again`, async () => {
      expect(await post(ports[side], '/retry')).toEqual({ status: 200, body: `${BODY.length} ${sha(BODY)}` });
    });
  }
});

describe('proxy_send_timeout', () => {
  const ports2: Record<string, number> = {};
  const kids: ChildProcess[] = [];
  let stuck: net.Server;
  beforeAll(async () => {
    // accepts, never reads: the request body backs up
    stuck = net.createServer((s) => s.pause());
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', () => r()));
    const b = (stuck.address() as net.AddressInfo).port;
    for (const side of sides) {
      const run = await startSide(
        side,
        'send',
        (port, prefix) => `${preamble(prefix)}
  client_max_body_size 10m;
  proxy_send_timeout 1s;
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${b}; } }
}
`,
      );
      ports2[side] = run.port;
      kids.push(run.proc);
    }
  });
  afterAll(() => {
    for (const c of kids) c.kill('SIGKILL');
    stuck?.close();
  });
  for (const side of sides) {
    it(`${side}: an upstream that stops taking the body ends in 504`, async () => {
      const t0 = Date.now();
      const r = await post(ports2[side], '/x');
      expect(r.status).toBe(504);
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  }
});
