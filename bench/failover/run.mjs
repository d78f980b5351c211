#!/usr/bin/env node
// Failover under load: how many client requests fail when one of two upstream peers goes away,
// nxproxy vs nginx on the same nginx.conf.
//
//   cd /work/main && npx tsc -b && node bench/failover/run.mjs [--requests N] [--concurrency C] [--cycles K] [--down MS]
//
//   --requests N     GET requests per run (default 20000)
//   --concurrency C  requests in flight (default 32; client keep-alive connections to the proxy)
//   --cycles K       peer outages per run (default 6), triggered when 1/(K+1), 2/(K+1)... of the
//                    requests are done; each outage lasts --down MS (default 300), then the peer
//                    listens again on the same port
//   --only NAME      run one scenario (restart-keepalive, restart-plain, die-mid-response)
//   --max-fails-default  servers without max_fails=0 (nginx's default max_fails=1 fail_timeout=10s)
//   --keep           keep the temp dirs (paths printed)
//   env NXPROXY_BIN=path  another nxproxy entry script (default packages/cli/bin/nxproxy.js)
//   env NGINX_BIN=path    the nginx binary (default /usr/sbin/nginx, then $PATH)
//
// Setup (127.0.0.1 only, free ports): two backend peers P1, P2 (raw TCP HTTP/1.1 servers in a
// child process, so the client's event loop does not slow them down); in front of them nginx
// (`nginx -p DIR/ -c nginx.conf -e DIR/error.log`, daemon off, master_process off, 1 worker) or
// nxproxy (`node CLI -p DIR/ -c nginx.conf -e DIR/error.log`), one at a time, each started fresh
// for each run with the same config text (only the ports differ):
//   upstream ka    { server P1 max_fails=0; server P2 max_fails=0; keepalive 32; }
//   upstream plain { (same servers, no keepalive) }
//   location /ka/    { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka; }
//   location /plain/ { proxy_pass http://plain; }
// max_fails=0 (no failure accounting): P2 stays in the round robin, so while it is down every
// other request tries it first and must be retried on P1, and it carries half the load again the
// moment it is back. (With the default max_fails=1 fail_timeout=10s a run of a few seconds would
// skip P2 after its first failure and the later outages would test nothing; `--max-fails-default`
// runs that configuration.) proxy_next_upstream is the default `error timeout`.
// The client (this process, node:http, keep-alive agent with C sockets) sends N GETs, C at a time,
// and counts a request as failed when the status is not 200, the body is shorter than its
// Content-Length (the connection closed mid-body), or the request errors (reset, refused, 10 s
// timeout).
// Scenarios:
//   restart-keepalive  /ka/: P2 stops K times: it closes its listening socket and its idle
//                      keep-alive connections (a response in progress is finished first, then that
//                      connection is closed too), and listens again after --down ms. Responses:
//                      200, 2 bytes. Every GET is idempotent and a second peer is up: expected
//                      failures 0.
//   restart-plain      the same on /plain/ (a new upstream connection per request: refused connects)
//   die-mid-response   /ka/, responses of 16 KiB sent in two halves 5 ms apart; P2 dies K times:
//                      every connection is reset (RST) at once, in-flight responses included, and
//                      the listening socket closed; it listens again after --down ms. A response
//                      whose head was already passed to the client cannot be retried: both proxies
//                      must truncate those; anything else should be retried on P1. "responses cut"
//                      = responses P2 was in the middle of when it died (the head and half the body
//                      already sent, so each one is an unavoidable client failure): failed == cut
//                      means no avoidable failure.
// Prints one table row per run (and the table in Markdown); exits 0 with a message when nginx is not
// installed, 1 if a proxy does not start or dies during a run.

import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, CLI, findNginx, freePort, intOption, sleep } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');

// ------------------------------------------------------------------------------------------------
// Child process: the two peers

if (process.argv[2] === '--peers') {
  const HALF = 8 * 1024;
  const half = Buffer.alloc(HALF, 'x');
  /** One peer: a raw HTTP/1.1 server that can stop, die and start again on the same port. */
  class Peer {
    constructor(name) {
      this.name = name;
      this.port = 0;
      this.server = undefined;
      this.sockets = new Set();
      this.busy = new Set();
      this.split = false;
      this.served = 0;
      /** Responses in progress when the peer died. */
      this.cut = 0;
    }
    start() {
      return new Promise((resolve, reject) => {
        const server = createServer((s) => this.onConnection(s));
        server.once('error', reject);
        server.listen(this.port, '127.0.0.1', () => {
          this.server = server;
          this.port = server.address().port;
          resolve();
        });
      });
    }
    /** Stop listening; idle connections closed now, busy ones after their response. */
    stop() {
      const s = this.server;
      this.server = undefined;
      for (const c of this.sockets) if (!this.busy.has(c)) c.destroy();
      return new Promise((r) => (s ? s.close(() => r()) : r()));
    }
    /** Die: every connection reset at once, in-flight responses included. */
    kill() {
      const s = this.server;
      this.server = undefined;
      this.cut += this.busy.size;
      for (const c of this.sockets) c.resetAndDestroy();
      return new Promise((r) => (s ? s.close(() => r()) : r()));
    }
    onConnection(sock) {
      this.sockets.add(sock);
      sock.setNoDelay(true);
      sock.on('close', () => {
        this.sockets.delete(sock);
        this.busy.delete(sock);
      });
      sock.on('error', () => {});
      let buf = '';
      const pump = () => {
        if (this.busy.has(sock) || sock.destroyed) return;
        const he = buf.indexOf('\r\n\r\n');
        if (he < 0) return;
        const head = buf.slice(0, he).toLowerCase();
        buf = buf.slice(he + 4); // GETs only: no body
        const close = head.includes('http/1.0') ? !/\r\nconnection:[^\r]*keep-alive/.test(head) : /\r\nconnection:[^\r]*close/.test(head);
        this.busy.add(sock);
        const finish = () => {
          this.served++;
          this.busy.delete(sock);
          if (close || this.server === undefined) sock.end();
          else pump();
        };
        const extra = `X-Peer: ${this.name}\r\n${close ? 'Connection: close\r\n' : ''}`;
        if (!this.split) {
          sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n${extra}\r\nok`);
          finish();
          return;
        }
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${2 * HALF}\r\n${extra}\r\n`);
        sock.write(half);
        setTimeout(() => {
          if (sock.destroyed) return;
          sock.write(half);
          finish();
        }, 5);
      };
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        pump();
      });
    }
  }
  const peers = [new Peer('P1'), new Peer('P2')];
  await Promise.all(peers.map((p) => p.start()));
  process.on('message', async (m) => {
    const p = peers[m.peer ?? 0];
    try {
      if (m.op === 'stop') await p.stop();
      else if (m.op === 'kill') await p.kill();
      else if (m.op === 'start') await p.start();
      else if (m.op === 'split') for (const q of peers) q.split = m.on;
      process.send({ id: m.id, ok: true, served: peers.map((q) => q.served), cut: peers[1].cut });
    } catch (e) {
      process.send({ id: m.id, ok: false, error: String(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, ports: peers.map((p) => p.port) });
} else {
  await main();
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const opt = (flag, def) => intOption(args, flag, def);
  const N = opt('--requests', 20000);
  const C = opt('--concurrency', 32);
  const K = opt('--cycles', 6);
  const DOWN = opt('--down', 300);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const keep = args.includes('--keep');
  const peerParams = args.includes('--max-fails-default') ? '' : ' max_fails=0';

  const NGINX = findNginx();
  if (!NGINX) {
    console.log('nginx not installed (set NGINX_BIN): nothing to compare against, skipping');
    process.exit(0);
  }
  if (!existsSync(CLI)) {
    console.error(`nxproxy not found at ${CLI} (build with npx tsc -b, or set NXPROXY_BIN)`);
    process.exit(1);
  }

  // the peers
  const child = fork(fileURLToPath(import.meta.url), ['--peers'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.ports));
    child.once('exit', (c) => reject(new Error(`peer process exited (${c})`)));
  });
  let msgId = 0;
  const control = (m) =>
    new Promise((resolve, reject) => {
      const id = ++msgId;
      const on = (r) => {
        if (r.id !== id) return;
        child.off('message', on);
        if (r.ok) resolve(r);
        else reject(new Error(r.error));
      };
      child.on('message', on);
      child.send({ ...m, id });
    });

  const procs = new Set();
  const cleanup = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (child.connected) child.kill();
  };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));

  const conf = (prefix, port) => `daemon off; master_process off; worker_processes 1;
pid ${prefix}/run.pid;
error_log ${prefix}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
  upstream ka {
    server 127.0.0.1:${ports[0]}${peerParams};
    server 127.0.0.1:${ports[1]}${peerParams};
    keepalive 32;
  }
  upstream plain {
    server 127.0.0.1:${ports[0]}${peerParams};
    server 127.0.0.1:${ports[1]}${peerParams};
  }
  server {
    listen 127.0.0.1:${port};
    location /ka/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka; }
    location /plain/ { proxy_pass http://plain; }
  }
}
`;

  async function startProxy(label) {
    const prefix = mkdtempSync(join(tmpdir(), `nxfailover-${label}-`));
    mkdirSync(join(prefix, 'tmp'));
    mkdirSync(join(prefix, 'logs'));
    const port = await freePort();
    writeFileSync(join(prefix, 'nginx.conf'), conf(prefix, port));
    const argv = ['-p', `${prefix}/`, '-c', 'nginx.conf', '-e', `${prefix}/error.log`];
    const env = { ...process.env };
    delete env.NGINX;
    const proc = label === 'nginx' ? spawn(NGINX, argv, { stdio: ['ignore', 'ignore', 'pipe'], env }) : spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env });
    procs.add(proc);
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 15000;
    while (!(existsSync(join(prefix, 'run.pid')) && (await canConnect(port)))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${label} did not start: ${stderr}\n${readLog(prefix)}`);
      await sleep(25);
    }
    return { label, prefix, port, proc };
  }

  async function stopProxy(p) {
    if (p.proc.exitCode === null && p.proc.signalCode === null) {
      const exited = new Promise((r) => p.proc.once('exit', r));
      p.proc.kill('SIGTERM');
      const t = setTimeout(() => p.proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    procs.delete(p.proc);
    if (keep) console.log(`kept ${p.prefix}`);
    else rmSync(p.prefix, { recursive: true, force: true });
  }

  /** N GETs, C at a time; the outage `op` on P2 at each of K progress thresholds. */
  async function load(port, path, op, N) {
    const agent = new Agent({ keepAlive: true, maxSockets: C, maxFreeSockets: C });
    const r = { ok: 0, status: new Map(), truncated: 0, errors: new Map(), cycles: 0, cut: 0 };
    const cut0 = (await control({ op: 'noop' })).cut;
    let next = 0;
    let done = 0;
    const thresholds = op ? Array.from({ length: K }, (_, i) => Math.floor(((i + 1) * N) / (K + 1))) : [];
    // outages run one after another; one that comes due while the peer is down waits for the restart
    let chain = Promise.resolve();
    let due = 0;
    const progress = () => {
      while (due < thresholds.length && done >= thresholds[due]) {
        due++;
        chain = chain.then(async () => {
          await control({ op, peer: 1 });
          await sleep(DOWN);
          await control({ op: 'start', peer: 1 });
          r.cycles++;
        });
      }
    };
    const one = (i) =>
      new Promise((resolve) => {
        let settled = false;
        const settle = (kind, detail) => {
          if (settled) return;
          settled = true;
          if (kind === 'ok') r.ok++;
          else if (kind === 'status') r.status.set(detail, (r.status.get(detail) ?? 0) + 1);
          else if (kind === 'truncated') r.truncated++;
          else r.errors.set(detail, (r.errors.get(detail) ?? 0) + 1);
          resolve();
        };
        const req = request({ host: '127.0.0.1', port, path: `${path}${i}`, agent, timeout: 10000 }, (res) => {
          res.on('data', () => {});
          res.on('error', () => {});
          res.on('close', () => {
            if (!res.complete) settle('truncated');
            else if (res.statusCode !== 200) settle('status', res.statusCode);
            else settle('ok');
          });
        });
        req.on('timeout', () => {
          settle('error', 'timeout');
          req.destroy();
        });
        req.on('error', (e) => settle('error', e.code ?? e.message));
        req.end();
      });
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < N) {
          await one(next++);
          done++;
          progress();
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await chain;
    r.cut = (await control({ op: 'noop' })).cut - cut0;
    agent.destroy();
    return { ...r, secs, rps: N / secs };
  }

  const scenarios = [
    { name: 'restart-keepalive', path: '/ka/', op: 'stop', split: false },
    { name: 'restart-plain', path: '/plain/', op: 'stop', split: false },
    { name: 'die-mid-response', path: '/ka/', op: 'kill', split: true },
  ].filter((s) => !only || s.name === only);
  if (scenarios.length === 0) {
    console.error(`unknown scenario ${only}`);
    process.exit(2);
  }

  console.log(`nginx: ${NGINX}; nxproxy: ${CLI}; node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`${N} GETs per run, ${C} in flight, ${K} outages of P2 per run, ${DOWN} ms each; servers:${peerParams || ' (defaults)'}\n`);
  const rows = [];
  let bad = false;
  for (const sc of scenarios) {
    await control({ op: 'split', on: sc.split });
    for (const label of ['nginx', 'nxproxy']) {
      const p = await startProxy(label);
      // warm-up, no outage: every request must succeed
      const warm = await load(p.port, sc.path, null, 1000);
      if (warm.ok !== 1000) throw new Error(`${label}: warm-up failed: ${JSON.stringify({ ...warm, status: [...warm.status], errors: [...warm.errors] })}`);
      const r = await load(p.port, sc.path, sc.op, N);
      const alive = p.proc.exitCode === null && p.proc.signalCode === null;
      if (!alive) bad = true;
      const failed = N - r.ok;
      const fmt = (m) => [...m].map(([k, v]) => `${k}: ${v}`).join(', ') || '-';
      const cut = sc.op === 'kill' ? r.cut : '-';
      rows.push([sc.name, label, N, r.ok, failed, fmt(r.status), r.truncated, fmt(r.errors), r.cycles, cut, Math.round(r.rps), alive ? 'yes' : 'NO (died)']);
      console.log(`${sc.name.padEnd(18)} ${label.padEnd(8)} failed ${String(failed).padStart(5)}  (status ${fmt(r.status)}; truncated ${r.truncated}; errors ${fmt(r.errors)}) outages ${r.cycles}, responses cut ${cut}, ${Math.round(r.rps)} req/s`);
      // what the proxy logged (each line is one failed attempt, retried or not)
      const kinds = new Map();
      for (const l of readLog(p.prefix).split('\n')) {
        if (!l.includes('[error]')) continue;
        const k = /\] \d+#\d+: \*\d+ (.*?)(?:, client:|$)/.exec(l)?.[1] ?? l.slice(0, 80);
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      for (const [k, v] of kinds) console.log(`    error.log: ${String(v).padStart(5)} x ${k}`);
      await stopProxy(p);
    }
  }
  console.log('\n| scenario | proxy | requests | 200 | failed | non-200 | truncated | errors | outages | responses cut at P2 | req/s | proxy alive |');
  console.log('|---|---|---:|---:|---:|---|---:|---|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  cleanup();
  process.exit(bad ? 1 : 0);
}

// ------------------------------------------------------------------------------------------------




function readLog(prefix) {
  try {
    return readFileSync(join(prefix, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}

