import * as fs from 'node:fs';
import { accessAllowed } from '../compile/access.js';
import type { RewriteOp, RuntimeConfig, SocketConf } from '../compile/types.js';
import { logError } from '../log/error-log.js';
import { Found, findLocation } from './locate.js';
import { proxyRequest } from './proxy.js';
import type { Req } from './request.js';
import { contentTypeFor, sendBody, sendSpecial } from './respond.js';
import { captureGroups } from '../compile/regex.js';
import { selectServer } from './select.js';
import { aliasPath, serveStatic } from './static.js';
import { normalizePath, parseComplexUri, validateHost } from './uri.js';

const enum Flow {
  Continue,
  Done,
  Relocate,
  Break,
}

/** Internal redirects allowed before nginx gives up with 500 (NGX_HTTP_MAX_URI_CHANGES + 1). */
const MAX_URI_CHANGES = 10;

/** Runs one request through nginx's phases: server selection, find config, rewrite, content. */
export function handleRequest(table: RuntimeConfig, sock: SocketConf, r: Req): void {
  let target = r.requestUri;
  let host: string | undefined;
  if (target.charCodeAt(0) !== 0x2f && /^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const rest = target.slice(target.indexOf('//') + 2);
    const slash = rest.search(/[/?]/);
    host = slash < 0 ? rest : rest.slice(0, slash);
    target = slash < 0 ? '/' : rest[slash] === '?' ? '/' + rest.slice(slash) : rest.slice(slash);
    r.requestUri = target;
  }
  r.server = sock.defaultServer;
  r.loc = r.server.conf;
  if (r.hostCount > 1) return bad(r, 'client sent duplicate host header');
  if (host === undefined) host = r.hostHeader;
  if (host === undefined && r.msg.httpVersionMinor >= 1 && r.msg.httpVersionMajor === 1) {
    return bad(r, 'client sent HTTP/1.1 request without "Host" header');
  }
  if (host !== undefined) {
    const v = validateHost(host);
    if (v === null) return bad(r, 'client sent invalid host header');
    r.host = v;
  }
  r.server = selectServer(sock, r.host, r);
  r.loc = r.server.conf;
  if (target[0] !== '/') return bad(r, 'client sent invalid request');
  // the request line is parsed before Host picks a server: the default server's merge_slashes rules
  const merge = sock.defaultServer.mergeSlashes;
  if (target.indexOf('#') >= 0) {
    // a "#" ends the path, and the arguments too (ngx_http_parse_complex_uri)
    const parsed = parseComplexUri(target, merge);
    if (parsed === null) return bad(r, 'client sent invalid request');
    r.uri = parsed.uri;
    r.args = parsed.args;
  } else {
    const q = target.indexOf('?');
    r.args = q < 0 ? '' : target.slice(q + 1);
    const uri = normalizePath(q < 0 ? target : target.slice(0, q), merge);
    if (uri === null) return bad(r, 'client sent invalid request');
    r.uri = uri;
  }

  const flow = runRewrites(r.server.conf.rewrites, r);
  if (flow === Flow.Done) return;
  findConfig(r);
}

function bad(r: Req, why: string): void {
  logError('info', why + ' while reading client request headers', r);
  sendSpecial(r, 400);
}

/** find_config + location rewrite + content; re-entered after "rewrite ... last" and internal redirects. */
export function findConfig(r: Req): void {
  for (;;) {
    if (r.internalRedirects++ > MAX_URI_CHANGES) {
      logError('error', `rewrite or internal redirection cycle while processing "${r.uri}"`, r);
      r.loc = r.server.conf;
      return finalize(r, 500);
    }
    const m = findLocation(r.server.tree, r.uri, r);
    if (m.found === Found.Redirect) {
      r.loc = m.loc!;
      const loc = m.loc!.name + (r.args ? '?' + r.args : '');
      return sendSpecial(r, 301, loc);
    }
    r.loc = m.loc ?? r.server.conf;
    r.triedFiles = false;
    if (r.loc.internal && !r.internal) return finalize(r, 404);
    const len = r.contentLength === undefined ? 0 : Number(r.contentLength);
    if (len > r.loc.clientMaxBodySize && r.loc.clientMaxBodySize > 0) {
      logError('error', `client intended to send too large body: ${len} bytes`, r);
      return finalize(r, 413);
    }
    const flow = runRewrites(r.loc.rewrites, r);
    if (flow === Flow.Done) return;
    if (flow === Flow.Relocate) continue;
    return content(r, flow === Flow.Break);
  }
}

/** ngx_http_core_try_files_phase: the first candidate that exists becomes the URI, else the fallback. */
function tryFiles(r: Req): boolean {
  const tf = r.loc.tryFiles!;
  const loc = r.loc;
  for (const c of tf.candidates) {
    const value = c.value(r);
    const path = loc.alias !== undefined ? aliasPath(r, value) : loc.root + value;
    try {
      const st = fs.statSync(path);
      if (c.dir ? st.isDirectory() : !st.isDirectory()) {
        r.uri = value;
        return true;
      }
    } catch {
      // next candidate
    }
  }
  if (tf.code !== undefined) {
    finalize(r, tf.code);
    return false;
  }
  const target = tf.fallback(r);
  r.internal = true;
  if (!target.startsWith('@')) {
    const q = target.indexOf('?');
    r.uri = q < 0 ? target : target.slice(0, q);
    if (q >= 0) r.args = target.slice(q + 1);
    r.uriChanged = true;
  } else {
    const named = r.server.tree.named.get(target);
    if (!named) {
      finalize(r, 500);
      return false;
    }
    r.loc = named;
    const flow = runRewrites(named.rewrites, r);
    if (flow === Flow.Done) return false;
    if (flow === Flow.Relocate) {
      findConfig(r);
      return false;
    }
    content(r, flow === Flow.Break);
    return false;
  }
  findConfig(r);
  return false;
}

/** The access phase: limit_except for other methods, then allow/deny. */
function accessDenied(r: Req): boolean {
  const loc = r.loc;
  const le = loc.limitExcept;
  const rules = le && !le.methods.has(r.method) ? le.access : loc.access;
  if (rules.length === 0 || accessAllowed(rules, r.conn.remoteAddr)) return false;
  logError('error', 'access forbidden by rule', r);
  finalize(r, 403);
  return true;
}

function content(r: Req, afterBreak: boolean): void {
  const loc = r.loc;
  if (accessDenied(r)) return;
  if (loc.tryFiles && !r.triedFiles) {
    r.triedFiles = true;
    if (!tryFiles(r)) return;
  }
  if (loc.proxy) return proxyRequest(r, loc.proxy, afterBreak);
  return serveStatic(r);
}

/** The rewrite module's codes for one level. */
function runRewrites(ops: readonly RewriteOp[], r: Req): Flow {
  let changed = false;
  for (const op of ops) {
    switch (op.op) {
      case 'set':
        if (op.name === 'args' || op.name === 'query_string') {
          r.args = op.value(r);
          r.uriChanged = true;
        } else {
          r.setVar(op.name, op.value(r));
        }
        break;
      case 'break':
        return changed ? Flow.Break : Flow.Break;
      case 'return':
        doReturn(r, op);
        return Flow.Done;
      case 'if': {
        if (!op.test(r)) break;
        r.loc = op.conf;
        const f = runRewrites(op.ops, r);
        if (f !== Flow.Continue) return f;
        break;
      }
      case 'rewrite': {
        const m = op.re.exec(r.uri);
        if (!m) break;
        const g = captureGroups(m);
        r.captures = g.captures;
        if (g.named) r.namedCaptures = { ...(r.namedCaptures ?? {}), ...g.named };
        const redirect = op.redirectByScheme || op.flag === 'redirect' || op.flag === 'permanent';
        // captures go into a redirect escaped when the client's URI was (ngx_http_script_copy_capture_code)
        let value = redirect && /[%+]/.test(r.requestUri) ? op.redirectReplacement(r) : op.replacement(r);
        if (redirect) {
          if (op.keepArgs && r.args && !op.hasArgs) value += '?' + r.args;
          else if (op.keepArgs && r.args && op.hasArgs) value += '&' + r.args;
          sendSpecial(r, op.flag === 'permanent' ? 301 : 302, value);
          return Flow.Done;
        }
        const qi = value.indexOf('?');
        if (qi >= 0) {
          const newArgs = value.slice(qi + 1);
          r.args = op.keepArgs && r.args ? newArgs + '&' + r.args : newArgs;
          value = value.slice(0, qi);
        } else if (!op.keepArgs) {
          r.args = '';
        }
        r.uri = value;
        r.uriChanged = true;
        // a rewritten request may enter `internal` locations, as nginx allows
        r.internal = true;
        changed = true;
        if (r.loc.rewriteLog) logError('notice', `rewritten data: "${value}", args: "${r.args}"`, r);
        if (op.flag === 'last') return Flow.Relocate;
        if (op.flag === 'break') return Flow.Break;
        break;
      }
    }
  }
  return changed ? Flow.Relocate : Flow.Continue;
}

/**
 * A handler drops the request body before it answers (ngx_http_discard_request_body): a
 * malformed chunked body shows up here, and the answer is nginx's 400. Returns true then.
 */
export function dropBodyFailed(r: Req): boolean {
  if (!r.msg.broken) return false;
  logError('error', 'client sent invalid chunked body', r);
  sendSpecial(r, 400);
  return true;
}

function doReturn(r: Req, op: Extract<RewriteOp, { op: 'return' }>): void {
  if (op.code === 444) {
    r.res.socket?.destroy();
    r.status = 444;
    return;
  }
  if (op.url) {
    // ngx_http_send_response drops the body first (and so answers "Expect: 100-continue"), then
    // the redirect goes out as nginx's own page
    r.msg.sendContinue();
    if (dropBodyFailed(r)) return;
    return sendSpecial(r, op.code, op.url(r));
  }
  // ngx_http_send_response sets the status before evaluating the text ($status)
  r.status = op.code;
  if (op.text || op.code < 300) {
    r.msg.sendContinue();
    if (dropBodyFailed(r)) return;
    // below 300 without text nginx still sends an empty body with its headers
    const body = Buffer.from(op.text ? op.text(r) : '', 'latin1');
    return sendBody(r, { status: op.code, contentType: contentTypeFor(r) }, body);
  }
  return finalize(r, op.code);
}

/**
 * ngx_http_finalize_request with an error status: error_page if one applies (once, unless
 * recursive_error_pages), else nginx's built-in page.
 */
export function finalize(r: Req, code: number): void {
  if (r.res.headersSent) {
    r.res.destroy();
    return;
  }
  const page = r.loc.errorPages.get(code);
  if (page && (r.errorPageDepth === 0 || r.loc.recursiveErrorPages)) {
    r.errorPageDepth++;
    const target = page.target(r);
    const status = page.overwrite === 'upstream' ? 0 : page.overwrite ?? code;
    if (target.startsWith('@')) {
      const named = r.server.tree.named.get(target);
      if (!named) {
        logError('error', `could not find named location "${target}"`, r);
        return sendSpecial(r, 500);
      }
      r.errStatus = status;
      r.loc = named;
      r.internal = true;
      const flow = runRewrites(named.rewrites, r);
      if (flow === Flow.Done) return;
      if (flow === Flow.Relocate) return findConfig(r);
      return content(r, flow === Flow.Break);
    }
    if (/^https?:\/\//.test(target) || (page.overwrite !== undefined && page.overwrite !== 'upstream' && page.overwrite >= 301 && page.overwrite <= 308 && target[0] !== '/')) {
      return sendSpecial(r, page.overwrite === undefined || page.overwrite === 'upstream' ? 302 : page.overwrite, target);
    }
    r.errStatus = status;
    const q = target.indexOf('?');
    r.uri = q < 0 ? target : target.slice(0, q);
    r.args = q < 0 ? '' : target.slice(q + 1);
    r.uriChanged = true;
    r.internal = true;
    if (r.method !== 'HEAD') r.methodOverride = 'GET';
    return findConfig(r);
  }
  sendSpecial(r, code);
}
