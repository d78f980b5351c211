import { isIP } from 'node:net';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import type { ProxyConf, UpstreamGroup } from '../compile/types.js';
import { logError } from '../log/error-log.js';
import type { PeerState } from '../upstream/balancer.js';
import { dropHead, groupState, poolFor, registerHead } from '../upstream/pools.js';
import { implicitUpstream } from '../compile/upstreams.js';
import { finalize } from './phases.js';
import { logRequest } from '../log/request-log.js';
import type { Req } from './request.js';
import { writeHead, type Head } from './respond.js';
import { escapeUri } from './uri.js';


interface Target {
  group: UpstreamGroup;
  path: string;
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
    if (!group) {
      const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
      if (!isIP(host) && !host.startsWith('unix:') && !conf.resolver) {
        logError('error', `no resolver defined to resolve ${host}`, r);
        return { error: 502 };
      }
      group = implicitUpstream(hostPort, m[1].toLowerCase() === 'https' ? 443 : 80, new Map());
    }
    r.proxyHost = hostPort;
    r.proxyPort = /:(\d+)$/.exec(hostPort)?.[1] ?? (m[1].toLowerCase() === 'https' ? '443' : '80');
    let path: string;
    if (uri.length > 0) path = uri[0] === '?' ? '/' + uri : uri;
    else path = r.uriChanged ? escapeUri(r.uri) + (r.args ? '?' + r.args : '') : r.requestUri;
    return { group, path };
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
  return { group: conf.group!, path };
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

function readBody(r: Req): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const max = r.loc.clientMaxBodySize;
    r.msg.on('data', (c: Buffer) => {
      size += c.length;
      if (max && size > max) {
        r.msg.removeAllListeners('data');
        reject(Object.assign(new Error('too large'), { status: 413 }));
        return;
      }
      chunks.push(c);
    });
    r.msg.on('end', () => resolve(size ? Buffer.concat(chunks, size) : null));
    r.msg.on('error', reject);
  });
}

/** A request has a body (possibly empty) when it carries Content-Length or Transfer-Encoding. */
function hasBody(r: Req): boolean {
  return r.header('transfer-encoding') !== undefined || r.header('content-length') !== undefined;
}

export function proxyRequest(r: Req, conf: ProxyConf, afterBreak: boolean): void {
  const t = upstreamTarget(r, conf, afterBreak);
  if ('error' in t) return finalize(r, t.error);
  const bodyWanted = conf.passRequestBody && hasBody(r);
  if (!conf.passRequestBody && hasBody(r)) {
    // nginx still announces the client's Content-Length, then sends no body
    forward(r, conf, t, null, r.header('content-length') !== undefined ? Number(r.header('content-length')) : null);
    return;
  }
  const chunkedIn = r.header('transfer-encoding') !== undefined;
  const buffered = () =>
    readBody(r).then(
      (body) => forward(r, conf, t, body ?? Buffer.alloc(0)),
      (e: { status?: number }) => finalize(r, e.status ?? 400),
    );
  if (bodyWanted && (conf.requestBuffering || (chunkedIn && conf.httpVersion === '1.0'))) return void buffered();
  if (bodyWanted && chunkedIn) {
    // nginx sends a chunked body with Content-Length when all of it came with the headers
    setImmediate(() => (r.msg.complete ? void buffered() : forward(r, conf, t, 'stream')));
    return;
  }
  forward(r, conf, t, bodyWanted ? 'stream' : null);
}

/**
 * The request head nginx would send: the request line, the proxy_set_header list (defaults
 * included) in order, then the client's headers in order, less those the list names.
 */
function buildHead(r: Req, conf: ProxyConf, method: string, path: string, bodyLength: number | null, chunked: boolean): string {
  let head = `${method} ${path} HTTP/${conf.httpVersion}\r\n`;
  for (const h of conf.headers) {
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
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (conf.skip.has(name.toLowerCase())) continue;
      if (ignoreInvalid && isInvalidHeaderName(name, underscores)) continue;
      head += `${name}: ${raw[i + 1]}\r\n`;
    }
  }
  return head;
}

function forward(r: Req, conf: ProxyConf, t: Target, body: Buffer | null | 'stream', announced: number | null = null): void {
  const state = groupState(t.group);
  const tried = new Set<PeerState>();
  const started = Date.now();
  const maxTries = conf.nextUpstreamTries || t.group.peers.length + t.group.backups.length;
  let attempts = 0;
  const clientLength =
    body === 'stream' ? (r.header('content-length') !== undefined ? Number(r.header('content-length')) : null) : body ? body.length : null;
  const chunked = body === 'stream' && clientLength === null && conf.httpVersion === '1.1';
  const method = conf.method ? conf.method(r) : r.method;
  const head = buildHead(r, conf, method, t.path, announced ?? clientLength, chunked);
  // what undici itself needs to know: framing and whether the connection is reused
  // nginx reuses upstream connections only with `keepalive` in the group, HTTP/1.1 and no Connection header
  const keep =
    t.group.keepalive > 0 &&
    conf.httpVersion === '1.1' &&
    !conf.headers.some((h) => h.lname === 'connection' && h.value(r) !== '');

  /** ngx_http_upstream_next: may this failure move on to another peer? */
  const mayRetry = (kind: string, sent: boolean): boolean =>
    conf.nextUpstream.has(kind) &&
    attempts < maxTries &&
    tried.size < state.primary.length + state.backup.length &&
    body !== 'stream' &&
    (!conf.nextUpstreamTimeout || Date.now() - started < conf.nextUpstreamTimeout) &&
    (!sent || (method !== 'POST' && method !== 'LOCK' && method !== 'PATCH') || conf.nextUpstream.has('non_idempotent'));

  // ip_hash / hash keep their position across this request's retries
  const pickCtx = { addr: r.conn.remoteAddr, key: t.group.hashKey ? t.group.hashKey(r) : undefined };
  const attempt = (): void => {
    const peer = state.pick(tried, Date.now(), pickCtx);
    if (!peer) {
      logError('error', `no live upstreams while connecting to upstream`, r);
      (r.upstreamAddr ??= []).push(t.group.name);
      (r.upstreamStatus ??= []).push('502');
      (r.upstreamTime ??= []).push('0.000');
      return finalize(r, 502);
    }
    tried.add(peer);
    attempts++;
    peer.conns++;
    const t0 = Date.now();
    const pool = poolFor(peer.peer, t.group, conf);
    const headId = registerHead(head);
    const headers: string[] = ['x-nxproxy-head', headId, 'connection', keep ? 'keep-alive' : 'close'];
    if (clientLength !== null) headers.push('content-length', String(clientLength));
    let abort: ((e?: Error) => void) | undefined;
    let responded = false;
    let resumeUpstream: (() => void) | undefined;
    let intercepted = false;
    // bytes still expected; -1: the body ends when the upstream closes (no backpressure then)
    let remaining = -1;
    let finished = false;
    const onClientClose = () => {
      if (!r.res.writableFinished && !finished) abort?.(new Error('client closed'));
    };
    r.res.once('close', onClientClose);
    const done = (failed: boolean) => {
      if (finished) return;
      finished = true;
      dropHead(headId);
      peer.conns--;
      state.release(peer, failed);
      r.res.off('close', onClientClose);
    };
    const upstreamName = `http://${peer.peer.name}${t.path}`;
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a: (e?: Error) => void) {
        abort = a;
      },
      onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText?: string): boolean {
        responded = true;
        const elapsed = ((Date.now() - t0) / 1000).toFixed(3);
        (r.upstreamAddr ??= []).push(peer.peer.name);
        (r.upstreamStatus ??= []).push(String(statusCode));
        (r.upstreamTime ??= []).push(elapsed);
        const flat: string[] = new Array(raw.length);
        for (let i = 0; i < raw.length; i++) flat[i] = raw[i].toString('latin1');
        r.upstreamHeaders = flat;
        const kind = `http_${statusCode}`;
        if (statusCode >= 400 && mayRetry(kind, true)) {
          // 403 and 404 move on without counting as a failure of the peer
          done(kind !== 'http_403' && kind !== 'http_404');
          intercepted = true;
          abort?.(new Error('next upstream'));
          attempt();
          return false;
        }
        if (conf.interceptErrors && statusCode >= 300 && r.loc.errorPages.has(statusCode)) {
          done(false);
          intercepted = true;
          abort?.(new Error('intercepted'));
          finalize(r, statusCode);
          return false;
        }
        const head: Head = { status: statusCode, reason: statusText ?? '', headers: [] };
        for (let i = 0; i < flat.length; i += 2) {
          const name = flat[i];
          const lname = name.toLowerCase();
          const value = flat[i + 1];
          if (lname === 'connection' || lname === 'keep-alive' || lname === 'transfer-encoding') continue;
          if (conf.hide.has(lname)) continue;
          if (lname === 'content-type') head.contentType = value;
          else if (lname === 'content-length') head.contentLength = Number(value);
          else if (lname === 'last-modified') head.lastModified = value;
          else if (lname === 'location') head.location = rewriteRedirect(r, conf, value);
          else if (lname === 'refresh') head.headers!.push(name, rewriteRefresh(r, conf, value));
          else head.headers!.push(name, value);
        }
        const bodyless = r.headerOnly || statusCode === 204 || statusCode === 304;
        writeHead(r, head, !bodyless);
        if (bodyless) r.res.end();
        resumeUpstream = resume;
        remaining = head.contentLength ?? (flat.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'transfer-encoding') ? Infinity : -1);
        return true;
      },
      onData(chunk: Buffer): boolean {
        if (r.headerOnly) return true;
        r.bodyBytesSent += chunk.length;
        if (remaining > 0) remaining -= chunk.length;
        const ok = r.res.write(chunk);
        if (ok) return true;
        // Pausing undici on a body's last bytes while the upstream closes trips an assertion in
        // undici's parser (finish() while paused, 7.30): only pause while more bytes are due.
        if (remaining <= 0) return true;
        r.res.once('drain', () => resumeUpstream?.());
        return false;
      },
      onComplete() {
        done(false);
        if (!r.res.writableEnded) {
          logRequest(r);
          r.res.end();
        }
      },
      onError(err: Error) {
        if (intercepted) return;
        const timeout =
          err instanceof undiciErrors.ConnectTimeoutError ||
          err instanceof undiciErrors.HeadersTimeoutError ||
          err instanceof undiciErrors.BodyTimeoutError;
        done(true);
        if (r.res.writableEnded || r.res.destroyed) return;
        if (responded || r.res.headersSent) {
          logError('error', timeout ? 'upstream timed out (110: Connection timed out) while reading upstream' : 'upstream prematurely closed connection while reading upstream', r, upstreamName);
          r.res.destroy();
          return;
        }
        const connecting = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || err instanceof undiciErrors.ConnectTimeoutError;
        const msg = timeout
          ? `upstream timed out (110: Connection timed out) while ${connecting ? 'connecting to' : 'reading response header from'} upstream`
          : (err as NodeJS.ErrnoException).code === 'ECONNREFUSED'
            ? 'connect() failed (111: Connection refused) while connecting to upstream'
            : 'upstream prematurely closed connection while reading response header from upstream';
        logError('error', msg, r, upstreamName);
        (r.upstreamAddr ??= []).push(peer.peer.name);
        (r.upstreamStatus ??= []).push(timeout ? '504' : '502');
        (r.upstreamTime ??= []).push(((Date.now() - t0) / 1000).toFixed(3));
        if (mayRetry(timeout ? 'timeout' : 'error', !connecting)) return attempt();
        finalize(r, timeout ? 504 : 502);
      },
    } as unknown as Dispatcher.DispatchHandler;
    try {
      pool.dispatch(
        {
          // the real target is in the head nxproxy writes; undici would refuse raw bytes nginx sends
          path: '/',
          method,
          headers,
          body: body === 'stream' ? r.msg : body && body.length ? body : undefined,
        },
        handler,
      );
    } catch (e) {
      done(true);
      logError('error', `nxproxy could not send the request upstream: ${(e as Error).message}`, r, upstreamName);
      finalize(r, 502);
    }
  };
  attempt();
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
