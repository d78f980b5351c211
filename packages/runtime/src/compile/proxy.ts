import { parseFlag, parseNumber, parseOffset, parseSize, parseTime, type Directive } from '@nxproxy/parser';
import type { Level } from './level.js';
import { compileRegex } from './regex.js';
import type { HeaderSetting, ProxyConf, ResolverConf, UpstreamGroup } from './types.js';
import { implicitUpstream, type HostTable } from './upstreams.js';
import { Variables } from './variables.js';

/** ngx_http_proxy_headers[] in 1.22: empty values mean "do not send". */
const DEFAULT_HEADERS: [string, string][] = [
  ['Host', '$proxy_host'],
  ['Connection', 'close'],
  ['Content-Length', '$proxy_internal_body_length'],
  ['Transfer-Encoding', '$proxy_internal_chunked'],
  ['TE', ''],
  ['Keep-Alive', ''],
  ['Expect', ''],
  ['Upgrade', ''],
];

/** ngx_http_proxy_hide_headers[]: upstream response headers not passed by default. */
const DEFAULT_HIDE = ['date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'];

export interface ProxyCompileContext {
  vars: Variables;
  /** A path from the config made absolute against the prefix. */
  prefixed: (p: string) => string;
  upstreams: Map<string, UpstreamGroup>;
  implicit: Map<string, UpstreamGroup>;
  hosts: HostTable;
}

function flag(level: Level, name: string, dflt: boolean): boolean {
  const a = level.args(name);
  return a ? parseFlag(a[0]) ?? dflt : dflt;
}

function msec(level: Level, name: string, dflt: number): number {
  const a = level.args(name);
  return a ? parseTime(a[0], false) ?? dflt : dflt;
}

export function compileProxy(
  pass: Directive,
  level: Level,
  locationName: string,
  ctx: ProxyCompileContext,
): ProxyConf {
  const url = pass.args[0].value;
  const conf: ProxyConf = {
    scheme: 'http',
    hostHeader: '',
    port: '80',
    uriPart: null,
    locationName,
    headers: [],
    skip: new Set(),
    passRequestHeaders: flag(level, 'proxy_pass_request_headers', true),
    passRequestBody: flag(level, 'proxy_pass_request_body', true),
    hide: new Set(),
    httpVersion: (level.args('proxy_http_version')?.[0] as '1.0' | '1.1') ?? '1.0',
    redirects: 'off',
    interceptErrors: flag(level, 'proxy_intercept_errors', false),
    connectTimeout: msec(level, 'proxy_connect_timeout', 60_000),
    sendTimeout: msec(level, 'proxy_send_timeout', 60_000),
    readTimeout: msec(level, 'proxy_read_timeout', 60_000),
    nextUpstream: new Set(level.args('proxy_next_upstream') ?? ['error', 'timeout']),
    nextUpstreamTries: parseNumber(level.args('proxy_next_upstream_tries')?.[0] ?? '0') ?? 0,
    nextUpstreamTimeout: msec(level, 'proxy_next_upstream_timeout', 0),
    buffering: flag(level, 'proxy_buffering', true),
    headerBuffer: parseSize(level.args('proxy_buffer_size')?.[0] ?? '4k') ?? 4096,
    bufferBytes: (() => {
      const b = level.args('proxy_buffers');
      return b ? (parseNumber(b[0]) ?? 8) * (parseSize(b[1]) ?? 4096) : 8 * 4096;
    })(),
    maxTempFileSize: parseOffset(level.args('proxy_max_temp_file_size')?.[0] ?? '1024m') ?? 1073741824,
    tempPath: ctx.prefixed(level.args('proxy_temp_path')?.[0] ?? 'proxy_temp'),
    requestBuffering: flag(level, 'proxy_request_buffering', true),
    ignoreClientAbort: flag(level, 'proxy_ignore_client_abort', false),
    upstreams: ctx.upstreams,
    resolver: resolverOf(level),
  };
  const method = level.args('proxy_method');
  if (method) conf.method = ctx.vars.script(method[0]);
  const body = level.args('proxy_set_body');
  if (body) conf.setBody = ctx.vars.script(body[0]);

  const hasVars = Variables.hasVariables(url);
  if (hasVars) {
    conf.url = ctx.vars.script(url);
  } else {
    const lower = url.toLowerCase();
    conf.scheme = lower.startsWith('https://') ? 'https' : 'http';
    const rest = url.slice(conf.scheme === 'https' ? 8 : 7);
    let hostPort = rest;
    if (rest.startsWith('unix:')) {
      const colon = rest.indexOf(':', 5);
      hostPort = colon >= 0 ? rest.slice(0, colon) : rest;
      conf.uriPart = colon >= 0 ? rest.slice(colon + 1) : null;
      conf.hostHeader = 'localhost';
    } else {
      const slash = rest.search(/[/?]/);
      if (slash >= 0) {
        hostPort = rest.slice(0, slash);
        conf.uriPart = rest.slice(slash);
      }
    }
    const defaultPort = conf.scheme === 'https' ? 443 : 80;
    const named = ctx.upstreams.get(hostPort.toLowerCase());
    if (named) {
      conf.group = named;
      conf.hostHeader = hostPort;
      conf.port = String(defaultPort);
    } else {
      let g = ctx.implicit.get(hostPort);
      if (!g) {
        g = implicitUpstream(hostPort, defaultPort, ctx.hosts);
        ctx.implicit.set(hostPort, g);
      }
      conf.group = g;
      if (!hostPort.startsWith('unix:')) {
        const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
        const port = m?.[2] ? Number(m[2]) : defaultPort;
        conf.port = String(port);
        conf.hostHeader = port === defaultPort ? (m?.[1] ?? hostPort) : `${m?.[1] ?? hostPort}:${port}`;
      }
    }
  }

  // proxy_set_header: the nearest level's list, then the defaults it does not override.
  const set = level.nearest('proxy_set_header') ?? [];
  const headers: HeaderSetting[] = [];
  const names = new Set<string>();
  for (const d of set) {
    const name = d.args[0].value;
    const lname = name.toLowerCase();
    names.add(lname);
    headers.push({ name, lname, value: ctx.vars.script(d.args[1].value) });
  }
  for (const [name, value] of DEFAULT_HEADERS) {
    const lname = name.toLowerCase();
    if (names.has(lname)) continue;
    names.add(lname);
    if (value === '') continue;
    const internal = lname === 'content-length' ? 'length' : lname === 'transfer-encoding' ? 'chunked' : undefined;
    headers.push({ name, lname, value: ctx.vars.script(value), internal });
  }
  conf.headers = headers;
  conf.skip = names;

  const hp = level.nearestGroup(['proxy_hide_header', 'proxy_pass_header']);
  const passed = new Set((hp.get('proxy_pass_header') ?? []).map((d) => d.args[0].value.toLowerCase()));
  for (const h of DEFAULT_HIDE) if (!passed.has(h)) conf.hide.add(h);
  for (const d of hp.get('proxy_hide_header') ?? []) conf.hide.add(d.args[0].value.toLowerCase());

  const redirect = level.nearest('proxy_redirect');
  const explicit = redirect?.filter((d) => d.args.length === 2) ?? [];
  const mode = redirect?.find((d) => d.args.length === 1)?.args[0].value;
  if (mode === 'off') {
    conf.redirects = 'off';
  } else if (redirect && explicit.length > 0 && mode !== 'default') {
    conf.redirects = explicit.map((d) => ({ from: redirectPattern(d.args[0].value), to: ctx.vars.script(d.args[1].value) }));
  } else if (!hasVars || mode === 'default') {
    // proxy_redirect default: the proxy_pass URL becomes the location name (or "/" without a URI part)
    const list: { from: string | RegExp; to: string | ((r: never) => string) }[] = [];
    if (!hasVars) {
      if (conf.uriPart !== null) list.push({ from: url, to: locationName });
      else list.push({ from: url + '/', to: '/' });
    }
    conf.redirects = [
      ...list.map((x) => ({ from: x.from, to: ctx.vars.script(x.to as string) })),
      ...explicit.map((d) => ({ from: redirectPattern(d.args[0].value), to: ctx.vars.script(d.args[1].value) })),
    ];
  }
  return conf;
}

function redirectPattern(s: string): string | RegExp {
  if (s.startsWith('~*')) return compileRegex(s.slice(2), true);
  if (s.startsWith('~')) return compileRegex(s.slice(1), false);
  return s;
}

/** Resolvers by their directive, so every location under one `resolver` shares its cache. */
const resolvers = new WeakMap<Directive, Map<number, ResolverConf>>();

/** `resolver address[:port] ... [valid=time] [ipv6=on|off]` and resolver_timeout, as nginx reads them. */
function resolverOf(level: Level): ResolverConf | null {
  const found = level.nearest('resolver');
  if (!found) return null;
  const d = found[found.length - 1];
  const timeout = parseTime(level.args('resolver_timeout')?.[0] ?? '30s', false) ?? 30_000;
  let byTimeout = resolvers.get(d);
  if (!byTimeout) resolvers.set(d, (byTimeout = new Map()));
  const known = byTimeout.get(timeout);
  if (known) return known;
  const conf: ResolverConf = { servers: [], valid: null, ipv6: true, timeout };
  for (const a of d.args) {
    const v = a.value;
    if (v.startsWith('valid=')) conf.valid = (parseTime(v.slice(6), true) ?? 0) * 1000;
    else if (v.startsWith('ipv6=')) conf.ipv6 = v.slice(5) === 'on';
    else conf.servers.push(dnsServer(v));
  }
  byTimeout.set(timeout, conf);
  return conf;
}

/** An address as Node's resolver takes it: port 53 unless given. */
function dnsServer(v: string): string {
  if (v.startsWith('[')) return v.includes(']:') ? v : `${v}:53`;
  return /:\d+$/.test(v) ? v : `${v}:53`;
}