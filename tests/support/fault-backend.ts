/**
 * A raw TCP HTTP/1.1 backend that misbehaves on purpose (fault injection for the upstream tests).
 *
 * Every request is parsed (head + Content-Length body) and answered according to the backend's
 * mode; a request target containing `/__ok` is always answered normally whatever the mode.
 *
 *   ok                 200, Content-Type text/plain, body "<name>\n", keep-alive unless the request
 *                      says otherwise (HTTP/1.0 without keep-alive, or Connection: close)
 *   reset-before-head  reads the request, then RST (socket.resetAndDestroy()), nothing sent
 *   reset-mid-body     head with Content-Length: BIG_LENGTH + PART_LENGTH bytes of body, then RST
 *                      after RESET_DELAY_MS (so the proxy has read and forwarded the part)
 *   reset-mid-chunked  the same with a chunked body (one PART_LENGTH chunk, no last chunk)
 *   hang               accepts and reads, never answers (the proxy's read timeout fires)
 *   hang-mid-body      head with Content-Length: BIG_LENGTH + PART_LENGTH bytes, then silence
 *   garbage            GARBAGE (not HTTP at all), then closes (FIN)
 *   bad-header         a valid status line, then a header line without a colon, then closes
 *   close-on-reuse     answers the first request of a connection with keep-alive; a later request
 *                      on the same connection is read and the socket closed (FIN) without an answer
 *                      (the race of a backend closing an idle keep-alive connection as it is reused)
 *   rst-on-reuse       the same, closing with RST
 *   close-idle         answers with keep-alive, then closes the connection IDLE_CLOSE_MS after each
 *                      answer if no new request came (a backend with a short keepalive_timeout)
 *
 * `stop()` closes the listening socket and every connection that is not in the middle of an
 * answer (a peer going away); `start(port)` brings it back on the same port.
 */
import net from 'node:net';

export type FaultMode =
  | 'ok'
  | 'reset-before-head'
  | 'reset-mid-body'
  | 'reset-mid-chunked'
  | 'hang'
  | 'hang-mid-body'
  | 'garbage'
  | 'bad-header'
  | 'close-on-reuse'
  | 'rst-on-reuse'
  | 'close-idle';

export const BIG_LENGTH = 1_000_000;
export const PART_LENGTH = 1000;
export const RESET_DELAY_MS = 200;
export const IDLE_CLOSE_MS = 100;
export const GARBAGE = 'SSH-2.0-OpenSSH_9.2 definitely not HTTP\r\n\x00\x01\x02garbage\n';

export interface SeenRequest {
  method: string;
  target: string;
  /** Which connection (1, 2, ... in accept order). */
  conn: number;
  /** 1 for the first request on its connection, 2 for the next... */
  seq: number;
}

export class FaultBackend {
  port = 0;
  readonly requests: SeenRequest[] = [];
  /** Connections accepted so far. */
  accepted = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly busy = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    public mode: FaultMode,
  ) {}

  /** Listens on 127.0.0.1:port (0: any free port); resolves with the port. */
  async start(port = this.port): Promise<number> {
    const server = net.createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Open connections (accepted and not yet closed). */
  get open(): number {
    return this.sockets.size;
  }

  /** Stops listening and closes idle connections (those not in the middle of an answer). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) if (!this.busy.has(s)) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Stops listening and destroys every connection and timer. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private onConnection(sock: net.Socket): void {
    const conn = ++this.accepted;
    this.sockets.add(sock);
    sock.on('close', () => {
      this.sockets.delete(sock);
      this.busy.delete(sock);
    });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let seq = 0;
    let idle: NodeJS.Timeout | undefined;
    const pump = (): void => {
      if (this.busy.has(sock) || sock.destroyed) return;
      const he = buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      const lines = buf.subarray(0, he).toString('latin1').split('\r\n');
      const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
      let length = 0;
      let connection = '';
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        const n = l.slice(0, i).trim().toLowerCase();
        if (n === 'content-length') length = Number(l.slice(i + 1).trim());
        else if (n === 'connection') connection = l.slice(i + 1).trim().toLowerCase();
      }
      if (buf.length < he + 4 + length) return;
      buf = buf.subarray(he + 4 + length);
      if (idle) clearTimeout(idle);
      idle = undefined;
      seq++;
      this.requests.push({ method, target, conn, seq });
      const close = version === 'HTTP/1.0' ? !connection.includes('keep-alive') : connection.includes('close');
      this.busy.add(sock);
      const idleDone = (): void => {
        this.busy.delete(sock);
        if (this.server === undefined) {
          sock.destroy(); // stopped: no more answers on old connections
          return;
        }
        if (this.mode === 'close-idle') idle = this.later(IDLE_CLOSE_MS, () => sock.destroy());
        pump();
      };
      this.answer(sock, target.includes('/__ok') ? 'ok' : this.mode, seq, close, idleDone);
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      pump();
    });
  }

  private answer(sock: net.Socket, mode: FaultMode, seq: number, close: boolean, done: () => void): void {
    const big = (extra: string): string =>
      `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n${extra}\r\n`;
    switch (mode) {
      case 'reset-before-head':
        sock.resetAndDestroy();
        return;
      case 'reset-mid-body':
        sock.write(big(`Content-Length: ${BIG_LENGTH}\r\n`) + 'x'.repeat(PART_LENGTH));
        this.later(RESET_DELAY_MS, () => sock.resetAndDestroy());
        return;
      case 'reset-mid-chunked':
        sock.write(big('Transfer-Encoding: chunked\r\n') + `${PART_LENGTH.toString(16)}\r\n${'x'.repeat(PART_LENGTH)}\r\n`);
        this.later(RESET_DELAY_MS, () => sock.resetAndDestroy());
        return;
      case 'hang':
        return;
      case 'hang-mid-body':
        sock.write(big(`Content-Length: ${BIG_LENGTH}\r\n`) + 'x'.repeat(PART_LENGTH));
        return;
      case 'garbage':
        sock.end(GARBAGE, 'latin1');
        return;
      case 'bad-header':
        sock.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nthis line has no colon\r\n\r\nabc', 'latin1');
        return;
      case 'close-on-reuse':
      case 'rst-on-reuse':
        if (seq > 1) {
          if (mode === 'rst-on-reuse') sock.resetAndDestroy();
          else sock.end();
          return;
        }
        break;
      case 'ok':
      case 'close-idle':
        break;
    }
    const body = `${this.name}\n`;
    sock.write(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
        (close ? 'Connection: close\r\n' : '') +
        `\r\n${body}`,
    );
    if (close) {
      sock.end();
      return;
    }
    done();
  }
}
