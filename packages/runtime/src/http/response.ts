import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

/** What a response tells its connection. */
export interface ResponseOwner {
  /** The response's last bytes were handed to the socket. */
  responseEnded(res: Res): void;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
/** A chunk's end and the last chunk, as one write. */
const CRLF_LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n', 'latin1');
/** Below this a body piece is copied behind the head into one buffer (one write, no writev). */
const COALESCE = 16 * 1024;

/**
 * The response side of one request, written straight to the client socket: the head as
 * writeHead() laid it out (respond.ts decides every header), then the body, chunked when asked.
 * The head waits until the first body bytes or the end so that a small response leaves in one
 * write. Events: 'drain' (the socket took what was queued), 'close' (finished or the
 * connection went away).
 */
export class Res extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  statusMessage = '';
  /** Body writes get chunked framing (respond.ts decides, as nginx's chunked filter). */
  chunked = false;
  /** The connection stays open for another request after this response. */
  shouldKeepAlive = true;
  /** A write returned false and 'drain' is owed. */
  needDrain = false;
  private pendingHead: string | null = null;
  private readonly onFinished = (): void => this.finished();
  /** Told once when the response will not complete (the connection went first). */
  onAbandoned: ((res: Res) => void) | null = null;
  /** Told when the client half-closes while this response is under way; true: close now. */
  onClientEnd: ((res: Res) => boolean) | null = null;

  constructor(
    readonly socket: Socket,
    private readonly owner: ResponseOwner,
    /** HEAD (or 204/304 once the status is known): the body is never written. */
    private noBody: boolean,
    /** HTTP/0.9: no status line nor headers, only the body. */
    private readonly bare: boolean,
  ) {
    super();
  }

  writeHead(status: number, reason: string, flat: string[]): this {
    this.headersSent = true;
    this.statusMessage = reason;
    if (status === 204 || status === 304) this.noBody = true;
    if (this.bare) return this;
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    for (let i = 0; i < flat.length; i += 2) head += `${flat[i]}: ${flat[i + 1]}\r\n`;
    this.pendingHead = head + '\r\n';
    return this;
  }

  /** Sends a body piece; false when the socket's buffer is full ('drain' follows). */
  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (this.noBody || chunk.length === 0) return true;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const ok = this.send(data, false);
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** The last body piece (if any) and the end of the response. */
  end(chunk?: Buffer | string): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    const data = chunk === undefined || chunk.length === 0 || this.noBody ? null : typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.send(data, true);
    this.owner.responseEnded(this);
    return this;
  }

  /** Head, body piece and framing as few writes as possible. */
  private send(data: Buffer | null, last: boolean): boolean {
    const socket = this.socket;
    if (socket.destroyed) return false;
    const chunked = this.chunked && !this.noBody;
    const head = this.pendingHead;
    this.pendingHead = null;
    const cb = last ? this.onFinished : undefined;
    if (!chunked) {
      if (head === null) {
        if (data) return socket.write(data, cb);
        if (cb) socket.write(EMPTY, cb);
        return true;
      }
      if (!data) return socket.write(head, 'latin1', cb);
      if (data.length < COALESCE) {
        const hl = head.length;
        const buf = Buffer.allocUnsafe(hl + data.length);
        buf.write(head, 0, hl, 'latin1');
        data.copy(buf, hl);
        return socket.write(buf, cb);
      }
      socket.cork();
      socket.write(head, 'latin1');
      const ok = socket.write(data, cb);
      socket.uncork();
      return ok;
    }
    let prefix = head ?? '';
    if (data) prefix += `${data.length.toString(16)}\r\n`;
    if (!data) {
      // the end of a chunked body
      if (last) return socket.write(prefix ? Buffer.concat([Buffer.from(prefix, 'latin1'), LAST_CHUNK]) : LAST_CHUNK, cb);
      return prefix ? socket.write(prefix, 'latin1') : true;
    }
    socket.cork();
    socket.write(prefix, 'latin1');
    socket.write(data);
    const ok = socket.write(last ? CRLF_LAST_CHUNK : CRLF, cb);
    socket.uncork();
    return ok;
  }

  private finished(): void {
    this.writableFinished = true;
    this.emit('close');
  }

  /** The socket took everything queued. */
  drained(): void {
    if (!this.needDrain) return;
    this.needDrain = false;
    this.emit('drain');
  }

  /** Abandons the response: the connection closes. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.socket.destroy();
    return this;
  }

  /** The connection went away (from the connection, once). */
  gone(): void {
    this.destroyed = true;
    if (this.writableFinished) return;
    this.onAbandoned?.(this);
    this.emit('close');
  }
}

const EMPTY = Buffer.alloc(0);
