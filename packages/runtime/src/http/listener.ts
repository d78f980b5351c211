import * as fs from 'node:fs';
import * as net from 'node:net';
import type { RuntimeConfig, SocketConf } from '../compile/types.js';
import { logRequest } from '../log/request-log.js';
import { logError } from '../log/error-log.js';
import { ClientConnection, type ConnectionHost } from './connection.js';
import { defaultErrorBody, httpDate, REASONS, wireStatus } from './error-pages.js';
import type { InMsg } from './incoming.js';
import { finalize, handleRequest } from './phases.js';
import { limitsOf, type HeadLimits } from './request-line.js';
import { Req } from './request.js';
import type { Res } from './response.js';
import { selectServer } from './select.js';
import { bindPlan, socketFor } from './sockets.js';

/** The routing table in force. Reload swaps this one reference; requests keep the one they started with. */
export class TableRef {
  constructor(public current: RuntimeConfig) {}
}

type NxResponse = Res & { nxReq?: Req };

/** A response that will not complete: 499 unless a status is known, and the upstream is let go. */
function onResponseAbandoned(res: NxResponse): void {
  const r = res.nxReq!;
  if (!r.status) r.status = 499;
  logRequest(r);
  r.upstream?.clientClosed();
}

/** The client half-closed: a request waiting on an upstream may end here (see Attempt.clientEnded). */
function onClientEnd(res: NxResponse): boolean {
  return res.nxReq!.upstream?.clientEnded() ?? false;
}

/** A 500 written by hand when the pipeline itself failed. */
function rawError(res: Res, code: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const wire = wireStatus(code);
  const body = defaultErrorBody(code, 'on') ?? '';
  const head =
    `HTTP/1.1 ${wire} ${REASONS[wire] ?? ''}\r\nServer: nginx/1.22.1\r\nDate: ${httpDate()}\r\nContent-Type: text/html\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const socket = res.socket;
  if (socket.writable) socket.end(head + body, 'latin1');
}

/** A Req stand-in for server selection while the head is read (regex captures land nowhere). */
const SELECT_ONLY = { captures: null, namedCaptures: null } as unknown as Req;

/**
 * One listening socket: every server{} block that listens on it shares it. Connections are
 * read and answered by nxproxy itself (connection.ts), not by node:http.
 */
export class Listener extends net.Server implements ConnectionHost {
  closing = false;
  private readonly conns = new Set<ClientConnection>();

  constructor(
    private readonly tables: TableRef,
    readonly key: string,
  ) {
    // a client's FIN leaves the answer under way to finish (nginx reads EOF, still writes)
    super({ allowHalfOpen: true, noDelay: true });
    this.on('connection', (socket: net.Socket) => {
      const c = new ClientConnection(socket, this);
      this.conns.add(c);
    });
  }

  /** The listen address a connection belongs to in the current table (looked up once per table). */
  sockFor(c: ClientConnection): SocketConf {
    const table = this.tables.current;
    if (c.table !== table) {
      c.table = table;
      c.sock = socketFor(table, this.key, c.serverAddr, c.serverPort) ?? table.sockets[0];
    }
    return c.sock!;
  }

  limits(c: ClientConnection): HeadLimits {
    return limitsOf(this.sockFor(c).defaultServer);
  }

  pick(c: ClientConnection, host: string): HeadLimits {
    return limitsOf(selectServer(this.sockFor(c), host, SELECT_ONLY));
  }

  clientHeaderTimeout(c: ClientConnection): number {
    return this.sockFor(c).defaultServer.clientHeaderTimeout;
  }

  keepaliveTimeout(c: ClientConnection): number {
    return this.sockFor(c).defaultServer.conf.keepaliveTimeout;
  }

  forget(conn: ClientConnection): void {
    this.conns.delete(conn);
  }

  /** Closes connections with no request under way (graceful stop); busy ones close after it. */
  closeIdleConnections(): void {
    this.closing = true;
    for (const c of this.conns) if (c.idle) c.socket.destroy();
  }

  override close(cb?: (err?: Error) => void): this {
    this.closing = true;
    return super.close(cb);
  }

  serve(conn: ClientConnection, msg: InMsg, res: Res): void {
    const table = this.tables.current;
    const sock = this.sockFor(conn);
    const head = msg.head;
    const r = new Req(msg, res, conn);
    if (head.http09) r.headerOnly = false;
    r.requestLength = head.length;
    (res as NxResponse).nxReq = r;
    if (r.wantsUpgrade) {
      r.upgradeSocket = conn.socket;
      r.divert = (fn) => (conn.tunnel = fn);
    }
    res.onAbandoned = onResponseAbandoned as (res: Res) => void;
    res.onClientEnd = onClientEnd as (res: Res) => boolean;
    if (head.status || head.ignored.length) {
      r.server = head.host !== undefined ? selectServer(sock, head.host, r) : sock.defaultServer;
      r.loc = r.server.conf;
      for (const line of head.ignored) logError('info', `client sent invalid header line: "${line}" while reading client request headers`, r);
    }
    try {
      if (head.status) {
        // errors met while reading the head: the connection is not kept alive whatever the status
        r.loc = { ...r.server.conf, keepaliveTimeout: 0 };
        const action = head.action === 'line' ? (head.pipelined ? 'pipelined request line' : 'request line') : 'request headers';
        logError('info', `${head.log} while reading client ${action}`, r);
        finalize(r, head.status);
      } else {
        handleRequest(table, sock, r);
      }
    } catch (e) {
      logError('alert', `nxproxy internal error: ${(e as Error).stack ?? String(e)}`, r);
      rawError(res, 500);
    }
  }
}

/** Binds every socket of the table; resolves once all listen. */
export async function listenAll(ref: TableRef): Promise<Map<string, Listener>> {
  const servers = new Map<string, Listener>();
  for (const s of bindPlan(ref.current)) {
    const srv = new Listener(ref, s.key);
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
