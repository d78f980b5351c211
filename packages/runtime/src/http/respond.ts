import type { LocationConf } from '../compile/types.js';
import { defaultErrorBody, formatHttpDate, httpDate, REASONS, wireStatus } from './error-pages.js';
import type { Req } from './request.js';
import { logRequest } from '../log/request-log.js';
import { logError } from '../log/error-log.js';

/** Statuses that get add_header (without "always") and expires (ngx_http_headers_filter). */
const HEADERS_FILTER_CODES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** Errors after which nginx closes the connection (ngx_http_special_response_handler). */
const CLOSE_AFTER = new Set([400, 413, 414, 494, 495, 496, 497, 500, 501]);

export interface Head {
  status: number;
  /** Reason phrase as received from an upstream (nginx passes it through). */
  reason?: string;
  contentType?: string;
  contentLength?: number;
  lastModified?: string;
  location?: string;
  /** Further headers in order, flat [name, value, ...] (from the upstream). */
  headers?: string[];
  /** nginx generated this response as an error page ("special response"). */
  special?: boolean;
  /** The range filter's Accept-Ranges, which nginx adds after every other header filter. */
  acceptRanges?: boolean;
}

export function wantsKeepAlive(r: Req, loc: LocationConf | undefined): boolean {
  // the head parser's verdict: nginx looks for "close" / "keep-alive" anywhere in each
  // Connection line, the last line deciding, and HTTP/1.0 closes unless asked to keep alive
  let keep = !r.msg.head.close;
  if (loc && (loc.keepaliveTimeout === 0 || r.conn.requests >= loc.keepaliveRequests || Date.now() - r.conn.startMs > loc.keepaliveTime)) keep = false;
  return keep;
}

/** "/path" made absolute as nginx's header filter does (absolute_redirect on). */
export function absoluteLocation(r: Req, loc: string): string {
  const lc = r.loc;
  if (!lc.absoluteRedirect || loc[0] !== '/') return loc;
  // no Host: nginx names the local address the request came in on
  const host = lc.serverNameInRedirect ? r.server.name : r.host || r.conn.serverAddr;
  const port = lc.portInRedirect && r.conn.serverPort !== 80 ? `:${r.conn.serverPort}` : '';
  return `http://${host}${port}${loc}`;
}

/**
 * Writes the status line and headers in ngx_http_header_filter's order: Server, Date,
 * Content-Type, Content-Length, Last-Modified, Location, Transfer-Encoding, Connection, then
 * the rest, then add_header/expires.
 */
export function writeHead(r: Req, head: Head, hasBody: boolean): boolean {
  const res = r.res;
  const loc = r.loc;
  if (r.errStatus && head.status === 200) head.status = r.errStatus;
  if (head.status !== 200 && head.status !== 206 && head.status !== 304) {
    // the header filter drops Last-Modified and the range filter Accept-Ranges on other statuses
    head.lastModified = undefined;
    head.acceptRanges = false;
  }
  if (head.status === 204 && !head.headers) {
    // a 204 nginx generates itself has no type, length or Last-Modified (a proxied one keeps its type)
    head.contentType = undefined;
    head.contentLength = undefined;
    head.lastModified = undefined;
  }
  const status = wireStatus(head.status);
  r.status = head.status;
  // a response that drops the body tells a waiting client to send it first; nginx's own error
  // pages do not (ngx_http_special_response_handler sets expect_tested)
  if (r.msg.expectContinue) {
    if (head.special) r.msg.expectContinue = false;
    else r.msg.sendContinue();
  }
  const h: string[] = [];
  // proxy_pass_header Server/Date: the upstream's replace nginx's own
  const passed = head.headers;
  if (!passed || !hasHeader(passed, 'server')) h.push('Server', loc?.serverTokens === 'off' ? 'nginx' : 'nginx/1.22.1');
  if (!passed || !hasHeader(passed, 'date')) h.push('Date', httpDate());
  if (head.contentType && loc?.charset && !/;\s*charset=/i.test(head.contentType) && loc.charsetTypes.has(head.contentType.split(';')[0].trim().toLowerCase())) {
    head.contentType += `; charset=${loc.charset}`;
  }
  if (head.contentType) h.push('Content-Type', head.contentType);
  const chunked =
    head.contentLength === undefined &&
    hasBody &&
    r.msg.httpVersionMinor >= 1 &&
    !r.headerOnly &&
    status !== 304 &&
    status !== 204 &&
    loc?.chunkedTransferEncoding !== false;
  if (head.contentLength !== undefined) h.push('Content-Length', String(head.contentLength));
  if (head.lastModified) h.push('Last-Modified', head.lastModified);
  let location = head.location;
  if (location !== undefined && location[0] === '/' && loc?.absoluteRedirect !== false) {
    h.push('Location', absoluteLocation(r, location));
    location = undefined;
  }
  if (chunked) h.push('Transfer-Encoding', 'chunked');
  res.chunked = chunked;
  let keep = wantsKeepAlive(r, loc);
  // an answer sent over a malformed body that was never read: nothing after it can be parsed
  if (r.msg.broken) keep = false;
  if (head.special && CLOSE_AFTER.has(head.status)) keep = false;
  // without a length or chunking, the body ends when the connection closes
  if (head.contentLength === undefined && hasBody && !chunked && !r.headerOnly) keep = false;
  h.push('Connection', keep ? 'keep-alive' : 'close');
  if (keep && loc?.keepaliveHeader) h.push('Keep-Alive', `timeout=${loc.keepaliveHeader}`);
  if (location !== undefined) h.push('Location', location);
  if (head.headers) for (let i = 0; i < head.headers.length; i++) h.push(head.headers[i]);
  if (loc) {
    const filtered = HEADERS_FILTER_CODES.has(status);
    if (filtered && loc.expires && loc.expires.kind !== 'off') addExpires(h, loc.expires);
    for (const a of loc.addHeaders) {
      if (!filtered && !a.always) continue;
      const v = a.value(r);
      if (v !== '') h.push(a.name, v);
    }
  }
  if (head.acceptRanges) h.push('Accept-Ranges', 'bytes');
  r.sentHeaders = h;
  const reason = head.reason ?? REASONS[status] ?? '';
  // a close with the request body still coming lingers (connection.ts), as nginx does
  res.shouldKeepAlive = keep;
  if (keep && loc) r.conn.keepaliveMs = loc.keepaliveTimeout;
  res.writeHead(status, reason, h);
  return keep;
}

function hasHeader(flat: string[], lname: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].length === lname.length && flat[i].toLowerCase() === lname) return true;
  return false;
}

function addExpires(h: string[], e: NonNullable<LocationConf['expires']>): void {
  const now = Date.now();
  if (e.kind === 'epoch') {
    h.push('Expires', 'Thu, 01 Jan 1970 00:00:01 GMT', 'Cache-Control', 'no-cache');
    return;
  }
  if (e.kind === 'max') {
    h.push('Expires', 'Thu, 31 Dec 2037 23:55:55 GMT', 'Cache-Control', 'max-age=315360000');
    return;
  }
  const secs = e.seconds;
  h.push('Expires', formatHttpDate(new Date(now + secs * 1000)));
  h.push('Cache-Control', secs < 0 ? 'no-cache' : `max-age=${secs}`);
}

/** A complete response with a small in-memory body. */
export function sendBody(r: Req, head: Head, body: Buffer | null): void {
  if (body) head.contentLength = body.length;
  writeHead(r, head, !!body && body.length > 0);
  if (body && body.length > 0 && !r.headerOnly) r.bodyBytesSent = body.length;
  logRequest(r);
  if (body && body.length > 0 && !r.headerOnly) r.res.end(body);
  else r.res.end();
}

/** ngx_http_set_content_type: by the URI's extension (case-insensitive), else default_type. */
export function contentTypeFor(r: Req): string {
  const uri = r.uri;
  const dot = uri.lastIndexOf('.');
  if (dot > uri.lastIndexOf('/')) {
    const t = r.loc.types.get(uri.slice(dot + 1).toLowerCase());
    if (t) return t;
  }
  return r.loc.defaultType;
}

/** nginx's own page for an error status (no error_page involved). */
export function sendSpecial(r: Req, code: number, location?: string): void {
  const body = defaultErrorBody(code, r.loc?.serverTokens ?? 'on');
  // a status without a built-in page still goes out with an empty body of known length
  sendBody(
    r,
    { status: code, contentType: body ? 'text/html' : undefined, location, special: true },
    body ? Buffer.from(body, 'latin1') : code === 304 ? null : Buffer.alloc(0),
  );
}

/**
 * send_timeout: armed while the client leaves written data unread (a write returned false),
 * cleared when it drains. On expiry nginx gives up on the client: the connection is closed
 * (reset, with reset_timedout_connection on).
 */
export function sendStalled(r: Req): void {
  if (r.sendTimer || !r.loc || r.loc.sendTimeout <= 0) return;
  r.sendTimer = setTimeout(() => {
    r.sendTimer = undefined;
    logError('info', 'client timed out (110: Connection timed out) while sending response to client', r);
    const socket = r.res.socket;
    if (r.loc.resetTimedoutConnection && socket) socket.resetAndDestroy();
    else r.res.destroy();
  }, r.loc.sendTimeout);
  r.sendTimer.unref();
}

export function sendResumed(r: Req): void {
  if (!r.sendTimer) return;
  clearTimeout(r.sendTimer);
  r.sendTimer = undefined;
}
