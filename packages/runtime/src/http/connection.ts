import type { Socket } from 'node:net';
import { logError } from '../log/error-log.js';
import { InMsg, type BodySource } from './incoming.js';
import type { RuntimeConfig, SocketConf } from '../compile/types.js';
import { HeadFilter, type HeadLimits, type HeadSink, type RequestHead } from './request-line.js';
import type { ConnInfo } from './request.js';
import { Res, type ResponseOwner } from './response.js';

/** lingering_timeout's default. */
const LINGERING_TIMEOUT = 5000;

const enum Timer {
  None,
  /** client_header_timeout: a head must be complete this long after it started. */
  Header,
  /** keepalive_timeout: an idle connection between requests. */
  Keepalive,
  /** lingering_timeout: the unread body of a closed request is read and dropped. */
  Linger,
}

/** What a connection needs from the listener that accepted it. */
export interface ConnectionHost {
  /** Head limits of the socket's default server, and of the server a Host picks. */
  limits(c: ClientConnection): HeadLimits;
  pick(c: ClientConnection, host: string): HeadLimits;
  clientHeaderTimeout(c: ClientConnection): number;
  /** keepalive_timeout until a request's location says otherwise. */
  keepaliveTimeout(c: ClientConnection): number;
  /** Serves one request (called once the previous response on the connection is done). */
  serve(conn: ClientConnection, msg: InMsg, res: Res): void;
  /** The listener stops: idle connections close, busy ones after their response. */
  readonly closing: boolean;
  forget(conn: ClientConnection): void;
}

let nextConnection = 1;

/**
 * One client connection, nginx's way: requests are read by the HeadFilter and served one at a
 * time (a pipelined request waits for the response before it); between requests the
 * connection idles for keepalive_timeout; a response that ends the connection while the
 * request body is still coming is followed by a lingering close.
 */
export class ClientConnection implements ConnInfo, HeadSink, BodySource, ResponseOwner {
  readonly id = nextConnection++;
  readonly startMs = Date.now();
  requests = 0;
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  /** keepalive_timeout of the latest request's location. */
  keepaliveMs: number;
  readonly filter: HeadFilter;
  /** Read, not yet served (pipelined behind the current request). */
  private readonly queue: InMsg[] = [];
  /** The request whose body the filter is reading. */
  private reading: InMsg | null = null;
  current: { msg: InMsg; res: Res } | null = null;
  /** Once upgraded to a tunnel, what the client sends goes here instead of to the parser. */
  tunnel: ((chunk: Buffer) => void) | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerKind = Timer.None;
  private timerMs = 0;
  /** The client sent FIN: no request comes after the ones read. */
  private clientEnded = false;
  private lingering = false;
  private closed = false;
  /** The listen address in the routing table it was last looked up in (listener.ts keeps these). */
  table: RuntimeConfig | undefined = undefined;
  sock: SocketConf | undefined = undefined;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remoteAddr = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.serverAddr = socket.localAddress?.replace(/^::ffff:/, '') ?? '';
    this.serverPort = socket.localPort ?? 0;
    this.keepaliveMs = host.keepaliveTimeout(this);
    this.filter = new HeadFilter(
      () => host.limits(this),
      (name) => host.pick(this, name),
      this,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.current?.res.drained());
    socket.on('end', () => this.onEnd());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    this.updateTimer();
  }

  // ---- reading

  private onData(chunk: Buffer): void {
    if (this.tunnel) return this.tunnel(chunk);
    if (this.lingering) {
      this.armTimer(Timer.Linger, LINGERING_TIMEOUT);
      this.filter.feed(chunk);
      return;
    }
    this.filter.feed(chunk);
    this.updateTimer();
    this.next();
  }

  head(h: RequestHead): void {
    const msg = new InMsg(h, this.socket, this);
    this.reading = msg;
    this.queue.push(msg);
    // a client pipelining faster than it is answered waits for the answers
    if (this.queue.length > 1) this.socket.pause();
  }

  body(chunk: Buffer): void {
    const msg = this.reading;
    if (msg && !msg.push(chunk)) this.socket.pause();
  }

  bodyEnd(): void {
    const msg = this.reading;
    this.reading = null;
    msg?.end();
    if (this.lingering) this.closeNow();
  }

  bodyError(): void {
    const msg = this.reading;
    this.reading = null;
    if (!msg) return;
    msg.fail();
    if (this.lingering) return this.closeNow();
    // nginx answers a broken chunked body with 400 unless an answer is already under way; one
    // that was being dropped after its answer ends the connection (nothing after it can be read)
    const cur = this.current;
    if (cur && cur.msg === msg) {
      if (cur.res.headersSent) this.socket.destroy();
    } else if (!this.queue.includes(msg)) {
      this.closeNow();
    }
  }

  /** The body's consumer wants more. */
  pull(): void {
    if (this.queue.length === 0 && !this.closed) this.socket.resume();
  }

  /** Serves the next request read, if none is being served. */
  private next(): void {
    if (this.current || this.queue.length === 0 || this.closed) return;
    const msg = this.queue.shift()!;
    if (this.queue.length === 0 && this.socket.isPaused() && msg.complete) this.socket.resume();
    const h = msg.head;
    const res = new Res(this.socket, this, h.method === 'HEAD' && !h.http09, h.http09);
    this.current = { msg, res };
    this.requests++;
    this.disarmTimer();
    this.host.serve(this, msg, res);
  }

  // ---- after a response

  responseEnded(res: Res): void {
    const cur = this.current;
    if (!cur || cur.res !== res) return;
    this.current = null;
    cur.msg.drop();
    // nothing more is read after a request that ended the stream (the filter discards the rest)
    const last = this.filter.discarding && this.queue.length === 0;
    if (!res.shouldKeepAlive || this.clientEnded || this.host.closing || last) return this.finish(cur.msg);
    if (this.queue.length) {
      // a pipelined request: served once the code that ended this response has returned
      queueMicrotask(() => this.next());
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.updateTimer();
  }

  /** The connection ends after this response: at once, or once the unread body is dropped. */
  private finish(msg: InMsg): void {
    if (!msg.complete && this.filter.inBody) {
      // lingering close: the client gets to read the answer while its body is dropped
      this.lingering = true;
      if (this.socket.isPaused()) this.socket.resume();
      this.armTimer(Timer.Linger, LINGERING_TIMEOUT);
      return;
    }
    this.closeNow();
  }

  private closeNow(): void {
    this.disarmTimer();
    this.socket.destroySoon();
  }

  /** Idle between requests (no response under way): may close now. */
  get idle(): boolean {
    return !this.current && this.queue.length === 0 && !this.filter.partial;
  }

  // ---- timers: one per connection, re-armed rather than re-created where possible

  private updateTimer(): void {
    if (this.current || this.queue.length || this.lingering || this.closed) return this.disarmTimer();
    const f = this.filter;
    if (f.discarding) return this.disarmTimer();
    if (f.partial || f.heads === 0) {
      if (this.timerKind !== Timer.Header) this.armTimer(Timer.Header, this.host.clientHeaderTimeout(this));
      return;
    }
    if (f.inBody) return this.disarmTimer();
    this.armTimer(Timer.Keepalive, this.keepaliveMs);
  }

  private armTimer(kind: Timer, ms: number): void {
    this.timerKind = kind;
    if (this.timer && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(() => this.onTimer(), ms);
    this.timer.unref();
  }

  private disarmTimer(): void {
    // a stale firing finds Timer.None and does nothing: cheaper than clearing on every request
    this.timerKind = Timer.None;
  }

  private onTimer(): void {
    const kind = this.timerKind;
    this.timerKind = Timer.None;
    if (this.socket.destroyed || kind === Timer.None) return;
    if (kind === Timer.Header) {
      const f = this.filter;
      logError(
        'info',
        `*${this.id} client timed out (110: Connection timed out) while ${f.partial ? (f.partialLine ? 'reading client request headers' : 'reading client request line') : 'waiting for request'}, client: ${this.remoteAddr}, server: ${this.serverAddr}:${this.serverPort}`,
      );
      this.socket.destroy();
      return;
    }
    if (kind === Timer.Linger) return this.closeNow();
    this.socket.destroy();
  }

  // ---- the client goes away

  private onEnd(): void {
    this.clientEnded = true;
    const f = this.filter;
    if (!f.discarding && !f.inBody) {
      const where = `client: ${this.remoteAddr}`;
      if (f.partial) {
        logError('info', `*${this.id} client prematurely closed connection while reading client request ${f.partialLine ? 'headers' : 'line'}, ${where}, server: `);
      } else if (f.heads === 0) {
        logError('info', `*${this.id} client closed connection while waiting for request, ${where}, server: ${this.serverAddr}:${this.serverPort}`);
      } else if (!this.current) {
        logError('info', `*${this.id} client ${this.remoteAddr} closed keepalive connection`);
      }
    }
    if (this.lingering) return this.closeNow();
    const res = this.current?.res;
    if (res && !res.writableEnded && res.onClientEnd?.(res)) return void this.socket.destroy();
    // a request still being answered finishes, nothing follows it; a body cut short ends it all
    if ((!this.current && this.queue.length === 0) || this.reading) this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const cur = this.current;
    this.current = null;
    if (cur) {
      if (!cur.msg.complete) cur.msg.fail(false);
      cur.res.gone();
    }
    this.host.forget(this);
  }
}
