/**
 * Under load, one of two peers stops (its listening socket and idle keep-alive connections
 * close) and comes back, several times: no idempotent client request may fail. The benchmark
 * bench/failover/run.mjs does the same with 20,000 requests, side by side with nginx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'packages/cli/bin/nxproxy.js');

class Peer {
  server: http.Server | null = null;
  readonly sockets = new Set<Socket>();
  served = 0;
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    const s = http.createServer((_req, res) => {
      this.served++;
      res.end('ok');
    });
    s.keepAliveTimeout = 30_000;
    s.on('connection', (c) => {
      this.sockets.add(c);
      c.on('close', () => this.sockets.delete(c));
    });
    await new Promise<void>((r) => s.listen(this.port, '127.0.0.1', () => r()));
    this.server = s;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    // the listening socket closes, idle keep-alive connections close, in-flight answers finish
    s.close();
    s.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 20));
  }
}

let child: ChildProcess | undefined;
const peers: Peer[] = [];
afterAll(async () => {
  child?.kill('SIGKILL');
  for (const p of peers) await p.stop();
});

describe('failover under load', () => {
  it('a peer stopping and restarting 4 times during 4000 GETs fails no client request', async () => {
    for (let i = 0; i < 2; i++) {
      const p = new Peer(await freePort());
      await p.start();
      peers.push(p);
    }
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxfail-'));
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `pid ${dir}/nx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  upstream pair { server 127.0.0.1:${peers[0].port}; server 127.0.0.1:${peers[1].port}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://pair; }
  }
}
`,
    );
    child = spawn(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    for (let i = 0; i < 400 && !fs.existsSync(path.join(dir, 'nx.pid')); i++) await new Promise((r) => setTimeout(r, 25));

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const total = 4000;
    let done = 0;
    const failures: string[] = [];
    const one = (i: number) =>
      new Promise<void>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: `/r${i}`, agent }, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) failures.push(`${i}: ${res.statusCode}`);
              resolve();
            });
          })
          .on('error', (e) => {
            failures.push(`${i}: ${e.message}`);
            resolve();
          });
      });
    let next = 0;
    const worker = async () => {
      while (next < total) {
        await one(next++);
        done++;
      }
    };
    const flapping = (async () => {
      for (let k = 0; k < 4; k++) {
        while (done < ((k + 1) * total) / 5) await new Promise((r) => setTimeout(r, 5));
        await peers[1].stop();
        await new Promise((r) => setTimeout(r, 150));
        await peers[1].start();
      }
    })();
    await Promise.all([...Array.from({ length: 16 }, worker), flapping]);
    agent.destroy();
    expect(done).toBe(total);
    expect(failures).toEqual([]);
    // hundreds of requests per kept connection: no listener or resource warnings from Node
    expect(stderr).not.toMatch(/Warning/);
    // both peers took part
    expect(peers[0].served).toBeGreaterThan(0);
    expect(peers[1].served).toBeGreaterThan(0);
  }, 60_000);
});
