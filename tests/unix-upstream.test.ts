/** Upstreams on unix sockets (`server unix:...` and `proxy_pass http://unix:...:/`), side by side with nginx. */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from './support/net.js';
import { preamble, sidesFor, startSide } from './support/side-by-side.js';

const sides = sidesFor('the unix-socket upstream tests');
const children: ChildProcess[] = [];
const ports: Record<string, number> = {};
let backend: http.Server;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxunix-'));
const sock = path.join(dir, 'backend.sock');

describe('unix socket upstreams', () => {
  beforeAll(async () => {
    backend = http.createServer((req, res) => res.end(`${req.method} ${req.url} host=${req.headers.host} http/${req.httpVersion}`));
    await new Promise<void>((r) => backend.listen(sock, () => r()));
    for (const side of sides) {
      const run = await startSide(
        side,
        'unix',
        (port, prefix) => `${preamble(prefix)}
  upstream app { server unix:${sock}; }
  server {
    listen 127.0.0.1:${port};
    location /group/ { proxy_pass http://app; }
    location /direct/ { proxy_pass http://unix:${sock}:/v1/; }
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
    it(`${side}: an upstream group of a unix socket`, async () => {
      expect(await httpGet(ports[side], '/group/x?a=1')).toEqual({ status: 200, body: 'GET /group/x?a=1 host=app http/1.0' });
    });
    it(`${side}: proxy_pass http://unix:PATH:/uri`, async () => {
      expect(await httpGet(ports[side], '/direct/y')).toEqual({ status: 200, body: 'GET /v1/y host=localhost http/1.0' });
    });
  }
});
