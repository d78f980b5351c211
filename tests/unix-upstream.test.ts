/** Upstreams on unix sockets (`server unix:...` and `proxy_pass http://unix:...:/`), side by side with nginx. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpGet } from './support/net.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'packages/cli/bin/nxproxy.js');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
if (!NGINX) console.log('skipping unix-socket comparison with nginx: nginx not installed');
const sides = NGINX ? ['nginx', 'nxproxy'] : ['nxproxy'];
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
      const port = await freePort();
      ports[side] = port;
      const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `nxunix-${side}-`));
      fs.mkdirSync(path.join(prefix, 'tmp'));
      fs.writeFileSync(
        path.join(prefix, 'nginx.conf'),
        `daemon off; master_process off; pid ${prefix}/run.pid; error_log ${prefix}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
  upstream app { server unix:${sock}; }
  server {
    listen 127.0.0.1:${port};
    location /group/ { proxy_pass http://app; }
    location /direct/ { proxy_pass http://unix:${sock}:/v1/; }
  }
}
`,
      );
      const args = ['-p', prefix + '/', '-c', 'nginx.conf', '-e', prefix + '/error.log'];
      const c = side === 'nginx' ? spawn(NGINX!, args, { stdio: 'ignore' }) : spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
      children.push(c);
      for (let i = 0; i < 400 && !fs.existsSync(path.join(prefix, 'run.pid')); i++) await new Promise((r) => setTimeout(r, 25));
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
