/**
 * ngx_parse_url (core/ngx_inet.c) as far as `nginx -t` can tell: the error texts, the host and
 * port it extracts, and the addresses of literal hosts. Host names are resolved by the caller
 * (synchronously, from a map filled before the walk).
 */
import { canonicalHost, inet6Addr, inetAddr, ntop4, ntop6, type SockAddr } from './addr.js';

export interface UrlOptions {
  /** u.listen: "listen" syntax (bare port, "*", port ranges). */
  listen?: boolean;
  /** u.uri_part: a URI may follow the address (proxy_pass). */
  uriPart?: boolean;
  /** u.no_resolve: do not resolve host names (upstream added by proxy_pass). */
  noResolve?: boolean;
  defaultPort?: number;
}

export interface ParsedUrl {
  /** The host as written ("[::1]" keeps its brackets, as nginx's u.host does). */
  host: string;
  port: number;
  lastPort: number;
  noPort: boolean;
  uri: string;
  family: 4 | 6 | 'unix';
  wildcard: boolean;
  /** Addresses of a literal host (one per port of a range); empty when the name must be resolved. */
  addrs: SockAddr[];
  /** Set when the host is a name that ngx_parse_url would resolve now (not noResolve). */
  resolveName?: string;
}

function atoi(s: string): number | null {
  if (s.length === 0 || !/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function expand(u: ParsedUrl, family: 4 | 6, host: string): SockAddr[] {
  const out: SockAddr[] = [];
  const n = u.lastPort ? u.lastPort - u.port + 1 : 1;
  for (let i = 0; i < n; i++) out.push({ family, host, port: u.port + i });
  return out;
}

/** Addresses for a resolved name (as getaddrinfo returned them), expanded over a port range. */
export function addrsFor(u: ParsedUrl, resolved: string[]): SockAddr[] {
  const out: SockAddr[] = [];
  for (const r of resolved) {
    const c = canonicalHost(r);
    if (c) out.push(...expand(u, c.family, c.host));
  }
  return out;
}

export function parseUrl(url: string, opts: UrlOptions = {}): ParsedUrl | { err: string } {
  if (url.length >= 5 && url.slice(0, 5).toLowerCase() === 'unix:') return parseUnix(url, opts);
  if (url.startsWith('[')) return parseInet6(url, opts);
  return parseInet(url, opts);
}

function parseUnix(url: string, opts: UrlOptions): ParsedUrl | { err: string } {
  let path = url.slice(5);
  let uri = '';
  if (opts.uriPart) {
    const c = path.indexOf(':');
    if (c >= 0) {
      uri = path.slice(c + 1);
      path = path.slice(0, c);
    }
  }
  if (path.length === 0) return { err: 'no path in the unix domain socket' };
  if (path.length + 1 > 108) return { err: 'too long path in the unix domain socket' };
  return {
    host: path,
    port: 0,
    lastPort: 0,
    noPort: false,
    uri,
    family: 'unix',
    wildcard: false,
    addrs: [{ family: 'unix', host: path, port: 0 }],
  };
}

/** Port (or port range with u.listen) after the colon. */
function parsePort(text: string, listen: boolean): { port: number; lastPort: number } | { err: string } {
  let portText = text;
  let lastPort = 0;
  if (listen) {
    const dash = text.indexOf('-');
    if (dash >= 0) {
      const n = atoi(text.slice(dash + 1));
      if (n === null || n < 1 || n > 65535) return { err: 'invalid port' };
      lastPort = n;
      portText = text.slice(0, dash);
    }
  }
  const n = atoi(portText);
  if (n === null || n < 1 || n > 65535) return { err: 'invalid port' };
  if (lastPort && n > lastPort) return { err: 'invalid port range' };
  return { port: n, lastPort };
}

function parseInet(url: string, opts: UrlOptions): ParsedUrl | { err: string } {
  const listen = !!opts.listen;
  let last = url.length;
  let port = url.indexOf(':');
  let uriAt = url.indexOf('/');
  const args = url.indexOf('?');
  if (args >= 0 && (uriAt < 0 || args < uriAt)) uriAt = args;
  let uri = '';
  if (uriAt >= 0) {
    if (listen || !opts.uriPart) return { err: 'invalid host' };
    uri = url.slice(uriAt);
    last = uriAt;
    if (uriAt < port) port = -1;
  }
  const u: ParsedUrl = {
    host: '',
    port: 0,
    lastPort: 0,
    noPort: false,
    uri,
    family: 4,
    wildcard: false,
    addrs: [],
  };
  let hostEnd = last;
  if (port >= 0) {
    const p = parsePort(url.slice(port + 1, last), listen);
    if ('err' in p) return p;
    u.port = p.port;
    u.lastPort = p.lastPort;
    hostEnd = port;
  } else {
    if (uriAt < 0 && listen) {
      // the value may be a bare port (or port range)
      const text = url.slice(0, last);
      let portText = text;
      let err: string | undefined;
      let lastPort = 0;
      let isPort = true;
      const dash = text.indexOf('-');
      if (dash >= 0) {
        const n = atoi(text.slice(dash + 1));
        if (n === null) isPort = false;
        else if (n < 1 || n > 65535) err = 'invalid port';
        else lastPort = n;
        portText = text.slice(0, dash);
      }
      const n = isPort ? atoi(portText) : null;
      if (n !== null) {
        if (err) return { err };
        if (n < 1 || n > 65535) return { err: 'invalid port' };
        if (lastPort && n > lastPort) return { err: 'invalid port range' };
        u.port = n;
        u.lastPort = lastPort;
        u.wildcard = true;
        u.host = '';
        u.addrs = expand(u, 4, '0.0.0.0');
        return u;
      }
    }
    u.noPort = true;
    u.port = opts.defaultPort ?? 0;
    u.lastPort = 0;
  }
  const host = url.slice(0, hostEnd);
  if (host.length === 0) return { err: 'no host' };
  u.host = host;
  if (listen && host === '*') {
    u.wildcard = true;
    u.addrs = expand(u, 4, '0.0.0.0');
    return u;
  }
  const v4 = inetAddr(host);
  if (v4 !== null) {
    if (v4 === 0) u.wildcard = true;
    u.addrs = expand(u, 4, ntop4(v4));
    return u;
  }
  if (!opts.noResolve) u.resolveName = host;
  return u;
}

function parseInet6(url: string, opts: UrlOptions): ParsedUrl | { err: string } {
  const listen = !!opts.listen;
  const close = url.indexOf(']');
  if (close < 0) return { err: 'invalid host' };
  let last = url.length;
  let uri = '';
  const slash = url.indexOf('/', close + 1);
  if (slash >= 0) {
    if (listen || !opts.uriPart) return { err: 'invalid host' };
    uri = url.slice(slash);
    last = slash;
  }
  const u: ParsedUrl = {
    host: '',
    port: 0,
    lastPort: 0,
    noPort: false,
    uri,
    family: 6,
    wildcard: false,
    addrs: [],
  };
  if (close + 1 < last) {
    if (url[close + 1] !== ':') return { err: 'invalid host' };
    const p = parsePort(url.slice(close + 2, last), listen);
    if ('err' in p) return p;
    u.port = p.port;
    u.lastPort = p.lastPort;
  } else {
    u.noPort = true;
    u.port = opts.defaultPort ?? 0;
  }
  const inner = url.slice(1, close);
  if (inner.length === 0) return { err: 'no host' };
  u.host = url.slice(0, close + 1);
  const a = inet6Addr(inner);
  if (!a) return { err: 'invalid IPv6 address' };
  if (a.every((b) => b === 0)) u.wildcard = true;
  u.addrs = expand(u, 6, ntop6(a));
  return u;
}
