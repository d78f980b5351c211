import { logError } from '../log/error-log.js';
import * as os from 'node:os';
import { scriptRefs } from '@nxproxy/parser';
import type { Req } from '../http/request.js';
import type { Script } from './types.js';

export type Getter = (r: Req) => string | undefined;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** $time_local: "30/Nov/2026:08:01:25 +0000". */
export function timeLocal(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

export function timeIso(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${sign}${p2(Math.floor(a / 60))}:${p2(a % 60)}`;
}

function elapsed(r: Req): string {
  const ms = Date.now() - r.startMs;
  return (ms / 1000).toFixed(3);
}

/** nginx's $http_NAME: the name lowercased with "_" for "-". */
function headerName(suffix: string): string {
  return suffix.replace(/_/g, '-').toLowerCase();
}

/** ngx_http_arg: the raw (undecoded) value of the first NAME= argument, name compared case-insensitively. */
export function argValue(args: string, name: string): string | undefined {
  const lname = name.toLowerCase();
  let i = 0;
  while (i <= args.length) {
    let amp = args.indexOf('&', i);
    if (amp < 0) amp = args.length;
    const eq = args.indexOf('=', i);
    if (eq >= 0 && eq < amp && eq - i === lname.length && args.slice(i, eq).toLowerCase() === lname) {
      return args.slice(eq + 1, amp);
    }
    i = amp + 1;
  }
  return undefined;
}

function cookieValue(r: Req, name: string): string | undefined {
  const lname = name.toLowerCase();
  for (const h of r.headers('cookie')) {
    for (const part of h.split(/[;,]/)) {
      const t = part.trim();
      const eq = t.indexOf('=');
      if (eq > 0 && t.slice(0, eq).toLowerCase() === lname) return t.slice(eq + 1);
    }
  }
  return undefined;
}

function sentHeader(r: Req, lname: string): string | undefined {
  const h = r.sentHeaders;
  if (!h) return undefined;
  for (let i = 0; i < h.length; i += 2) if (h[i].toLowerCase() === lname) return h[i + 1];
  return undefined;
}

function upstreamHeader(r: Req, lname: string): string | undefined {
  const h = r.upstreamHeaders;
  if (!h) return undefined;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i].length === lname.length && h[i].toString('latin1').toLowerCase() === lname) return h[i + 1].toString('latin1');
  }
  return undefined;
}

/** "0.004, 0.012" from milliseconds kept per attempt ("-" where there was no connection). */
function seconds(t: number[] | null): string | undefined {
  if (!t) return undefined;
  let s = '';
  for (let i = 0; i < t.length; i++) s += (i ? ', ' : '') + (t[i] < 0 ? '-' : (t[i] / 1000).toFixed(3));
  return s;
}

const HOSTNAME = os.hostname();

/** ngx_escape_uri NGX_ESCAPE_ARGS: what a capture needs inside a redirect's URI. */
function escapeArgs(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x25 || c === 0x26 || c === 0x27 || c === 0x2b || c === 0x3f) {
      out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
    } else out += s[i];
  }
  return out;
}

function requestFilename(r: Req): string {
  const loc = r.loc;
  if (loc.alias !== undefined) return loc.regex ? loc.alias(r) : loc.alias(r) + r.uri.slice(loc.name.length);
  return loc.root + r.uri;
}

const BUILTINS: Record<string, Getter> = {
  host: (r) => r.host || r.server.name,
  hostname: () => HOSTNAME,
  remote_addr: (r) => r.conn.remoteAddr,
  binary_remote_addr: (r) => r.conn.remoteAddr,
  remote_port: (r) => String(r.conn.remotePort),
  server_addr: (r) => r.conn.serverAddr,
  server_port: (r) => String(r.conn.serverPort),
  server_name: (r) => r.server.name,
  server_protocol: (r) => r.protocol,
  scheme: () => 'http',
  https: () => '',
  // the request line as the client sent it (absolute-form targets included)
  request: (r) => (r.msg as { requestLine?: string }).requestLine || `${r.method} ${r.requestUri} ${r.protocol}`,
  request_method: (r) => r.method,
  request_uri: (r) => r.requestUri,
  uri: (r) => r.uri,
  document_uri: (r) => r.uri,
  args: (r) => r.args,
  query_string: (r) => r.args,
  is_args: (r) => (r.args.length > 0 ? '?' : ''),
  content_type: (r) => r.header('content-type'),
  content_length: (r) => r.contentLength,
  request_length: (r) => String(r.requestLength),
  request_time: (r) => elapsed(r),
  status: (r) => {
    const s = r.errStatus || r.status;
    return s ? String(s).padStart(3, '0') : '000';
  },
  body_bytes_sent: (r) => String(r.bodyBytesSent),
  bytes_sent: (r) => String(r.bytesSent),
  upstream_addr: (r) => r.upstreamAddr?.join(', '),
  upstream_status: (r) => r.upstreamStatus?.join(', '),
  upstream_response_time: (r) => seconds(r.upstreamTime),
  upstream_connect_time: (r) => seconds(r.upstreamConnectTime),
  proxy_host: (r) => r.proxyHost,
  proxy_port: (r) => r.proxyPort,
  proxy_add_x_forwarded_for: (r) => {
    const xff = r.headers('x-forwarded-for');
    return xff.length ? `${xff.join(', ')}, ${r.conn.remoteAddr}` : r.conn.remoteAddr;
  },
  time_local: () => timeLocal(new Date()),
  time_iso8601: () => timeIso(new Date()),
  msec: () => (Date.now() / 1000).toFixed(3),
  connection: (r) => String(r.conn.id),
  connection_requests: (r) => String(r.conn.requests),
  pid: () => String(process.pid),
  nginx_version: () => '1.22.1',
  document_root: (r) => r.loc.root,
  request_filename: (r) => requestFilename(r),
  realpath_root: (r) => r.loc.root,
  request_completion: (r) => (r.status ? 'OK' : ''),
  http_cookie: (r) => {
    const c = r.headers('cookie');
    return c.length ? c.join('; ') : undefined;
  },
  http_x_forwarded_for: (r) => {
    const c = r.headers('x-forwarded-for');
    return c.length ? c.join(', ') : undefined;
  },
  msie: () => '',
  limit_rate: () => '0',
  request_id: () => {
    let s = '';
    for (let i = 0; i < 32; i++) s += ((Math.random() * 16) | 0).toString(16);
    return s;
  },
};

/**
 * The variables of one configuration: nginx's built-ins, prefixed families ($http_*, $arg_*,
 * ...), `set` variables and `map` results. Each name compiles once to a getter.
 */
export class Variables {
  private readonly maps = new Map<string, Getter>();
  private readonly cache = new Map<string, Getter>();
  /** Named regex captures anywhere in the config: they read the request's last match. */
  readonly captureNames = new Set<string>();
  /**
   * Names some `set` assigns, anywhere in the config (nginx's variables are global). Read before
   * a request set them, they are empty and, with uninitialized_variable_warn, logged.
   */
  setNames: ReadonlySet<string> = new Set();

  defineMap(name: string, getter: Getter): void {
    this.maps.set(name, getter);
  }

  getter(rawName: string): Getter {
    const name = rawName.toLowerCase();
    const cached = this.cache.get(name);
    if (cached) return cached;
    const g = this.build(name);
    this.cache.set(name, g);
    return g;
  }

  private build(name: string): Getter {
    const map = this.maps.get(name);
    if (map) {
      // a map's value is computed once per request, then kept (nginx caches non-volatile maps)
      return (r) => {
        const v = r.vars?.get(name);
        if (v !== undefined) return v;
        const out = map(r) ?? '';
        r.setVar(name, out);
        return out;
      };
    }
    const builtin = BUILTINS[name];
    if (builtin) {
      return (r) => {
        const v = r.vars?.get(name);
        return v !== undefined ? v : builtin(r);
      };
    }
    if (name === 'http_host') return (r) => r.hostHeader;
    if (name.startsWith('http_')) {
      // nginx compares header names lowercased with "-" read as "_" (so X_Under and X-Under both match)
      const want = name.slice(5);
      return (r) => {
        const raw = r.msg.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          const k = raw[i];
          if (k.length === want.length && k.toLowerCase().replace(/-/g, '_') === want) return raw[i + 1];
        }
        return undefined;
      };
    }
    if (name.startsWith('arg_')) {
      const a = name.slice(4);
      return (r) => argValue(r.args, a);
    }
    if (name.startsWith('cookie_')) {
      const c = name.slice(7);
      return (r) => cookieValue(r, c);
    }
    if (name.startsWith('sent_http_')) {
      const h = headerName(name.slice(10));
      return (r) => sentHeader(r, h);
    }
    if (name.startsWith('upstream_http_')) {
      const h = headerName(name.slice(14));
      return (r) => upstreamHeader(r, h);
    }
    if (/^[0-9]$/.test(name)) {
      const n = Number(name);
      return (r) => r.captures?.[n];
    }
    // set variables, named captures, and anything else set at run time
    if (this.setNames.has(name)) {
      return (r) => {
        const v = r.vars?.get(name) ?? r.namedCaptures?.[name];
        if (v === undefined && r.loc?.uninitializedVariableWarn) logError('warn', `using uninitialized "${name}" variable`, r);
        return v;
      };
    }
    return (r) => r.vars?.get(name) ?? r.namedCaptures?.[name];
  }

  /** Compiles "text $var ${var}text $1" into one function. */
  script(text: string, opts: { escapeCaptures?: boolean } = {}): Script {
    if (text.indexOf('$') < 0) return () => text;
    const parts: (string | Getter)[] = [];
    const len = text.length;
    let i = 0;
    let lit = '';
    while (i < len) {
      const c = text[i];
      if (c !== '$' || i + 1 >= len) {
        lit += c;
        i++;
        continue;
      }
      const n = text[i + 1];
      if (n >= '1' && n <= '9') {
        if (lit) parts.push(lit), (lit = '');
        const idx = Number(n);
        parts.push(opts.escapeCaptures ? (r) => escapeArgs(r.captures?.[idx] ?? '') : (r) => r.captures?.[idx]);
        i += 2;
        continue;
      }
      let j = i + 1;
      let bracket = false;
      if (text[j] === '{') {
        bracket = true;
        j++;
      }
      const start = j;
      while (j < len && /[A-Za-z0-9_]/.test(text[j])) j++;
      const name = text.slice(start, j);
      if (bracket && text[j] === '}') j++;
      if (name.length === 0) {
        lit += c;
        i++;
        continue;
      }
      if (lit) parts.push(lit), (lit = '');
      parts.push(this.getter(name));
      i = j;
    }
    if (lit) parts.push(lit);
    if (parts.length === 1) {
      const p = parts[0];
      return typeof p === 'string' ? () => p : (r) => p(r) ?? '';
    }
    return (r) => {
      let s = '';
      for (let k = 0; k < parts.length; k++) {
        const p = parts[k];
        s += typeof p === 'string' ? p : (p(r) ?? '');
      }
      return s;
    };
  }

  /** Whether a value needs evaluation per request. */
  static hasVariables(text: string): boolean {
    if (text.indexOf('$') < 0) return false;
    const refs = scriptRefs(text);
    return !('error' in refs) && (refs.variables.length > 0 || refs.captures.length > 0);
  }
}
