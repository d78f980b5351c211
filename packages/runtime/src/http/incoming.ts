import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { RequestHead } from './request-line.js';

/** Resumes the connection's reads when the body's consumer wants more. */
export interface BodySource {
  pull(): void;
}

/** A request body stream: the connection pushes, backpressure pauses the socket. */
class BodyStream extends Readable {
  constructor(private readonly source: BodySource) {
    super();
  }

  override _read(): void {
    this.source.pull();
  }
}

/**
 * One request as read from the client: what nginx parsed of the head, and the body. The body
 * stream exists only once somebody asks for it; a request without a body (the common case)
 * never allocates one.
 */
export class InMsg {
  readonly method: string;
  /** The request target ($request_uri), any absolute-form scheme read as http. */
  readonly url: string;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Header lines nginx keeps, flat [name, value, ...]. */
  readonly rawHeaders: string[];
  /** nginx's r->request_line, for the error log. */
  readonly requestLine: string;
  /** The whole body has been received (or there is none). */
  complete = false;
  private stream: BodyStream | null = null;
  /** Body bytes that came before anybody asked for the stream. */
  private early: Buffer[] | null = null;
  /** The body is not wanted any more (the response is done): bytes are dropped. */
  discard = false;
  private failed = false;
  private cut = false;

  /**
   * The chunked body is malformed. nginx finds out when it reads or drops the body: a handler
   * that does so before answering (proxy, return with a text or a redirect, a static file)
   * answers 400; one of nginx's own error pages goes out as it is, with the connection closed.
   */
  get broken(): boolean {
    return this.failed;
  }

  constructor(
    readonly head: RequestHead,
    readonly socket: Socket,
    private readonly source: BodySource,
  ) {
    this.method = head.method || 'GET';
    let target = head.target;
    // nginx takes any scheme in an absolute URI; routing reads it as http
    if (target.charCodeAt(0) !== 0x2f) {
      const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(target);
      if (scheme && !/^https?:\/\/$/i.test(scheme[0])) target = 'http' + target.slice(scheme[0].length - 3);
    }
    this.url = target;
    this.httpVersionMajor = head.major;
    // HTTP/0.9 answers are never chunked nor kept alive: 1.0 rules
    this.httpVersionMinor = head.http09 ? 0 : head.minor;
    this.httpVersion = head.http09 ? '0.9' : head.version || `${head.major}.${head.minor}`;
    this.rawHeaders = head.headers;
    this.requestLine = head.requestLine;
    this.expectContinue = head.expectContinue && head.status === 0;
  }

  /** The body as a stream (ended at once when there is none). */
  body(): Readable {
    if (this.stream) return this.stream;
    this.sendContinue();
    const s = new BodyStream(this.source);
    this.stream = s;
    if (this.early) {
      for (const c of this.early) s.push(c);
      this.early = null;
    }
    if (this.failed || this.cut) s.destroy(new Error(this.failed ? 'client sent invalid chunked body' : 'client closed the connection'));
    else if (this.complete) s.push(null);
    return s;
  }

  /** From the connection: body bytes. Returns false when the consumer is full (pause reads). */
  push(chunk: Buffer): boolean {
    if (this.discard) return true;
    if (this.stream) return this.stream.push(chunk);
    (this.early ??= []).push(chunk);
    return true;
  }

  end(): void {
    this.complete = true;
    if (this.stream && !this.discard) this.stream.push(null);
  }

  /** The body will not complete: malformed (`broken`), or the connection went away. */
  fail(broken = true): void {
    if (broken) this.failed = true;
    else this.cut = true;
    if (this.stream && !this.discard) this.stream.destroy(new Error(broken ? 'client sent invalid chunked body' : 'client closed the connection'));
  }

  /**
   * "Expect: 100-continue" not answered yet. nginx sends the interim response when it reads or
   * drops the body (ngx_http_test_expect), and never before one of its own error pages.
   */
  expectContinue: boolean;

  /** Sends "100 Continue" if the client is waiting for it (once). */
  sendContinue(): void {
    if (!this.expectContinue) return;
    this.expectContinue = false;
    if (this.socket.writable) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** The response is done: whatever else of the body comes is dropped. */
  drop(): void {
    this.discard = true;
    this.early = null;
  }
}
