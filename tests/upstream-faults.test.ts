/**
 * Upstream fault injection: nginx 1.22.1 (the oracle) and nxproxy run the same config, each in
 * front of its own set of misbehaving raw TCP backends (tests/support/fault-backend.ts): a closed
 * port, a peer that resets before or in the middle of a response, one that hangs (before the head
 * or mid-body, proxy_read_timeout 1s), one that answers garbage or a broken header, keep-alive
 * connections closed (FIN or RST) just as the proxy reuses them, and idle keep-alive connections
 * closed by the backend. Each request goes to both sides at once; what the client sees (status,
 * body length, whether the response was complete, whether the connection was closed, raw bytes
 * when there is no HTTP head) and what the backend saw (connection and request sequence) must be
 * equal (with proxy_buffering on, nginx holds back a partial body shorter than a proxy buffer, so
 * body lengths are compared only in the proxy_buffering off twins of those cases). Then failover
 * (a dead peer among two, backup peers, all peers down), and a leak check on both sides: after a
 * burst of every fault (15 of each at once, plus clients that give up), no client request is left
 * hanging, the server still answers, no socket to a client or a non-keepalive backend remains, at
 * most `keepalive 4` idle connections per keepalive group, and the fd count is back near its
 * baseline (fds from /proc/PID/fd, sockets matched in /proc/PID/net/tcp).
 *
 * Self-check (validates the cases against nginx on both sides): NXPROXY_CLI pointing at a small
 * node script that runs /usr/sbin/nginx with its own arguments and forwards SIGTERM passes all.
 *
 *   NGINX_BIN=/path    the oracle (default /usr/sbin/nginx, then $PATH); "none": skipped
 *   NXPROXY_CLI=/path  the nxproxy script under test (default packages/cli/bin/nxproxy.js)
 *
 * Both are started as `<prog> -p PREFIX/ -c nginx.conf -e PREFIX/error.log` with `daemon off;
 * master_process off; pid PREFIX/run.pid;` in the config, and are ready when the pid file exists
 * and the port accepts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, ROOT, freePort, sendRaw, type RawResponse } from './differential/harness.js';
import { FaultBackend, GARBAGE, PART_LENGTH, type FaultMode } from './support/fault-backend.js';

const CLI = process.env.NXPROXY_CLI ? path.resolve(process.env.NXPROXY_CLI) : path.join(ROOT, 'packages', 'cli', 'bin', 'nxproxy.js');

const BACKENDS = {
  resetHead: 'reset-before-head',
  resetBody: 'reset-mid-body',
  resetChunked: 'reset-mid-chunked',
  hang: 'hang',
  hangBody: 'hang-mid-body',
  garbage: 'garbage',
  badHeader: 'bad-header',
  reuseFin: 'close-on-reuse',
  reuseRst: 'rst-on-reuse',
  idle: 'close-idle',
  A: 'ok',
  B: 'ok',
  C: 'ok',
} as const satisfies Record<string, FaultMode>;
type BackendName = keyof typeof BACKENDS;

interface Side {
  label: 'nginx' | 'nxproxy';
  prefix: string;
  port: number;
  dead: [number, number, number];
  b: Record<BackendName, FaultBackend>;
  proc?: ChildProcess;
  output: string;
}

const config = (s: Side): string => {
  const p = (n: BackendName): string => `127.0.0.1:${s.b[n].port}`;
  const [d1, d2, d3] = s.dead.map((d) => `127.0.0.1:${d}`);
  const one = (name: BackendName): string => `upstream u_${name} { server ${p(name)}; }`;
  return `daemon off; master_process off; worker_processes 1;
pid ${s.prefix}/run.pid;
error_log ${s.prefix}/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${s.prefix}/tmp; proxy_temp_path ${s.prefix}/tmp; fastcgi_temp_path ${s.prefix}/tmp;
  uwsgi_temp_path ${s.prefix}/tmp; scgi_temp_path ${s.prefix}/tmp;
  upstream u_refuse { server ${d1}; }
  ${one('resetHead')}
  ${one('resetBody')}
  ${one('resetChunked')}
  ${one('hang')}
  ${one('hangBody')}
  ${one('garbage')}
  ${one('badHeader')}
  upstream u_reuseFin { server ${p('reuseFin')}; keepalive 4; }
  upstream u_reuseRst { server ${p('reuseRst')}; keepalive 4; }
  upstream u_idle { server ${p('idle')}; keepalive 4; }
  upstream u_one_dead { server ${d1}; server ${p('A')}; }
  upstream u_backup { server ${p('A')}; server ${p('B')}; server ${p('C')} backup; }
  upstream u_primaries_down { server ${d1}; server ${d2}; server ${p('C')} backup; }
  upstream u_all_down { server ${d1}; server ${d2}; server ${d3} backup; }
  server {
    listen 127.0.0.1:${s.port};
    location /refuse/ { proxy_pass http://u_refuse; }
    location /reset-head/ { proxy_pass http://u_resetHead; }
    location /reset-body/ { proxy_pass http://u_resetBody; }
    location /unbuffered/reset-body/ { proxy_buffering off; proxy_pass http://u_resetBody; }
    location /unbuffered/reset-chunked/ { proxy_buffering off; proxy_pass http://u_resetChunked; }
    location /unbuffered/hang-body/ { proxy_buffering off; proxy_read_timeout 1s; proxy_pass http://u_hangBody; }
    location /reset-chunked/ { proxy_pass http://u_resetChunked; }
    location /hang/ { proxy_read_timeout 1s; proxy_pass http://u_hang; }
    location /hang-body/ { proxy_read_timeout 1s; proxy_pass http://u_hangBody; }
    location /garbage/ { proxy_pass http://u_garbage; }
    location /bad-header/ { proxy_pass http://u_badHeader; }
    location /reuse-fin/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://u_reuseFin; }
    location /reuse-rst/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://u_reuseRst; }
    location /idle/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://u_idle; }
    location /one-dead/ { proxy_pass http://u_one_dead; }
    location /backup/ { proxy_pass http://u_backup; }
    location /primaries-down/ { proxy_pass http://u_primaries_down; }
    location /all-down/ { proxy_pass http://u_all_down; }
  }
}
`;
};

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function errorLog(s: Side): string {
  try {
    return fs.readFileSync(path.join(s.prefix, 'error.log'), 'utf8').slice(-3000);
  } catch {
    return '(no error.log)';
  }
}

async function prepare(label: Side['label']): Promise<Side> {
  const prefix = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `nxfault-${label}-`)));
  fs.mkdirSync(path.join(prefix, 'tmp'));
  fs.mkdirSync(path.join(prefix, 'logs'));
  const b = {} as Record<BackendName, FaultBackend>;
  for (const [name, mode] of Object.entries(BACKENDS) as [BackendName, FaultMode][]) {
    b[name] = new FaultBackend(name, mode);
    await b[name].start(0);
  }
  const dead: [number, number, number] = [await freePort(), await freePort(), await freePort()];
  return { label, prefix, port: await freePort(), dead, b, output: '' };
}

async function start(s: Side): Promise<void> {
  fs.writeFileSync(path.join(s.prefix, 'nginx.conf'), config(s));
  const args = ['-p', `${s.prefix}/`, '-c', 'nginx.conf', '-e', `${s.prefix}/error.log`];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NGINX;
  const proc =
    s.label === 'nginx'
      ? spawn(NGINX!, args, { cwd: s.prefix, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, ...args], { cwd: s.prefix, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  s.proc = proc;
  proc.stdout!.on('data', (d: Buffer) => (s.output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (s.output += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      throw new Error(`${s.label} did not start (${proc.exitCode ?? proc.signalCode ?? 'timeout'})\n${s.output}\n${errorLog(s)}`);
    }
    if (fs.existsSync(path.join(s.prefix, 'run.pid')) && (await canConnect(s.port))) return;
    await sleep(25);
  }
}

async function stop(s: Side): Promise<void> {
  const proc = s.proc;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  if (proc) children.delete(proc);
  await Promise.all(Object.values(s.b).map((b) => b.close()));
  fs.rmSync(s.prefix, { recursive: true, force: true });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};

interface TcpSocket {
  inode: string;
  local: number;
  remote: number;
  state: string;
}

/** The process's TCP sockets (ports on 127.0.0.1), from /proc/PID/fd and /proc/PID/net/tcp. */
function sockets(pid: number): TcpSocket[] {
  const table = new Map<string, TcpSocket>();
  for (const line of fs.readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = (a: string): number => parseInt(a.split(':')[1]!, 16);
    table.set(f[9]!, { inode: f[9]!, local: port(f[1]!), remote: port(f[2]!), state: TCP_STATES[f[3]!] ?? f[3]! });
  }
  const out: TcpSocket[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      const sock = inode === undefined ? undefined : table.get(inode);
      if (sock) out.push(sock);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** The process's fds, TCP sockets shown as "local -> remote (name) STATE" (for failure messages). */
function describeFds(pid: number, names = new Map<number, string>()): string {
  const byInode = new Map(sockets(pid).map((s) => [s.inode, s]));
  const out: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const s = byInode.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
    out.push(`${fd}: ${s ? `:${s.local} -> :${s.remote} (${names.get(s.remote) ?? names.get(s.local) ?? '?'}) ${s.state}` : target}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// What the client sees

interface View {
  /** Status of the (first) response; 0 when there was no HTTP head. */
  status: number;
  /** Body bytes received (of the first response). */
  bodyLength: number;
  /** The body was complete by its framing (Content-Length, chunked, or close-delimited). */
  complete: boolean;
  /** The server closed the connection (FIN or RST) before the client gave up. */
  closed: boolean;
  /** Bytes that were not an HTTP response (an HTTP/0.9-style answer). */
  garbage: string;
  timedOut: boolean;
}

function view(r: RawResponse): View {
  const m = r.messages[0];
  return {
    status: m?.status ?? 0,
    bodyLength: m?.body.length ?? 0,
    complete: m?.complete ?? false,
    closed: r.closed,
    garbage: r.garbage,
    timedOut: r.timedOut,
  };
}

const request = (method: string, target: string, body = ''): string =>
  `${method} ${target} HTTP/1.1\r\nHost: localhost\r\n` +
  (body ? `Content-Length: ${body.length}\r\n` : '') +
  `Connection: close\r\n\r\n${body}`;

/** Sends the same request to both sides at once. */
async function both(sides: Side[], method: string, target: string, body = ''): Promise<[View, View]> {
  const [a, b] = await Promise.all(sides.map((s) => sendRaw(s.port, request(method, target, body), { timeoutMs: 6000 })));
  return [view(a!), view(b!)];
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!NGINX)('upstream faults: nxproxy vs nginx', () => {
  let sides: Side[] = [];
  let ngx: Side;
  let nx: Side;
  /** fd counts after start-up and one request. */
  const baselines = new Map<string, number>();

  beforeAll(async () => {
    sides = await Promise.all([prepare('nginx'), prepare('nxproxy')]);
    [ngx, nx] = sides as [Side, Side];
    await Promise.all(sides.map(start));
    // warm-up: the first request loads whatever is loaded lazily
    for (const s of sides) expect((await sendRaw(s.port, request('GET', '/backup/__ok'))).messages[0]?.status).toBe(200);
    await sleep(200);
    for (const s of sides) baselines.set(s.label, fdCount(s.proc!.pid!));
  }, 40_000);

  afterAll(async () => {
    await Promise.all(sides.map(stop));
  }, 20_000);

  /**
   * Sends one request to both sides: nginx's view must match `nginx` (so a broken case fails as
   * such), then nxproxy's must equal nginx's. `buffered`: the location proxies with
   * proxy_buffering on, where nginx holds back a partial body until a proxy buffer fills (it sends
   * 0 of the PART_LENGTH bytes before the fault) while nxproxy streams what it got: the body
   * length is then not compared (the proxy_buffering off twins compare it).
   */
  async function compare(method: string, target: string, nginx: Partial<View>, opts: { body?: string; buffered?: boolean } = {}): Promise<void> {
    const [want, got] = await both(sides, method, target, opts.body);
    expect(want, `nginx (the oracle) for ${method} ${target}`).toMatchObject({ timedOut: false, ...nginx });
    const strip = (v: View): Partial<View> => (opts.buffered ? { ...v, bodyLength: undefined } : v);
    expect(strip(got), `nxproxy (+) vs nginx (-) for ${method} ${target}\n--- nxproxy error.log ---\n${errorLog(nx)}`).toEqual(strip(want));
  }

  const backendLog = (s: Side, n: BackendName): string => s.b[n].requests.map((r) => `${r.conn}.${r.seq}`).join(' ');
  /** Per request the backend saw: on a "new" connection (its 1st request) or a "reused" one. */
  const backendSeq = (s: Side, n: BackendName): string => s.b[n].requests.map((r) => (r.seq === 1 ? 'new' : 'reused')).join(' ');
  const ok = { status: 200, complete: true };
  const badGateway = { status: 502, complete: true };

  it('refused connection (closed port, single peer): 502', async () => {
    await compare('GET', '/refuse/x', badGateway);
  });

  it('reset before the response head: 502', async () => {
    await compare('GET', '/reset-head/x', badGateway);
  });

  for (const unbuffered of [false, true]) {
    const pre = unbuffered ? '/unbuffered' : '';
    const note = unbuffered ? ' (proxy_buffering off)' : '';
    const truncated = { status: 200, complete: false, closed: true, bodyLength: unbuffered ? PART_LENGTH : 0 };
    it(`reset in the middle of a Content-Length body${note}: 200 head, truncated body, connection closed`, async () => {
      await compare('GET', `${pre}/reset-body/x`, truncated, { buffered: !unbuffered });
    });

    it(`reset in the middle of a chunked body${note}: 200 head, the chunk, no last chunk, connection closed`, async () => {
      // nginx passes a whole upstream chunk on at once, buffering or not (bodyLength: the raw chunked bytes)
      const chunk = PART_LENGTH.toString(16).length + 2 + PART_LENGTH + 2;
      await compare('GET', `${pre}/reset-chunked/x`, { ...truncated, bodyLength: chunk });
    });

    it(`hang in the middle of the body, proxy_read_timeout 1s${note}: truncated, connection closed`, async () => {
      await compare('GET', `${pre}/hang-body/x`, truncated, { buffered: !unbuffered });
    });
  }

  it('hang before the head, proxy_read_timeout 1s: 504', async () => {
    const t0 = Date.now();
    await compare('GET', '/hang/x', { status: 504, complete: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('garbage (no HTTP status line): nginx passes it through as an HTTP/0.9 answer, then closes', async () => {
    await compare('GET', '/garbage/x', { status: 0, garbage: GARBAGE, closed: true });
  });

  it('a header line without a colon: 502', async () => {
    await compare('GET', '/bad-header/x', badGateway);
  });

  for (const [what, loc, name] of [
    ['FIN', '/reuse-fin/', 'reuseFin'],
    ['RST', '/reuse-rst/', 'reuseRst'],
  ] as const) {
    /** Leaves one idle keep-alive connection in each proxy's cache (a /__ok request is always answered). */
    const prime = async (): Promise<void> => {
      await compare('GET', `${loc}__ok`, ok);
      for (const s of sides) s.b[name].requests.length = 0;
    };

    it(`keep-alive connection closed (${what}) as it is reused: GET is retried on a new connection, 200`, async () => {
      await prime();
      for (let i = 1; i <= 3; i++) await compare('GET', `${loc}${i}`, ok);
      // each request: the reused connection fails, then a new one answers
      expect(backendSeq(ngx, name)).toBe('reused new reused new reused new');
      // nxproxy's retry also goes out on a new connection, but that one is not kept afterwards
      // (undici's pool decides which connection a request reuses), so its next request may open
      // a new connection instead of failing on a reused one: every failure is retried once, anew.
      expect(backendSeq(nx, name)).toMatch(/^(reused new |new )*(reused new|new)$/);
    });

    it(`keep-alive connection closed (${what}) as it is reused: POST is not retried, 502`, async () => {
      await prime();
      await compare('POST', `${loc}post`, badGateway, { body: 'hello' });
      expect(backendSeq(ngx, name)).toBe('reused');
      expect(backendSeq(nx, name)).toBe(backendSeq(ngx, name));
    });
  }

  it('idle keep-alive connections closed by the backend: the next request opens a new one, 200', async () => {
    for (let i = 1; i <= 3; i++) {
      await compare('GET', `/idle/${i}`, ok);
      await sleep(300);
    }
    expect(backendLog(ngx, 'idle')).toBe('1.1 2.1 3.1');
    expect(backendLog(nx, 'idle')).toBe(backendLog(ngx, 'idle'));
  });

  it('two peers, one refusing: every request 200 (retried on the live peer)', async () => {
    for (const s of sides) s.b.A.requests.length = 0;
    for (let i = 0; i < 8; i++) await compare('GET', `/one-dead/${i}`, ok);
    expect(ngx.b.A.requests.length).toBe(8);
    expect(nx.b.A.requests.length).toBe(8);
  });

  it('backup peer unused while the primaries are up', async () => {
    for (const s of sides) for (const n of ['A', 'B', 'C'] as const) s.b[n].requests.length = 0;
    for (let i = 0; i < 6; i++) await compare('GET', `/backup/${i}`, ok);
    for (const s of sides) {
      expect([s.b.A.requests.length, s.b.B.requests.length, s.b.C.requests.length], s.label).toEqual([3, 3, 0]);
    }
  });

  it('backup peer used when both primaries are down', async () => {
    for (const s of sides) s.b.C.requests.length = 0;
    for (let i = 0; i < 4; i++) await compare('GET', `/primaries-down/${i}`, ok);
    expect(ngx.b.C.requests.length).toBe(4);
    expect(nx.b.C.requests.length).toBe(4);
  });

  it('all peers down (backup too): 502, and 502 again once they are marked failed', async () => {
    await compare('GET', '/all-down/1', badGateway);
    await compare('GET', '/all-down/2', badGateway);
  });

  it('after a burst of every fault nxproxy still answers, and keeps no more sockets than nginx would', async () => {
    const targets = [
      '/refuse/', '/reset-head/', '/reset-body/', '/reset-chunked/', '/hang/', '/hang-body/', '/garbage/',
      '/bad-header/', '/reuse-fin/', '/reuse-rst/', '/idle/', '/one-dead/', '/all-down/',
    ];
    const burst = (s: Side): Promise<RawResponse[]> => {
      const jobs: Promise<RawResponse>[] = [];
      for (let i = 0; i < 15; i++) {
        for (const t of targets) jobs.push(sendRaw(s.port, request('GET', `${t}burst${i}`), { timeoutMs: 6000 }));
      }
      // clients that give up before the answer (hang) or mid-body (hang-body)
      for (let i = 0; i < 10; i++) {
        jobs.push(
          new Promise<RawResponse>((resolve) => {
            const c = net.connect(s.port, '127.0.0.1', () => c.write(request('GET', `/${i % 2 ? 'hang' : 'hang-body'}/abandon${i}`)));
            c.on('error', () => {});
            setTimeout(() => {
              c.destroy();
              resolve({ messages: [], garbage: '', closed: true, reset: false, timedOut: false, raw: Buffer.alloc(0) });
            }, 300);
          }),
        );
      }
      return Promise.all(jobs);
    };
    const results = await Promise.all(sides.map(burst));
    for (const [k, s] of sides.entries()) {
      const hanging = results[k]!.filter((r) => r.timedOut).length;
      expect(hanging, `${s.label}: client requests left without an answer or a close`).toBe(0);
      expect(s.proc!.exitCode, `${s.label} exited\n${s.output}`).toBeNull();
      const ok = await sendRaw(s.port, request('GET', '/backup/__ok'));
      expect(ok.messages[0]?.status, `${s.label} still answers`).toBe(200);
    }
    // Once the faults are over: no connection to a client or to a non-keepalive backend remains,
    // at most `keepalive 4` idle connections per keepalive group, and the fd count is back near
    // its baseline (those cached connections aside).
    const keepaliveGroups: BackendName[] = ['reuseFin', 'reuseRst', 'idle'];
    const check = (s: Side): { problems: string[]; fds: number; detail: string } => {
      const pid = s.proc!.pid!;
      const names = new Map<number, string>([[s.port, 'client']]);
      for (const [n, b] of Object.entries(s.b)) names.set(b.port, n);
      const problems: string[] = [];
      const perBackend = new Map<string, number>();
      for (const c of sockets(pid)) {
        if (c.state === 'LISTEN') continue;
        const peer = names.get(c.remote) ?? (c.local === s.port ? 'client' : `port ${c.remote}`);
        perBackend.set(peer, (perBackend.get(peer) ?? 0) + 1);
      }
      for (const [peer, n] of perBackend) {
        const max = keepaliveGroups.includes(peer as BackendName) ? 4 : 0;
        if (n > max) problems.push(`${n} open connection(s) to ${peer} (at most ${max})`);
      }
      const fds = fdCount(pid);
      if (fds > baselines.get(s.label)! + 4 * keepaliveGroups.length) problems.push(`${fds} fds, baseline ${baselines.get(s.label)}`);
      return { problems, fds, detail: describeFds(pid, names) };
    };
    const settle = async (s: Side): Promise<ReturnType<typeof check>> => {
      let r = check(s);
      for (let i = 0; i < 30 && r.problems.length; i++) {
        await sleep(100);
        r = check(s);
      }
      return r;
    };
    const [rn, rx] = await Promise.all(sides.map(settle));
    expect(rn!.problems, `nginx (the oracle) after the burst:\n${rn!.detail}`).toEqual([]);
    expect(rx!.problems, `nxproxy after the burst (nginx: ${rn!.fds} fds, baseline ${baselines.get('nginx')}):\n${rx!.detail}`).toEqual([]);
  });
});

describe('proxy_buffer_size', () => {
  it('a response head larger than proxy_buffer_size is a 502, as in nginx', async () => {
    const big = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(6000)}\r\nContent-Length: 2\r\n\r\nok`));
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', () => r()));
    const b = (big.address() as net.AddressInfo).port;
    const nginxBin = NGINX;
    const sidesHere = nginxBin ? ['nginx', 'nxproxy'] : ['nxproxy'];
    const statuses: Record<string, number> = {};
    for (const side of sidesHere) {
      const port = await freePort();
      const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `nxbig-${side}-`));
      fs.mkdirSync(path.join(prefix, 'tmp'));
      fs.writeFileSync(
        path.join(prefix, 'nginx.conf'),
        `daemon off; master_process off; pid ${prefix}/run.pid; error_log ${prefix}/error.log;
events {}
http { access_log off; client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp; uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
  server { listen 127.0.0.1:${port}; location / { proxy_buffer_size 4k; proxy_pass http://127.0.0.1:${b}; } } }
`,
      );
      const args = ['-p', prefix + '/', '-c', 'nginx.conf', '-e', prefix + '/error.log'];
      const c = side === 'nginx' ? spawn(nginxBin!, args, { stdio: 'ignore' }) : spawn(process.execPath, [path.join(ROOT, 'packages/cli/bin/nxproxy.js'), ...args], { stdio: 'ignore' });
      for (let i = 0; i < 400 && !fs.existsSync(path.join(prefix, 'run.pid')); i++) await new Promise((r) => setTimeout(r, 25));
      statuses[side] = await new Promise<number>((resolve, reject) => {
        sendRaw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').then((r: RawResponse) => resolve(r.messages[0]?.status ?? 0), reject);
      });
      c.kill('SIGKILL');
    }
    big.close();
    for (const side of sidesHere) expect(statuses[side], side).toBe(502);
  });
});
