/**
 * nxproxy as a drop-in for the nginx binary: pid file, signals, reload, fail-closed start,
 * start-up with stderr closed, logs on disk when the response arrives.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, waitFor } from './support/net.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'packages/cli/bin/nxproxy.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

const get = httpGet;

function prefixWith(conf: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxproc-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  return dir;
}

const config = (port: number, text: string, extra = '') => `
pid logs/nxproxy.pid;
error_log logs/error.log info;
events {}
http {
  access_log logs/access.log;
  server { listen 127.0.0.1:${port}; location / { return 200 "${text}"; } ${extra} }
}
`;

function start(dir: string, stdio: 'pipe' | 'closed-stderr' = 'pipe'): ChildProcess {
  const args = [CLI, '-p', dir + '/', '-c', 'nginx.conf'];
  const c =
    stdio === 'closed-stderr'
      ? spawn('/bin/sh', ['-c', `exec "${process.execPath}" ${args.map((a) => `"${a}"`).join(' ')} 2>&-`], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

describe('process and signals', () => {
  it('writes the pid file once listening, reloads on -s reload, keeps the old config when the new one is bad, stops on -s quit', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'one'));
    const pidFile = path.join(dir, 'logs/nxproxy.pid');
    const child = start(dir);
    await waitFor(() => fs.existsSync(pidFile));
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(child.pid);
    expect(await get(port)).toEqual({ status: 200, body: 'one' });

    // the access log line is on disk by the time the response has arrived
    expect(fs.readFileSync(path.join(dir, 'logs/access.log'), 'utf8')).toMatch(/"GET \/ HTTP\/1.1" 200 3 /);

    fs.writeFileSync(path.join(dir, 'nginx.conf'), config(port, 'two'));
    const reload = spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf', '-s', 'reload']);
    expect(reload.status).toBe(0);
    await waitFor(() => fs.readFileSync(path.join(dir, 'logs/error.log'), 'utf8').includes('reconfiguring'));
    let body = '';
    await waitFor(() => {
      void get(port).then((r) => (body = r.body));
      return body === 'two';
    });

    fs.writeFileSync(path.join(dir, 'nginx.conf'), config(port, 'three', 'bogus_directive on;'));
    expect(spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf', '-s', 'reload']).status).toBe(0);
    await waitFor(() => fs.readFileSync(path.join(dir, 'logs/error.log'), 'utf8').includes('reload failed'));
    expect((await get(port)).body).toBe('two');

    const quit = spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf', '-s', 'quit']);
    expect(quit.status).toBe(0);
    await waitFor(() => child.exitCode !== null);
    expect(child.exitCode).toBe(0);
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('stops fast on SIGTERM and removes the pid file', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'x'));
    const child = start(dir);
    await waitFor(() => fs.existsSync(path.join(dir, 'logs/nxproxy.pid')));
    child.kill('SIGTERM');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null);
    expect(child.exitCode).toBe(0);
    expect(fs.existsSync(path.join(dir, 'logs/nxproxy.pid'))).toBe(false);
  });

  it('serves when started with stderr closed', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'quiet'));
    const child = start(dir, 'closed-stderr');
    await waitFor(() => fs.existsSync(path.join(dir, 'logs/nxproxy.pid')));
    expect((await get(port, '/x')).body).toBe('quiet');
    child.kill('SIGTERM');
    await waitFor(() => child.exitCode !== null);
  });

  it('fails closed on an unimplemented directive that guards access, naming file and line', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'secret', 'location /admin/ { auth_basic "x"; auth_basic_user_file htpasswd; }'));
    const r = spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[emerg\] (?:\d+#\d+: )?"auth_basic" directive is not implemented by nxproxy, and it guards access.* in .*nginx\.conf:7/);
    expect(fs.existsSync(path.join(dir, 'logs/nxproxy.pid'))).toBe(false);
  });

  it('closes idle client connections after keepalive_timeout', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'ka').replace('access_log logs/access.log;', 'access_log logs/access.log; keepalive_timeout 1;'));
    const child = start(dir);
    await waitFor(() => fs.existsSync(path.join(dir, 'logs/nxproxy.pid')));
    const net = await import('node:net');
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('data', () => undefined);
      c.on('close', () => resolve(Date.now() - t0));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(4000);
    child.kill('SIGTERM');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null);
  });

  it('refuses to serve plain HTTP where the configuration asks for TLS', async () => {
    const port = await freePort();
    const tls = `listen 127.0.0.1:${port} ssl; ssl_certificate test.crt; ssl_certificate_key test.key;`;
    const dir = prefixWith(config(port, 'x').replace(`listen 127.0.0.1:${port};`, tls));
    for (const f of ['test.crt', 'test.key']) fs.copyFileSync(path.join(root, 'fixtures/broken/101-valid-ssl-server/certs', f), path.join(dir, f));
    const r = spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[emerg\] (?:\d+#\d+: )?the "ssl" parameter of "listen" is not implemented by nxproxy .* in .*nginx\.conf:7/);
  });

  it('refuses a bad config at start with nginx\'s message and exit code', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'x', 'listen_typo 1;'));
    const r = spawnSync(process.execPath, [CLI, '-p', dir + '/', '-c', 'nginx.conf'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[emerg\] (?:\d+#\d+: )?unknown directive "listen_typo" in .*nginx\.conf:7/);
  });

  it('writes nginx-format error log lines with request context', async () => {
    const port = await freePort();
    const dir = prefixWith(config(port, 'x', 'location /missing { root html; }'));
    const child = start(dir);
    await waitFor(() => fs.existsSync(path.join(dir, 'logs/nxproxy.pid')));
    expect((await get(port, '/missing')).status).toBe(404);
    const log = fs.readFileSync(path.join(dir, 'logs/error.log'), 'utf8');
    expect(log).toMatch(
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ open\(\) ".*\/html\/missing" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: , request: "GET \/missing HTTP\/1\.1", host: "127\.0\.0\.1:\d+"$/m,
    );
    child.kill('SIGTERM');
    await waitFor(() => child.exitCode !== null);
  });
});
