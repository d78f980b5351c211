#!/usr/bin/env node
// Sums self time per function (name + url:line) over one or more V8 .cpuprofile files.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/cli/bin/nxproxy.js -t -p DIR/ -c nginx.conf -e DIR/err.log
//   node bench/config-test/profile-summary.mjs /tmp/prof [--top N]
//
// Args: .cpuprofile files or directories holding them. Self time of a node =
// (number of samples attributed to it) weighted by the sample's timeDelta.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
const k = args.indexOf('--top');
const top = k >= 0 ? Number(args.splice(k, 2)[1]) : 10;
const files = args.flatMap((a) => statSync(a).isDirectory()
  ? readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(a, f))
  : [a]);
if (files.length === 0) {
  console.error('usage: profile-summary.mjs <file.cpuprofile|dir>... [--top N]');
  process.exit(2);
}

const self = new Map();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const perNode = new Map();
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms; delta i+1 is the time spent in sample i
    perNode.set(id, (perNode.get(id) ?? 0) + dt);
  });
  for (const [id, ms] of perNode) {
    const cf = byId.get(id).callFrame;
    let url = cf.url.replace(/^file:\/\//, '');
    if (url.startsWith(process.cwd())) url = relative(process.cwd(), url);
    const key = `${cf.functionName || '(anonymous)'}  ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + ms);
    total += ms;
  }
}
console.log(`${files.length} profile(s), ${total.toFixed(0)} ms sampled`);
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
rows.forEach(([key, ms], i) => {
  console.log(`${String(i + 1).padStart(2)}. ${ms.toFixed(1).padStart(8)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${key}`);
});
