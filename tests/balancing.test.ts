/**
 * Balancers against nginx: the same upstream blocks (same backend addresses, so consistent
 * hashing builds the same ring) in nginx and nxproxy, the same requests in the same order, and
 * the sequence of backends each one picks.
 */
import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from './support/net.js';
import { NGINX, preamble, startSide } from './support/side-by-side.js';


if (!NGINX) console.log('skipping balancing tests: nginx not installed');
const children: ChildProcess[] = [];
const backends: http.Server[] = [];
let proxies: { nginx: number; nxproxy: number };

const get = async (port: number, p: string): Promise<string> => (await httpGet(port, p)).body;


const conf = (port: number, b: number[], prefix: string) => `${preamble(prefix)}
  upstream rr { server 127.0.0.1:${b[0]} weight=5; server 127.0.0.1:${b[1]}; server 127.0.0.1:${b[2]}; }
  upstream rr2 { server 127.0.0.1:${b[0]} weight=2; server 127.0.0.1:${b[1]} weight=3; server 127.0.0.1:${b[2]} weight=1; }
  upstream iph { ip_hash; server 127.0.0.1:${b[0]}; server 127.0.0.1:${b[1]}; server 127.0.0.1:${b[2]}; }
  upstream hk { hash $arg_k; server 127.0.0.1:${b[0]}; server 127.0.0.1:${b[1]} weight=2; server 127.0.0.1:${b[2]}; }
  upstream ch { hash $arg_k consistent; server 127.0.0.1:${b[0]}; server 127.0.0.1:${b[1]}; server 127.0.0.1:${b[2]} weight=2; }
  upstream lc { least_conn; server 127.0.0.1:${b[0]}; server 127.0.0.1:${b[1]} weight=3; server 127.0.0.1:${b[2]}; }
  server {
    listen 127.0.0.1:${port};
    location /rr/ { proxy_pass http://rr; }
    location /rr2/ { proxy_pass http://rr2; }
    location /iph/ { proxy_pass http://iph; }
    location /hk/ { proxy_pass http://hk; }
    location /ch/ { proxy_pass http://ch; }
    location /lc/ { proxy_pass http://lc; }
  }
}
`;

describe.skipIf(!NGINX)('balancers pick the same peers as nginx', () => {
  beforeAll(async () => {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const srv = http.createServer((_req, res) => res.end(`B${i}`));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      backends.push(srv);
      ports.push((srv.address() as net.AddressInfo).port);
    }
    const nginx = await startSide('nginx', 'bal', (port, dir) => conf(port, ports, dir));
    const nxproxy = await startSide('nxproxy', 'bal', (port, dir) => conf(port, ports, dir));
    children.push(nginx.proc, nxproxy.proc);
    proxies = { nginx: nginx.port, nxproxy: nxproxy.port };
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const b of backends) b.close();
  });

  const sequence = async (port: number, paths: string[]) => {
    const out: string[] = [];
    for (const p of paths) out.push(await get(port, p));
    return out.join(' ');
  };

  const cases: [string, string[]][] = [
    ['smooth weighted round robin 5,1,1', Array.from({ length: 14 }, (_, i) => `/rr/${i}`)],
    ['weighted round robin 2,3,1', Array.from({ length: 12 }, (_, i) => `/rr2/${i}`)],
    ['ip_hash', Array.from({ length: 6 }, (_, i) => `/iph/${i}`)],
    ['hash $arg_k', Array.from({ length: 40 }, (_, i) => `/hk/?k=key${i}`)],
    ['hash $arg_k consistent (ketama)', Array.from({ length: 60 }, (_, i) => `/ch/?k=user-${i * 7919}`)],
    ['least_conn (sequential: ties broken by weighted round robin)', Array.from({ length: 10 }, (_, i) => `/lc/${i}`)],
  ];
  for (const [name, paths] of cases) {
    it(name, async () => {
      const want = await sequence(proxies.nginx, paths);
      const got = await sequence(proxies.nxproxy, paths);
      expect(want).toMatch(/^B\d( B\d)*$/);
      expect(got).toBe(want);
    });
  }
});
