import { isIP } from 'node:net';
import { parseNumber } from '../values.js';

export interface HostPort {
  host: string;
  port: number;
  explicitPort: boolean;
}

/** ngx_parse_inet_url's checks for "host[:port]" / "[v6]:port". */
export function parseUrlHostPort(s: string, defaultPort: number): HostPort | { error: string } {
  let host: string;
  let portStr: string | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return { error: 'invalid host' };
    host = s.slice(1, end);
    if (isIP(host) !== 6) return { error: 'invalid IPv6 address' };
    const rest = s.slice(end + 1);
    if (rest.length > 0) {
      if (rest[0] !== ':') return { error: 'invalid host' };
      portStr = rest.slice(1);
    }
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.slice(0, colon);
      portStr = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  let port = defaultPort;
  if (portStr !== undefined) {
    const n = parseNumber(portStr);
    if (n === null || n < 1 || n > 65535) return { error: 'invalid port' };
    port = n;
  }
  if (host.length === 0) return { error: 'no host' };
  return { host, port, explicitPort: portStr !== undefined };
}

export interface ListenSpec {
  /** Normalized socket key: "127.0.0.1:80", "*:80", "[::1]:80", "unix:/path". */
  addr: string;
  host: string;
  port: number;
  unix?: string;
  defaultServer: boolean;
  /** A host name that must resolve (listen localhost:80). */
  needsResolve?: string;
  params: string[];
}

const FLAG_PARAMS = new Set(['default_server', 'default', 'bind', 'ssl', 'http2', 'spdy', 'proxy_protocol', 'reuseport', 'deferred']);
const VALUE_PARAMS = ['backlog=', 'rcvbuf=', 'sndbuf=', 'ipv6only=', 'so_keepalive=', 'setfib=', 'fastopen=', 'accept_filter='];

/** ngx_http_core_listen: the address and the parameters nginx accepts (Linux build). */
export function parseListen(args: readonly string[]): ListenSpec | { error: string } {
  const url = args[0];
  const bad = (err: string) => ({ error: `${err} in "${url}" of the "listen" directive` });
  let spec: ListenSpec;
  if (url.startsWith('unix:')) {
    const p = url.slice(5);
    if (p.length === 0) return bad('no path in the unix domain socket');
    spec = { addr: url, host: '', port: 0, unix: p, defaultServer: false, params: [] };
  } else if (/^[0-9]+$/.test(url)) {
    const n = parseNumber(url);
    if (n === null || n < 1 || n > 65535) return bad('invalid port');
    spec = { addr: `0.0.0.0:${n}`, host: '0.0.0.0', port: n, defaultServer: false, params: [] };
  } else {
    const hp = parseUrlHostPort(url, 80);
    if ('error' in hp) return bad(hp.error);
    let host = hp.host;
    if (host === '*') host = '0.0.0.0';
    const v = isIP(host);
    spec = {
      addr: v === 6 ? `[${host}]:${hp.port}` : `${host}:${hp.port}`,
      host,
      port: hp.port,
      defaultServer: false,
      params: [],
    };
    if (v === 0) spec.needsResolve = host;
  }
  for (let i = 1; i < args.length; i++) {
    const p = args[i];
    if (FLAG_PARAMS.has(p)) {
      if (p === 'default_server' || p === 'default') spec.defaultServer = true;
      spec.params.push(p);
      continue;
    }
    const vp = VALUE_PARAMS.find((x) => p.startsWith(x));
    if (vp) {
      const val = p.slice(vp.length);
      if (vp === 'backlog=' && (parseNumber(val) === null || val === '0')) return { error: `invalid backlog "${val}"` };
      if (vp === 'ipv6only=' && val !== 'on' && val !== 'off') return { error: `invalid ipv6only flags "${val}"` };
      spec.params.push(p);
      continue;
    }
    if (p.startsWith('so_keepalive')) {
      spec.params.push(p);
      continue;
    }
    return { error: `invalid parameter "${p}"` };
  }
  return spec;
}
