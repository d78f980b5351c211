/**
 * Differential test of `nxproxy -t` against `nginx -t` (nginx 1.22.1) on the configs in
 * fixtures/broken/<case>/.
 *
 * Each case directory holds a complete nginx.conf (plus side files for includes/certs), the golden
 * file expected.txt written by fixtures/broken/record.sh (`exit=N`, then nginx's stderr with the
 * temp dir replaced by `{DIR}`), an optional args.txt (extra argv, one argument per line, `{DIR}`
 * replaced by the temp dir) and an optional divergence.txt (nxproxy deliberately differs from
 * nginx; only a clean failure is required).
 *
 * For every case the directory is copied to a fresh temp dir and
 *   node packages/cli/bin/nxproxy.js -t -p <tmp>/ -c nginx.conf -e <tmp>/err.log [args]
 * is run. Its stderr is normalised (`nxproxy: ` line prefix -> `nginx: `, temp dir -> `{DIR}`);
 * only lines starting with `nginx: ` are compared, and nxproxy's own
 * `[warn] ... not implemented / has no effect` lines are dropped. Exit code and lines must equal
 * nginx's. The reference is a live run of nginx on another fresh copy when nginx is installed,
 * otherwise expected.txt. When nginx is installed the goldens are also checked against it.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CASES_DIR = path.join(ROOT, 'fixtures', 'broken');
/** NXPROXY_CLI overrides the script under test (e.g. to check the harness itself). */
const CLI = process.env.NXPROXY_CLI ? path.resolve(process.env.NXPROXY_CLI) : path.join(ROOT, 'packages', 'cli', 'bin', 'nxproxy.js');
const RUN_TIMEOUT_MS = 30_000;
/** Files in a case dir that belong to the test harness, not to the config. */
const HARNESS_FILES = ['expected.txt', 'args.txt', 'divergence.txt'];

/**
 * The nginx oracle: $NGINX_BIN if set ("none" = pretend nginx is absent), else the usual places.
 * (Not $NGINX: nginx itself reads that variable, for inherited listening sockets.)
 */
function findNginx(): string | undefined {
  const isExe = (c: string): boolean => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  };
  const explicit = process.env.NGINX_BIN;
  if (explicit !== undefined) return explicit !== '' && explicit !== 'none' && isExe(explicit) ? explicit : undefined;
  const candidates = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nginx'));
  return candidates.find(isExe);
}

const NGINX = findNginx();
if (!NGINX) {
  console.log(
    'config-test-differential: nginx not found (set NGINX_BIN=/path/to/nginx); comparing nxproxy with the recorded ' +
      'fixtures/broken/*/expected.txt only, and not checking that the goldens are current.',
  );
}

interface Case {
  name: string;
  dir: string;
  args: string[]; // raw, may contain {DIR}
  expected: Result;
  divergence: string | undefined;
}

interface Result {
  exit: number;
  lines: string[];
}

function loadCases(): Case[] {
  const cases: Case[] = [];
  for (const name of fs.readdirSync(CASES_DIR).sort()) {
    const dir = path.join(CASES_DIR, name);
    if (!fs.statSync(dir).isDirectory() || !fs.existsSync(path.join(dir, 'nginx.conf'))) continue;
    const expectedPath = path.join(dir, 'expected.txt');
    if (!fs.existsSync(expectedPath)) throw new Error(`${name}: no expected.txt; run fixtures/broken/record.sh`);
    const [first, ...rest] = splitLines(fs.readFileSync(expectedPath, 'utf8'));
    const m = /^exit=(\d+)$/.exec(first ?? '');
    if (!m) throw new Error(`${name}/expected.txt: first line must be exit=N, got ${JSON.stringify(first)}`);
    const argsPath = path.join(dir, 'args.txt');
    const divPath = path.join(dir, 'divergence.txt');
    cases.push({
      name,
      dir,
      args: fs.existsSync(argsPath) ? splitLines(fs.readFileSync(argsPath, 'utf8')) : [],
      expected: { exit: Number(m[1]), lines: rest.filter((l) => l.startsWith('nginx: ')) },
      divergence: fs.existsSync(divPath) ? fs.readFileSync(divPath, 'utf8') : undefined,
    });
  }
  return cases;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A fresh copy of the case dir without the harness files; realpath'd so paths match nginx's. */
function freshCopy(c: Case): string {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nxproxy-broken-')));
  fs.cpSync(c.dir, tmp, { recursive: true });
  for (const f of HARNESS_FILES) fs.rmSync(path.join(tmp, f), { force: true });
  return tmp;
}

interface Raw {
  exit: number;
  signal: string | null;
  stderr: string;
}

function run(cmd: string, argv: string[], cwd: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      argv,
      {
        cwd,
        encoding: 'utf8',
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        env: childEnv(),
      },
      (err, _stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string | null }) | null;
        let exit = 0;
        let signal: string | null = null;
        if (e) {
          if (typeof e.code === 'number') exit = e.code;
          else if (e.signal) {
            signal = e.signal;
            exit = 128 + (os.constants.signals[e.signal as keyof typeof os.constants.signals] ?? 0);
          } else return reject(e); // spawn failure (ENOENT...)
        }
        resolve({ exit, signal, stderr: stderr ?? '' });
      },
    );
  });
}

/** The environment for nginx and nxproxy: no NGINX (inherited sockets), no colours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NGINX;
  delete env.FORCE_COLOR;
  return env;
}

function testArgv(c: Case, tmp: string): string[] {
  return ['-t', '-p', `${tmp}/`, '-c', 'nginx.conf', '-e', `${tmp}/err.log`, ...c.args.map((a) => a.split('{DIR}').join(tmp))];
}

function normalise(raw: Raw, tmp: string, fromNxproxy: boolean): Result {
  const lines: string[] = [];
  for (let line of splitLines(raw.stderr)) {
    line = line.replace(/\r$/, '');
    if (fromNxproxy) line = line.replace(/^nxproxy: /, 'nginx: ');
    line = line.split(tmp).join('{DIR}');
    if (!line.startsWith('nginx: ')) continue;
    if (fromNxproxy && /^nginx: \[warn\] .*(not implemented|has no effect)/.test(line)) continue;
    lines.push(line);
  }
  return { exit: raw.exit, lines };
}

async function runNginx(c: Case): Promise<Result> {
  const tmp = freshCopy(c);
  try {
    return normalise(await run(NGINX!, testArgv(c, tmp), tmp), tmp, false);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runNxproxy(c: Case): Promise<Result & { raw: string }> {
  if (!fs.existsSync(CLI)) throw new Error(`nxproxy CLI not found at ${CLI} (build it: npx tsc -b)`);
  const tmp = freshCopy(c);
  try {
    const raw = await run(process.execPath, [CLI, ...testArgv(c, tmp)], tmp);
    return { ...normalise(raw, tmp, true), raw: raw.stderr.split(tmp).join('{DIR}') };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const CASES = loadCases();

describe.concurrent('nxproxy -t matches nginx -t', () => {
  it('has enough cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(70);
  });

  for (const c of CASES) {
    it(c.name, async ({ expect }) => {
      const [got, reference] = await Promise.all([runNxproxy(c), NGINX && !c.divergence ? runNginx(c) : c.expected]);
      const context = `case fixtures/broken/${c.name}; raw nxproxy stderr:\n${got.raw}`;
      if (c.divergence) {
        // nginx's own behaviour is environment-dependent here (see divergence.txt); require a clean failure.
        expect(got.exit, context).toBe(1);
        expect(got.lines.some((l) => l.startsWith('nginx: [emerg] ')), context).toBe(true);
        expect(got.lines[got.lines.length - 1], context).toBe('nginx: configuration file {DIR}/nginx.conf test failed');
        return;
      }
      expect({ exit: got.exit, lines: got.lines }, context).toEqual(reference);
    });
  }
});

(NGINX ? describe.concurrent : describe.skip)('golden files are current (live nginx -t == expected.txt)', () => {
  for (const c of CASES.filter((x) => !x.divergence)) {
    it(c.name, async ({ expect }) => {
      const live = await runNginx(c);
      expect(live, `fixtures/broken/${c.name}/expected.txt is stale: rerun fixtures/broken/record.sh ${c.name}`).toEqual(
        c.expected,
      );
    });
  }
});
