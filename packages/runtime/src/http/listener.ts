import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { RuntimeConfig, SocketConf } from '../compile/types.js';
import { writeAccessLogs } from '../log/access-log.js';
import { logError } from '../log/error-log.js';
import { defaultErrorBody, httpDate } from './error-pages.js';
import { handleRequest } from './phases.js';
import { Req, type ConnInfo } from './request.js';
import { bindPlan, socketFor } from './sockets.js';

let nextConnection = 1;

/** The routing table in force. Reload swaps this one reference; requests keep the one they started with. */
export class TableRef {
  constructor(public current: RuntimeConfig) {}
}

interface ConnState extends ConnInfo {
  socket: Socket;
}

/** nginx's answer to a request Node's parser rejects (bad request line, header too large, ...). */
function rawError(socket: Socket, code: number): void {
  const wire = code === 494 ? 400 : code;
  const body = defaultErrorBody(code, 'on') ?? '';
  const reason = { 400: 'Bad Request', 414: 'Request-URI Too Large', 413: 'Request Entity Too Large' }[wire] ?? 'Bad Request';
  const head =
    `HTTP/1.1 ${wire} ${reason}\r\nServer: nginx/1.22.1\r\nDate: ${httpDate()}\r\nContent-Type: text/html\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  if (socket.writable) socket.end(head + body, 'latin1');
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
  server.on('connection', (socket: Socket) => {
    const c: ConnState = {
      id: nextConnection++,
      requests: 0,
      remoteAddr: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
      remotePort: socket.remotePort ?? 0,
      serverAddr: socket.localAddress?.replace(/^::ffff:/, '') ?? '',
      serverPort: socket.localPort ?? 0,
      socket,
    };
    (socket as Socket & { nx?: ConnState }).nx = c;
  });
  server.on('request', (msg: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = msg.socket as Socket & { nx?: ConnState };
    const conn = socket.nx!;
    conn.requests++;
    const table = ref.current;
    const sock = socketFor(table, key, conn.serverAddr, conn.serverPort);
    const r = new Req(msg, res, conn);
    r.requestLength = estimateRequestLength(msg);
    res.on('finish', () => finish(r));
    res.on('close', () => {
      if (!res.writableFinished) {
        if (!r.status) r.status = 499;
        finish(r);
      }
    });
    if (!sock) {
      res.destroy();
      return;
    }
    if (msg.url && msg.url.length > 8192) {
      r.server = sock.defaultServer;
      r.loc = r.server.conf;
      logError('info', 'client sent too long URI while reading client request line', r);
      rawError(socket, 414);
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
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (code === 'HPE_HEADER_OVERFLOW') return rawError(socket, 494);
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return socket.destroy();
    rawError(socket, 400);
  });
  return server;
}

function findSocket(table: RuntimeConfig, key: string): SocketConf | undefined {
  for (const s of table.sockets) if (s.key === key) return s;
  return undefined;
}

function estimateRequestLength(msg: http.IncomingMessage): number {
  let n = (msg.method?.length ?? 0) + (msg.url?.length ?? 0) + 12;
  const raw = msg.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n + 2;
}

function finish(r: Req): void {
  if ((r as Req & { logged?: boolean }).logged) return;
  (r as Req & { logged?: boolean }).logged = true;
  r.bytesSent = r.bodyBytesSent + (r.sentHeaders ? r.sentHeaders.reduce((a, s) => a + s.length + 2, 17) : 0);
  writeAccessLogs(r);
}

/** Binds every socket of the table; resolves once all listen. */
export async function listenAll(ref: TableRef): Promise<Map<string, http.Server>> {
  const servers = new Map<string, http.Server>();
  for (const s of bindPlan(ref.current)) {
    const srv = createListener(ref, s.key);
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
