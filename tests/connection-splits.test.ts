/**
 * nxproxy reads client connections itself (packages/runtime/src/http/connection.ts): what a
 * client gets must not depend on how its bytes are cut into reads. One pipelined stream of
 * requests (GET, HEAD, POST with a Content-Length body, POST with a chunked body, an error, a
 * last one that closes) goes out whole and then cut at random points, with pauses between
 * the pieces; every cut gets the bytes the whole stream got. With nginx installed, the whole
 * stream is also checked against nginx's answer.
 *
 *   FC_SEED=n   fast-check seed (default below; printed)
 */
import * as http from 'node:http';
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLocal } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';

const SEED = Number(process.env.FC_SEED ?? 20261130);
const sides = sidesFor('the connection split tests');
const running = new Sides();
const ports = running.ports;
let echo: http.Server;
let echoPort = 0;

const conf = (port: number, prefix: string) => `${preamble(prefix)}
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "uri=$uri args=$args\\n"; }
    location /echo { proxy_pass http://127.0.0.1:${echoPort}; }
    location /stream { proxy_request_buffering off; proxy_http_version 1.1; proxy_pass http://127.0.0.1:${echoPort}; }
  }
}
`;

const STREAM = [
  'GET /a/b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n',
  'HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /echo/len HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n',
  'POST /stream/len HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde',
  'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n',
].join('');
/** The same stream, ending with a request that closes the connection (the 400 above already does). */
const LAST_GOOD = STREAM.slice(0, STREAM.indexOf('GET /%zz')) + 'GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** Writes the pieces with a short pause after each; resolves with all the connection received. */
function exchange(port: number, pieces: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect(port, '127.0.0.1', async () => {
      for (const p of pieces) {
        if (c.destroyed) break;
        c.write(p);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    c.on('data', (d) => chunks.push(d));
    c.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    c.on('error', reject);
    setTimeout(() => c.destroy(), 10_000);
  });
}

const normalize = (s: string) => s.replace(/^Date: .*$/gm, 'Date: -');

/** Cuts `data` at the given offsets (sorted, deduplicated, inside the data). */
function cut(data: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((x) => x % data.length).filter((x) => x > 0))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

describe('answers do not depend on how the request bytes are cut', () => {
  beforeAll(async () => {
    echo = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (d) => body.push(d));
      req.on('end', () => {
        const text = `${req.method} ${req.url} HTTP/${req.httpVersion} body=${Buffer.concat(body).toString('latin1')}\n`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    echoPort = await listenLocal(echo);
    await running.start(sides, 'splits', conf);
  });
  afterAll(() => {
    running.kill();
    echo?.close();
  });

  for (const stream of [STREAM, LAST_GOOD]) {
    const label = stream === STREAM ? 'ending in a 400' : 'ending in Connection: close';
    it(`whole stream ${label}: every request answered${sides.length > 1 ? ', as nginx answers' : ''}`, async () => {
      const data = Buffer.from(stream, 'latin1');
      const got: Record<string, string> = {};
      for (const side of sides) got[side] = normalize(await exchange(ports[side], [data]));
      const nx = got.nxproxy;
      expect(nx.match(/^HTTP\/1\.1 \d{3}/gm)?.map((l) => l.slice(9))).toEqual(stream === STREAM ? ['200', '200', '200', '200', '200', '400'] : ['200', '200', '200', '200', '200', '200']);
      expect(nx).toContain('POST /echo/len HTTP/1.0 body=hello world');
      expect(nx).toContain('POST /echo/chunked HTTP/1.0 body=hello world');
      expect(nx).toContain('POST /stream/len HTTP/1.1 body=abcde');
      if (got.nginx !== undefined) expect(nx).toBe(got.nginx);
    });

    it(`stream ${label} cut at random points: the same answer (nxproxy)`, async () => {
      const data = Buffer.from(stream, 'latin1');
      const whole = normalize(await exchange(ports.nxproxy, [data]));
      console.log(`connection splits: fast-check seed ${SEED}`);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat({ max: data.length * 4 }), { minLength: 1, maxLength: 12 }), async (at) => {
          const got = normalize(await exchange(ports.nxproxy, cut(data, at)));
          expect(got).toBe(whole);
        }),
        { seed: SEED, numRuns: 25 },
      );
    }, 120_000);
  }
});
