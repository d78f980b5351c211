import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'packages/cli/bin/nxproxy.js');
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

/** The proxies to compare: nginx (the oracle) when installed, and nxproxy. */
export function sidesFor(what: string): string[] {
  if (!NGINX) console.log(`skipping the nginx side of ${what}: nginx not installed`);
  return NGINX ? ['nginx', 'nxproxy'] : ['nxproxy'];
}

/**
 * The head every side-by-side config starts with: one process, its pid file (ready once it
 * exists), error log and temp paths in its own prefix, no access log. `http` opens the http block.
 */
export function preamble(prefix: string, errorLevel = ''): string {
  return `daemon off; master_process off; worker_processes 1;
pid ${prefix}/run.pid;
error_log ${prefix}/error.log ${errorLevel};
events {}
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
`;
}

export interface Running {
  port: number;
  prefix: string;
  proc: ChildProcess;
}

/**
 * Starts one side on a free port with `config(port, prefix)` (a whole nginx.conf) and waits
 * until its pid file exists.
 */
export async function startSide(side: string, name: string, config: (port: number, prefix: string) => string): Promise<Running> {
  const port = await freePort();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `nx${name}-${side}-`));
  fs.mkdirSync(path.join(prefix, 'tmp'));
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), config(port, prefix));
  const args = ['-p', prefix + '/', '-c', 'nginx.conf', '-e', prefix + '/error.log'];
  const proc = side === 'nginx' ? spawn(NGINX!, args, { stdio: 'ignore' }) : spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
  for (let i = 0; i < 400 && !fs.existsSync(path.join(prefix, 'run.pid')); i++) await new Promise((r) => setTimeout(r, 25));
  return { port, prefix, proc };
}

/** Several sides started with the same config: their ports by side, and their processes. */
export class Sides {
  readonly ports: Record<string, number> = {};
  /** Each side's prefix directory (its error.log is there). */
  readonly prefixes: Record<string, string> = {};
  readonly procs: ChildProcess[] = [];

  async start(sides: string[], name: string, config: (port: number, prefix: string) => string): Promise<void> {
    for (const side of sides) {
      const run = await startSide(side, name, config);
      this.ports[side] = run.port;
      this.prefixes[side] = run.prefix;
      this.procs.push(run.proc);
    }
  }

  errorLog(side: string): string {
    return fs.readFileSync(path.join(this.prefixes[side], 'error.log'), 'utf8');
  }

  kill(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}
