#!/usr/bin/env node
// Self time per function over V8 .cpuprofile files, with buckets, for the proxy benchmark.
// Derived from bench/config-test/profile-summary.mjs; adds a time window (only the samples
// taken while wrk was running count), dist->src mapping through the .js.map files, and buckets.
//
//   node bench/proxy/profile.mjs <file.cpuprofile|dir>... [--top N] [--window FROM_US:TO_US]
//
// --window: CLOCK_MONOTONIC microseconds (process.hrtime.bigint() / 1000n), the same clock
// V8 stamps samples with on Linux; samples outside it (startup, config load, shutdown) are dropped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const NATIVE_IO = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString',
  'writeUcs2String', 'execute', 'consume', 'unconsume', 'finish', 'shutdown', 'close', 'readStart', 'readStop',
  'setNoDelay', 'setKeepAlive', 'getpeername', 'getsockname', 'connect', 'initialize', 'free', 'remove']);

/** The socket write bindings: their self time is the syscall, plus (wall-clock profiler) any preemption there. */
const WRITES = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString', 'writeUcs2String']);

/** Bucket of one call frame. */
export function bucketOf(name, url) {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native unattributed ((program))';
  if (/\/undici\//.test(url) || url.startsWith('wasm://')) return 'undici'; // wasm: undici's llhttp
  if (/\/packages\/[^/]+\/(dist|src)\//.test(url) || /^packages\//.test(url)) return 'nxproxy pipeline';
  if (/^node:(_http_|net$|internal\/(stream_base_commons|http|net|dns)|dns$|http$)/.test(url)) return 'node http parser/writes';
  // bindings without a script: HTTPParser execute, socket writes (the syscall is in their self time)
  if (!url && NATIVE_IO.has(name)) return 'node http parser/writes';
  if (!url && !name.startsWith('(')) return 'node other (events, streams, timers)';
  if (url.startsWith('node:')) return 'node other (events, streams, timers)';
  return 'other';
}

const maps = new Map();
/** "packages/x/dist/a.js", 12 -> "packages/x/src/a.ts:10" when a source map is next to it. */
function toSource(file, line, col) {
  if (!/\/dist\/.*\.js$/.test(file)) return null;
  let sm = maps.get(file);
  if (sm === undefined) {
    sm = null;
    const mapFile = file + '.map';
    if (existsSync(mapFile)) {
      try {
        sm = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')));
      } catch { /* unreadable map */ }
    }
    maps.set(file, sm);
  }
  if (!sm) return null;
  const e = sm.findEntry(line, col);
  if (!e || !e.originalSource) return null;
  const src = resolve(dirname(file), e.originalSource.replace(/^file:\/\//, ''));
  return `${shorten(src)}:${e.originalLine + 1}`;
}

function shorten(path) {
  const p = path.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + '/node_modules/'.length);
  for (const base of [process.cwd(), ROOT]) {
    if (p.startsWith(base + '/')) return relative(base, p);
  }
  // another checkout (NXPROXY_BIN): keep the path from packages/ on
  const k = p.lastIndexOf('/packages/');
  return k >= 0 ? p.slice(k + 1) : p;
}

/**
 * Summarizes profiles. Returns { files, totalMs, busyMs, windowed, rows: [{key, name, where, bucket, ms}], buckets: Map }.
 * Self time of a sample = the delta to the next sample (same as profile-summary.mjs).
 */
export function summarize(paths, { window } = {}) {
  const files = paths.flatMap((a) => statSync(a).isDirectory()
    ? readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(a, f))
    : [a]);
  const self = new Map();
  const incl = new Map();
  const nativeIo = new Map();
  let total = 0;
  let windowed = false;
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const useWindow = window && p.startTime < window[1] && p.endTime > window[0];
    if (useWindow) windowed = true;
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    let t = p.startTime;
    p.samples.forEach((id, i) => {
      t += p.timeDeltas[i] ?? 0;
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms; delta i+1 is the time spent in sample i
      if (useWindow && (t < window[0] || t > window[1])) return;
      const cf = byId.get(id).callFrame;
      const url = cf.url.replace(/^file:\/\//, '');
      const name = cf.functionName || '(anonymous)';
      const key = `${name}\0${url}\0${cf.lineNumber}`;
      let e = self.get(key);
      if (!e) {
        const where = url
          ? (toSource(url, cf.lineNumber, cf.columnNumber) ?? `${shorten(url)}:${cf.lineNumber + 1}`)
          : '(native)';
        e = { key, name, where, bucket: bucketOf(name, url), ms: 0 };
        self.set(key, e);
      }
      e.ms += dt;
      total += dt;
      // inclusive time of nxproxy's own functions (each counted once per sample)
      const isWrite = !url && WRITES.has(name);
      const seen = new Set();
      let callerBucket = null;
      for (let n = parent.get(id); n !== undefined; n = parent.get(n)) {
        const pf = byId.get(n).callFrame;
        const purl = pf.url.replace(/^file:\/\//, '');
        const b = bucketOf(pf.functionName, purl);
        if (callerBucket === null && (b === 'undici' || b === 'nxproxy pipeline')) callerBucket = b;
        if (callerBucket === null && purl.startsWith('node:_http_')) callerBucket = `node ${purl.slice(5)}`;
        if (b !== 'nxproxy pipeline') continue;
        const k = `${pf.functionName || '(anonymous)'}\0${purl}\0${pf.lineNumber}`;
        if (seen.has(k)) continue;
        seen.add(k);
        let x = incl.get(k);
        if (!x) incl.set(k, (x = { name: pf.functionName || '(anonymous)', where: toSource(purl, pf.lineNumber, pf.columnNumber) ?? `${shorten(purl)}:${pf.lineNumber + 1}`, ms: 0, msNoWrite: 0 }));
        x.ms += dt;
        if (!isWrite) x.msNoWrite += dt;
      }
      if (!url && NATIVE_IO.has(name)) {
        const k = `${name} <- ${callerBucket ?? '?'}`;
        nativeIo.set(k, (nativeIo.get(k) ?? 0) + dt);
      }
    });
  }
  const rows = [...self.values()].sort((a, b) => b.ms - a.ms);
  const buckets = new Map();
  for (const r of rows) buckets.set(r.bucket, (buckets.get(r.bucket) ?? 0) + r.ms);
  const busyMs = total - (buckets.get('idle') ?? 0);
  const inclusive = [...incl.values()].sort((a, b) => b.ms - a.ms);
  return { files, totalMs: total, busyMs, windowed, rows, buckets, inclusive, nativeIo };
}

/** Printable report: buckets then the top N non-idle functions, % of busy (non-idle) time. */
export function report(s, top = 15) {
  const out = [];
  const pct = (ms) => `${(100 * ms / s.busyMs).toFixed(1).padStart(5)}%`;
  out.push(`${s.files.length} profile(s); ${s.totalMs.toFixed(0)} ms sampled${s.windowed ? ' inside the wrk window' : ' (whole run: no window)'}; ` +
    `busy ${s.busyMs.toFixed(0)} ms, idle ${(s.buckets.get('idle') ?? 0).toFixed(0)} ms; % below are of busy time`);
  out.push('buckets:');
  for (const [b, ms] of [...s.buckets].sort((a, c) => c[1] - a[1])) {
    if (b === 'idle') continue;
    out.push(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${b}`);
  }
  const writeMs = s.rows.filter((r) => r.where === '(native)' && WRITES.has(r.name)).reduce((a, r) => a + r.ms, 0);
  const rest = s.busyMs - writeMs;
  out.push(`without the native socket writes (${(100 * writeMs / s.busyMs).toFixed(1)}% of busy: syscall + preemption), the other ${rest.toFixed(0)} ms split:`);
  const nb = new Map();
  for (const r of s.rows) {
    if (r.bucket === 'idle' || (r.where === '(native)' && WRITES.has(r.name))) continue;
    nb.set(r.bucket, (nb.get(r.bucket) ?? 0) + r.ms);
  }
  out.push('  ' + [...nb].sort((a, c) => c[1] - a[1]).map(([b, ms]) => `${b} ${(100 * ms / rest).toFixed(0)}%`).join(', '));
  out.push(`top ${top} functions by self time:`);
  s.rows.filter((r) => r.bucket !== 'idle').slice(0, top).forEach((r, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${pct(r.ms)} ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}  ${r.where}  [${r.bucket}]`);
  });
  out.push('native socket/parser calls by nearest caller (undici, nxproxy or node:_http_*):');
  for (const [k, ms] of [...s.nativeIo].sort((a, c) => c[1] - a[1]).slice(0, 6)) out.push(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  out.push('nxproxy functions by inclusive time (self + callees; and without the socket writes below them):');
  for (const x of s.inclusive.slice(0, 12)) {
    out.push(`  ${pct(x.ms)} ${x.ms.toFixed(0).padStart(7)} ms | ${pct(x.msNoWrite)} ${x.msNoWrite.toFixed(0).padStart(6)} ms  ${x.name}  ${x.where}`);
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const k = args.indexOf('--top');
  const top = k >= 0 ? Number(args.splice(k, 2)[1]) : 15;
  const w = args.indexOf('--window');
  const window = w >= 0 ? args.splice(w, 2)[1].split(':').map(Number) : undefined;
  if (args.length === 0) {
    console.error('usage: profile.mjs <file.cpuprofile|dir>... [--top N] [--window FROM_US:TO_US]');
    process.exit(2);
  }
  console.log(report(summarize(args, { window }), top));
}
