/**
 * `nxproxy -t` against nginx 1.22.1's recorded results on the real-world corpus
 * (shared/corpus/EXPECTED.tsv: entry point, exit code, first [emerg]/[alert]/[crit]/[error] line).
 *
 * The corpus lives outside the repository: /work/shared/corpus, or ../shared/corpus relative to
 * the checkout (CI), or $NXPROXY_CORPUS. Without it the whole file is skipped.
 *
 * It is copied once to a temp dir (nginx -t creates log files next to the configs), and one node
 * child runs the CLI's own entry point (packages/cli/dist/main.js, i.e. what
 * `nxproxy -t -p <dir of entry>/ -c <entry> -e <tmp>/err.log` runs) for every entry in turn,
 * capturing stderr. That takes a second or two instead of minutes for 524 node processes.
 *
 * An entry agrees when the exit code is nginx's and, where nginx failed, the first error line is
 * nginx's (after nxproxy: -> nginx: and the temp dir -> corpus-relative paths, as EXPECTED.tsv
 * was written). KNOWN lists deliberate or unfixable divergences; the test checks they still
 * diverge the documented way, so the list cannot go stale. ENVIRONMENT lists entries whose nginx
 * result depends on the machine it was recorded on (root, /etc/nginx, /var/log/nginx); they are
 * skipped, with a note, where this machine differs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI_MAIN = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');

function findCorpus(): string | undefined {
  const candidates = [process.env.NXPROXY_CORPUS, '/work/shared/corpus', path.resolve(ROOT, '..', 'shared', 'corpus')];
  return candidates.find((c): c is string => !!c && fs.existsSync(path.join(c, 'EXPECTED.tsv')));
}

const CORPUS = findCorpus();
if (!CORPUS) {
  console.log(
    'corpus.test: skipped: no corpus at /work/shared/corpus or ../shared/corpus relative to the repository ' +
      '(set NXPROXY_CORPUS=/path/to/corpus)',
  );
}

interface Expected {
  path: string;
  exit: number;
  first: string;
}

function loadExpected(corpus: string): Expected[] {
  const [header, ...rows] = fs.readFileSync(path.join(corpus, 'EXPECTED.tsv'), 'utf8').split('\n');
  if (!header.startsWith('path\texit_code')) throw new Error(`EXPECTED.tsv: unexpected header ${JSON.stringify(header)}`);
  return rows
    .filter((r) => r.trim() !== '')
    .map((r) => {
      const [p, exit, first] = r.split('\t');
      return { path: p, exit: Number(exit), first: first ?? '' };
    });
}

/**
 * Entries where nxproxy knowingly differs from nginx: what nxproxy gives instead, and why.
 * (None at present: every divergence found in the corpus was a bug, and was fixed.)
 */
const KNOWN: Record<string, { exit: number; first: string; reason: string }> = {};

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const readable = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
};
const writableDir = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const noConfD = () => {
  try {
    return fs.readdirSync('/etc/nginx/conf.d').filter((f) => f.endsWith('.conf')).length === 0;
  } catch {
    return true;
  }
};

/**
 * Entries whose recorded result holds only on a machine like the recording one (root, Debian's
 * nginx package installed). `holds()` says whether this machine is like it.
 */
const ENVIRONMENT: { match: (e: Expected) => boolean; holds: (e: Expected) => boolean; reason: string }[] = [
  {
    match: (e) => /getpwnam\(|getgrnam\(/.test(e.first),
    holds: (e) => {
      const m = /get(pw|gr)nam\("([^"]*)"\) failed/.exec(e.first);
      return isRoot && !!m && !(m[1] === 'pw' ? accountExists('/etc/passwd', m[2]) : accountExists('/etc/group', m[2]));
    },
    reason:
      'recorded as root on a machine without that user/group: nginx checks "user" only as root ' +
      '(otherwise it warns that the directive is ignored)',
  },
  {
    match: (e) => e.path === 'NGINX-Demos/nginx-swarm-demo/phpfpmbase/nginx.conf',
    holds: () =>
      isRoot && readable('/etc/nginx/mime.types') && writableDir('/var/log/nginx') && noConfD() && userExists('www-data'),
    reason: 'includes /etc/nginx/mime.types and /etc/nginx/conf.d/*.conf, logs to /var/log/nginx, runs as www-data',
  },
  {
    match: (e) => e.path === 'server-configs-nginx/nginx.conf',
    holds: () => isRoot && writableDir('/var/log/nginx') && writableDir('/var/run') && userExists('www-data'),
    reason: 'logs to /var/log/nginx, writes /var/run/nginx.pid, runs as www-data',
  },
];

function userExists(name: string): boolean {
  return accountExists('/etc/passwd', name);
}

function accountExists(file: string, name: string): boolean {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .some((l) => l.split(':')[0] === name);
  } catch {
    return false;
  }
}

/** The child: runs the CLI's main() for every entry, capturing what it writes to stderr. */
const CHILD = `
const [cliMain, root, listFile] = process.argv.slice(1);
const { main } = await import(cliMain);
const entries = JSON.parse((await import('node:fs')).readFileSync(listFile, 'utf8'));
const path = await import('node:path');
const out = [];
const realWrite = process.stderr.write.bind(process.stderr);
for (const rel of entries) {
  const file = path.join(root, rel);
  let captured = '';
  process.stderr.write = (chunk, ...rest) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    const cb = rest.find((x) => typeof x === 'function');
    if (cb) cb();
    return true;
  };
  let exit;
  try {
    exit = await main(['-t', '-p', path.dirname(file) + '/', '-c', file, '-e', path.join(root, '..', 'err.log')]);
  } catch (err) {
    captured += 'nxproxy: [emerg] ' + (err && err.stack ? err.stack : String(err)) + '\\n';
    exit = 1;
  } finally {
    process.stderr.write = realWrite;
  }
  out.push({ path: rel, exit, stderr: captured });
}
process.stdout.write(JSON.stringify(out));
`;

interface Got {
  path: string;
  exit: number;
  stderr: string;
}

function firstError(stderr: string, root: string): string {
  const line = stderr.split('\n').find((l) => /^nxproxy: \[(emerg|alert|crit|error)\] /.test(l));
  return line === undefined ? '' : line.replace(/^nxproxy: /, 'nginx: ').split(root + '/').join('');
}

(CORPUS ? describe : describe.skip)('nxproxy -t agrees with nginx -t on the corpus', () => {
  const expected = CORPUS ? loadExpected(CORPUS) : [];
  const results = new Map<string, { exit: number; first: string; stderr: string }>();
  let tmp = '';
  let root = '';
  const tally = { agree: 0, known: 0, env: [] as string[], disagree: 0 };

  beforeAll(async () => {
    if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} not found: build first (npx tsc -b)`);
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nxproxy-corpus-')));
    root = path.join(tmp, 'corpus');
    fs.cpSync(CORPUS!, root, { recursive: true });
    // the shared copy is read-only; nginx (as root) wrote its logs next to the configs regardless
    const makeWritable = (p: string) => {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return;
      fs.chmodSync(p, st.mode | 0o200);
      if (st.isDirectory()) for (const f of fs.readdirSync(p)) makeWritable(path.join(p, f));
    };
    makeWritable(root);
    const listFile = path.join(tmp, 'entries.json');
    fs.writeFileSync(listFile, JSON.stringify(expected.map((e) => e.path)));
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', CHILD, CLI_MAIN, root, listFile],
        { cwd: tmp, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } },
        (err, out, errOut) => (err ? reject(new Error(`corpus child failed: ${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    for (const g of JSON.parse(stdout) as Got[]) {
      results.set(g.path, { exit: g.exit, first: firstError(g.stderr, root), stderr: g.stderr.split(root + '/').join('') });
    }
  }, 180_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (expected.length === 0) return;
    const checked = expected.length - tally.env.length;
    console.log(
      `corpus: ${tally.agree}/${expected.length} entry points agree with nginx 1.22.1` +
        ` (${tally.known} known divergences, ${tally.env.length} skipped for this environment, ${tally.disagree} unexpected` +
        ` disagreements among ${checked} checked)` +
        (tally.env.length ? `\n  skipped here: ${tally.env.join(', ')}` : ''),
    );
  });

  it('has the corpus entries', () => {
    expect(expected.length).toBeGreaterThanOrEqual(500);
    for (const p of Object.keys(KNOWN)) expect(expected.some((e) => e.path === p), `KNOWN entry ${p} not in EXPECTED.tsv`).toBe(true);
  });

  for (const e of expected) {
    it(e.path, ({ skip }) => {
      const got = results.get(e.path);
      if (!got) throw new Error(`no result for ${e.path}`);
      const env = ENVIRONMENT.find((x) => x.match(e));
      if (env && !env.holds(e)) {
        tally.env.push(e.path);
        skip(`environment differs from the recording one: ${env.reason}`);
        return;
      }
      const context = `${e.path}\nnxproxy stderr:\n${got.stderr}`;
      const known = KNOWN[e.path];
      if (known) {
        tally.known++;
        // still diverging the documented way (update KNOWN when a fix makes it agree)
        expect({ exit: got.exit, first: got.first }, `${context}\nreason: ${known.reason}`).toEqual({
          exit: known.exit,
          first: known.first,
        });
        return;
      }
      const agrees = got.exit === e.exit && (e.exit === 0 || got.first === e.first);
      if (agrees) tally.agree++;
      else tally.disagree++;
      expect({ exit: got.exit, first: e.exit === 0 ? '' : got.first }, context).toEqual({ exit: e.exit, first: e.first });
    });
  }
});
