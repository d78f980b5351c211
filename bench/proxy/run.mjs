#!/usr/bin/env node
// Proxy throughput benchmark: nxproxy vs nginx in front of the same fast backend, driven by wrk.
//
//   cd /work/main && npx tsc -b && node bench/proxy/run.mjs [--rounds N] [--duration S]
//
//   --rounds N      measured rounds per scenario (default 3); each round runs nginx then nxproxy,
//                   each preceded by an unmeasured wrk warm-up (--warmup S, default 2)
//   --duration S    seconds per measured wrk run (default 10)
//   --warmup S      seconds per warm-up wrk run (default 2)
//   --no-profile    skip the CPU profile of nxproxy
//   --no-floor      skip the floor front (bench/proxy/floor-proxy.mjs: a bare net server + undici)
//   --pin           (experiment, off by default) taskset: front proxy on CPU 0, wrk + backend on CPU 1
//   --node-flags=F  Node flags for nxproxy, space-separated (e.g. --node-flags=--max-semi-space-size=4)
//   --keep          keep the temp dir (its path is printed)
//   env NXPROXY_BIN=path  run another nxproxy entry script (default packages/cli/bin/nxproxy.js),
//                   e.g. NXPROXY_BIN=/tmp/wt/packages/cli/bin/nxproxy.js when the tree does not build
//
// Setup (all on 127.0.0.1, free ports picked at start):
//   backend  nginx, 1 worker, master_process off, access_log off, own prefix (temp dirs inside),
//            `location / { return 200 "ok"; }`
//   fronts   nginx (`nginx -p DIR/ -c nginx.conf -e DIR/error.log`, worker_processes 1;
//            master_process off; daemon off;) and nxproxy (one node process:
//            `node CLI -p DIR/ -c nginx.conf -e DIR/error.log`), each in its own prefix, with the
//            SAME nginx.conf text (only its listen port differs), access_log off.
//   scenario "keepalive": upstream backend { server 127.0.0.1:B; keepalive 64; } with
//            proxy_http_version 1.1; proxy_set_header Connection ""; -- the standard nginx recipe
//            for upstream keep-alive (without those two directives nginx speaks HTTP/1.0 with
//            "Connection: close" and opens a TCP connection per request). 64 = wrk's connections,
//            so neither proxy has to close idle upstream connections in steady state.
//   scenario "no-keepalive": plain `proxy_pass http://127.0.0.1:B;` (nginx's defaults: HTTP/1.0,
//            Connection: close, one upstream connection per request).
// Load: `wrk -t1 -c64 -d<S>s --latency http://127.0.0.1:PORT/`; requests/s and the 99% latency
// are parsed from wrk's output; medians over the rounds; ratios nxproxy/nginx (target: req/s >= 0.40).
// Before measuring, each front must answer GET / with 200 "ok"; any "Non-2xx or 3xx responses" or
// "Socket errors" line from wrk is printed and marks the run.
// CPU: nothing is pinned by default. On a 2-core machine wrk (1 thread), the front proxy and the
// backend nginx compete for the cores, the same way for both fronts (--pin gives the front a core).
// The front's CPU use during each measured run is read from /proc/PID/stat (utime/stime, all
// threads) and reported as cores used and CPU microseconds per request.
// Profile: one more nxproxy run (keepalive scenario) under `node --cpu-prof --cpu-prof-dir=DIR`,
// stopped with SIGTERM after a --duration wrk run (nxproxy's SIGTERM handler ends in
// process.exit(), which still writes the profile on Node 20); self time is summarized for the
// samples taken while wrk ran (bench/proxy/profile.mjs).
// Exits 0 with a message when nginx or wrk is not installed; 1 if a front fails or misanswers.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { report, summarize } from './profile.mjs';
import { canConnect, CLI, findOnPath, freePort, intOption, ROOT, sleep } from '../lib.mjs';

const TARGET_RPS = 0.40;
const CONNECTIONS = 64;

const args = process.argv.slice(2);
const opt = (flag, def) => intOption(args, flag, def);
const rounds = opt('--rounds', 3);
const duration = opt('--duration', 10);
const warmup = opt('--warmup', 2);
const keep = args.includes('--keep');
const profile = !args.includes('--no-profile');
const pin = args.includes('--pin');
const nodeFlags = (args.find((a) => a.startsWith('--node-flags='))?.slice(13) ?? '').split(' ').filter(Boolean);
const floor = !args.includes('--no-floor');
const FLOOR = join(ROOT, 'bench/proxy/floor-proxy.mjs');

const NGINX = findOnPath('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']);
const WRK = findOnPath('wrk', ['/usr/local/bin']);
if (!NGINX || !WRK) {
  console.log(`${!NGINX ? 'nginx' : 'wrk'} not found (looked in PATH and the usual sbin/bin dirs);`);
  console.log('skipping the proxy benchmark.');
  process.exit(0);
}
if (!existsSync(CLI)) {
  console.log(`nxproxy CLI not found at ${CLI} (build with \`npx tsc -b\`, or set NXPROXY_BIN)`);
  process.exit(1);
}

const pct = (x) => `${(100 * x).toFixed(0)}%`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};


function get(port) {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => done({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ status: 0, body: e.message }));
    req.end();
  });
}


/** Starts a server process; resolves once its port accepts connections. */
const TASKSET = pin ? findOnPath('taskset') : null;
if (pin && !TASKSET) {
  console.log('--pin needs taskset (util-linux)');
  process.exit(2);
}
/** [cmd, argv] wrapped in taskset when --pin. */
const pinned = (cpu, cmd, argv) => (TASKSET ? [TASKSET, ['-c', String(cpu), cmd, ...argv]] : [cmd, argv]);

async function start(name, cmd0, argv0, port, dir, cpu) {
  const [cmd, argv] = pinned(cpu, cmd0, argv0);
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = null;
  child.on('exit', (code, sig) => (exited = sig ?? code));
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000) {
    if (exited !== null) break;
    if (await canConnect(port)) return { name, child, port, dir, stderr: () => stderr };
    await sleep(50);
  }
  child.kill('SIGKILL');
  let log = '';
  try { log = readFileSync(join(dir, 'error.log'), 'utf8'); } catch { /* none */ }
  throw new Error(`${name} did not start (exit ${exited}):\n${stderr}${log}`);
}

function stop(p, sig = 'SIGTERM') {
  return new Promise((done) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
    const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    p.child.once('exit', () => { clearTimeout(t); done(); });
    p.child.kill(sig);
  });
}

/** wrk's numbers: requests/s, p99 in ms, and the error lines, if any. */
function parseWrk(out) {
  const toMs = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[u] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = /^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = p ? toMs(p[1], p[2]) : NaN;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = out.split('\n').filter((l) => /Non-2xx|Socket errors/.test(l)).map((l) => l.trim());
  return { rps, p99, total, errors };
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
/** utime, stime of a process (all threads) in seconds, from /proc/PID/stat. */
function cpuTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK };
  } catch {
    return null;
  }
}

/** One wrk run; with `proc`, also the CPU that process used meanwhile. */
async function wrk(port, seconds, proc) {
  const c0 = proc && cpuTimes(proc.child.pid);
  const t0 = performance.now();
  const r = await wrkRun(port, seconds);
  const wall = (performance.now() - t0) / 1000;
  const c1 = proc && cpuTimes(proc.child.pid);
  if (c0 && c1) {
    r.cpuUser = (c1.user - c0.user) / wall;
    r.cpuSys = (c1.sys - c0.sys) / wall;
    r.cpuUsPerReq = r.total > 0 ? (1e6 * (c1.user - c0.user + c1.sys - c0.sys)) / r.total : NaN;
  }
  return r;
}

function wrkRun(port, seconds) {
  return new Promise((done, fail) => {
    const [cmd, argv] = pinned(1, WRK, [`-t1`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`]);
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', fail);
    c.on('close', (code) => done({ code, out, ...parseWrk(out) }));
  });
}

// ---------------------------------------------------------------------------------------------

const base = mkdtempSync(join(tmpdir(), 'nxproxy-proxy-bench-'));
const backendPort = await freePort();

// Debian's nginx is built with temp paths under /var/lib/nginx; keep every instance inside its prefix.
const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
  .map((t) => `    ${t}_temp_path ${t}_temp;\n`).join('');

const backendConf = `worker_processes 1;
master_process off;
daemon off;
pid nginx.pid;
error_log error.log;
events { worker_connections 4096; }
http {
    access_log off;
${TEMP_PATHS}    server {
        listen 127.0.0.1:${backendPort};
        location / { return 200 "ok"; }
    }
}
`;

/** The front config, identical for nginx and nxproxy except for the listen port. */
function frontConf(scenario, port) {
  const loc = scenario === 'keepalive'
    ? `        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }`
    : `        location / {
            proxy_pass http://127.0.0.1:${backendPort};
        }`;
  const upstream = scenario === 'keepalive'
    ? `    upstream backend {
        server 127.0.0.1:${backendPort};
        keepalive 64;
    }
`
    : '';
  return `worker_processes 1;
master_process off;
daemon off;
pid nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
${TEMP_PATHS}${upstream}    server {
        listen 127.0.0.1:${port};
${loc}
    }
}
`;
}

function prepare(name, text) {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), text);
  return dir;
}
const serverArgv = (dir) => ['-p', `${dir}/`, '-c', 'nginx.conf', '-e', join(dir, 'error.log')];

function busyNeighbours() {
  // other processes using CPU right now compete with the benchmark; show them
  const r = spawnSync('ps', ['-eo', 'pid,pcpu,comm', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => Number(f[1]) >= 5 && Number(f[0]) !== process.pid)
    .map((f) => `${f[2]}(${f[0]}) ${f[1]}%`).join(', ');
}

const nginxVersion = (spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr ?? '').trim();
const wrkVersion = (spawnSync(WRK, ['-v'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim();
console.log(`${nginxVersion}; ${wrkVersion}; node ${process.version}; nxproxy ${CLI}${nodeFlags.length ? ` (node ${nodeFlags.join(" ")})` : ""}`);
console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
  (pin ? 'pinned: front proxy on CPU 0, wrk + backend on CPU 1' : 'nothing pinned'));
console.log(`wrk -t1 -c${CONNECTIONS} -d${duration}s --latency; ${rounds} rounds/scenario, ${warmup}s warm-up before each run; temp ${base}\n`);

const procs = new Set();
let failed = false;
const results = {};
let profileText = null;
let profileWindow = null;

async function main() {
  const bdir = prepare('backend', backendConf);
  const backend = await start('backend nginx', NGINX, serverArgv(bdir), backendPort, bdir, 1);
  procs.add(backend);
  const b = await get(backendPort);
  if (b.status !== 200 || b.body !== 'ok') throw new Error(`backend answered ${b.status} ${JSON.stringify(b.body)}`);

  for (const scenario of ['keepalive', 'no-keepalive']) {
    const fronts = [];
    for (const tool of floor ? ['nginx', 'nxproxy', 'floor'] : ['nginx', 'nxproxy']) {
      const port = await freePort();
      const dir = prepare(`${scenario}-${tool}`, frontConf(scenario, port));
      const p = tool === 'nginx'
        ? await start(`${tool} (${scenario})`, NGINX, serverArgv(dir), port, dir, 0)
        : tool === 'floor'
          ? await start(`${tool} (${scenario})`, process.execPath, [FLOOR, String(port), String(backendPort), scenario === 'keepalive' ? 'keepalive' : 'close'], port, dir, 0)
          : await start(`${tool} (${scenario})`, process.execPath, [...nodeFlags, CLI, ...serverArgv(dir)], port, dir, 0);
      procs.add(p);
      p.tool = tool;
      p.runs = [];
      fronts.push(p);
    }
    console.log(`== scenario ${scenario} (backend :${backendPort}; ${fronts.map((f) => `${f.tool} :${f.port}`).join(', ')})`);
    for (const f of fronts) {
      const r = await get(f.port);
      if (r.status !== 200 || r.body !== 'ok') {
        console.log(`  ${f.tool} answered ${r.status} ${JSON.stringify(r.body.slice(0, 200))} -- expected 200 "ok"`);
        failed = true;
        return;
      }
      console.log(`  check ${f.tool.padEnd(8)} GET / -> ${r.status} "${r.body}" (Server: ${r.headers?.server}, Connection: ${r.headers?.connection})`);
    }
    const neighbours = busyNeighbours();
    if (neighbours) console.log(`  note: other busy processes: ${neighbours}`);
    for (let i = 0; i < rounds; i++) {
      for (const f of fronts) {
        await wrk(f.port, warmup);
        const r = await wrk(f.port, duration, f);
        f.runs.push(r);
        const bad = r.code !== 0 || !(r.rps > 0) || !(r.p99 > 0);
        console.log(`  round ${i + 1} ${f.tool.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(2).padStart(7)} ms  ` +
          `(${r.total} requests; proxy CPU usr ${pct(r.cpuUser)} sys ${pct(r.cpuSys)}, ${r.cpuUsPerReq.toFixed(1)} us/req)${r.errors.length ? '  ERRORS: ' + r.errors.join('; ') : ''}`);
        if (bad) {
          console.log(`  wrk output could not be used (exit ${r.code}):\n${r.out}`);
          failed = true;
        }
        if (r.errors.length) failed = true;
      }
    }
    results[scenario] = Object.fromEntries(fronts.map((f) => [f.tool, {
      rps: median(f.runs.map((r) => r.rps)),
      p99: median(f.runs.map((r) => r.p99)),
      cpuUsPerReq: median(f.runs.map((r) => r.cpuUsPerReq)),
      cpu: median(f.runs.map((r) => r.cpuUser + r.cpuSys)),
      runs: f.runs.map((r) => ({ rps: r.rps, p99: r.p99, cpuUser: r.cpuUser, cpuSys: r.cpuSys, cpuUsPerReq: r.cpuUsPerReq })),
      errors: f.runs.flatMap((r) => r.errors),
    }]));
    for (const f of fronts) {
      await stop(f);
      procs.delete(f);
      const err = (() => { try { return readFileSync(join(f.dir, 'error.log'), 'utf8'); } catch { return ''; } })();
      const lines = err.split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
      if (lines.length) console.log(`  ${f.tool} error.log: ${lines.length} error lines, first: ${lines[0]}`);
    }
  }

  if (profile) {
    const port = await freePort();
    const dir = prepare('profile-nxproxy', frontConf('keepalive', port));
    const profDir = join(dir, 'cpuprofile');
    const p = await start('nxproxy --cpu-prof', process.execPath,
      [...nodeFlags, '--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, ...serverArgv(dir)], port, dir, 0);
    procs.add(p);
    await wrk(port, warmup);
    const from = process.hrtime.bigint() / 1000n;
    const r = await wrk(port, duration, p);
    const to = process.hrtime.bigint() / 1000n;
    await stop(p, 'SIGTERM');
    procs.delete(p);
    console.log(`\n== CPU profile: nxproxy (keepalive) under --cpu-prof, ${r.rps.toFixed(0)} req/s during the profiled run, ` +
      `nxproxy CPU usr ${pct(r.cpuUser)} sys ${pct(r.cpuSys)} of one core` +
      (r.errors.length ? `; ERRORS: ${r.errors.join('; ')}` : ''));
    const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length === 0) {
      console.log(`no .cpuprofile written in ${profDir} after SIGTERM (exit code ${p.child.exitCode}, signal ${p.child.signalCode})`);
    } else {
      profileWindow = `${from}:${to}`;
      profileText = report(summarize([profDir], { window: [Number(from), Number(to)] }), 15);
      console.log(profileText);
      console.log(`(profile: ${join(profDir, files[0])}; re-summarize: node bench/proxy/profile.mjs ${profDir} --window ${profileWindow})`);
    }
  }
}

const notes = [];
function table() {
  const out = [];
  out.push('| scenario | proxy | req/s (median) | p99 latency (median) | proxy CPU (cores) | proxy CPU per request | per-round req/s |');
  out.push('|---|---|---:|---:|---:|---:|---|');
  for (const [scenario, r] of Object.entries(results)) {
    for (const tool of Object.keys(r)) {
      const x = r[tool];
      out.push(`| ${scenario} | ${tool} | ${x.rps.toFixed(0)} | ${x.p99.toFixed(2)} ms | ${x.cpu.toFixed(2)} | ${x.cpuUsPerReq.toFixed(1)} us | ${x.runs.map((y) => y.rps.toFixed(0)).join(', ')} |`);
    }
    const rr = r.nxproxy.rps / r.nginx.rps;
    const rp = r.nxproxy.p99 / r.nginx.p99;
    const rc = r.nxproxy.cpuUsPerReq / r.nginx.cpuUsPerReq;
    // paired per round (same load conditions within a round), then the median
    const paired = median(r.nxproxy.runs.map((x, i) => x.rps / r.nginx.runs[i].rps));
    notes.push(`${scenario}: median of per-round req/s ratios ${paired.toFixed(2)}; nxproxy CPU per request ${rc.toFixed(1)}x nginx's`);
    out.push(`| ${scenario} | **nxproxy/nginx** | **${rr.toFixed(2)}** (target >= ${TARGET_RPS.toFixed(2)}: ${rr >= TARGET_RPS ? 'PASS' : 'FAIL'}) | **${rp.toFixed(2)}x** | | ${rc.toFixed(1)}x | |`);
    if (r.floor) {
      const fr = r.floor.rps / r.nginx.rps;
      const pairedFloor = median(r.floor.runs.map((x, i) => x.rps / r.nginx.runs[i].rps));
      out.push(`| ${scenario} | floor/nginx | ${fr.toFixed(2)} | ${(r.floor.p99 / r.nginx.p99).toFixed(2)}x | | ${(r.floor.cpuUsPerReq / r.nginx.cpuUsPerReq).toFixed(1)}x | |`);
      notes.push(`${scenario}: floor (bare net server + undici, no nginx semantics) per-round ratio to nginx ${pairedFloor.toFixed(2)}; nxproxy reaches ${(r.nxproxy.rps / r.floor.rps).toFixed(2)} of the floor's req/s`);
    }
  }
  return out.concat('', ...notes).join('\n');
}

try {
  await main();
} catch (e) {
  console.log(`error: ${e.message}`);
  failed = true;
} finally {
  for (const p of procs) await stop(p, p.name.startsWith('backend') || p.name.startsWith('nginx') ? 'SIGQUIT' : 'SIGTERM');
}
console.log(`\nload avg at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (Object.keys(results).length) {
  console.log(`\n${table()}`);
  writeFileSync(join(base, 'results.json'), JSON.stringify({ date: new Date().toISOString(), cli: CLI, pin, rounds, duration, results, profileWindow, profile: profileText }, null, 2));
}
if (keep || failed) console.log(`\nkept ${base}`);
else rmSync(base, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
