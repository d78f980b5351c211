#!/usr/bin/env node
// Failover under wrk load: nginx and nxproxy in front of two nginx peers, one of which stops
// (`nginx -s stop`: its listening socket and idle keep-alive connections close) and starts again
// several times during the run; wrk counts the requests that failed (non-2xx or socket errors).
//
//   cd /work/main && npx tsc -b && node bench/failover/wrk.mjs [--duration S] [--cycles K] [--down MS]
//
// Config of both proxies (same text, ports substituted):
//   upstream ka { server P1 max_fails=0; server P2 max_fails=0; keepalive 32; }
//   location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka; }
// Exits 0 with a reason when nginx or wrk is missing.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, findNginx, findOnPath, freePort, sleep } from '../lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg('--duration', 10);
const CYCLES = arg('--cycles', 6);
const DOWN = arg('--down', 300);
const NGINX = findNginx();
const WRK = findOnPath('wrk', ['/usr/local/bin']);
if (!NGINX || !WRK) {
  console.log(`skipping: ${!NGINX ? 'nginx' : 'wrk'} not installed`);
  process.exit(0);
}

const waitFile = async (f) => {
  for (let i = 0; i < 400 && !existsSync(f); i++) await sleep(25);
};

function prefix(name, conf) {
  const dir = mkdtempSync(join(tmpdir(), `nxwrk-${name}-`));
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(join(dir, 'nginx.conf'), conf(dir));
  return dir;
}
const common = (dir) => `daemon off; master_process off; worker_processes 1; pid ${dir}/run.pid; error_log ${dir}/error.log;
events {}
http { access_log off; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;`;

async function startPeer(dir) {
  const c = spawn(NGINX, ['-p', dir + '/', '-c', 'nginx.conf', '-e', dir + '/error.log'], { stdio: 'ignore' });
  await waitFile(join(dir, 'run.pid'));
  return c;
}

async function run(name, cmd, argsFor) {
  const p1 = await freePort();
  const p2 = await freePort();
  const peerConf = (port) => (dir) => `${common(dir)} server { listen 127.0.0.1:${port}; location / { return 200 "ok"; } } }`;
  const d1 = prefix('p1', peerConf(p1));
  const d2 = prefix('p2', peerConf(p2));
  const peers = [await startPeer(d1), await startPeer(d2)];
  const port = await freePort();
  const dir = prefix(name, (d) => `${common(d)}
  upstream ka { server 127.0.0.1:${p1} max_fails=0; server 127.0.0.1:${p2} max_fails=0; keepalive 32; }
  server { listen 127.0.0.1:${port}; location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka; } } }`);
  const proxy = spawn(cmd, argsFor(dir), { stdio: 'ignore' });
  await waitFile(join(dir, 'run.pid'));
  const wrk = spawn(WRK, ['-t1', '-c32', `-d${DURATION}s`, `http://127.0.0.1:${port}/`]);
  let out = '';
  wrk.stdout.on('data', (d) => (out += d));
  const done = new Promise((r) => wrk.on('exit', r));
  let p2proc = peers[1];
  for (let k = 1; k <= CYCLES; k++) {
    await sleep((DURATION * 1000) / (CYCLES + 1) - DOWN);
    execFileSync(NGINX, ['-p', d2 + '/', '-c', 'nginx.conf', '-e', d2 + '/error.log', '-s', 'stop'], { stdio: 'ignore' });
    await new Promise((r) => p2proc.on('exit', r));
    await sleep(DOWN);
    p2proc = await startPeer(d2);
  }
  await done;
  for (const c of [proxy, peers[0], p2proc]) c.kill('SIGKILL');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  return { name, requests, failed: non2xx + socketErrors, rps };
}

const rows = [
  await run('nginx', NGINX, (dir) => ['-p', dir + '/', '-c', 'nginx.conf', '-e', dir + '/error.log']),
  await run('nxproxy', process.execPath, (dir) => [CLI, '-p', dir + '/', '-c', 'nginx.conf', '-e', dir + '/error.log']),
];
console.log(`wrk -t1 -c32 -d${DURATION}s; peer P2 stopped ${CYCLES} times for ${DOWN} ms\n`);
console.log('| proxy | requests | failed (non-2xx + socket errors) | req/s |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.requests} | ${r.failed} | ${r.rps} |`);
