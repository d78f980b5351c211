/**
 * Minimal helpers to run nginx (the oracle) and nxproxy side by side on the same generated config
 * and to send raw HTTP/1.1 requests to both (used by the property tests in tests/).
 *
 *   NGINX_BIN=/path    the oracle (default /usr/sbin/nginx, then $PATH); "none" = absent
 *   NXPROXY_CLI=/path  the nxproxy script under test (default packages/cli/bin/nxproxy.js)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = process.env.NXPROXY_CLI
  ? path.resolve(process.env.NXPROXY_CLI)
  : path.join(ROOT, 'packages', 'cli', 'bin', 'nxproxy.js');

function isExe(c: string): boolean {
  try {
    fs.accessSync(c, fs.constants.X_OK);
    return fs.statSync(c).isFile();
  } catch {
    return false;
  }
}

export function findNginx(): string | undefined {
  const explicit = process.env.NGINX_BIN;
  if (explicit !== undefined) return explicit !== '' && explicit !== 'none' && isExe(explicit) ? explicit : undefined;
  const candidates = ['/usr/sbin/nginx'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nginx'));
  return candidates.find(isExe);
}

// Every child we start; killed in stopAll() and, as a last resort, when the worker exits.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A currently free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Instance {
  label: 'nginx' | 'nxproxy';
  prefix: string;
  port: number;
  proc: ChildProcess;
  output: string;
}

/**
 * Writes `config(port, prefix)` to a fresh PREFIX/nginx.conf and starts the program on it:
 *   nginx -p PREFIX/ -c nginx.conf -e PREFIX/error.log
 *   node nxproxy.js -p PREFIX/ -c nginx.conf -e PREFIX/error.log
 * Resolves once the port accepts connections; rejects (with the output and error log) if the
 * program exits or does not listen within 10 s.
 */
export async function startInstance(
  label: 'nginx' | 'nxproxy',
  nginxBin: string,
  config: (port: number, prefix: string) => string,
): Promise<Instance> {
  // The free port may be taken by someone else before we bind it: retry on a fresh one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(label, nginxBin, config);
    } catch (e) {
      if (attempt >= 3 || !/already in use|EADDRINUSE/i.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(
  label: 'nginx' | 'nxproxy',
  nginxBin: string,
  config: (port: number, prefix: string) => string,
): Promise<Instance> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `locprop-${label}-`));
  fs.mkdirSync(path.join(prefix, 'logs'));
  const port = await freePort();
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), config(port, prefix));
  const args = ['-p', `${prefix}/`, '-c', 'nginx.conf', '-e', `${prefix}/error.log`];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NGINX; // nginx reads it (inherited sockets)
  const proc =
    label === 'nginx'
      ? spawn(nginxBin, args, { cwd: prefix, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, ...args], { cwd: prefix, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const inst: Instance = { label, prefix, port, proc, output: '' };
  proc.stdout!.on('data', (d: Buffer) => (inst.output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (inst.output += d.toString()));
  let spawnError: Error | undefined;
  proc.on('error', (e) => (spawnError = e));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const dead = spawnError !== undefined || proc.exitCode !== null || proc.signalCode !== null;
    if (dead || Date.now() > deadline) {
      await new Promise((r) => setTimeout(r, 50));
      let log = '';
      try {
        log = fs.readFileSync(path.join(prefix, 'error.log'), 'utf8');
      } catch {
        /* none */
      }
      await stopInstance(inst);
      throw new Error(
        `${label} did not start (${spawnError?.message ?? (dead ? `exit ${proc.exitCode ?? proc.signalCode}` : 'timeout')})\n` +
          `--- output ---\n${inst.output}\n--- error.log ---\n${log}`,
      );
    }
    if (await canConnect(port)) return inst;
    await new Promise((r) => setTimeout(r, 15));
  }
}

export async function stopInstance(inst: Instance, keep = false): Promise<void> {
  const { proc } = inst;
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
  children.delete(proc);
  if (!keep) fs.rmSync(inst.prefix, { recursive: true, force: true });
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGKILL');
        }),
    ),
  );
  children.clear();
}

export interface Answer {
  status: number;
  location: string | undefined;
  body: string;
  /** Transport problem (connection refused, reset, timeout, unparsable answer). */
  error?: string;
}

/**
 * Sends `GET <target> HTTP/1.1` with the given Host and `Connection: close`, the target written
 * byte for byte (no normalisation), and reads the answer until the server closes.
 */
export function rawGet(port: number, host: string, target: string, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseAnswer(Buffer.concat(chunks), error));
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('connect', () => {
      sock.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1');
    });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => finish());
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}

function parseAnswer(raw: Buffer, error: string | undefined): Answer {
  const he = raw.indexOf('\r\n\r\n');
  if (he < 0) return { status: 0, location: undefined, body: raw.toString('latin1'), error: error ?? 'no complete response head' };
  const lines = raw.subarray(0, he).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  let location: string | undefined;
  let contentLength: number | undefined;
  let chunked = false;
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim().toLowerCase();
    const value = l.slice(i + 1).trim();
    if (name === 'location') location = value;
    else if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
  }
  let body = raw.subarray(he + 4);
  if (chunked) body = dechunk(body);
  else if (contentLength !== undefined) body = body.subarray(0, contentLength);
  const ans: Answer = { status: m ? Number(m[1]) : 0, location, body: body.toString('latin1') };
  if (!m) ans.error = `bad status line ${JSON.stringify(lines[0])}`;
  else if (error) ans.error = error;
  return ans;
}

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const le = b.indexOf('\r\n', pos);
    if (le < 0) break;
    const size = parseInt(b.subarray(pos, le).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(b.subarray(le + 2, le + 2 + size));
    pos = le + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
