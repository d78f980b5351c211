/**
 * Differential serving harness: nginx 1.22.1 (the oracle) and nxproxy run side by side on the same
 * config; every request is sent, byte for byte, to both; responses and what the echo backends saw
 * are normalised and must be equal.
 *
 * Per `differential(name, http, requests)` suite (one vitest `describe`):
 *   - two "sides" (nginx, nxproxy), each with its own PREFIX dir (temp), its own listen ports
 *     {{PORT}} {{PORT2}} {{PORT3}}, its own two echo backends {{BACKEND}} {{BACKEND2}} (in this
 *     process) and a port nothing listens on, {{DEAD}};
 *   - the config is `wrapConfig(http)` with the placeholders substituted, written to
 *     PREFIX/nginx.conf; PREFIX/html is a copy of fixtures/differential/html (fixed mtimes, so
 *     ETag/Last-Modified agree);
 *   - both programs are started the same way:
 *       <prog> -p PREFIX/ -c nginx.conf -e PREFIX/error.log
 *              -g "daemon off; master_process off; pid PREFIX/<prog>.pid;"
 *     and are ready once the pid file exists and every {{PORTn}} used by the config accepts;
 *   - each request (raw bytes, placeholders substituted) goes to both sides concurrently.
 *
 * Environment:
 *   NGINX_BIN=/path    the oracle (default /usr/sbin/nginx, then $PATH); "none" = absent (suites skip)
 *   NXPROXY_CLI=/path  the nxproxy script under test (default packages/cli/bin/nxproxy.js)
 *   DIFF_SELF_CHECK=1  run a second nginx in place of nxproxy (validates the harness and cases)
 *   DIFF_DUMP=file     append nginx's normalised observations as JSON lines (to write assertions)
 *   DIFF_KEEP=1        keep the PREFIX dirs (their paths are printed)
 */
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(ROOT, 'fixtures', 'differential');
const CLI = process.env.NXPROXY_CLI ? path.resolve(process.env.NXPROXY_CLI) : path.join(ROOT, 'packages', 'cli', 'bin', 'nxproxy.js');
export const SELF_CHECK = process.env.DIFF_SELF_CHECK === '1';
const START_TIMEOUT_MS = 10_000;
/** Every file's mtime under PREFIX/html (2020-01-02T03:04:05Z). */
const FIXED_MTIME = new Date('2020-01-02T03:04:05Z');

function isExe(c: string): boolean {
  try {
    fs.accessSync(c, fs.constants.X_OK);
    return fs.statSync(c).isFile();
  } catch {
    return false;
  }
}

function findNginx(): string | undefined {
  const explicit = process.env.NGINX_BIN;
  if (explicit !== undefined) return explicit !== '' && explicit !== 'none' && isExe(explicit) ? explicit : undefined;
  const candidates = ['/usr/sbin/nginx'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nginx'));
  return candidates.find(isExe);
}

export const NGINX = findNginx();
if (!NGINX) console.log('skipping: nginx not installed');

// ---------------------------------------------------------------------------------------------
// Child process bookkeeping: whatever happens, nothing outlives the test worker.

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * A detached watchdog shell: if this test worker dies without running afterAll (killed, crashed,
 * output pipe closed), it stops the server by pid and removes its prefix dir.
 */
function guard(pid: number, prefix: string): void {
  const cleanup = process.env.DIFF_KEEP === '1' ? '' : `rm -rf '${prefix}';`;
  const script =
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; ` +
    `if ! kill -0 ${process.pid} 2>/dev/null; then kill ${pid} 2>/dev/null; sleep 2; kill -9 ${pid} 2>/dev/null; ${cleanup} fi`;
  try {
    spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
  } catch {
    // best effort: the process.on('exit') handler still covers orderly exits
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/** A currently free TCP port on 127.0.0.1 (always 5 digits, so normalisation keeps lengths). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (port >= 10000) return port;
  }
}

// ---------------------------------------------------------------------------------------------
// Echo backend

/** What an echo backend received (one entry per request). */
export interface BackendRequest {
  backend: string;
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: string; // latin1, de-chunked
  /** 1 for the first request on its connection, 2 for the next (keep-alive reuse)... */
  seq: number;
  /** The body announced by the head never fully arrived (answered after BODY_WAIT_MS). */
  truncated?: true;
}

const BODY_WAIT_MS = 500;

/**
 * A raw TCP HTTP/1.x server that answers every request with 200 and a JSON body describing the
 * request it saw ({backend, seq (n-th request on its connection), method, target, version,
 * headers (original case and order), body}).
 * Keep-alive is honoured (it closes after HTTP/1.0 or `Connection: close`). Special targets
 * (substring match anywhere in the request target):
 *   /__status/NNN   answer with status NNN (JSON body as usual)
 *   /__redirect     302, Location: http://127.0.0.1:<own port>/redirected/ (proxy_redirect default)
 *   /__headers      extra headers: Server, Date, X-Pad, X-Accel-Buffering, X-Accel-Expires,
 *                   Set-Cookie (twice), X-Custom, Connection: keep-alive, Keep-Alive, X-Powered-By
 *   /__slow/MS      wait MS milliseconds before answering
 *   /__close        close the connection without answering (proxy: 502)
 *   /__chunked      answer with a chunked body
 *   /__eof          answer without Content-Length, body delimited by closing the connection
 * A request whose body does not arrive completely within BODY_WAIT_MS is answered anyway (with
 * "truncated": true) and the connection closed.
 */
export class EchoBackend {
  readonly log: BackendRequest[] = [];
  port = 0;
  private server = net.createServer((s) => this.onConnection(s));
  private sockets = new Set<net.Socket>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(readonly name: string) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    if (this.port < 10000) {
      // keep normalisation length-preserving: retry on a 5-digit port
      await new Promise<void>((r) => this.server.close(() => r()));
      this.server = net.createServer((s) => this.onConnection(s));
      return this.start();
    }
    return this.port;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onConnection(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let busy = false; // one request at a time per connection (answers stay in order)
    let stall: NodeJS.Timeout | undefined;
    let seq = 0;
    const pump = (): void => {
      if (busy || sock.destroyed) return;
      if (stall) clearTimeout(stall);
      stall = undefined;
      const parsed = parseRequest(buf);
      if (!parsed) {
        // A complete head whose body never completes (e.g. proxy_pass_request_body off with
        // Content-Length still sent): after BODY_WAIT_MS answer with what arrived, then close.
        if (buf.includes('\r\n\r\n')) {
          stall = setTimeout(() => {
            this.timers.delete(stall!);
            const forced = parseRequest(buf, true)!;
            const req: BackendRequest = { backend: this.name, seq: ++seq, ...forced.req, truncated: true };
            this.log.push(req);
            busy = true;
            this.respond(sock, req, () => sock.end(), true);
          }, BODY_WAIT_MS);
          this.timers.add(stall);
        }
        return;
      }
      buf = buf.subarray(parsed.end);
      busy = true;
      const req: BackendRequest = { backend: this.name, seq: ++seq, ...parsed.req };
      this.log.push(req);
      this.answer(sock, req, () => {
        busy = false;
        pump();
      });
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      pump();
    });
  }

  private answer(sock: net.Socket, req: BackendRequest, done: () => void): void {
    const t = req.target;
    const slow = /\/__slow\/(\d+)/.exec(t);
    if (slow) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.respond(sock, req, done);
      }, Number(slow[1]));
      this.timers.add(timer);
      return;
    }
    this.respond(sock, req, done);
  }

  private respond(sock: net.Socket, req: BackendRequest, done: () => void, forceClose = false): void {
    if (sock.destroyed) return;
    const t = req.target;
    if (t.includes('/__close')) {
      sock.destroy();
      return;
    }
    const connHdr = (headerValue(req.headers, 'connection') ?? '').toLowerCase();
    const closeAfter = forceClose || (req.version === 'HTTP/1.0' ? !connHdr.includes('keep-alive') : connHdr.includes('close'));
    const status = /\/__status\/(\d{3})/.exec(t);
    const code = status ? Number(status[1]) : t.includes('/__redirect') ? 302 : 200;
    const body = Buffer.from(JSON.stringify(req) + '\n', 'latin1');
    const head: string[] = [`HTTP/1.1 ${code} ${REASONS[code] ?? 'Whatever'}`];
    if (t.includes('/__headers')) {
      head.push(
        'Server: echo-backend/1.0',
        'Date: Thu, 01 Jan 1970 00:00:00 GMT',
        'X-Pad: avoid browser bug',
        'X-Accel-Buffering: no',
        'X-Accel-Expires: 10',
        'Set-Cookie: a=1; Path=/',
        'Set-Cookie: b=2; Path=/',
        'X-Custom: custom-value',
        'X-Powered-By: echo',
        'Connection: keep-alive',
        'Keep-Alive: timeout=5, max=100',
      );
    }
    if (code === 302) head.push(`Location: http://127.0.0.1:${this.port}/redirected/`);
    head.push('Content-Type: application/json');
    const eof = t.includes('/__eof');
    const noBody = req.method === 'HEAD' || code === 204 || code === 304;
    if (t.includes('/__chunked')) {
      head.push('Transfer-Encoding: chunked');
      if (noBody) {
        sock.write(head.join('\r\n') + '\r\n\r\n', 'latin1');
        if (closeAfter) sock.end();
        else done();
        return;
      }
      const half = Math.floor(body.length / 2);
      const chunk = (b: Buffer): string => b.length.toString(16) + '\r\n' + b.toString('latin1') + '\r\n';
      const payload = chunk(body.subarray(0, half)) + chunk(body.subarray(half)) + '0\r\n\r\n';
      sock.write(head.join('\r\n') + '\r\n\r\n' + payload, 'latin1');
    } else {
      if (!eof && code !== 204) head.push(`Content-Length: ${body.length}`);
      if (closeAfter || eof) head.push('Connection: close');
      sock.write(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), noBody ? Buffer.alloc(0) : body]));
    }
    if (closeAfter || eof) sock.end();
    else done();
  }
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable',
};

function headerValue(headers: [string, string][], name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** Parses one HTTP/1.x request from buf; null while incomplete (unless `force`: take what is there). */
function parseRequest(buf: Buffer, force = false): { req: Omit<BackendRequest, 'backend' | 'seq'>; end: number } | null {
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return null;
  const lines = buf.subarray(0, he).toString('latin1').split('\r\n');
  // method SP target SP version, where the target may itself contain spaces (nginx can send them)
  const line = lines[0] ?? '';
  const s1 = line.indexOf(' ');
  const s2 = line.lastIndexOf(' ');
  const method = line.slice(0, s1);
  const target = s2 > s1 ? line.slice(s1 + 1, s2) : line.slice(s1 + 1);
  const version = s2 > s1 ? line.slice(s2 + 1) : '';
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers.push(i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).trim()]);
  }
  let pos = he + 4;
  let body = '';
  if ((headerValue(headers, 'transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
    const r = dechunk(buf, pos);
    if (!r) {
      if (!force) return null;
      return { req: { method, target, version, headers, body: buf.subarray(pos).toString('latin1') }, end: buf.length };
    }
    body = r.body.toString('latin1');
    pos = r.end;
  } else {
    const cl = Number(headerValue(headers, 'content-length') ?? '0');
    if (buf.length < pos + cl) {
      if (!force) return null;
      return { req: { method, target, version, headers, body: buf.subarray(pos).toString('latin1') }, end: buf.length };
    }
    body = buf.subarray(pos, pos + cl).toString('latin1');
    pos += cl;
  }
  return { req: { method, target, version, headers, body }, end: pos };
}

/** Decodes a chunked body starting at pos; null while incomplete. */
function dechunk(buf: Buffer, pos: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  for (;;) {
    const le = buf.indexOf('\r\n', pos);
    if (le < 0) return null;
    const size = parseInt(buf.subarray(pos, le).toString('latin1').split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) return { body: Buffer.concat(parts), end: buf.length }; // malformed: take what we have
    pos = le + 2;
    if (size === 0) {
      // trailers, then an empty line
      for (;;) {
        const te = buf.indexOf('\r\n', pos);
        if (te < 0) return null;
        const empty = te === pos;
        pos = te + 2;
        if (empty) return { body: Buffer.concat(parts), end: pos };
      }
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw client

export interface RawMessage {
  statusLine: string;
  status: number;
  headers: [string, string][];
  body: Buffer;
  complete: boolean;
}

export interface RawResponse {
  /** Parsed responses, in order (more than one when requests were pipelined); 1xx included. */
  messages: RawMessage[];
  /** Bytes that did not parse as a response (e.g. an HTTP/0.9 answer), latin1. */
  garbage: string;
  /** The server closed the connection (FIN or RST) before we gave up waiting. */
  closed: boolean;
  reset: boolean;
  timedOut: boolean;
  raw: Buffer;
}

export interface SendOptions {
  /** The first request is HEAD (its response has no body). Default: derived from the bytes. */
  head?: boolean;
  /** How many final responses to wait for before the grace period starts (default 1). */
  responses?: number;
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** After the expected responses are complete, wait this long for a close (default 300 ms). */
  graceMs?: number;
  /**
   * Write the bytes in several pieces, `splitDelayMs` (100) apart, cut at these offsets: a byte
   * offset, 'head' (just after the first empty line) or 'head+N' (N bytes into the body).
   */
  splitAt?: (number | 'head' | `head+${number}`)[];
  splitDelayMs?: number;
}

/**
 * Writes `data` exactly as given to 127.0.0.1:port and collects the response(s). It resolves
 * when the server closes, or `graceMs` after the expected number of complete responses arrived,
 * or after `timeoutMs`. It rejects when the connection cannot be made.
 */
export function sendRaw(port: number, data: Buffer | string, opts: SendOptions = {}): Promise<RawResponse> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const head = opts.head ?? /^HEAD /.test(bytes.subarray(0, 5).toString('latin1'));
  const want = opts.responses ?? 1;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const graceMs = opts.graceMs ?? 300;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let raw = Buffer.alloc(0);
    let connected = false;
    let finished = false;
    let reset = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      sock.destroy();
      const { messages, garbage } = parseResponses(raw, head, closed);
      resolve({ messages, garbage, closed, reset, timedOut, raw });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    sock.on('connect', () => {
      connected = true;
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      const cuts = [...(opts.splitAt ?? []).map((c) => (typeof c === 'number' ? c : headEnd + Number(c.slice(5) || 0))), bytes.length];
      let from = 0;
      const writeNext = (i: number): void => {
        if (sock.destroyed || i >= cuts.length) return;
        sock.write(bytes.subarray(from, cuts[i]));
        from = cuts[i]!;
        if (i + 1 < cuts.length) setTimeout(() => writeNext(i + 1), opts.splitDelayMs ?? 100);
      };
      writeNext(0);
    });
    sock.on('data', (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      const { messages } = parseResponses(raw, head, false);
      const finals = messages.filter((m) => m.complete && (m.status < 100 || m.status >= 200));
      if (finals.length >= want && !grace) grace = setTimeout(() => finish(false, false), graceMs);
    });
    sock.on('end', () => finish(true, false));
    sock.on('close', () => finish(true, false));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        finished = true;
        clearTimeout(timer);
        reject(new Error(`cannot connect to 127.0.0.1:${port}: ${e.message}`));
        return;
      }
      if (e.code === 'ECONNRESET') reset = true;
      finish(true, false);
    });
  });
}

/** Splits a byte stream into HTTP responses. `closed`: the stream is over (close-delimited body complete). */
function parseResponses(buf: Buffer, firstIsHead: boolean, closed: boolean): { messages: RawMessage[]; garbage: string } {
  const messages: RawMessage[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const lead = buf.subarray(pos, pos + 5).toString('latin1');
    if (!(lead.length === 5 ? lead === 'HTTP/' : 'HTTP/'.startsWith(lead)) || (lead.length < 5 && closed)) {
      return { messages, garbage: buf.subarray(pos).toString('latin1') };
    }
    const he = buf.indexOf('\r\n\r\n', pos);
    if (he < 0) {
      if (closed) return { messages, garbage: buf.subarray(pos).toString('latin1') };
      break;
    }
    const lines = buf.subarray(pos, he).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? 0);
    const headers: [string, string][] = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers.push(i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).trim()]);
    }
    let bpos = he + 4;
    const isFinal = status < 100 || status >= 200;
    const noBody = !isFinal || status === 204 || status === 304 || (firstIsHead && messages.filter((m) => m.status >= 200).length === 0);
    const te = headerValue(headers, 'transfer-encoding');
    const cl = headerValue(headers, 'content-length');
    if (noBody) {
      messages.push({ statusLine, status, headers, body: Buffer.alloc(0), complete: true });
    } else if (te && te.toLowerCase().includes('chunked')) {
      const r = dechunk(buf, bpos);
      if (!r) {
        messages.push({ statusLine, status, headers, body: buf.subarray(bpos), complete: false });
        break;
      }
      messages.push({ statusLine, status, headers, body: r.body, complete: true });
      bpos = r.end;
    } else if (cl !== undefined) {
      const n = Number(cl);
      const complete = buf.length >= bpos + n;
      messages.push({ statusLine, status, headers, body: buf.subarray(bpos, Math.min(buf.length, bpos + n)), complete });
      if (!complete) break;
      bpos += n;
    } else {
      messages.push({ statusLine, status, headers, body: buf.subarray(bpos), complete: closed });
      bpos = buf.length;
    }
    pos = bpos;
  }
  return { messages, garbage: '' };
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface Expectation {
  status?: number;
  /** Header values by (case-insensitive) name after normalisation; null = must be absent. */
  headers?: Record<string, string | RegExp | null>;
  body?: string | RegExp;
  /** Number of requests the echo backends received. */
  backend?: number;
  /** The connection was closed by the server. */
  closed?: boolean;
  /** nginx answers nothing at all and closes (e.g. `return 444`). */
  silent?: boolean;
}

export interface Req {
  /** Test title (default: derived from the request line and Host). */
  name?: string;
  /** Complete raw request bytes (placeholders substituted); overrides the fields below. */
  raw?: string;
  method?: string;
  target?: string;
  /** Default "HTTP/1.1"; "" sends an HTTP/0.9-style request line. */
  version?: string;
  /** Host header value; default "localhost"; null omits the header. */
  host?: string | null;
  headers?: [string, string][];
  body?: string;
  /** Add "Connection: close" (default true). */
  close?: boolean;
  /** Which listener: "PORT" (default), "PORT2" or "PORT3". */
  port?: 'PORT' | 'PORT2' | 'PORT3';
  send?: SendOptions;
  /** Absolute assertions on the nginx side (and, by equality, on nxproxy). */
  expect?: Expectation;
}

/** Convenience constructors. */
export function get(target: string, more: Partial<Req> = {}): Req {
  return { method: 'GET', target, ...more };
}
export function raw(name: string, bytes: string, more: Partial<Req> = {}): Req {
  return { name, raw: bytes, ...more };
}

function buildRequest(r: Req): string {
  if (r.raw !== undefined) return r.raw;
  const version = r.version ?? 'HTTP/1.1';
  const lines = [`${r.method ?? 'GET'} ${r.target ?? '/'}${version ? ' ' + version : ''}`];
  if (!version) return lines[0] + '\r\n';
  const host = r.host === undefined ? 'localhost' : r.host;
  if (host !== null) lines.push(`Host: ${host}`);
  for (const [n, v] of r.headers ?? []) lines.push(`${n}: ${v}`);
  if (r.body !== undefined && !(r.headers ?? []).some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
    lines.push(`Content-Length: ${Buffer.byteLength(r.body, 'latin1')}`);
  }
  if (r.close !== false) lines.push('Connection: close');
  return lines.join('\r\n') + '\r\n\r\n' + (r.body ?? '');
}

function describeReq(r: Req): string {
  if (r.name) return r.name;
  const host = r.host === undefined ? '' : r.host === null ? ' (no Host)' : ` Host:${r.host}`;
  const extra = (r.headers ?? []).map(([n, v]) => ` ${n}:${v}`).join('');
  return `${r.method ?? 'GET'} ${r.target ?? '/'}${r.version !== undefined && r.version !== 'HTTP/1.1' ? ' ' + (r.version || 'HTTP/0.9') : ''}${host}${extra}${r.port && r.port !== 'PORT' ? ' @' + r.port : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Sides (a program + its prefix, ports, backends)

export type Vars = Record<'PORT' | 'PORT2' | 'PORT3' | 'BACKEND' | 'BACKEND2' | 'DEAD' | 'PREFIX', string>;

interface Side {
  label: string; // "nginx" | "nxproxy" | "nginx#2"
  prefix: string;
  vars: Vars;
  backends: EchoBackend[];
  proc?: ChildProcess;
  stderr: string;
  startError?: Error;
}

/** The config around the suite's `http {}` contents. */
export function wrapConfig(http: string, main = ''): string {
  return `# generated by tests/differential/harness.ts
worker_processes 1;
${main}
events {
    worker_connections 256;
}

http {
    client_body_temp_path {{PREFIX}}/tmp/client_body;
    proxy_temp_path {{PREFIX}}/tmp/proxy;
    fastcgi_temp_path {{PREFIX}}/tmp/fastcgi;
    uwsgi_temp_path {{PREFIX}}/tmp/uwsgi;
    scgi_temp_path {{PREFIX}}/tmp/scgi;
${http}
}
`;
}

export function substitute(text: string, vars: Vars): string {
  return text.replace(/\{\{(PORT[23]?|BACKEND2?|DEAD|PREFIX)\}\}/g, (_, k: keyof Vars) => vars[k]);
}

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
    fs.utimesSync(d, FIXED_MTIME, FIXED_MTIME);
  }
  fs.utimesSync(to, FIXED_MTIME, FIXED_MTIME);
}

async function prepareSide(label: string, config: string, files: Record<string, string>): Promise<Side> {
  // Same-length prefixes on both sides, so Content-Length agrees when a body shows a path.
  const prefix = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `nxdiff-${label === 'nginx' ? 'o' : 't'}-`)));
  const backends = [new EchoBackend('B1'), new EchoBackend('B2')];
  await Promise.all(backends.map((b) => b.start()));
  const vars: Vars = {
    PORT: String(await freePort()),
    PORT2: String(await freePort()),
    PORT3: String(await freePort()),
    BACKEND: String(backends[0]!.port),
    BACKEND2: String(backends[1]!.port),
    DEAD: String(await freePort()),
    PREFIX: prefix,
  };
  for (const d of ['logs', 'tmp']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  const html = path.join(FIXTURES, 'html');
  if (fs.existsSync(html)) copyDir(html, path.join(prefix, 'html'));
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(prefix, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, substitute(content, vars));
    fs.utimesSync(p, FIXED_MTIME, FIXED_MTIME);
  }
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), substitute(config, vars));
  return { label, prefix, vars, backends, stderr: '' };
}

function readErrorLog(side: Side): string {
  try {
    return fs.readFileSync(path.join(side.prefix, 'error.log'), 'utf8').slice(-4000);
  } catch {
    return '(no error.log)';
  }
}

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

async function startSide(side: Side, program: 'nginx' | 'nxproxy', config: string): Promise<void> {
  const pidName = `${program === 'nginx' ? 'nginx' : 'nxproxy'}.pid`;
  const pidFile = path.join(side.prefix, pidName);
  const args = [
    '-p', `${side.prefix}/`,
    '-c', 'nginx.conf',
    '-e', `${side.prefix}/error.log`,
    '-g', `daemon off; master_process off; pid ${pidFile};`,
  ];
  const cmd = program === 'nginx' ? NGINX! : process.execPath;
  const argv = program === 'nginx' ? args : [CLI, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NGINX; // nginx reads it (inherited sockets)
  const proc = spawn(cmd, argv, { cwd: side.prefix, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  if (proc.pid !== undefined) guard(proc.pid, side.prefix);
  side.proc = proc;
  proc.stdout!.on('data', (d: Buffer) => (side.stderr += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => {
    side.stderr += d.toString();
    if (process.env.DIFF_KEEP) fs.appendFileSync(path.join(side.prefix, 'stderr.txt'), d);
  });
  let spawnError: Error | undefined;
  proc.on('error', (e) => (spawnError = e));
  const ports = (['PORT', 'PORT2', 'PORT3'] as const).filter((k) => config.includes(`{{${k}}}`)).map((k) => Number(side.vars[k]));
  const deadline = Date.now() + START_TIMEOUT_MS;
  const why = (msg: string): Error =>
    new Error(
      `${side.label} did not start: ${msg}\ncommand: ${[cmd, ...argv].map((a) => (/[\s;"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n--- stderr/stdout ---\n${side.stderr}\n--- error.log ---\n${readErrorLog(side)}`,
    );
  for (;;) {
    if (spawnError) throw why(`spawn failed: ${spawnError.message}`);
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 50)); // let stderr drain
      throw why(`exited with ${proc.exitCode ?? proc.signalCode}`);
    }
    if (fs.existsSync(pidFile)) {
      const ok = await Promise.all(ports.map(canConnect));
      if (ok.every(Boolean)) return;
    }
    if (Date.now() > deadline) {
      await stopSide(side);
      throw why(`not ready after ${START_TIMEOUT_MS} ms (pid file ${fs.existsSync(pidFile) ? 'present' : 'absent'})`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stopSide(side: Side): Promise<void> {
  const proc = side.proc;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  if (proc) children.delete(proc);
  await Promise.all(side.backends.map((b) => b.close()));
  if (process.env.DIFF_KEEP === '1') console.log(`kept ${side.label} prefix: ${side.prefix}`);
  else fs.rmSync(side.prefix, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Observation and normalisation

export interface Observation {
  responses: { statusLine: string; headers: [string, string][]; body: string; complete: boolean }[];
  garbage: string;
  closed: boolean;
  timedOut: boolean;
  backend: BackendRequest[];
}

function normaliser(vars: Vars): (s: string) => string {
  const ports = new Map<string, string>();
  for (const k of ['PORT', 'PORT2', 'PORT3', 'BACKEND', 'BACKEND2', 'DEAD'] as const) ports.set(vars[k], `{{${k}}}`);
  return (s: string) => s.split(vars.PREFIX).join('{{PREFIX}}').replace(/(?<!\d)\d{5}(?!\d)/g, (m) => ports.get(m) ?? m);
}

function observe(res: RawResponse, backend: BackendRequest[], vars: Vars): Observation {
  const n = normaliser(vars);
  return {
    responses: res.messages.map((m) => {
      const date = headerValue(m.headers, 'date');
      const headers: [string, string][] = [];
      for (const [name, value] of m.headers) {
        const lname = name.toLowerCase();
        if (lname === 'date') continue;
        if (lname === 'server') headers.push([lname, 'SERVER']);
        else if (lname === 'expires') headers.push([lname, normaliseExpires(value, date)]);
        else headers.push([lname, n(value)]);
      }
      return { statusLine: m.statusLine, headers, body: n(m.body.toString('latin1')), complete: m.complete };
    }),
    garbage: n(res.garbage),
    closed: res.closed,
    timedOut: res.timedOut,
    backend: backend.map((b) => ({
      ...b,
      target: n(b.target),
      headers: b.headers.map(([k, v]) => [k, n(v)] as [string, string]),
      body: n(b.body),
    })),
  };
}

/**
 * Expires relative to Date ("{{DATE}}+3600s") when within a year of it; fixed dates (`expires
 * epoch`, `expires max`) stay literal.
 */
function normaliseExpires(value: string, date: string | undefined): string {
  const e = Date.parse(value);
  const d = date === undefined ? NaN : Date.parse(date);
  if (Number.isNaN(e) || Number.isNaN(d) || Math.abs(e - d) > 366 * 86400_000) return value;
  return `{{DATE}}${e - d >= 0 ? '+' : ''}${Math.round((e - d) / 1000)}s`;
}

function checkExpectation(o: Observation, e: Expectation, who: string): void {
  const r = o.responses.filter((m) => !/^HTTP\/\d\.\d 1\d\d/.test(m.statusLine)).at(-1);
  const ctx = `${who}: ${JSON.stringify(o, null, 1).slice(0, 3000)}`;
  if (e.status !== undefined) expect(r && Number(r.statusLine.split(' ')[1]), ctx).toBe(e.status);
  for (const [name, want] of Object.entries(e.headers ?? {})) {
    const got = r?.headers.find(([k]) => k === name.toLowerCase())?.[1];
    if (want === null) expect(got, `${name} must be absent; ${ctx}`).toBeUndefined();
    else if (typeof want === 'string') expect(got, `${name}; ${ctx}`).toBe(want);
    else expect(got ?? '', `${name}; ${ctx}`).toMatch(want);
  }
  if (e.body !== undefined) {
    if (typeof e.body === 'string') expect(r?.body, ctx).toBe(e.body);
    else expect(r?.body ?? '', ctx).toMatch(e.body);
  }
  if (e.backend !== undefined) expect(o.backend.length, `backend requests; ${ctx}`).toBe(e.backend);
  if (e.closed !== undefined) expect(o.closed, `closed; ${ctx}`).toBe(e.closed);
}

// ---------------------------------------------------------------------------------------------
// The suite helper

export interface SuiteOptions {
  /** Extra directives for the main context. */
  main?: string;
  /** Extra files under PREFIX (relative path -> content, placeholders substituted). */
  files?: Record<string, string>;
}

/** Counters for the "enough coverage" check (see coverage.test.ts). */
export const registry = { configs: 0, requests: 0 };

/**
 * Defines a vitest suite: `http` (the contents of the http block, with placeholders) is served
 * by nginx and nxproxy, and each request's normalised observation must be equal on both sides.
 */
export function differential(name: string, http: string, requests: Req[], opts: SuiteOptions = {}): void {
  registry.configs++;
  registry.requests += requests.length;
  const config = wrapConfig(http, opts.main);
  describe.skipIf(!NGINX)(name, () => {
    let sides: Side[] = [];
    let startError: Error | undefined;

    beforeAll(async () => {
      const labels = ['nginx', SELF_CHECK ? 'nginx#2' : 'nxproxy'];
      sides = await Promise.all(labels.map((l) => prepareSide(l, config, opts.files ?? {})));
      // nginx first: a broken case should be reported as such, not as an nxproxy failure
      try {
        await startSide(sides[0]!, 'nginx', config);
      } catch (e) {
        startError = e as Error;
        return;
      }
      try {
        await startSide(sides[1]!, SELF_CHECK ? 'nginx' : 'nxproxy', config);
      } catch (e) {
        startError = e as Error;
      }
    }, 30_000);

    afterAll(async () => {
      await Promise.all(sides.map((s) => stopSide(s)));
    }, 30_000);

    const seen = new Map<string, number>();
    for (const r of requests) {
      let title = describeReq(r);
      const k = seen.get(title) ?? 0;
      seen.set(title, k + 1);
      if (k) title += ` #${k + 1}`;
      it(title, async () => {
        if (startError) throw startError;
        const observations = await Promise.all(
          sides.map(async (side) => {
            for (const b of side.backends) b.log.length = 0;
            const bytes = substitute(buildRequest(r), side.vars);
            let res: RawResponse;
            try {
              res = await sendRaw(Number(side.vars[r.port ?? 'PORT']), bytes, r.send);
            } catch (e) {
              throw new Error(`${side.label}: ${(e as Error).message}\n--- error.log ---\n${readErrorLog(side)}`);
            }
            const backend = side.backends.flatMap((b) => b.log);
            return observe(res, backend, side.vars);
          }),
        );
        const [ref, got] = observations as [Observation, Observation];
        if (process.env.DIFF_DUMP) {
          fs.appendFileSync(process.env.DIFF_DUMP, JSON.stringify({ suite: name, req: title, nginx: ref }) + '\n');
        }
        // Sanity: the oracle answered something (both sides failing alike must not pass).
        expect(ref.timedOut, `nginx timed out: ${JSON.stringify(ref)}`).toBe(false);
        if (r.expect?.silent) {
          expect(ref.responses.length + ref.garbage.length, `nginx was expected to send nothing: ${JSON.stringify(ref)}`).toBe(0);
          expect(ref.closed).toBe(true);
        } else {
          expect(ref.responses.length + ref.garbage.length, `nginx sent nothing: ${JSON.stringify(ref)}`).toBeGreaterThan(0);
        }
        if (r.expect) checkExpectation(ref, r.expect, sides[0]!.label);
        const sent = JSON.stringify(substitute(buildRequest(r), sides[0]!.vars).slice(0, 400));
        expect(got, `${sides[1]!.label} (Received, +) differs from nginx (Expected, -); request ${sent}`).toEqual(ref);
      });
    }
  });
}

/** For harness.test.ts only. */
export const internals = { parseResponses, parseRequest, dechunk, normaliser, observe, normaliseExpires, buildRequest };
