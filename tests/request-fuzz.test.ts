/**
 * Generated request heads, side by side with nginx: well-formed ones and ones mutated the ways
 * clients and attackers get heads wrong (odd methods, bytes in the target, versions, header
 * syntax, duplicate or conflicting framing headers). nxproxy reads client connections itself;
 * for every head its status line, body, Connection header and whether it closed the
 * connection must be nginx's.
 *
 *   FC_SEED=n    fast-check seed (default below; printed)
 *   FC_RUNS=n    cases (default 300)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, sendRaw, type RawResponse } from './differential/harness.js';
import { preamble, Sides } from './support/side-by-side.js';

const SEED = Number(process.env.FC_SEED ?? 1130);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const running = new Sides();

const conf = (port: number, prefix: string) => `${preamble(prefix)}
  server {
    listen 127.0.0.1:${port};
    server_name _;
    location / { return 200 "m=$request_method u=$uri a=$args p=$server_protocol h=$host r=$request_uri\\n"; }
    location = /exact { return 204; }
  }
}
`;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'G_T', 'CONNECT', 'TRACE', 'PROPFIND', ''];
const TARGETS = ['/', '/a/b', '/a/../b', '/%2e%2e/x', '/a//b', '/a?x=1&y', '/exact', '/a%20b', '/caf\xe9', 'http://h.test/p?q', '*', '/a#frag', '/./a', '/a/./b/..', '//', '/%00', '/a\tb', ''];
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
});

function build(h: fc.Arbitrary<unknown> extends never ? never : { method: string; target: string; version: string; headers: [string, string][]; hostFirst: boolean; lf: boolean; body: string }): string {
  const eol = h.lf ? '\n' : '\r\n';
  const headers = h.hostFirst ? [['Host', 'h.test'] as [string, string], ...h.headers] : h.headers;
  const line = [h.method, h.target, h.version].filter((x) => x !== '').join(' ');
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
    await running.start(['nginx', 'nxproxy'], 'fuzz', conf);
  });
  afterAll(() => running.kill());

  it('answer every head as nginx does', async () => {
    console.log(`request fuzz: seed ${SEED}, ${RUNS} cases`);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(headArb, async (h) => {
        const data = build(h);
        const [a, b] = await Promise.all(
          (['nginx', 'nxproxy'] as const).map((side) => sendRaw(running.ports[side], data, { timeoutMs: 2000, graceMs: 150 })),
        );
        expect(summary(b), JSON.stringify(data)).toEqual(summary(a));
        const status = a.messages[0]?.status ?? 0;
        seen.set(status, (seen.get(status) ?? 0) + 1);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`request fuzz: nginx's statuses (count): ${[...seen].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    // the generator reaches both served requests and several kinds of rejection
    expect(seen.get(200)).toBeGreaterThan(5);
    expect(seen.get(400)).toBeGreaterThan(5);
  }, 300_000);
});
