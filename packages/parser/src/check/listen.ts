import { sockText, type SockAddr } from './addr.js';
import { addrsFor, parseUrl } from './url.js';
import { parseSize, parseTime } from '../values.js';

export interface HostPort {
  host: string;
  port: number;
  explicitPort: boolean;
}

/** ngx_parse_url's checks for "host[:port]" / "[v6]:port" (no URI part, no listen syntax). */
export function parseUrlHostPort(s: string, defaultPort: number): HostPort | { error: string } {
  const u = parseUrl(s, { defaultPort, noResolve: true });
  if ('err' in u) return { error: u.err };
  const host = u.family === 6 ? u.host.slice(1, -1) : u.host;
  return { host, port: u.port, explicitPort: !u.noPort };
}

export interface ListenSpec {
  /** Socket text of the first address: "127.0.0.1:80", "0.0.0.0:80", "[::1]:80", "unix:/path". */
  addr: string;
  host: string;
  port: number;
  unix?: string;
  defaultServer: boolean;
  /** A host name that must resolve (listen localhost:80). */
  needsResolve?: string;
  params: string[];
  /** Every address the directive stands for (a port range or a literal host gives several). */
  addrs: SockAddr[];
  /** lsopt.set: a parameter that needs its own socket (backlog=, bind, reuseport, ...). */
  set: boolean;
  ssl: boolean;
  http2: boolean;
  proxyProtocol: boolean;
}

const INT = /^[0-9]+$/;

/**
 * ngx_http_core_listen (Linux build): the address and the parameters, with nginx's messages.
 * `resolved` gives the addresses of a host name (from the resolver pass); without it a name
 * yields no addresses and `needsResolve` is set.
 */
export function parseListen(args: readonly string[], resolved?: (host: string) => string[] | null): ListenSpec | { error: string } {
  const url = args[0];
  const u = parseUrl(url, { listen: true, defaultPort: 80 });
  if ('err' in u) return { error: `${u.err} in "${url}" of the "listen" directive` };
  let addrs = u.addrs;
  if (u.resolveName !== undefined) {
    const r = resolved?.(u.resolveName);
    if (r === null) return { error: `host not found in "${url}" of the "listen" directive` };
    addrs = r ? addrsFor(u, r) : [];
  }
  const first = addrs[0];
  const spec: ListenSpec = {
    addr: first ? sockText(first) : `${u.host}:${u.port}`,
    host: u.family === 'unix' ? '' : first ? first.host : u.host,
    port: u.port,
    defaultServer: false,
    params: [],
    addrs,
    set: false,
    ssl: false,
    http2: false,
    proxyProtocol: false,
  };
  if (u.family === 'unix') spec.unix = u.host;
  if (u.resolveName !== undefined && !first) spec.needsResolve = u.resolveName;
  for (let i = 1; i < args.length; i++) {
    const p = args[i];
    spec.params.push(p);
    if (p === 'default_server' || p === 'default') {
      spec.defaultServer = true;
      continue;
    }
    if (p === 'bind' || p === 'reuseport' || p === 'deferred') {
      spec.set = true;
      continue;
    }
    if (p.startsWith('fastopen=')) {
      spec.set = true;
      if (!INT.test(p.slice(9))) return { error: `invalid fastopen "${p}"` };
      continue;
    }
    if (p.startsWith('backlog=')) {
      spec.set = true;
      const v = p.slice(8);
      if (!INT.test(v) || Number(v) === 0) return { error: `invalid backlog "${p}"` };
      continue;
    }
    if (p.startsWith('rcvbuf=') || p.startsWith('sndbuf=')) {
      spec.set = true;
      if (parseSize(p.slice(7)) === null) return { error: `invalid ${p.slice(0, 6)} "${p}"` };
      continue;
    }
    if (p.startsWith('accept_filter=')) {
      // nginx logs "accept filters ... are not supported on this platform, ignored" and goes on
      continue;
    }
    if (p.startsWith('ipv6only=o')) {
      const rest = p.slice(10);
      if (rest !== 'n' && rest !== 'ff') return { error: `invalid ipv6only flags "${p.slice(9)}"` };
      spec.set = true;
      continue;
    }
    if (p === 'ssl') {
      spec.ssl = true;
      continue;
    }
    if (p === 'http2') {
      spec.http2 = true;
      continue;
    }
    if (p.startsWith('so_keepalive=')) {
      const v = p.slice(13);
      if (v !== 'on' && v !== 'off' && !soKeepaliveOk(v)) return { error: `invalid so_keepalive value: "${v}"` };
      spec.set = true;
      continue;
    }
    if (p === 'proxy_protocol') {
      spec.proxyProtocol = true;
      continue;
    }
    return { error: `invalid parameter "${p}"` };
  }
  return spec;
}

/** so_keepalive=idle:intvl:cnt, each part optional but not all empty or zero. */
function soKeepaliveOk(v: string): boolean {
  const parts = v.split(':');
  const idle = parts[0] ?? '';
  const intvl = parts[1] ?? '';
  const cnt = parts.slice(2).join(':');
  let any = false;
  if (idle) {
    const t = parseTime(idle, true);
    if (t === null) return false;
    if (t) any = true;
  }
  if (intvl) {
    const t = parseTime(intvl, true);
    if (t === null) return false;
    if (t) any = true;
  }
  if (cnt) {
    if (!INT.test(cnt)) return false;
    if (Number(cnt)) any = true;
  }
  return any;
}
