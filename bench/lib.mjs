// Helpers every benchmark here shares: where things are, options, ports.
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The nxproxy entry script: NXPROXY_BIN, else the workspace's own. */
export const CLI = process.env.NXPROXY_BIN ? resolve(process.env.NXPROXY_BIN) : join(ROOT, 'packages/cli/bin/nxproxy.js');

/** `--flag N` as a positive integer, `def` when absent; exits 2 on anything else. */
export function intOption(args, flag, def) {
  const k = args.indexOf(flag);
  if (k < 0) return def;
  const v = Number(args[k + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${flag} needs a positive integer`);
    process.exit(2);
  }
  return v;
}

/** An executable on PATH or in the extra directories, or null. */
export function findOnPath(name, extra = []) {
  for (const d of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

/** nginx: NGINX_BIN ("none" for no nginx), else /usr/sbin or PATH. */
export function findNginx() {
  const explicit = process.env.NGINX_BIN;
  if (explicit !== undefined) return explicit && explicit !== 'none' && existsSync(explicit) ? explicit : undefined;
  return findOnPath('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']) ?? undefined;
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort() {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

export function canConnect(port) {
  return new Promise((done) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      done(true);
    });
    c.once('error', () => done(false));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
