#!/usr/bin/env node
// Memory under slow clients: 200 concurrent downloads of a 50 MiB body through the proxy to clients
// that read 64 KiB and then pause; the proxy's peak RSS (target for nxproxy: < 300 MiB), with
// nginx (proxy_buffering off, and the default proxy_buffering on) for reference.
//
//   cd /work/main && npx tsc -b && node bench/memory/run.mjs [--clients N] [--duration S] [--size-mib M] [--pause MS] [--all]
//
//   --clients N     concurrent downloads (default 200)
//   --duration S    seconds each run lasts before every client is aborted (default 30)
//   --size-mib M    body size (default 50; Content-Length known)
//   --pause MS      a client pauses this long after each 64 KiB it reads (default 1000)
//   --all           also run nxproxy with `proxy_buffering off` (it then streams with backpressure instead of spooling to temp files)
//   env NXPROXY_BIN=path  another nxproxy entry script (default packages/cli/bin/nxproxy.js)
//   env NGINX_BIN=path    the nginx binary (default /usr/sbin/nginx, then $PATH); absent: nxproxy only
//
// Setup (127.0.0.1 only, free ports): the backend is a node:http server in a child process that
// answers GET /big with 200, Content-Length: M MiB, and writes the body from one reused 64 KiB
// buffer, honouring backpressure (never more than one chunk queued: the body is never held
// whole). The proxy (nxproxy: `node CLI -p DIR/ -c nginx.conf -e DIR/error.log`; nginx the same
// way, daemon off, master_process off, 1 worker) runs
//   location / { proxy_pass http://127.0.0.1:B; [proxy_buffering off;] }
// with its temp paths in its prefix. The clients (this process, raw TCP) send `GET /big HTTP/1.1`
// all at once, then each reads 64 KiB, pauses --pause ms (socket.pause(): nothing is read from
// the kernel meanwhile), and so on, until --duration is over; then every client is destroyed.
// The proxy's VmRSS (/proc/PID/status) is sampled every 250 ms from start to 3 s after the abort.
// Runs: nxproxy (default config), nginx (proxy_buffering off), nginx (default config: nginx
// buffers what the clients do not take in its proxy_buffers and then in temp files, up to
// proxy_max_temp_file_size 1024m per request; "temp files" is the size of the (already unlinked)
// temp files it has open just before the abort).
// Kernel socket buffers (client receive + proxy send queues) are not part of any RSS.

import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, CLI, findNginx, freePort, intOption, sleep } from '../lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const CHUNK = 64 * 1024;

if (process.argv[2] === '--backend') {
  const size = Number(process.argv[3]);
  const chunk = Buffer.alloc(CHUNK, 'z');
  const server = createHttpServer((req, res) => {
    if (req.url !== '/big') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    let left = size;
    let closed = false;
    res.on('close', () => (closed = true));
    const write = () => {
      while (!closed && left > 0) {
        const n = Math.min(CHUNK, left);
        left -= n;
        const more = res.write(n === CHUNK ? chunk : chunk.subarray(0, n));
        if (left === 0) {
          res.end();
          return;
        }
        if (!more) {
          res.once('drain', write);
          return;
        }
      }
    };
    write();
  });
  server.keepAliveTimeout = 0;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (flag, def) => intOption(args, flag, def);
  const CLIENTS = opt('--clients', 200);
  const DURATION = opt('--duration', 30);
  const SIZE = opt('--size-mib', 50) * 1024 * 1024;
  const PAUSE = opt('--pause', 1000);
  const all = args.includes('--all');

  const NGINX = findNginx();
  if (!existsSync(CLI)) {
    console.error(`nxproxy not found at ${CLI} (build with npx tsc -b, or set NXPROXY_BIN)`);
    process.exit(1);
  }
  if (!NGINX) console.log('nginx not installed (set NGINX_BIN): nxproxy only, no reference figures');

  const backend = fork(fileURLToPath(import.meta.url), ['--backend', String(SIZE)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const B = await new Promise((resolve, reject) => {
    backend.once('message', (m) => resolve(m.port));
    backend.once('exit', (c) => reject(new Error(`backend exited (${c})`)));
  });
  const procs = new Set();
  const cleanup = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (backend.connected) backend.kill();
  };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));

  const conf = (prefix, port, buffering) => `daemon off; master_process off; worker_processes 1;
pid ${prefix}/run.pid;
error_log ${prefix}/error.log;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/client; proxy_temp_path ${prefix}/tmp/proxy; fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${B};${buffering ? '' : ' proxy_buffering off;'} }
  }
}
`;

  async function run(label, buffering) {
    const prefix = mkdtempSync(join(tmpdir(), `nxmem-${label}-`));
    mkdirSync(join(prefix, 'tmp'));
    mkdirSync(join(prefix, 'logs'));
    const port = await freePort();
    writeFileSync(join(prefix, 'nginx.conf'), conf(prefix, port, buffering));
    const argv = ['-p', `${prefix}/`, '-c', 'nginx.conf', '-e', `${prefix}/error.log`];
    const env = { ...process.env };
    delete env.NGINX;
    const proc = label === 'nginx' ? spawn(NGINX, argv, { stdio: ['ignore', 'ignore', 'pipe'], env }) : spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env });
    procs.add(proc);
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 15000;
    while (!(existsSync(join(prefix, 'run.pid')) && (await canConnect(port)))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${label} did not start: ${stderr}`);
      await sleep(25);
    }
    const small = await fetchSmall(port);
    if (small !== 200) throw new Error(`${label}: GET /small answered ${small}`);
    const rss0 = rss(proc.pid);
    let peak = rss0;
    let peakAt = 0;
    const t0 = Date.now();
    const timeline = [];
    const sampler = setInterval(() => {
      const v = rss(proc.pid);
      const t = Date.now() - t0;
      if (t >= (timeline.length + 1) * 5000) timeline.push(v);
      if (v > peak) {
        peak = v;
        peakAt = (Date.now() - t0) / 1000;
      }
    }, 250);

    // the slow clients
    let delivered = 0;
    let heads = 0;
    let closedEarly = 0;
    let aborted = false;
    const socks = [];
    for (let i = 0; i < CLIENTS; i++) {
      const s = connect(port, '127.0.0.1');
      socks.push(s);
      let since = 0;
      let head = false;
      let pending = '';
      s.on('connect', () => s.write(`GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n`));
      s.on('data', (d) => {
        delivered += d.length;
        if (!head) {
          pending += d.toString('latin1', 0, Math.min(d.length, 4096));
          if (pending.includes('\r\n\r\n')) {
            head = true;
            if (/^HTTP\/1\.1 200 /.test(pending) && pending.toLowerCase().includes(`content-length: ${SIZE}`)) heads++;
          }
        }
        since += d.length;
        if (since >= CHUNK) {
          since = 0;
          s.pause();
          setTimeout(() => !s.destroyed && s.resume(), PAUSE);
        }
      });
      s.on('error', () => {});
      s.on('close', () => {
        if (!aborted) closedEarly++;
      });
    }
    await sleep(DURATION * 1000);
    const alive = proc.exitCode === null && proc.signalCode === null;
    const rssEnd = alive ? rss(proc.pid) : 0;
    const tempMiB = alive ? tempFiles(proc.pid, join(prefix, 'tmp')) / 1048576 : 0;
    aborted = true;
    for (const s of socks) s.destroy();
    await sleep(3000);
    clearInterval(sampler);
    const rssAfter = alive ? rss(proc.pid) : 0;
    const stillServes = alive && (await fetchSmall(port)) === 200;
    // stop
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    procs.delete(proc);
    rmSync(prefix, { recursive: true, force: true });
    return { label, buffering, rss0, peak, peakAt, rssEnd, rssAfter, delivered, heads, closedEarly, tempMiB, alive, stillServes, timeline };
  }

  console.log(`nginx: ${NGINX ?? '(absent)'}; nxproxy: ${CLI}; node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`${CLIENTS} clients x ${SIZE / 1048576} MiB, each reads 64 KiB then pauses ${PAUSE} ms; ${DURATION} s per run, then abort\n`);
  const plan = [['nxproxy', true]];
  if (all) plan.push(['nxproxy', false]);
  if (NGINX) plan.push(['nginx', false], ['nginx', true]);
  const rows = [];
  for (const [label, buffering] of plan) {
    const r = await run(label, buffering);
    const mib = (kb) => (kb / 1024).toFixed(1);
    const cfg = buffering ? 'default (proxy_buffering on)' : 'proxy_buffering off';
    const verdict = label === 'nxproxy' ? (r.peak / 1024 < 300 ? ' (target < 300: PASS)' : ' (target < 300: FAIL)') : '';
    rows.push([
      label, cfg, `**${mib(r.peak)}**${verdict}`, r.peakAt.toFixed(1), mib(r.rss0), mib(r.rssEnd), mib(r.rssAfter),
      (r.delivered / 1048576).toFixed(0), `${r.heads}/${CLIENTS}`, r.closedEarly, r.tempMiB.toFixed(0),
      r.alive && r.stillServes ? 'yes' : 'NO',
    ]);
    console.log(
      `${label.padEnd(8)} ${cfg.padEnd(29)} peak RSS ${mib(r.peak)} MiB at ${r.peakAt.toFixed(1)} s (start ${mib(r.rss0)}, before abort ${mib(r.rssEnd)}, 3 s after ${mib(r.rssAfter)}); ` +
        `delivered ${(r.delivered / 1048576).toFixed(0)} MiB, 200 heads ${r.heads}/${CLIENTS}, closed early ${r.closedEarly}, temp files ${r.tempMiB.toFixed(0)} MiB, serves after: ${r.stillServes}`,
    );
    console.log(`         RSS every 5 s (MiB): ${r.timeline.map(mib).join(', ')}`);
  }
  console.log('\n| proxy | config | peak RSS (MiB) | peak at (s) | RSS at start | RSS before abort | RSS 3 s after abort | MiB delivered | 200 heads | closed early | temp files (MiB) | alive, serves after |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  cleanup();
  process.exit(0);
}

/** Bytes in the files under `dir` the process has open (nginx unlinks its temp files at once). */
function tempFiles(pid, dir) {
  let total = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) total += statSync(`/proc/${pid}/fd/${fd}`).size;
    } catch {
      /* closed meanwhile */
    }
  }
  return total;
}

function rss(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function fetchSmall(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    let buf = '';
    s.on('data', (d) => (buf += d));
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] ?? 0)));
    s.on('error', () => {});
    s.setTimeout(5000, () => s.destroy());
  });
}




