#!/usr/bin/env node
// Config-test benchmark: `nxproxy -t` vs `nginx -t` on one large generated config.
//
//   cd /work/main && npx tsc -b && node bench/config-test/run.mjs [--servers N] [--rounds R]
//
//   --servers N   server blocks in the generated config (default 10000, 5 locations each)
//   --rounds R    measured rounds (default 5); each round runs both tools, interleaved,
//                 alternating which goes first; one unmeasured warm-up run of each precedes them
//   --keep        keep the temp dir (its path is printed)
//   --poll        measure memory by polling /proc even if /usr/bin/time exists
//   --no-floor    skip the floors (floor.mjs: node + Chevrotain's lexer over the file, nothing
//                 else; floor+p: the same + a Chevrotain parser with the least grammar)
//   env NXPROXY_BIN=path  run another nxproxy entry script (default packages/cli/bin/nxproxy.js)
//
// Both tools run as `<tool> -t -p DIR/ -c nginx.conf -e DIR/err.log` on the same file.
// Wall time: measured around the spawn with process.hrtime (ms resolution);
// peak RSS: `/usr/bin/time -f "%e %M"` (%M = max RSS in KiB), or, if GNU time is
// missing, by polling VmHWM in /proc/<pid>/status every 5 ms (less exact).
// Targets: nxproxy time <= 0.25 x nginx, peak RSS <= 0.5 x nginx.
// Exits 0 with a message when nginx is not installed; exits 1 if a tool fails.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { generateConfig } from './generate.mjs';
import { CLI, findOnPath, intOption, ROOT } from '../lib.mjs';

const TARGET_TIME = 0.25;
const TARGET_MEM = 0.5;

const args = process.argv.slice(2);
const opt = (flag, def) => intOption(args, flag, def);
const servers = opt('--servers', 10000);
const rounds = opt('--rounds', 5);
const keep = args.includes('--keep');


const NGINX = findOnPath('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']);
if (!NGINX) {
  console.log('nginx not found (looked in PATH, /usr/sbin, /usr/local/sbin, /usr/local/nginx/sbin);');
  console.log('nothing to compare against -- skipping the config-test benchmark.');
  process.exit(0);
}
const GNU_TIME = !args.includes('--poll') && existsSync('/usr/bin/time') &&
  spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0
  ? '/usr/bin/time' : null;

const dir = mkdtempSync(join(tmpdir(), 'nxproxy-bench-'));
const conf = join(dir, 'nginx.conf');
const t0 = performance.now();
writeFileSync(conf, generateConfig({ servers }));
const genMs = performance.now() - t0;
const size = statSync(conf).size;
const common = ['-t', '-p', `${dir}/`, '-c', 'nginx.conf', '-e', join(dir, 'err.log')];

const tools = [{ name: 'nginx', cmd: NGINX, argv: common, runs: [], skipped: null }];
// run the executable itself, as users and tools do: its shebang carries nxproxy's node flags
const nx = { name: 'nxproxy', cmd: CLI, argv: common, runs: [], skipped: null };
if (!existsSync(CLI)) nx.skipped = `CLI not found at ${CLI} (build with \`npx tsc -b\`?)`;
tools.push(nx);
// the floor: node + Chevrotain's lexer over the file, nothing else (see floor.mjs)
// and the floor with a do-nothing Chevrotain parser over the tokens as well
if (!args.includes('--no-floor')) {
  const built = existsSync(CLI) ? null : 'not built';
  tools.push({ name: 'floor', cmd: process.execPath, argv: ['--max-semi-space-size=4', join(ROOT, 'bench/config-test/floor.mjs'), conf], runs: [], skipped: built });
  tools.push({ name: 'floor+p', cmd: process.execPath, argv: ['--max-semi-space-size=4', join(ROOT, 'bench/config-test/floor.mjs'), conf, '--recognize'], runs: [], skipped: built });
}

/** Runs one command; resolves { code, stderr, stdout, ms, rssKiB }. */
function measure(cmd, argv) {
  return new Promise((done, fail) => {
    const timeOut = join(dir, 'time.out');
    const [file, fullArgv] = GNU_TIME
      ? [GNU_TIME, ['-f', '%e %M', '-o', timeOut, cmd, ...argv]]
      : [cmd, argv];
    const start = process.hrtime.bigint();
    const child = spawn(file, fullArgv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let hwm = 0;
    let poll = null;
    if (!GNU_TIME) {
      poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]));
        } catch { /* exited */ }
      }, 5);
    }
    child.on('error', fail);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (poll) clearInterval(poll);
      let rssKiB = hwm;
      if (GNU_TIME) {
        const lines = readFileSync(timeOut, 'utf8').trim().split('\n');
        // GNU time prepends "Command exited with non-zero status N" on failure
        rssKiB = Number(lines.at(-1).split(' ')[1]);
      }
      done({ code, stdout, stderr, ms, rssKiB });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mib = (kib) => (kib / 1024).toFixed(1);

console.log(`config: ${servers} servers x 5 locations, ${(size / 1048576).toFixed(2)} MiB ` +
  `(generated in ${genMs.toFixed(0)} ms) at ${conf}`);
console.log(`nginx: ${NGINX}; nxproxy: ${CLI}; node ${process.version}; ${cpus().length} CPUs`);
console.log(`memory via ${GNU_TIME ? '/usr/bin/time %M' : 'polling /proc/<pid>/status VmHWM'}; ` +
  `${rounds} rounds + 1 warm-up, interleaved\n`);

let failed = false;
async function runOnce(tool, label) {
  if (tool.skipped) return;
  const r = await measure(tool.cmd, tool.argv);
  if (r.code !== 0) {
    console.log(`${tool.name} ${label}: exit ${r.code}\n--- stderr ---\n${r.stderr}--- stdout ---\n${r.stdout}`);
    tool.skipped = `exited ${r.code} (stderr above)`;
    failed = true;
    return;
  }
  if (label === 'warm-up') return;
  tool.runs.push(r);
  console.log(`${label.padEnd(8)} ${tool.name.padEnd(8)} ${r.ms.toFixed(0).padStart(7)} ms ` +
    `${mib(r.rssKiB).padStart(8)} MiB`);
}

for (const t of tools) await runOnce(t, 'warm-up');
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? tools : [...tools].reverse();
  for (const t of order) await runOnce(t, `round ${i + 1}`);
}

console.log('\nmedians:');
const med = {};
for (const t of tools) {
  if (t.runs.length === 0) {
    console.log(`  ${t.name.padEnd(8)} pending/failed: ${t.skipped ?? 'no runs'}`);
    continue;
  }
  med[t.name] = { ms: median(t.runs.map((r) => r.ms)), kib: median(t.runs.map((r) => r.rssKiB)) };
  console.log(`  ${t.name.padEnd(8)} time ${med[t.name].ms.toFixed(0).padStart(6)} ms   ` +
    `peak RSS ${mib(med[t.name].kib).padStart(7)} MiB`);
}
if (med.nginx && med.nxproxy) {
  const rt = med.nxproxy.ms / med.nginx.ms;
  const rm = med.nxproxy.kib / med.nginx.kib;
  const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
  console.log('ratios nxproxy/nginx:');
  console.log(`  time   ${rt.toFixed(3)}  (target <= ${TARGET_TIME})  ${verdict(rt <= TARGET_TIME)}`);
  console.log(`  memory ${rm.toFixed(3)}  (target <= ${TARGET_MEM})  ${verdict(rm <= TARGET_MEM)}`);
  if (med.floor) {
    console.log(`floor (node start + Chevrotain lexing the file, no parse or checks) / nginx: time ${(med.floor.ms / med.nginx.ms).toFixed(3)}, ` +
      `memory ${(med.floor.kib / med.nginx.kib).toFixed(3)}`);
  }
  if (med['floor+p']) {
    console.log(`floor+p (the same + a Chevrotain parser with the least grammar, no AST or checks) / nginx: time ${(med['floor+p'].ms / med.nginx.ms).toFixed(3)}, ` +
      `memory ${(med['floor+p'].kib / med.nginx.kib).toFixed(3)}`);
  }
} else {
  console.log(`ratios: pending (targets: time <= ${TARGET_TIME} x nginx, memory <= ${TARGET_MEM} x nginx)`);
}

if (keep) console.log(`\nkept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
