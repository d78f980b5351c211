/**
 * `resolver`, side by side with nginx: a name in a variable proxy_pass is looked up at the DNS
 * server `resolver` names (a test server here), not through the system's resolver: a name only
 * /etc/hosts knows is not found, an unknown one is a 502 with nginx's error line, and the
 * answer is kept for its TTL.
 */
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from './support/dns-server.js';
import { listenLocal } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';

const sides = sidesFor('the resolver tests');
const running = new Sides();
let backend: http.Server;
let backendPort = 0;
const dns = new DnsServer(new Map([['backend.test', ['127.0.0.1']]]), 60);

const conf = (dnsPort: number) => (port: number, prefix: string) => `${preamble(prefix, 'info')}
  resolver 127.0.0.1:${dnsPort} ipv6=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      set $name $arg_name;
      add_header X-Upstream $upstream_addr always;
      proxy_pass http://$name:${backendPort};
    }
  }
}
`;

/** A GET with a fresh connection: status, body and the X-Upstream header. */
function get(port: number, target: string): Promise<{ status: number; body: string; upstream: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, upstream: String(res.headers['x-upstream'] ?? '') }));
      })
      .on('error', reject);
  });
}

describe('resolver', () => {
  beforeAll(async () => {
    backend = http.createServer((req, res) => res.end(`backend got ${req.url} for ${req.headers.host}\n`));
    backendPort = await listenLocal(backend);
    const dnsPort = await dns.listen();
    await running.start(sides, 'resolver', conf(dnsPort));
  });
  afterAll(() => {
    running.kill();
    backend?.close();
    dns.close();
  });

  for (const side of sides) {
    it(`${side}: a name the configured DNS server knows is proxied to its address`, async () => {
      const before = dns.asked.filter((q) => q === 'backend.test/A').length;
      const r = await get(running.ports[side], '/x?name=backend.test');
      expect(r.status).toBe(200);
      expect(r.body).toBe(`backend got /x?name=backend.test for backend.test:${backendPort}\n`);
      expect(r.upstream).toBe(`127.0.0.1:${backendPort}`);
      // within the TTL the answer is reused
      await get(running.ports[side], '/y?name=backend.test');
      expect(dns.asked.filter((q) => q === 'backend.test/A').length - before).toBeLessThanOrEqual(1);
    });

    it(`${side}: a name only the system knows (localhost) and an unknown name are 502s, logged as nginx does`, async () => {
      for (const name of ['localhost', 'nowhere.test']) {
        const r = await get(running.ports[side], `/z?name=${name}`);
        expect(r.status).toBe(502);
        expect(running.errorLog(side)).toMatch(new RegExp(`\\*\\d+ ${name.replace('.', '\\.')} could not be resolved \\(3: Host not found\\), client: 127\\.0\\.0\\.1, server: , request: "GET /z\\?name=${name.replace('.', '\\.')} HTTP/1\\.1", host: "127\\.0\\.0\\.1:${running.ports[side]}"`));
      }
    });
  }
});
