import { isIP } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import type { ProxyConf, UpstreamGroup } from '../compile/types.js';
import { logError } from '../log/error-log.js';
import type { GroupState, PeerState, PickContext } from '../upstream/balancer.js';
import { dropHead, freshClient, groupState, headConnectMs, poolFor, registerHead } from '../upstream/pools.js';
import { implicitUpstream } from '../compile/upstreams.js';
import { resolveName } from '../upstream/resolver.js';
import { finalize } from './phases.js';
import { logRequest } from '../log/request-log.js';
import type { Req } from './request.js';
import { sendResumed, sendStalled, writeHead, type Head } from './respond.js';
import { escapeUri } from './uri.js';
import { tunnel, upgradeWanted } from './upgrade.js';
import { Spool } from './spool.js';
import { BufferedBody, readBody } from './request-body.js';


interface Target {
  group: UpstreamGroup;
  path: string;
  /** A group made for this request only (proxy_pass with variables naming no upstream{}). */
  fresh: boolean;
  /** A name the configured resolver has to look up first (then `group` is made from its answer). */
  lookup?: { host: string; hostPort: string; defaultPort: number };
}

/** The URI sent upstream, by nginx's proxy_pass rules (NGINX-SEMANTICS §4.1). */
function upstreamTarget(r: Req, conf: ProxyConf, afterBreak: boolean): Target | { error: number } {
  if (conf.url) {
    const url = conf.url(r);
    const m = /^(https?):\/\/([^/?]*)(.*)$/i.exec(url);
    if (!m) {
      logError('error', `invalid URL prefix in "${url}"`, r);
      return { error: 500 };
    }
    const hostPort = m[2];
    const uri = m[3];
    // an upstream{} block of that name wins; anything else needs a resolver unless it is an address
    let group = conf.upstreams.get(hostPort.toLowerCase());
    let fresh = false;
    let lookup: Target['lookup'];
    if (!group) {
      const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
      const defaultPort = m[1].toLowerCase() === 'https' ? 443 : 80;
      const named = !isIP(host) && !host.startsWith('unix:');
      if (named && !conf.resolver) {
        logError('error', `no resolver defined to resolve ${host}`, r);
        return { error: 502 };
      }
      group = implicitUpstream(hostPort, defaultPort, new Map());
      fresh = true;
      if (named) lookup = { host, hostPort, defaultPort };
    }
    r.proxyHost = hostPort;
    r.proxyPort = /:(\d+)$/.exec(hostPort)?.[1] ?? (m[1].toLowerCase() === 'https' ? '443' : '80');
    let path: string;
    if (uri.length > 0) path = uri[0] === '?' ? '/' + uri : uri;
    else path = r.uriChanged ? escapeUri(r.uri) + (r.args ? '?' + r.args : '') : r.requestUri;
    return { group, path, fresh, lookup };
  }
  r.proxyHost = conf.hostHeader;
  r.proxyPort = conf.port;
  let path: string;
  if (conf.uriPart === null) {
    path = r.uriChanged ? escapeUri(r.uri) + (r.args ? '?' + r.args : '') : r.requestUri;
  } else if (afterBreak || !r.uri.startsWith(conf.locationName) || r.loc.modifier === '@' || r.loc.modifier === 'if') {
    path = escapeUri(r.uri) + (r.args ? '?' + r.args : '');
  } else {
    path = conf.uriPart + escapeUri(r.uri.slice(conf.locationName.length)) + (r.args ? '?' + r.args : '');
  }
  if (path.length === 0) {
    logError('error', 'zero length URI to proxy', r);
    return { error: 500 };
  }
  return { group: conf.group!, path, fresh: false };
}

function isInvalidHeaderName(name: string, underscores: boolean): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45) continue;
    if (c === 95 && underscores) continue;
    return true;
  }
  return false;
}


/** A request has a body (possibly empty) when it carries Content-Length or Transfer-Encoding. */
function hasBody(r: Req): boolean {
  return r.transferEncoding !== undefined || r.contentLength !== undefined;
}

export function proxyRequest(r: Req, conf: ProxyConf, afterBreak: boolean): void {
  const t = upstreamTarget(r, conf, afterBreak);
  if ('error' in t) return finalize(r, t.error);
  if (t.lookup && conf.resolver) {
    const { host, hostPort, defaultPort } = t.lookup;
    void resolveName(conf.resolver, host).then((res) => {
      if (r.res.destroyed) return;
      if ('error' in res) {
        logError('error', `${host} could not be resolved (${res.error})`, r);
        return finalize(r, 502);
      }
      proxyTo(r, conf, { ...t, group: implicitUpstream(hostPort, defaultPort, new Map([[host, res.addrs]])), lookup: undefined });
    });
    return;
  }
  proxyTo(r, conf, t);
}

/** The request goes to the target's group: with its body, read first or streamed, as configured. */
function proxyTo(r: Req, conf: ProxyConf, t: Target): void {
  if (!hasBody(r)) return forward(r, conf, t, null);
  if (!conf.passRequestBody) {
    // nginx still announces the client's Content-Length, then sends no body
    forward(r, conf, t, null, r.contentLength !== undefined ? Number(r.contentLength) : null);
    return;
  }
  const chunkedIn = r.transferEncoding !== undefined;
  const buffered = () =>
    readBody(r).then(
      (body) => {
        r.res.once('close', () => body.close());
        forward(r, conf, t, body);
      },
      (e: { status?: number; close?: boolean }) => {
        if (!e.close) return finalize(r, e.status ?? 400);
        // nginx logs the 408 and closes the connection without an answer (reset_timedout_connection: RST)
        r.status = 408;
        logRequest(r);
        const socket = r.res.socket;
        if (r.loc.resetTimedoutConnection && socket) socket.resetAndDestroy();
        else r.res.destroy();
      },
    );
  if (conf.requestBuffering || (chunkedIn && conf.httpVersion === '1.0')) return void buffered();
  if (chunkedIn) {
    // nginx sends a chunked body with Content-Length when all of it came with the headers
    setImmediate(() => (r.msg.complete ? void buffered() : forward(r, conf, t, 'stream')));
    return;
  }
  forward(r, conf, t, 'stream');
}

/**
 * The request head nginx would send: the request line, the proxy_set_header list (defaults
 * included) in order, then the client's headers in order, less those the list names.
 */
function buildHead(r: Req, conf: ProxyConf, method: string, path: string, bodyLength: number | null, chunked: boolean): string {
  let head = `${method} ${path} HTTP/${conf.httpVersion}\r\n`;
  const set = conf.headers;
  for (let i = 0; i < set.length; i++) {
    const h = set[i];
    if (h.internal === 'length') {
      if (bodyLength !== null) head += `${h.name}: ${bodyLength}\r\n`;
      continue;
    }
    if (h.internal === 'chunked') {
      if (chunked) head += `${h.name}: chunked\r\n`;
      continue;
    }
    const v = h.value(r);
    if (v === '') continue;
    head += `${h.name}: ${v}\r\n`;
  }
  if (conf.passRequestHeaders) {
    const raw = r.msg.rawHeaders;
    const underscores = r.server.underscoresInHeaders;
    const ignoreInvalid = r.server.ignoreInvalidHeaders;
    const skip = conf.skip;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (skip.has(name.toLowerCase())) continue;
      if (ignoreInvalid && isInvalidHeaderName(name, underscores)) continue;
      head += `${name}: ${raw[i + 1]}\r\n`;
    }
  }
  return head;
}

/** proxy_set_header Connection with a non-empty value (nginx then does not keep the connection). */
function setsConnection(r: Req, conf: ProxyConf): boolean {
  const set = conf.headers;
  for (let i = 0; i < set.length; i++) if (set[i].lname === 'connection' && set[i].value(r) !== '') return true;
  return false;
}

/** What each upstream response header needs (see responseFilter). */
const enum Act {
  Pass,
  Drop,
  TransferEncoding,
  ContentType,
  ContentLength,
  LastModified,
  Location,
  Refresh,
}

interface NameMatch {
  /** Lowercase name, one byte per char. */
  lname: Uint8Array;
  act: Act;
}

/**
 * The upstream header names a location treats specially (hop-by-hop, proxy_hide_header, the
 * ones the header filter orders or rewrites), indexed by length: most names need no string
 * conversion or lowercasing to be classified, and hidden ones are never converted at all.
 */
type ResponseFilter = (NameMatch[] | undefined)[];

const filters = new WeakMap<ProxyConf, ResponseFilter>();
let lastConf: ProxyConf | undefined;
let lastFilter: ResponseFilter = [];

function responseFilter(conf: ProxyConf): ResponseFilter {
  if (conf === lastConf) return lastFilter;
  let f = filters.get(conf);
  if (!f) {
    f = [];
    const add = (lname: string, act: Act) => {
      const list = (f![lname.length] ??= []);
      if (list.some((m) => Buffer.from(m.lname).toString('latin1') === lname)) return;
      list.push({ lname: Buffer.from(lname, 'latin1'), act });
    };
    add('connection', Act.Drop);
    add('keep-alive', Act.Drop);
    add('transfer-encoding', Act.TransferEncoding);
    for (const h of conf.hide) add(h, Act.Drop);
    add('content-type', Act.ContentType);
    add('content-length', Act.ContentLength);
    add('last-modified', Act.LastModified);
    add('location', Act.Location);
    add('refresh', Act.Refresh);
    filters.set(conf, f);
  }
  lastConf = conf;
  lastFilter = f;
  return f;
}

function classify(filter: ResponseFilter, name: Buffer): Act {
  const list = filter[name.length];
  if (list === undefined) return Act.Pass;
  next: for (let k = 0; k < list.length; k++) {
    const want = list[k].lname;
    for (let i = 0; i < want.length; i++) {
      let c = name[i];
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== want[i]) continue next;
    }
    return list[k].act;
  }
  return Act.Pass;
}

/** A Content-Length value as a number (digits only; anything else as Number() reads it). */
function lengthValue(b: Buffer): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c < 0x30 || c > 0x39 || i > 14) return Number(b.toString('latin1'));
    n = n * 10 + (c - 0x30);
  }
  return b.length ? n : Number('');
}

function noteAttempt(r: Req, addr: string, status: number, ms: number, connectMs = -1): void {
  if (r.upstreamAddr === null || r.upstreamStatus === null || r.upstreamTime === null || r.upstreamConnectTime === null) {
    r.upstreamAddr = [addr];
    r.upstreamStatus = [status];
    r.upstreamTime = [ms];
    r.upstreamConnectTime = [connectMs];
    return;
  }
  r.upstreamAddr.push(addr);
  r.upstreamStatus.push(status);
  r.upstreamTime.push(ms);
  r.upstreamConnectTime.push(connectMs);
}

/** Never added to: the peers tried before a request's first attempt. */
const NONE_TRIED: Set<PeerState> = new Set();

/** One proxied request: what every attempt (peer) shares. */
class Forward {
  /** Peers of earlier attempts (null until a retry). */
  tried: Set<PeerState> | null = null;
  attempts = 0;
  /** When the first attempt started (proxy_next_upstream_timeout). */
  started = 0;
  /** ip_hash / hash keep their position across this request's retries. */
  readonly pickCtx: PickContext;

  constructor(
    readonly r: Req,
    readonly conf: ProxyConf,
    readonly t: Target,
    readonly state: GroupState,
    readonly body: BufferedBody | null | 'stream',
    readonly method: string,
    readonly head: string,
    readonly keep: boolean,
    readonly clientLength: number | null,
  ) {
    this.pickCtx = { addr: r.conn.remoteAddr, key: t.group.hashKey ? t.group.hashKey(r) : undefined };
  }

  /** ngx_http_upstream_next: may this failure move on to another peer? */
  mayRetry(kind: string, sent: boolean): boolean {
    const conf = this.conf;
    const group = this.t.group;
    const maxTries = conf.nextUpstreamTries || group.peers.length + group.backups.length;
    const method = this.method;
    return (
      conf.nextUpstream.has(kind) &&
      this.attempts < maxTries &&
      this.attempts < this.state.primary.length + this.state.backup.length &&
      this.body !== 'stream' &&
      (!conf.nextUpstreamTimeout || Date.now() - this.started < conf.nextUpstreamTimeout) &&
      (!sent || (method !== 'POST' && method !== 'LOCK' && method !== 'PATCH') || conf.nextUpstream.has('non_idempotent'))
    );
  }

  /** Picks a peer and sends the request there. */
  attempt(): void {
    const r = this.r;
    const now = Date.now();
    if (this.attempts === 0) this.started = now;
    const peer = this.state.pick(this.tried ?? NONE_TRIED, now, this.pickCtx);
    if (!peer) {
      logError('error', `no live upstreams while connecting to upstream`, r);
      noteAttempt(r, this.t.group.name, 502, 0);
      return finalize(r, 502);
    }
    this.attempts++;
    peer.conns++;
    const a = new Attempt(this, peer, now, registerHead(this.head));
    const headers: string[] = ['x-nxproxy-head', String(a.headId)];
    // undici keeps the connection unless told "close"; nxproxy's head replaces what it writes
    const upgrade = upgradeWanted(r, this.conf);
    if (!this.keep && !upgrade) headers.push('connection', 'close');
    if (this.clientLength !== null) headers.push('content-length', String(this.clientLength));
    const fresh = this.cachedRetried && !this.usedFresh;
    if (fresh) this.usedFresh = true;
    const pool = fresh ? freshClient(peer.peer, this.conf) : poolFor(peer.peer, this.t.group, this.conf);
    r.upstream = a;
    const body = this.body;
    try {
      pool.dispatch(
        {
          // the real target is in the head nxproxy writes; undici would refuse raw bytes nginx sends
          path: '/',
          method: this.method,
          headers,
          body: watchSend(a, body === 'stream' ? r.msg.body() : body ? body.open() : undefined, this.conf.sendTimeout, body === 'stream' ? r.loc.clientMaxBodySize : 0),
          // a 101 then hands over the upstream socket (onUpgrade); other answers flow as usual
          upgrade,
        },
        a as unknown as Dispatcher.DispatchHandler,
      );
      // the one-off connection closes once its request is done
      if (fresh) void pool.close().catch(() => undefined);
    } catch (e) {
      a.done(true);
      logError('error', `nxproxy could not send the request upstream: ${(e as Error).message}`, r, a.upstreamName());
      finalize(r, 502);
    }
  }

  /** The next attempt, on another peer. */
  /** The one extra try nginx grants after a failure on a cached connection was used. */
  cachedRetried = false;
  private usedFresh = false;

  retry(failedPeer: PeerState): void {
    (this.tried ??= new Set()).add(failedPeer);
    this.attempt();
  }
}

/** One attempt on one peer: undici's dispatch handler (raw header buffers, no header objects). */
class Attempt {
  abortUpstream: ((e?: Error) => void) | null = null;
  resumeUpstream: (() => void) | null = null;
  /** proxy_buffering on: the body waits here for a slow client instead of holding the upstream. */
  spool: Spool | null = null;
  /** proxy_buffering applies to this response (the spool is made once the client falls behind). */
  buffered = false;
  responded = false;
  intercepted = false;
  finished = false;
  /** Body bytes still expected; -1: the body ends when the upstream closes (no backpressure then). */
  remaining = -1;

  constructor(
    readonly f: Forward,
    readonly peer: PeerState,
    readonly t0: number,
    readonly headId: number,
  ) {}

  upstreamName(): string {
    return `http://${this.peer.peer.name}${this.f.t.path}`;
  }

  done(failed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    dropHead(this.headId, failed || !this.f.keep ? undefined : this.f.t.group);
    this.peer.conns--;
    this.f.state.release(this.peer, failed);
    if (this.f.r.upstream === this) this.f.r.upstream = null;
  }

  /**
   * The client went away before the response was sent: the upstream request is aborted, unless
   * proxy_ignore_client_abort lets it run to its end (what it sends is then dropped).
   */
  clientClosed(): void {
    if (this.finished || this.f.conf.ignoreClientAbort) return;
    this.abortUpstream?.(new Error('client closed'));
  }

  /**
   * The client half-closed its side while the upstream works. nginx (epoll with EPOLLRDHUP)
   * takes that as the client leaving: the upstream connection is closed, the request ends
   * with 499 and no answer. Returns true when the client connection is to be closed.
   */
  clientEnded(): boolean {
    if (this.finished || this.f.conf.ignoreClientAbort) return false;
    const r = this.f.r;
    // until its head is written, the request waits for the connection
    const phase = this.responded ? 'reading upstream' : headConnectMs(this.headId) < 0 ? 'connecting to upstream' : 'sending request to upstream';
    logError('info', `epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while ${phase}`, r, this.upstreamName());
    return true;
  }

  onConnect(abort: (e?: Error) => void): void {
    this.abortUpstream = abort;
  }

  /** The upstream switched protocols: relay its 101 and join the sockets. */
  onUpgrade(statusCode: number, raw: Buffer[], socket: import('node:net').Socket): void {
    const f = this.f;
    noteAttempt(f.r, this.peer.peer.name, statusCode, Date.now() - this.t0, headConnectMs(this.headId));
    this.done(false);
    tunnel(f.r, f.conf, raw, socket);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText?: string): boolean {
    this.responded = true;
    const f = this.f;
    const r = f.r;
    const conf = f.conf;
    noteAttempt(r, this.peer.peer.name, statusCode, Date.now() - this.t0, headConnectMs(this.headId));
    r.upstreamHeaders = raw;
    if (statusCode >= 400) {
      const kind = `http_${statusCode}`;
      if (f.mayRetry(kind, true)) {
        // 403 and 404 move on without counting as a failure of the peer
        this.done(kind !== 'http_403' && kind !== 'http_404');
        this.intercepted = true;
        this.abortUpstream?.(new Error('next upstream'));
        f.retry(this.peer);
        return false;
      }
    }
    if (conf.interceptErrors && statusCode >= 300 && r.loc.errorPages.has(statusCode)) {
      this.done(false);
      this.intercepted = true;
      this.abortUpstream?.(new Error('intercepted'));
      finalize(r, statusCode);
      return false;
    }
    const filter = responseFilter(conf);
    const head: Head = {
      status: statusCode,
      reason: statusText ?? '',
      contentType: undefined,
      contentLength: undefined,
      lastModified: undefined,
      location: undefined,
      headers: [],
    };
    const out = head.headers!;
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      switch (classify(filter, name)) {
        case Act.Pass:
          out.push(name.toString('latin1'), raw[i + 1].toString('latin1'));
          break;
        case Act.Drop:
          break;
        case Act.TransferEncoding:
          chunked = true;
          break;
        case Act.ContentType:
          head.contentType = raw[i + 1].toString('latin1');
          break;
        case Act.ContentLength:
          head.contentLength = lengthValue(raw[i + 1]);
          break;
        case Act.LastModified:
          head.lastModified = raw[i + 1].toString('latin1');
          break;
        case Act.Location:
          head.location = rewriteRedirect(r, conf, raw[i + 1].toString('latin1'));
          break;
        case Act.Refresh:
          out.push(name.toString('latin1'), rewriteRefresh(r, conf, raw[i + 1].toString('latin1')));
          break;
      }
    }
    const bodyless = r.headerOnly || statusCode === 204 || statusCode === 304;
    writeHead(r, head, !bodyless);
    if (bodyless) {
      logRequest(r);
      r.res.end();
    } else {
      this.buffered = wantsSpool(conf.buffering, accelBuffering(raw));
    }
    this.resumeUpstream = resume;
    this.remaining = head.contentLength ?? (chunked ? Infinity : -1);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const r = this.f.r;
    // a client gone under proxy_ignore_client_abort: the rest of the body is read and dropped
    if (r.headerOnly || r.res.destroyed) return true;
    r.bodyBytesSent += chunk.length;
    if (this.spool) {
      if (this.remaining > 0) this.remaining -= chunk.length;
      if (this.spool.write(chunk, () => this.resumeUpstream?.())) return true;
      // never pause undici on a body's last bytes (see below)
      return this.remaining <= 0;
    }
    if (this.remaining > 0) {
      this.remaining -= chunk.length;
      if (this.remaining === 0 && !r.res.writableEnded) {
        // the last bytes of a body of known length: log, then hand them over with the end
        logRequest(r);
        r.res.end(chunk);
        return true;
      }
    }
    const ok = r.res.write(chunk);
    if (ok) return true;
    if (this.buffered) {
      // the client fell behind: from now on the body waits in buffers and a temp file
      const conf = this.f.conf;
      this.spool = new Spool(r, r.res, conf.bufferBytes, conf.maxTempFileSize, conf.tempPath, () => {
        logRequest(r);
        r.res.end();
      });
      this.spool.behind();
      return true;
    }
    // Pausing undici on a body's last bytes while the upstream closes trips an assertion in
    // undici's parser (finish() while paused, 7.30): only pause while more bytes are due.
    if (this.remaining <= 0) return true;
    sendStalled(r);
    r.res.once('drain', () => {
      sendResumed(r);
      this.resumeUpstream?.();
    });
    return false;
  }

  onComplete(): void {
    this.done(false);
    const r = this.f.r;
    if (this.spool) {
      this.spool.end();
      return;
    }
    if (!r.res.writableEnded) {
      logRequest(r);
      r.res.end();
    }
  }

  onError(err: Error): void {
    if (this.intercepted) return;
    const f = this.f;
    const r = f.r;
    const parser = err as Error & { code?: string; data?: string };
    if (err instanceof BodyTooLargeError) {
      this.done(false);
      logError('error', `client intended to send too large chunked body: ${r.loc.clientMaxBodySize}+ bytes`, r);
      if (!r.res.headersSent) finalize(r, 413);
      else r.res.destroy();
      return;
    }
    if (!this.responded && !r.res.headersSent && parser.name === 'HTTPParserError' && /Expected HTTP\//.test(parser.message) && typeof parser.data === 'string') {
      // no status line: nginx takes the answer as HTTP/0.9 and relays its bytes as they came
      this.done(false);
      logError('error', 'upstream sent no valid HTTP/1.0 header while reading response header from upstream', r, this.upstreamName());
      noteAttempt(r, this.peer.peer.name, 9, Date.now() - this.t0, headConnectMs(this.headId));
      r.status = 200;
      logRequest(r);
      r.res.socket?.end(Buffer.from(parser.data, 'utf8'));
      return;
    }
    const sendTimedOut = err instanceof SendTimeoutError;
    const timeout =
      sendTimedOut ||
      err instanceof undiciErrors.ConnectTimeoutError ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError;
    this.done(true);
    if (r.res.writableEnded || r.res.destroyed) return;
    if (this.responded || r.res.headersSent) {
      logError('error', timeout ? 'upstream timed out (110: Connection timed out) while reading upstream' : 'upstream prematurely closed connection while reading upstream', r, this.upstreamName());
      r.res.destroy();
      return;
    }
    const connecting = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || err instanceof undiciErrors.ConnectTimeoutError;
    // a response head undici could not parse, or one past proxy_buffer_size, is nginx's "invalid_header"
    const tooBig = err instanceof undiciErrors.HeadersOverflowError;
    const invalid = parser.name === 'HTTPParserError' || tooBig;
    const msg = timeout
      ? `upstream timed out (110: Connection timed out) while ${connecting ? 'connecting to' : sendTimedOut ? 'sending request to' : 'reading response header from'} upstream`
      : (err as NodeJS.ErrnoException).code === 'ECONNREFUSED'
        ? 'connect() failed (111: Connection refused) while connecting to upstream'
        : tooBig
          ? 'upstream sent too big header while reading response header from upstream'
          : invalid
            ? 'upstream sent invalid header while reading response header from upstream'
          : 'upstream prematurely closed connection while reading response header from upstream';
    logError('error', msg, r, this.upstreamName());
    noteAttempt(r, this.peer.peer.name, timeout ? 504 : 502, Date.now() - this.t0, headConnectMs(this.headId));
    if (f.mayRetry(timeout ? 'timeout' : invalid ? 'invalid_header' : 'error', !connecting)) return f.retry(this.peer);
    // nginx gives a request one more try when a cached keep-alive connection fails under it
    // (the upstream closed it as it was reused): the idempotent request goes out again
    if (!timeout && !connecting && f.keep && !f.cachedRetried && f.mayRetry('error', false) === false && idempotent(f.method, f.conf)) {
      f.cachedRetried = true;
      return f.attempt();
    }
    finalize(r, timeout ? 504 : 502);
  }
}

/** Thrown into an attempt whose upstream stopped taking the request body. */
class SendTimeoutError extends Error {}

/** A streamed request body grew past client_max_body_size (nginx: 413 while reading it). */
class BodyTooLargeError extends Error {}

/**
 * proxy_send_timeout: while a request body goes upstream, the upstream must take the next piece
 * within the timeout, or the attempt ends as a timeout (504).
 */
function watchSend(a: Attempt, body: Buffer | Readable | undefined, timeout: number, maxBody: number): Buffer | Readable | undefined {
  if (!body || Buffer.isBuffer(body) || (timeout <= 0 && maxBody <= 0)) return body;
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timeout <= 0) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => a.abortUpstream?.(new SendTimeoutError('upstream timed out')), timeout);
  };
  // a piece moves on only when undici takes the previous ones (backpressure): each one re-arms
  const watched = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (maxBody > 0 && seen > maxBody) {
        a.abortUpstream?.(new BodyTooLargeError('client intended to send too large chunked body'));
        return cb();
      }
      arm();
      cb(null, chunk);
    },
  });
  const done = () => timer && clearTimeout(timer);
  watched.once('end', done);
  watched.once('close', done);
  body.on('error', (e) => watched.destroy(e));
  body.pipe(watched);
  arm();
  return watched;
}

/** X-Accel-Buffering from the upstream (yes|no) overrides proxy_buffering, as in nginx. */
function accelBuffering(raw: Buffer[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 17 && raw[i].toString('latin1').toLowerCase() === 'x-accel-buffering') {
      return raw[i + 1].toString('latin1').trim().toLowerCase();
    }
  }
  return undefined;
}

function wantsSpool(buffering: boolean, accel: string | undefined): boolean {
  return accel === 'yes' || (buffering && accel !== 'no');
}

function idempotent(method: string, conf: ProxyConf): boolean {
  return (method !== 'POST' && method !== 'LOCK' && method !== 'PATCH') || conf.nextUpstream.has('non_idempotent');
}

function forward(r: Req, conf: ProxyConf, t: Target, body: BufferedBody | null | 'stream', announced: number | null = null): void {
  const state = groupState(t.group, !t.fresh);
  const clientLength = body === 'stream' ? (r.contentLength !== undefined ? Number(r.contentLength) : null) : body ? body.length : null;
  const chunked = body === 'stream' && clientLength === null && conf.httpVersion === '1.1';
  const method = conf.method ? conf.method(r) : r.method;
  const head = buildHead(r, conf, method, t.path, announced ?? clientLength, chunked);
  // what undici itself needs to know: framing and whether the connection is reused
  // nginx reuses upstream connections only with `keepalive` in the group, HTTP/1.1 and no Connection header
  const keep = t.group.keepalive > 0 && conf.httpVersion === '1.1' && !setsConnection(r, conf);
  new Forward(r, conf, t, state, body, method, head, keep, clientLength).attempt();
}

/** proxy_redirect applied to a Location header. */
function rewriteRedirect(r: Req, conf: ProxyConf, value: string): string {
  if (conf.redirects === 'off') return value;
  for (const rule of conf.redirects) {
    if (typeof rule.from === 'string') {
      if (value.startsWith(rule.from)) return rule.to(r) + value.slice(rule.from.length);
    } else {
      const m = rule.from.exec(value);
      if (m) {
        r.captures = Array.from(m, (x) => x ?? '');
        return rule.to(r);
      }
    }
  }
  return value;
}

function rewriteRefresh(r: Req, conf: ProxyConf, value: string): string {
  const i = value.toLowerCase().indexOf('url=');
  if (i < 0) return value;
  return value.slice(0, i + 4) + rewriteRedirect(r, conf, value.slice(i + 4));
}
