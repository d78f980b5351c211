#!/usr/bin/env -S node --max-semi-space-size=4
// A small young generation: -t on large configs promotes less and peaks lower (169 vs 188 MiB on
// the bench config, bench/RESULTS.md); serving showed no clear cost (node bench/proxy/run.mjs
// --node-flags=--max-semi-space-size=4 against the default, within the runs' noise).
import { setFlagsFromString } from 'node:v8';

// -t runs once and exits, and what it allocates (the AST, the checker's state) stays live
// until then: a major GC while it runs frees next to nothing (50.0 -> 48.4 MB on the 5.3 MB
// bench config) but costs its incremental marking (~35 ms on the main thread, more on helper
// threads). A large heap growing factor, set before any major GC, puts the next one beyond
// what the check allocates (bench: ~0.1 s less CPU, same peak RSS). Serving, and -T (whose
// dump output is garbage as soon as it is written), keep V8's defaults.
const argv = process.argv.slice(2);
if (argv.includes('-t') && !argv.includes('-T')) setFlagsFromString('--heap-growing-percent=1000');

const { main } = await import('../dist/main.js');

main(argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`nxproxy: [emerg] ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
