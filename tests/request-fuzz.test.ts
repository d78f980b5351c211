/**
 * Generated request heads, side by side with nginx: well-formed ones and ones mutated the ways
 * clients and attackers get heads wrong (odd methods, bytes in the target, versions, header
 * syntax, duplicate or conflicting framing headers). nxproxy reads client connections itself;
 * for every head its status line, body, Connection header and whether it closed the
 * connection must be nginx's; for the half sent to a proxied location, so must what the
 * backend received (an echo answers with it).
 *
 *   FC_SEED=n    fast-check seed (default below; printed)
 *   FC_RUNS=n    cases (default 300)
 */
import * as http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, sendRaw, type RawResponse } from './differential/harness.js';
import { listenLocal } from './support/net.js';
import { preamble, Sides } from './support/side-by-side.js';

const SEED = Number(process.env.FC_SEED ?? 1130);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const running = new Sides();
let echo: http.Server;
let echoPort = 0;

const conf = (port: number, prefix: string) => `${preamble(prefix)}
  server {
    listen 127.0.0.1:${port};
    server_name _;
    location / { return 200 "m=$request_method u=$uri a=$args p=$server_protocol h=$host r=$request_uri\\n"; }
    location = /exact { return 204; }
    location /p/ { proxy_pass http://127.0.0.1:${echoPort}; }
  }
}
`;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'G_T', 'CONNECT', 'TRACE', 'PROPFIND', ''];
const TARGETS = ['/', '/a/b', '/a/../b', '/%2e%2e/x', '/a//b', '/a?x=1&y', '/exact', '/a%20b', '/caf\xe9', 'http://h.test/p?q', '*', '/a#frag', '/./a', '/a/./b/..', '//', '/%00', '/a\tb', '', '/' + 'l'.repeat(1100), '/' + 'L'.repeat(8300)];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/01.1', 'http/1.1', 'HTTP/1.10', ''];
const HEADERS: [string, string][] = [
  ['X-A', 'b'],
  ['Content-Length', '3'],
  ['Connection', 'close'],
  ['Connection', 'keep-alive'],
  ['Accept', '*/*'],
  ['Transfer-Encoding', 'chunked'],
  ['Expect', '100-continue'],
  ['Host', 'h.test'],
  ['Host', 'H.Test:8080'],
  ['Host', 'bad host'],
  ['Host', ''],
  ['X_U', '1'],
  ['Content-Length', '0'],
  ['Content-Length', '-1'],
  ['Content-Length', 'x'],
  ['Transfer-Encoding', 'gzip'],
  ['Bad Name', 'x'],
  [':colon', 'x'],
  ['X-Long', 'v'.repeat(1500)],
  ['X-Forwarded-For', '10.0.0.1'],
  ['Cookie', 'a=1; b=2'],
  ['X-Spaces', '   padded   '],
  ['X-Empty', ''],
  ['x-lower', 'v'],
  ['X-Fold', 'a\r\n continued'],
  ['X-Ctl', 'a\x01b'],
  ['X-Del', 'a\x7fb'],
  ['X-High', 'caf\xe9'],
  ['Upgrade', 'websocket'],
  ['Proxy-Connection', 'keep-alive'],
  ['TE', 'trailers'],
  ['Keep-Alive', '300'],
  ['X-A', 'second'],
  ['X-Huge', 'h'.repeat(8200)],
  ['X-Big', 'b'.repeat(4000)],
];

/** Mostly the usual values (the first `usual` of the list), sometimes any of them. */
const mostly = <T>(all: T[], usual: number): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: fc.constantFrom(...all.slice(0, usual)), weight: 4 }, { arbitrary: fc.constantFrom(...all), weight: 1 });

const headArb = fc.record({
  method: mostly(METHODS, 4),
  target: mostly(TARGETS, 8),
  version: mostly(VERSIONS, 2),
  headers: fc.array(mostly(HEADERS, 7), { maxLength: 4 }),
  hostFirst: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  lf: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  body: fc.constantFrom('', 'abc', '3\r\nabc\r\n0\r\n\r\n'),
  /** Half the heads go to the proxied location: what the backend received is compared too. */
  proxied: fc.boolean(),
});

function build(h: { method: string; target: string; version: string; headers: [string, string][]; hostFirst: boolean; lf: boolean; body: string; proxied: boolean }): string {
  const eol = h.lf ? '\n' : '\r\n';
  const headers = h.hostFirst ? [['Host', 'h.test'] as [string, string], ...h.headers] : h.headers;
  const target = h.proxied && h.target.startsWith('/') ? '/p' + h.target : h.target;
  const line = [h.method, target, h.version].filter((x) => x !== '').join(' ');
  return line + eol + headers.map(([k, v]) => `${k}: ${v}${eol}`).join('') + eol + h.body;
}

/** What must match: status lines, bodies, Connection headers, closed or not. */
function summary(r: RawResponse): unknown {
  return {
    messages: r.messages.map((m) => ({
      status: m.statusLine,
      connection: m.headers.find(([k]) => k.toLowerCase() === 'connection')?.[1],
      body: m.body,
    })),
    garbage: r.garbage,
    closed: r.closed,
  };
}

describe.skipIf(!NGINX)('generated request heads, nginx vs nxproxy', () => {
  beforeAll(async () => {
    // the echo answers with what it received: method, target, version, headers in order, body
    echo = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (d) => body.push(d));
      req.on('end', () => {
        const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        const text = lines.join('\n') + `\n\n${Buffer.concat(body).toString('latin1')}`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text, 'latin1') });
        res.end(text, 'latin1');
      });
    });
    echoPort = await listenLocal(echo);
    await running.start(['nginx', 'nxproxy'], 'fuzz', conf);
  });
  afterAll(() => {
    running.kill();
    echo?.close();
  });

  it('answer every head as nginx does', async () => {
    console.log(`request fuzz: seed ${SEED}, ${RUNS} cases`);
    const seen = new Map<number, number>();
    let echoed = 0;
    await fc.assert(
      // one head, or a few pipelined on one connection
      // sometimes cut in two writes: nginx's header buffers see the bytes as they arrive
      fc.asyncProperty(fc.array(headArb, { minLength: 1, maxLength: 3 }), fc.option(fc.nat(), { freq: 2 }), async (hs, cutAt) => {
        const data = hs.map(build).join('');
        const splitAt = cutAt === null ? undefined : [1 + (cutAt % Math.max(1, data.length - 1))];
        const [a, b] = await Promise.all(
          (['nginx', 'nxproxy'] as const).map((side) =>
            sendRaw(running.ports[side], data, { timeoutMs: 2000, graceMs: 150, responses: hs.length, splitAt, splitDelayMs: 30 }),
          ),
        );
        expect(summary(b), JSON.stringify(data)).toEqual(summary(a));
        if (a.messages.some((m) => /^[A-Z]+ \/p\/.* HTTP\/1\.[01]\n/.test(m.body.toString('latin1')))) echoed++;
        const status = a.messages[0]?.status ?? 0;
        seen.set(status, (seen.get(status) ?? 0) + 1);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`request fuzz: nginx's statuses (count): ${[...seen].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    // the generator reaches both served requests and several kinds of rejection
    expect(seen.get(200)).toBeGreaterThan(5);
    expect(seen.get(400)).toBeGreaterThan(5);
    console.log(`request fuzz: ${echoed} answers carried what the backend received`);
    expect(echoed).toBeGreaterThan(20);
  }, 300_000);
});
