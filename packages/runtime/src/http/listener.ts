import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { RuntimeConfig, SocketConf } from '../compile/types.js';
import { logRequest } from '../log/request-log.js';
import { logError } from '../log/error-log.js';
import { defaultErrorBody, httpDate, REASONS, wireStatus } from './error-pages.js';
import { finalize, handleRequest } from './phases.js';
import { HeadFilter, limitsOf, type RequestHead } from './request-line.js';
import { Req, type ConnInfo } from './request.js';
import { selectServer } from './select.js';
import { bindPlan, socketFor } from './sockets.js';

let nextConnection = 1;

/** The routing table in force. Reload swaps this one reference; requests keep the one they started with. */
export class TableRef {
  constructor(public current: RuntimeConfig) {}
}

interface ConnState extends ConnInfo {
  socket: Socket;
  filter: HeadFilter;
  /** Responses go out without status line and headers (HTTP/0.9). */
  bodyOnly?: boolean;
  /** The response to the latest request. */
  lastResponse?: http.ServerResponse;
  /** The listen address of this connection in `table` (looked up once per routing table). */
  table?: RuntimeConfig;
  sock?: SocketConf;
  /** Once upgraded to a tunnel, what the client sends goes here instead of to the HTTP parser. */
  tunnel?: (chunk: Buffer) => void;
}

type NxResponse = http.ServerResponse & { nxReq?: Req };

/**
 * The log phase once the response's last bytes are handed to the socket, for the paths that do
 * not log first themselves ('prefinish': 'finish' already has Node's own listener, and a second
 * one makes every response's emit copy the listener list).
 */
function onResponseFinish(this: NxResponse): void {
  logRequest(this.nxReq!);
}

/** A response that will not complete: 499 unless a status is known, and the upstream is let go. */
function onResponseClose(this: NxResponse): void {
  if (this.writableFinished) return;
  const r = this.nxReq!;
  if (!r.status) r.status = 499;
  logRequest(r);
  r.upstream?.clientClosed();
}

type NxSocket = Socket & { nx?: ConnState; _handle?: { _consumed?: boolean } | null; _httpMessage?: { _headerSent?: boolean } | null };

/** nginx's answer when llhttp rejects what the head filter let through (a malformed chunked body). */
/** The client asked to switch protocols (the head filter may have kept Upgrade from llhttp). */
function hasUpgrade(msg: http.IncomingMessage): boolean {
  const raw = msg.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 7 && raw[i].toLowerCase() === 'upgrade') return true;
  return false;
}

function rawError(socket: NxSocket, code: number): void {
  if (socket._httpMessage?._headerSent) {
    socket.destroy();
    return;
  }
  const wire = wireStatus(code);
  const body = defaultErrorBody(code, 'on') ?? '';
  const head =
    `HTTP/1.1 ${wire} ${REASONS[wire] ?? ''}\r\nServer: nginx/1.22.1\r\nDate: ${httpDate()}\r\nContent-Type: text/html\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  if (socket.writable) socket.end(head + body, 'latin1');
}

/** lingering_timeout's default. */
const LINGERING_TIMEOUT = 5000;

/** A Req stand-in for server selection while the head is read (regex captures land nowhere). */
const SELECT_ONLY = { captures: null, namedCaptures: null } as unknown as Req;

/**
 * Puts the nginx head parser in front of llhttp: every byte the socket reads goes through the
 * connection's HeadFilter, and llhttp parses what it forwards (see request-line.ts).
 */
function interpose(socket: NxSocket, c: ConnState, headerTimeout: () => number): void {
  // Node would otherwise hand the socket's reads straight to llhttp (parser.consume)
  if (socket._handle) socket._handle._consumed = true;
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (c.tunnel && Buffer.isBuffer(chunk)) {
      c.tunnel(chunk);
      return true;
    }
    if (chunk === null || chunk === undefined || !Buffer.isBuffer(chunk)) return push(chunk, encoding);
    const out = c.filter.feed(chunk);
    armHeaderTimer();
    return out.length ? push(out) : true;
  };
  // client_header_timeout: a head must be complete this long after it started
  let timer: NodeJS.Timeout | undefined;
  const armHeaderTimer = (): void => {
    const waiting = !c.filter.discarding && (c.filter.partial || c.filter.heads === 0);
    if (!waiting) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      return;
    }
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (socket.destroyed) return;
      logError('info', `*${c.id} client timed out (110: Connection timed out) while ${c.filter.partial ? (c.filter.partialLine ? 'reading client request headers' : 'reading client request line') : 'waiting for request'}, client: ${c.remoteAddr}, server: ${socket.localAddress?.replace(/^::ffff:/, '') ?? ''}:${c.serverPort}`);
      socket.destroy();
    }, headerTimeout());
    timer.unref();
  };
  // A response that closes the connection before the request body was read: nginx goes on
  // reading and dropping the body (lingering_timeout 5s between reads), then closes.
  const destroySoon = socket.destroySoon.bind(socket);
  let linger: NodeJS.Timeout | undefined;
  socket.destroySoon = (): void => {
    if (!c.filter.inBody || socket.destroyed) return destroySoon();
    const close = (): void => {
      if (linger) clearTimeout(linger);
      linger = undefined;
      c.filter.onBodyEnd = undefined;
      destroySoon();
    };
    c.filter.onBodyEnd = close;
    linger = setTimeout(close, LINGERING_TIMEOUT);
    socket.on('data', () => linger?.refresh());
  };
  socket.once('end', () => {
    const f = c.filter;
    if (f.discarding || f.inBody) return;
    const where = `client: ${c.remoteAddr}`;
    if (f.partial) {
      logError('info', `*${c.id} client prematurely closed connection while reading client request ${f.partialLine ? 'headers' : 'line'}, ${where}, server: `);
    } else if (f.heads === 0) {
      logError('info', `*${c.id} client closed connection while waiting for request, ${where}, server: ${c.serverAddr}:${c.serverPort}`);
    } else if (!c.lastResponse || c.lastResponse.writableFinished) {
      logError('info', `*${c.id} client ${c.remoteAddr} closed keepalive connection`);
    }
  });
  socket.once('close', () => {
    if (linger) clearTimeout(linger);
    if (timer) clearTimeout(timer);
  });
  armHeaderTimer();
}

/** HTTP/0.9: what Node writes loses everything up to the end of its response head. */
function stripResponseHead(socket: NxSocket): void {
  const c = socket.nx!;
  if (c.bodyOnly) return;
  c.bodyOnly = true;
  const write = socket.write;
  let matched = 0;
  let done = false;
  socket.write = function (this: Socket, data: unknown, enc?: unknown, cb?: unknown): boolean {
    if (typeof enc === 'function') {
      cb = enc;
      enc = undefined;
    }
    if (done) return (write as (...a: unknown[]) => boolean).call(this, data, enc, cb);
    const buf = typeof data === 'string' ? Buffer.from(data, (enc as BufferEncoding | undefined) ?? 'utf8') : Buffer.from(data as Uint8Array);
    let i = 0;
    while (i < buf.length && !done) {
      const want = matched % 2 === 0 ? 13 : 10;
      if (buf[i] === want) matched++;
      else matched = buf[i] === 13 ? 1 : 0;
      if (matched === 4) done = true;
      i++;
    }
    return (write as (...a: unknown[]) => boolean).call(this, buf.subarray(i), cb);
  } as typeof socket.write;
}

/** Gives the IncomingMessage what nginx read (llhttp saw only a canonical head). */
function applyHead(msg: http.IncomingMessage, h: RequestHead): void {
  msg.method = h.method || 'GET';
  let target = h.target;
  // nginx takes any scheme in an absolute URI; routing reads it as http
  const scheme = target.charCodeAt(0) === 0x2f ? null : /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(target);
  if (scheme && !/^https?:\/\/$/i.test(scheme[0])) target = 'http' + target.slice(scheme[0].length - 3);
  msg.url = target;
  msg.httpVersionMajor = h.major;
  // HTTP/0.9 answers are never chunked nor kept alive: 1.0 rules
  msg.httpVersionMinor = h.http09 ? 0 : h.minor;
  msg.httpVersion = h.http09 ? '0.9' : h.version || `${h.major}.${h.minor}`;
  msg.rawHeaders = h.headers;
  (msg as http.IncomingMessage & { requestLine?: string }).requestLine = h.requestLine;
}

/** The listen address a connection belongs to in a routing table (looked up once per table). */
function listenConf(c: ConnState, table: RuntimeConfig, key: string): SocketConf | undefined {
  if (c.table !== table) {
    c.table = table;
    c.sock = socketFor(table, key, c.serverAddr, c.serverPort);
  }
  return c.sock;
}

/** One listening socket: every server{} block that listens on it shares it. */
export function createListener(ref: TableRef, key: string): http.Server {
  const server = http.createServer({
    // nginx's large_client_header_buffers 4 8k bounds the whole header; allow that much and check lines ourselves
    maxHeaderSize: 4 * 8192 + 1024,
    // nginx answers a Host-less HTTP/1.1 request itself (400 with its own page)
    requireHostHeader: false,
    requestTimeout: 0,
    headersTimeout: 60_000,
    keepAliveTimeout: 75_000,
    noDelay: true,
    joinDuplicateHeaders: false,
  });
  server.prependListener('connection', (socket: NxSocket) => {
    const c: ConnState = {
      id: nextConnection++,
      requests: 0,
      remoteAddr: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
      remotePort: socket.remotePort ?? 0,
      serverAddr: socket.localAddress?.replace(/^::ffff:/, '') ?? '',
      serverPort: socket.localPort ?? 0,
      socket,
      filter: undefined as unknown as HeadFilter,
    };
    // the listen socket's default server gives the limits until Host picks a server
    const conf = () => listenConf(c, ref.current, key);
    c.filter = new HeadFilter(
      () => limitsOf((conf() ?? ref.current.sockets[0]).defaultServer),
      (host) => {
        const sock = conf() ?? ref.current.sockets[0];
        return limitsOf(selectServer(sock, host, SELECT_ONLY));
      },
    );
    socket.nx = c;
    interpose(socket, c, () => (conf() ?? ref.current.sockets[0]).defaultServer.clientHeaderTimeout);
  });
  server.on('request', (msg: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = msg.socket as NxSocket;
    const conn = socket.nx!;
    conn.requests++;
    const table = ref.current;
    const sock = listenConf(conn, table, key);
    const head = conn.filter.queue.shift();
    if (head) {
      applyHead(msg, head);
      if (head.http09) stripResponseHead(socket);
    }
    const r = new Req(msg, res, conn);
    conn.lastResponse = res;
    if (head?.http09) r.headerOnly = false;
    r.requestLength = head ? head.length : estimateRequestLength(msg);
    (res as NxResponse).nxReq = r;
    if (msg.headers.upgrade !== undefined || hasUpgrade(msg)) {
      r.upgradeSocket = socket;
      r.divert = (fn) => (conn.tunnel = fn);
    }
    res.on('prefinish', onResponseFinish);
    res.on('close', onResponseClose);
    if (!sock) {
      res.destroy();
      return;
    }
    if (head && (head.status || head.ignored.length)) {
      r.server = head.host !== undefined ? selectServer(sock, head.host, r) : sock.defaultServer;
      r.loc = r.server.conf;
      for (const line of head.ignored) logError('info', `client sent invalid header line: "${line}" while reading client request headers`, r);
    }
    if (head?.status) {
      // errors met while reading the head: the connection is not kept alive whatever the status
      r.loc = { ...r.server.conf, keepaliveTimeout: 0 };
      if (head.action === 'body') logError('error', head.log, r);
      else {
        const action = head.action === 'line' ? (head.pipelined ? 'pipelined request line' : 'request line') : 'request headers';
        logError('info', `${head.log} while reading client ${action}`, r);
      }
      try {
        finalize(r, head.status);
      } catch (e) {
        logError('alert', `nxproxy internal error: ${(e as Error).stack ?? String(e)}`, r);
        if (!res.headersSent) rawError(socket, 500);
        else res.destroy();
      }
      return;
    }
    try {
      handleRequest(table, sock, r);
    } catch (e) {
      logError('alert', `nxproxy internal error: ${(e as Error).stack ?? String(e)}`, r);
      if (!res.headersSent) rawError(socket, 500);
      else res.destroy();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: NxSocket) => {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // the head filter hands llhttp well-formed heads: what is left is a body that broke off
    // (client closed: nginx answers nothing) or a malformed chunked body (400 unless answered)
    const last = socket.nx?.lastResponse;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_INVALID_EOF_STATE' || last?.headersSent) return socket.destroy();
    rawError(socket, 400);
  });
  return server;
}


function estimateRequestLength(msg: http.IncomingMessage): number {
  let n = (msg.method?.length ?? 0) + (msg.url?.length ?? 0) + 12;
  const raw = msg.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n + 2;
}


/**
 * keepalive_timeout and keepalive_requests of the socket's default server: how long an idle
 * client connection stays open and how many requests it may carry (the last one gets
 * "Connection: close", see respond.ts). Called again after a reload.
 */
export function applyKeepalive(srv: http.Server, sock: SocketConf): void {
  const conf = sock.defaultServer.conf;
  // Node keeps an idle connection open for keepAliveTimeout plus one second of its own
  srv.keepAliveTimeout = Math.max(1, conf.keepaliveTimeout - 1000);
  srv.maxRequestsPerSocket = 0;
}

/** Binds every socket of the table; resolves once all listen. */
export async function listenAll(ref: TableRef): Promise<Map<string, http.Server>> {
  const servers = new Map<string, http.Server>();
  for (const s of bindPlan(ref.current)) {
    const srv = createListener(ref, s.key);
    applyKeepalive(srv, s);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      if (s.unix) {
        try {
          fs.unlinkSync(s.unix);
        } catch {
          // not there
        }
        srv.listen(s.unix, () => resolve());
      } else {
        srv.listen({ host: s.host === '0.0.0.0' ? undefined : s.host.replace(/^\[|\]$/g, ''), port: s.port, exclusive: true }, () => resolve());
      }
    });
    servers.set(s.key, srv);
  }
  return servers;
}
