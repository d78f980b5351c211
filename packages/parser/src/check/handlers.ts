import * as path from 'node:path';
import type { Directive } from '../ast.js';
import { diag } from '../diagnostic.js';
import type { DirectiveSpec } from '../directives/types.js';
import { parseFlag, parseNumber, parseSize, parseTime } from '../values.js';
import { inetAddr, ptocidr, sockText, type SockAddr } from './addr.js';
import { BUILTIN_VARIABLES } from './builtin-variables.js';
import { httpInit } from './http-init.js';
import { parseIfCondition } from './if-condition.js';
import { parseListen } from './listen.js';
import { scriptRefs } from './script.js';
import { readPasswordFile } from './ssl.js';
import { firstAtLevel, type ConfAddr, type LocationInfo, type RawHandler, type Scope, type ServerInfo, type UpstreamInfo } from './state.js';
import { parseUrl, type ParsedUrl } from './url.js';
import type { Walker } from './walker.js';

export type Handler = (w: Walker, d: Directive, scope: Scope, spec: DirectiveSpec) => void;

/** The argument values (a loop: Array.prototype.map with a closure is slower per call). */
function argValues(d: Directive): string[] {
  const args = d.args;
  const out = new Array<string>(args.length);
  for (let i = 0; i < args.length; i++) out[i] = args[i].value;
  return out;
}

/** Records the variables a value uses (checked once the http block is done), or fails as nginx does. */
export function useScript(w: Walker, d: Directive, value: string): void {
  if (value.indexOf('$') < 0) return;
  const refs = scriptRefs(value);
  if ('error' in refs) throw w.fail(d, refs.error);
  for (const name of refs.variables) w.state.variablesUsed.push({ name: name.toLowerCase(), directive: d });
}

/** Built-in variables a configuration may redefine (NGX_HTTP_VAR_CHANGEABLE). */
const CHANGEABLE = new Set([
  'args',
  'limit_rate',
  'msie',
  'modern_browser',
  'ancient_browser',
  'proxy_host',
  'proxy_port',
  'uid_reset',
  'invalid_referer',
]);

/** ngx_http_add_variable(..., NGX_HTTP_VAR_CHANGEABLE): a built-in that is not changeable is taken. */
function addVariable(w: Walker, d: Directive, name: string): string {
  const lower = name.toLowerCase();
  if (BUILTIN_VARIABLES.has(lower) && !CHANGEABLE.has(lower) && !lower.startsWith('ssl_')) {
    throw w.fail(d, `the duplicate "${name}" variable`);
  }
  w.state.variablesDefined.add(lower);
  return lower;
}

function defineVariable(w: Walker, d: Directive, raw: string): string {
  if (raw.length < 2 || raw[0] !== '$') throw w.fail(d, `invalid variable name "${raw}"`);
  return addVariable(w, d, raw.slice(1));
}

/** Named groups of a PCRE pattern: (?<n>..), (?'n'..), (?P<n>..). */
function namedCaptures(pattern: string): string[] {
  const names: string[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const m = /^(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(pattern.slice(i + 2));
      if (m) names.push(m[1] ?? m[2]);
    }
  }
  return names;
}

/**
 * ngx_http_regex_compile: compiles (errors in PCRE's words) and defines a variable for every
 * named capture.
 */
function regexOrFail(w: Walker, d: Directive, pattern: string, caseless: boolean): void {
  const r = w.regex(pattern, caseless);
  if ('error' in r) throw w.fail(d, r.error, 'regex');
  if ('unsupported' in r) w.warn(d, `nxproxy cannot run ${r.unsupported}`, 'regex-unsupported');
  const names = 'names' in r ? r.names : namedCaptures(pattern);
  for (const n of names) addVariable(w, d, n);
}

/** ngx_http_script_variables_count: any "$" makes a value a script. */
function hasVariables(v: string): boolean {
  return v.includes('$');
}

/** The line of a block's closing "}" (where nginx stands when the block handler reports). */
function closeLine(_w: Walker, d: Directive): number {
  return d.endLine ?? d.termLine;
}

const events: Handler = (w, d, scope) => {
  if (w.state.sawEvents) throw w.fail(d, `"events" directive is duplicate`);
  w.state.sawEvents = true;
  w.block(d.block!, w.child(d, scope, 'events'));
};

const http: Handler = (w, d, scope) => {
  if (w.state.sawHttp) throw w.fail(d, `"http" directive is duplicate`);
  w.state.sawHttp = true;
  const child = w.child(d, scope, 'http', { locations: [] });
  w.state.http = child;
  w.block(d.block!, child);
  httpInit(w, d);
};

const server: Handler = (w, d, scope) => {
  const info: ServerInfo = {
    directive: d,
    listens: [],
    names: [],
    locations: [],
    file: d.file,
    line: d.termLine,
    hasListen: false,
  };
  w.state.servers.push(info);
  const child = w.child(d, scope, 'server', { server: info, locations: info.locations, children: [] });
  info.scope = child;
  w.block(d.block!, child);
  if (!info.hasListen) {
    // ngx_http_core_server: no listen means *:80 (*:8000 when not root)
    const sa: SockAddr = { family: 4, host: '0.0.0.0', port: w.state.root ? 80 : 8000 };
    addListen(w, d, info, sa, { set: false, ssl: false, http2: false, defaultServer: false });
  }
};

/** ngx_http_add_listen / ngx_http_add_addresses: one address of a listen directive. */
function addListen(
  w: Walker,
  d: Directive,
  srv: ServerInfo,
  sa: SockAddr,
  opt: { set: boolean; ssl: boolean; http2: boolean; defaultServer: boolean },
): void {
  const text = sockText(sa);
  srv.listens.push({ addr: text, defaultServer: opt.defaultServer, directive: d });
  const ports = w.state.ports;
  let port = ports.find((p) => p.port === sa.port && p.family === sa.family);
  if (!port) {
    port = { family: sa.family, port: sa.port, addrs: [] };
    ports.push(port);
  }
  const a = port.addrs.find((x) => x.sockaddr.host === sa.host);
  if (!a) {
    const addr: ConfAddr = {
      sockaddr: sa,
      text,
      set: opt.set,
      ssl: opt.ssl,
      http2: opt.http2,
      defaultServerFlag: opt.defaultServer,
      defaultServer: srv,
      servers: [srv],
    };
    port.addrs.push(addr);
    return;
  }
  if (a.servers.includes(srv)) throw w.fail(d, `a duplicate listen ${a.text}`);
  a.servers.push(srv);
  if (opt.set) {
    if (a.set) throw w.fail(d, `duplicate listen options for ${a.text}`);
    a.set = true;
    a.text = text;
  }
  if (opt.defaultServer) {
    if (a.defaultServerFlag) throw w.fail(d, `a duplicate default server for ${a.text}`);
    a.defaultServerFlag = true;
    a.defaultServer = srv;
  }
  a.ssl ||= opt.ssl;
  a.http2 ||= opt.http2;
}

function locationInfo(w: Walker, d: Directive): LocationInfo {
  const a = d.args;
  if (a.length === 2) {
    const m = a[0].value;
    if (m === '=' || m === '^~' || m === '~' || m === '~*') return { name: a[1].value, modifier: m, directive: d };
    throw w.fail(d, `invalid location modifier "${m}"`);
  }
  const n = a[0].value;
  if (n.startsWith('=')) return { name: n.slice(1), modifier: '=', directive: d };
  if (n.startsWith('^~')) return { name: n.slice(2), modifier: '^~', directive: d };
  if (n.startsWith('~*')) return { name: n.slice(2), modifier: '~*', directive: d };
  if (n.startsWith('~')) return { name: n.slice(1), modifier: '~', directive: d };
  if (n.startsWith('@')) return { name: n, modifier: '@', directive: d };
  return { name: n, modifier: '', directive: d };
}

/** Exact ("="), named ("@") and inclusive ("" and "^~") location names each share one name space. */
function locationKind(l: LocationInfo): number {
  const m = l.modifier;
  return m === '=' ? 1 : m === '@' ? 2 : m === '' || m === '^~' ? 3 : 0;
}

/**
 * Notes a duplicate location when the last of `locs` repeats an earlier one of its kind: http
 * init reports the first duplicate in nginx's order (servers in order, each location tree in
 * preorder, which is the order scopes are created: Scope.seq), found here while the block is
 * at hand instead of walking every scope again afterwards.
 */
function noteLocation(w: Walker, scope: Scope, locs: LocationInfo[]): void {
  const n = locs.length;
  if (n < 2) return;
  const best = w.state.duplicateLocationSeq;
  if (best !== undefined && best <= scope.seq!) return;
  const l = locs[n - 1];
  const k = locationKind(l);
  if (k === 0) return;
  let dup = false;
  if (n <= 16) {
    for (let j = 0; j < n - 1 && !dup; j++) dup = locs[j].name === l.name && locationKind(locs[j]) === k;
  } else {
    // many locations: a set of kind+name, built once the list gets long
    let keys = scope.locationKeys;
    if (!keys) {
      keys = scope.locationKeys = new Set();
      for (let j = 0; j < n - 1; j++) {
        const kj = locationKind(locs[j]);
        if (kj !== 0) keys.add(kj + locs[j].name);
      }
    }
    const key = k + l.name;
    dup = keys.has(key);
    keys.add(key);
  }
  if (dup) {
    w.state.duplicateLocation = l;
    w.state.duplicateLocationSeq = scope.seq;
  }
}

const location: Handler = (w, d, scope) => {
  const info = locationInfo(w, d);
  const parentLoc = scope.location;
  if (info.modifier === '~' || info.modifier === '~*') {
    regexOrFail(w, d, info.name, info.modifier === '~*');
  }
  if (parentLoc) {
    if (parentLoc.modifier === '=') {
      throw w.fail(d, `location "${info.name}" cannot be inside the exact location "${parentLoc.name}"`);
    }
    if (parentLoc.modifier === '@') {
      throw w.fail(d, `location "${info.name}" cannot be inside the named location "${parentLoc.name}"`);
    }
    if (info.modifier === '@') throw w.fail(d, `named location "${info.name}" can be on the server level only`);
    const regexParent = parentLoc.modifier === '~' || parentLoc.modifier === '~*';
    if (
      !regexParent &&
      (info.modifier === '' || info.modifier === '=' || info.modifier === '^~') &&
      !info.name.startsWith(parentLoc.name)
    ) {
      throw w.fail(d, `location "${info.name}" is outside location "${parentLoc.name}"`);
    }
  }
  if (scope.locations) {
    scope.locations.push(info);
    noteLocation(w, scope, scope.locations);
  }
  const child = w.child(d, scope, 'location', { location: info, locations: [], server: scope.server, children: [] });
  scope.children?.push(child);
  w.block(d.block!, child);
};

const ifBlock: Handler = (w, d, scope) => {
  const cond = parseIfCondition(d.args.map((a) => a.value));
  if ('error' in cond) throw w.fail(d, cond.error);
  if (cond.kind === 'regex') regexOrFail(w, d, cond.pattern, cond.caseless);
  if ('variable' in cond) useScript(w, d, cond.variable);
  if (cond.kind === 'eq' || cond.kind === 'ne' || cond.kind === 'file') useScript(w, d, cond.value);
  const ctx = scope.ctx === 'server' ? 'sif' : 'lif';
  const child = w.child(d, scope, ctx, {
    location: scope.location,
    server: scope.server,
    noUriPart: 'if',
    locations: [],
    children: [],
  });
  scope.children?.push(child);
  w.block(d.block!, child);
};

const limitExcept: Handler = (w, d, scope) => {
  const methods = new Set([
    'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS', 'PROPFIND',
    'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH',
  ]);
  for (const a of d.args) if (!methods.has(a.value)) w.fail(d, `invalid method "${a.value}"`);
  const child = w.child(d, scope, 'lmt', {
    location: scope.location,
    server: scope.server,
    noUriPart: 'limit_except',
    children: [],
  });
  scope.children?.push(child);
  w.block(d.block!, child);
};

const UPSTREAM_FLAGS_DEFAULT = ['weight', 'max_conns', 'max_fails', 'fail_timeout', 'down', 'backup'];

/** ngx_http_upstream_add: find or create an upstream (explicit upstream{} or implicit). */
function upstreamAdd(w: Walker, d: Directive, u: Pick<ParsedUrl, 'host' | 'port' | 'noPort' | 'family' | 'addrs'>, explicit: boolean): UpstreamInfo {
  const st = w.state;
  const key = u.host.toLowerCase();
  for (const x of st.upstreamList) {
    if (x.host.toLowerCase() !== key) continue;
    if (explicit && x.explicit) throw w.fail(d, `duplicate upstream "${u.host}"`);
    if (x.explicit && !u.noPort) throw w.fail(d, `upstream "${u.host}" may not have port ${u.port}`);
    if (explicit && !x.noPort) {
      w.emit(diag('emerg', 'upstream', `upstream "${u.host}" may not have port ${x.port} in ${x.file}:${x.line}`));
    }
    if (x.port && u.port && x.port !== u.port) continue;
    if (explicit) {
      x.explicit = true;
      x.port = 0;
    }
    return x;
  }
  const info: UpstreamInfo = {
    host: u.host,
    explicit,
    port: u.port,
    noPort: u.noPort,
    file: d.file,
    line: d.termLine,
    servers: u.addrs.length === 1 && (u.port || u.family === 'unix') ? [{ naddrs: 1, backup: false }] : null,
  };
  st.upstreamList.push(info);
  return info;
}

const upstream: Handler = (w, d, scope) => {
  const host = d.args[0].value;
  const info = upstreamAdd(w, d, { host, port: 0, noPort: true, family: 4, addrs: [] }, true);
  info.servers = [];
  w.state.upstreams.set(host.toLowerCase(), d);
  const child = w.child(d, scope, 'upstream', { upstream: info, rawState: { flags: UPSTREAM_FLAGS_DEFAULT, method: false } });
  w.block(d.block!, child);
  if (info.servers.length === 0) {
    w.emit(diag('emerg', 'upstream', 'no servers are inside upstream', { file: d.file, line: closeLine(w, d) }));
  }
};

/** ip_hash, hash, random, least_conn: the balancer decides which server parameters are allowed. */
const balancer: Handler = (w, d, scope, spec) => {
  const st = scope.rawState!;
  if (st.method) w.warn(d, 'load balancing method redefined');
  st.method = true;
  const a = d.args.map((x) => x.value);
  if (d.name === 'least_conn') {
    st.flags = UPSTREAM_FLAGS_DEFAULT;
  } else {
    st.flags = UPSTREAM_FLAGS_DEFAULT.filter((f) => f !== 'backup');
  }
  if (d.name === 'hash') {
    useScript(w, d, a[0]);
    if (a.length === 2 && a[1] !== 'consistent') throw w.fail(d, `invalid parameter "${a[1]}"`);
  } else if (d.name === 'random') {
    if (a.length >= 1 && a[0] !== 'two') throw w.fail(d, `invalid parameter "${a[0]}"`);
    if (a.length >= 2 && a[1] !== 'least_conn') throw w.fail(d, `invalid parameter "${a[1]}"`);
  }
  void spec;
};

const SERVER_PARAMS: Record<string, string | undefined> = {
  'weight=': 'weight',
  'max_conns=': 'max_conns',
  'max_fails=': 'max_fails',
  'fail_timeout=': 'fail_timeout',
  backup: 'backup',
  down: 'down',
};

const upstreamServer: Handler = (w, d, scope) => {
  const info = scope.upstream;
  const flags = (scope.rawState?.flags as string[] | undefined) ?? UPSTREAM_FLAGS_DEFAULT;
  const a = d.args.map((x) => x.value);
  let backup = false;
  for (let i = 1; i < a.length; i++) {
    const p = a[i];
    const eq = p.indexOf('=');
    const name = eq >= 0 ? p.slice(0, eq + 1) : p;
    const val = p.slice(eq + 1);
    const param = SERVER_PARAMS[name];
    if (!param) throw w.fail(d, `invalid parameter "${p}"`);
    if (!flags.includes(param)) throw w.fail(d, `balancing method does not support parameter "${p}"`);
    if (param === 'weight') {
      const n = parseNumber(val);
      if (n === null || n === 0) throw w.fail(d, `invalid parameter "${p}"`);
    } else if (param === 'max_conns' || param === 'max_fails') {
      if (parseNumber(val) === null) throw w.fail(d, `invalid parameter "${p}"`);
    } else if (param === 'fail_timeout') {
      if (parseTime(val, true) === null) throw w.fail(d, `invalid parameter "${p}"`);
    } else if (param === 'backup') backup = true;
  }
  const addr = a[0];
  const u = parseUrl(addr, { defaultPort: 80 });
  if ('err' in u) throw w.fail(d, `${u.err} in upstream "${addr}"`);
  let naddrs = u.addrs.length;
  if (u.resolveName !== undefined) {
    const r = w.resolveHost(u.resolveName);
    if (r === null) throw w.fail(d, `host not found in upstream "${addr}"`, 'host-not-found');
    naddrs = r === undefined ? 1 : r.length;
  }
  info?.servers?.push({ naddrs, backup });
};

const listen: Handler = (w, d, scope) => {
  const srv = scope.server!;
  srv.hasListen = true;
  const r = parseListen(
    d.args.map((x) => x.value),
    (h) => {
      const addrs = w.resolveHost(h);
      return addrs === undefined ? [] : addrs;
    },
  );
  if ('error' in r) throw w.fail(d, r.error, r.error.startsWith('host not found') ? 'host-not-found' : 'invalid');
  for (const sa of r.addrs) {
    addListen(w, d, srv, sa, { set: r.set, ssl: r.ssl, http2: r.http2, defaultServer: r.defaultServer });
  }
};

const serverName: Handler = (w, d, scope) => {
  for (const a of d.args) {
    const v = a.value;
    const ch = v[0];
    if ((ch === '*' && (v.length < 3 || v[1] !== '.')) || (ch === '.' && v.length < 2)) {
      throw w.fail(d, `server name "${v}" is invalid`);
    }
    if (v.includes('/')) w.warn(d, `server name "${v}" has suspicious symbols`);
    if (ch === '~') {
      if (v.length === 1) throw w.fail(d, `empty regex in server name "${v}"`);
      const re = v.slice(1);
      regexOrFail(w, d, re, /[A-Z]/.test(re));
      scope.server?.names.push({ name: v, directive: d, regex: true });
      continue;
    }
    scope.server?.names.push({ name: v, directive: d });
  }
};

/** The schemes each *_pass accepts (ngx_http_*_pass), with their default ports. */
const PASS_SCHEMES: Record<string, { schemes: [string, number][]; required: boolean; uriPart: boolean }> = {
  proxy_pass: { schemes: [['http://', 80], ['https://', 443]], required: true, uriPart: true },
  fastcgi_pass: { schemes: [], required: false, uriPart: false },
  scgi_pass: { schemes: [], required: false, uriPart: false },
  memcached_pass: { schemes: [], required: false, uriPart: false },
  uwsgi_pass: { schemes: [['uwsgi://', 0], ['suwsgi://', 0]], required: false, uriPart: false },
  grpc_pass: { schemes: [['grpc://', 0], ['grpcs://', 0]], required: false, uriPart: false },
};

const SSL_SCHEME = /^(?:https|suwsgi|grpcs):\/\//i;

/** proxy_pass and friends: an upstream implicitly added (resolved at http init). */
const passHandler: Handler = (w, d, scope) => {
  const key = d.name;
  const loc = scope.location;
  if (!firstAtLevel(scope, key)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  const url = d.args[0].value;
  // what http init's *_set_ssl looks at: a variable or an SSL scheme (a superset per module)
  if (hasVariables(url) || SSL_SCHEME.test(url)) (w.state.passes ??= new Set()).add(key);
  if (hasVariables(url)) {
    useScript(w, d, url);
    return;
  }
  // the URL is parsed once per walk for each *_pass: configs repeat the same few upstreams
  let byUrl = w.passUrls.get(key);
  if (!byUrl) w.passUrls.set(key, (byUrl = new Map()));
  let parsed = byUrl.get(url);
  if (!parsed) {
    const def = PASS_SCHEMES[d.name];
    const lower = url.toLowerCase();
    let add = 0;
    let port = 0;
    const scheme = def.schemes.find(([p]) => lower.startsWith(p));
    if (scheme) {
      add = scheme[0].length;
      port = scheme[1];
    } else if (def.required) {
      throw w.fail(d, 'invalid URL prefix');
    }
    const rest = url.slice(add);
    parsed = { rest, u: parseUrl(rest, { uriPart: def.uriPart, noResolve: true, defaultPort: port }) };
    byUrl.set(url, parsed);
  }
  const { rest, u } = parsed;
  if ('err' in u) throw w.fail(d, `${u.err} in upstream "${rest}"`);
  upstreamAdd(w, d, u, false);
  if (d.name === 'proxy_pass' && u.uri.length > 0) {
    if (scope.noUriPart || loc?.modifier === '~' || loc?.modifier === '~*' || loc?.modifier === '@') {
      throw w.fail(
        d,
        `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`,
      );
    }
  }
};

const RETURN_CODES_WITH_URL = new Set([301, 302, 303, 307, 308]);

const returnH: Handler = (w, d) => {
  const a = argValues(d);
  const code = parseNumber(a[0]);
  if (code === null) {
    if (a.length === 2) throw w.fail(d, `invalid return code "${a[0]}"`);
    if (!/^(https?:\/\/|\$scheme)/.test(a[0])) throw w.fail(d, `invalid return code "${a[0]}"`);
    useScript(w, d, a[0]);
    return;
  }
  if (code > 999) throw w.fail(d, `invalid return code "${a[0]}"`);
  void RETURN_CODES_WITH_URL;
  if (a.length === 2) useScript(w, d, a[1]);
};

const rewrite: Handler = (w, d) => {
  const a = argValues(d);
  regexOrFail(w, d, a[0], false);
  if (a.length === 3 && !['last', 'break', 'redirect', 'permanent'].includes(a[2])) {
    throw w.fail(d, `invalid parameter "${a[2]}"`);
  }
  useScript(w, d, a[1]);
};

const set: Handler = (w, d) => {
  const name = d.args[0].value;
  defineVariable(w, d, name);
  useScript(w, d, d.args[1].value);
};

const LOG_LEVELS = ['stderr', 'emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'];

const errorLog: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
  const target = a[0];
  if (target !== 'stderr' && !target.startsWith('syslog:') && !target.startsWith('memory:')) {
    w.state.openFiles.push({ path: path.isAbsolute(target) ? target : w.state.prefix + target, directive: d });
  }
  for (let i = 1; i < a.length; i++) {
    if (!LOG_LEVELS.includes(a[i]) || a[i] === 'stderr') {
      if (i === 1 && a[i].startsWith('debug_')) continue;
      throw w.fail(d, `invalid log level "${a[i]}"`);
    }
  }
};

const logFormat: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
  if (w.state.logFormats.has(a[0])) throw w.fail(d, `duplicate "log_format" name "${a[0]}"`);
  w.state.logFormats.add(a[0]);
  let i = 1;
  if (a[1]?.startsWith('escape=')) {
    const e = a[1].slice(7);
    if (e !== 'default' && e !== 'json' && e !== 'none') throw w.fail(d, `unknown log format escaping "${e}"`);
    i = 2;
  }
  for (; i < a.length; i++) useScript(w, d, a[i]);
};

const accessLog: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
  if (a[0] === 'off') {
    if (a.length > 1) throw w.fail(d, `invalid parameter "${a[1]}"`);
    return;
  }
  const fmt = a[1] && !a[1].includes('=') ? a[1] : 'combined';
  if (fmt !== 'combined' && !w.state.logFormats.has(fmt)) throw w.fail(d, `unknown log format "${fmt}"`);
  for (let i = a[1] && !a[1].includes('=') ? 2 : 1; i < a.length; i++) {
    const p = a[i];
    if (p.startsWith('buffer=')) {
      if (parseSize(p.slice(7)) === null) throw w.fail(d, `invalid buffer size "${p.slice(7)}"`);
    } else if (p.startsWith('flush=')) {
      if (parseTime(p.slice(6), false) === null) throw w.fail(d, `invalid flush time "${p.slice(6)}"`);
    } else if (p.startsWith('gzip')) {
      // compressed logs: accepted
    } else if (p.startsWith('if=')) {
      useScript(w, d, p.slice(3));
    } else {
      throw w.fail(d, `invalid parameter "${p}"`);
    }
  }
  if (a[0].includes('$')) {
    useScript(w, d, a[0]);
  } else if (!a[0].startsWith('syslog:')) {
    w.state.openFiles.push({ path: path.isAbsolute(a[0]) ? a[0] : w.state.prefix + a[0], directive: d });
  }
};

const rootOrAlias: Handler = (w, d, scope) => {
  const isAlias = d.name === 'alias';
  const prev = scope.rawState?.root as string | undefined;
  if (prev !== undefined) {
    if ((prev === 'alias') === isAlias) throw w.fail(d, `"${d.name}" directive is duplicate`);
    throw w.fail(d, `"${d.name}" directive is duplicate, "${prev}" directive was specified earlier`);
  }
  scope.rawState = { ...(scope.rawState ?? {}), root: d.name };
  if (isAlias && scope.location?.modifier === '@') {
    throw w.fail(d, `the "alias" directive cannot be used inside the named location`);
  }
  const v = d.args[0].value;
  if (v.includes('$document_root') || v.includes('${document_root}')) {
    throw w.fail(d, `the $document_root variable cannot be used in the "${d.name}" directive`);
  }
  useScript(w, d, v);
};

const errorPage: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
  let last = a.length - 1;
  if (a[last - 1]?.startsWith('=')) last--;
  for (let i = 0; i < last; i++) {
    const p = a[i];
    if (p.startsWith('=')) {
      if (i !== last - 1 && i !== a.length - 2) throw w.fail(d, `invalid value "${p}"`);
      continue;
    }
    const code = parseNumber(p);
    if (code === null) throw w.fail(d, `invalid value "${p}"`);
    if (code < 300 || code > 599) throw w.fail(d, `value "${p}" must be between 300 and 599`);
  }
  const eq = a.find((x) => x.startsWith('='));
  if (eq && eq.length > 1 && parseNumber(eq.slice(1)) === null) throw w.fail(d, `invalid value "${eq}"`);
  useScript(w, d, a[a.length - 1]);
};

const addHeader: Handler = (w, d) => {
  if (d.args.length === 3 && d.args[2].value !== 'always') throw w.fail(d, `invalid parameter "${d.args[2].value}"`);
  useScript(w, d, d.args[0].value);
  useScript(w, d, d.args[1].value);
};

const expires: Handler = (w, d, scope) => {
  if (!firstAtLevel(scope, 'expires')) throw w.fail(d, `"expires" directive is duplicate`);
  const a = d.args.map((x) => x.value);
  let v = a[0];
  if (a.length === 2) {
    if (a[0] !== 'modified') throw w.fail(d, `invalid value "${a[0]}"`);
    v = a[1];
  }
  if (v === 'epoch' || v === 'max' || v === 'off') return;
  if (v.includes('$')) {
    useScript(w, d, v);
    return;
  }
  let t = v;
  if (t.startsWith('@')) t = t.slice(1);
  else if (t.startsWith('+') || t.startsWith('-')) t = t.slice(1);
  if (parseTime(t, true) === null) throw w.fail(d, `invalid value "${v}"`);
};

const user: Handler = (w, d, scope, spec) => {
  w.slot(d, scope, spec);
  w.state.user = {
    user: d.args[0].value,
    group: d.args[1]?.value,
    directive: d,
  };
  const u = d.args[0].value;
  const g = d.args[1]?.value ?? u;
  const users = w.state.passwd?.();
  if (users && !users.users.has(u)) throw w.fail(d, `getpwnam("${u}") failed`);
  if (users && !users.groups.has(g)) throw w.fail(d, `getgrnam("${g}") failed`);
};

/** ssl_certificate(_key): loaded when http{} is merged; here only variables are noted. */
const sslFile: Handler = (w, d, scope, spec) => {
  w.slot(d, scope, spec);
  const v = d.args[0].value;
  if (hasVariables(v)) useScript(w, d, v);
};

/** ssl_password_file & co: read at parse time (ngx_ssl_read_password_file). */
const passwordFile: Handler = (w, d, scope) => {
  const key = d.name;
  if (!firstAtLevel(scope, key)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  const e = readPasswordFile(w.fsys, w.state.confPrefix, d.args[0].value);
  if (e) throw w.fail(d, e, 'open-failed');
};

/** The deprecated "ssl on|off" (ngx_http_ssl_enable). */
const sslFlag: Handler = (w, d, scope, spec) => {
  const key = spec.module + ':' + d.name;
  if (!firstAtLevel(scope, key)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  if (parseFlag(d.args[0].value) === null) {
    throw w.fail(d, `invalid value "${d.args[0].value}" in "${d.name}" directive, it must be "on" or "off"`);
  }
  w.warn(d, 'the "ssl" directive is deprecated, use the "listen ... ssl" directive instead');
};

/** ngx_http_set_complex_value_zero_slot (proxy_ssl_certificate & co). */
const complexZero: Handler = (w, d, scope) => {
  const key = d.name;
  if (!firstAtLevel(scope, key)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  useScript(w, d, d.args[0].value);
};

/** ngx_set_worker_processes. */
const workerProcesses: Handler = (w, d, scope) => {
  if (!firstAtLevel(scope, d.name)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  const v = d.args[0].value;
  if (v !== 'auto' && parseNumber(v) === null) throw w.fail(d, `"${d.name}" directive invalid value`);
};

/** ngx_http_core_keepalive: "timeout [header_timeout]". */
const keepaliveTimeout: Handler = (w, d, scope, spec) => {
  if (spec.module !== 'ngx_http_core_module') {
    w.slot(d, scope, spec);
    return;
  }
  if (!firstAtLevel(scope, d.name)) throw w.fail(d, `"${d.name}" directive is duplicate`);
  if (parseTime(d.args[0].value, false) === null) throw w.fail(d, `"${d.name}" directive invalid value`);
  if (d.args.length === 2 && parseTime(d.args[1].value, true) === null) {
    throw w.fail(d, `"${d.name}" directive invalid value`);
  }
};

const mapBlock: Handler = (w, d, scope) => {
  useScript(w, d, d.args[0].value);
  defineVariable(w, d, d.args[1].value);
  const child = w.child(d, scope, scope.ctx, { raw: mapEntry, rawState: { keys: new Set<string>() } });
  w.block(d.block!, child);
};

const mapEntry: RawHandler = (w, d, scope) => {
  if (d.block) throw w.fail(d, 'unexpected "{"');
  const st = scope.rawState!;
  const a = [d.name, ...d.args.map((x) => x.value)];
  if (a.length === 1 && (a[0] === 'hostnames' || a[0] === 'volatile')) return;
  if (a.length !== 2) throw w.fail(d, 'invalid number of the map parameters');
  if (a[0] === 'include') {
    w.include(d, scope);
    return;
  }
  const keys = st.keys as Set<string>;
  const key = a[0];
  if (key === 'default') {
    if (st.hasDefault) throw w.fail(d, 'duplicate default map parameter');
    st.hasDefault = true;
  } else if (key.startsWith('~')) {
    const caseless = key.startsWith('~*');
    regexOrFail(w, d, key.slice(caseless ? 2 : 1), caseless);
  } else {
    const k = key.startsWith('\\') ? key.slice(1) : key;
    if (keys.has(k.toLowerCase())) throw w.fail(d, `conflicting parameter "${k}"`);
    keys.add(k.toLowerCase());
  }
  useScript(w, d, a[1]);
};

const typesBlock: Handler = (w, d, scope) => {
  const child = w.child(d, scope, scope.ctx, { raw: typesEntry, rawState: {} });
  w.block(d.block!, child);
};

const typesEntry: RawHandler = (w, d, scope) => {
  if (d.block) throw w.fail(d, 'unexpected "{"');
  if (d.name === 'include') {
    if (d.args.length !== 1) throw w.fail(d, 'invalid number of arguments in "include" directive');
    w.include(d, scope);
    return;
  }
  if (d.args.length === 0) throw w.fail(d, 'invalid number of arguments in "types" directive');
};

/** ngx_http_geo_block: "geo [$address] $variable { ... }". */
const geoBlock: Handler = (w, d, scope) => {
  const a = d.args.map((x) => x.value);
  if (!a[0].startsWith('$')) throw w.fail(d, `invalid variable name "${a[0]}"`);
  if (a.length === 2) {
    w.state.variablesUsed.push({ name: a[0].slice(1).toLowerCase(), directive: d });
    if (!a[1].startsWith('$')) throw w.fail(d, `invalid variable name "${a[1]}"`);
  }
  defineVariable(w, d, a[a.length - 1]);
  const child = w.child(d, scope, scope.ctx, { raw: geoEntry, rawState: { ranges: false, tree: false } });
  w.block(d.block!, child);
};

/** ngx_http_geo: one entry of a geo block. */
const geoEntry: RawHandler = (w, d, scope) => {
  if (d.block) throw w.fail(d, 'unexpected "{"');
  const st = scope.rawState!;
  const v = [d.name, ...d.args.map((x) => x.value)];
  if (v.length === 1) {
    if (v[0] === 'ranges') {
      if (st.tree) throw w.fail(d, 'the "ranges" directive must be the first directive inside "geo" block');
      st.ranges = true;
      return;
    }
    if (v[0] === 'proxy_recursive') return;
  }
  if (v.length !== 2) throw w.fail(d, 'invalid number of the geo parameters');
  if (v[0] === 'include') {
    // ngx_http_geo_include: relative to the conf prefix, no glob
    const file = path.isAbsolute(v[1]) ? v[1] : w.state.confPrefix + v[1];
    const loaded = w.loadFile(file);
    if (!('directives' in loaded)) throw w.fail(d, `open() "${file}" failed (${loaded.errno}: ${loaded.message})`, 'open-failed');
    d.includes = [file];
    w.state.including.push(file);
    try {
      w.walkFile(loaded, scope);
    } finally {
      w.state.including.pop();
    }
    return;
  }
  const cidr = (net: string): string => {
    if (net === '255.255.255.255') return '4/255.255.255.255/32';
    const c = ptocidr(net);
    if (!c) throw w.fail(d, `invalid network "${net}"`);
    if (c.status === 'done') w.warn(d, `low address bits of ${net} are meaningless`);
    return c.key;
  };
  if (v[0] === 'proxy') {
    cidr(v[1]);
    return;
  }
  if (st.ranges) {
    if (v[0] === 'default') return;
    const net = v[0] === 'delete' ? v[1] : v[0];
    const dash = net.indexOf('-');
    const start = dash >= 0 ? inetAddr(net.slice(0, dash)) : null;
    const end = dash >= 0 ? inetAddr(net.slice(dash + 1)) : null;
    if (start === null || end === null || start > end) throw w.fail(d, `invalid range "${net}"`);
    return;
  }
  st.tree = true;
  // ngx_http_geo_cidr: the networks set so far, for "duplicate network" and "no network to delete"
  const nets = (st.nets ??= new Map<string, string>()) as Map<string, string>;
  const add = (key: string, net: string) => {
    const old = nets.get(key);
    if (old !== undefined) w.warn(d, `duplicate network "${net}", value: "${v[1]}", old value: "${old}"`);
    nets.set(key, v[1]);
  };
  if (v[0] === 'default') {
    add('4/0.0.0.0/0', v[0]);
    add('6/0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0/0', v[0]);
    return;
  }
  if (v[0] === 'delete') {
    const key = cidr(v[1]);
    if (!nets.delete(key)) w.warn(d, `no network "${v[1]}" to delete`);
    return;
  }
  add(cidr(v[0]), v[0]);
};

const splitClients: Handler = (w, d, scope) => {
  useScript(w, d, d.args[0].value);
  defineVariable(w, d, d.args[1].value);
  const child = w.child(d, scope, scope.ctx, { raw: splitEntry, rawState: { sum: 0 } });
  w.block(d.block!, child);
};

const splitEntry: RawHandler = (w, d, scope) => {
  if (d.block) throw w.fail(d, 'unexpected "{"');
  if (d.args.length !== 1) throw w.fail(d, 'invalid number of arguments in "split_clients" directive');
  if (d.name !== '*') {
    const pct = /^([0-9]+)(?:\.([0-9]{1,2}))?%$/.exec(d.name);
    if (!pct) throw w.fail(d, `invalid percent value "${d.name}"`);
  }
  void scope;
};

const charsetMap: Handler = (w, d, scope) => {
  const child = w.child(d, scope, scope.ctx, {
    raw: (w2, d2) => {
      if (d2.block) throw w2.fail(d2, 'unexpected "{"');
      if (d2.args.length !== 1) throw w2.fail(d2, 'invalid parameters number');
    },
  });
  w.block(d.block!, child);
};

/** Directives whose arguments nginx compiles as scripts (variables checked at http init). */
const scriptArgs =
  (...positions: number[]): Handler =>
  (w, d, scope, spec) => {
    w.slot(d, scope, spec);
    const all = positions.length === 0;
    d.args.forEach((a, i) => {
      if (all || positions.includes(i)) useScript(w, d, a.value);
    });
  };

/** ngx_http_core_resolver → ngx_resolver_create (1.22: valid= and ipv6= only). */
const resolver: Handler = (w, d, scope) => {
  if (!firstAtLevel(scope, 'resolver')) throw w.fail(d, `"resolver" directive is duplicate`);
  let servers = 0;
  for (const a of d.args) {
    const v = a.value;
    if (v.startsWith('valid=')) {
      if (parseTime(v.slice(6), true) === null) throw w.fail(d, `invalid parameter: ${v}`);
      continue;
    }
    if (v.startsWith('ipv6=')) {
      if (v.slice(5) !== 'on' && v.slice(5) !== 'off') throw w.fail(d, `invalid parameter: ${v}`);
      continue;
    }
    const u = parseUrl(v, { defaultPort: 53 });
    if ('err' in u) throw w.fail(d, `${u.err} in resolver "${v}"`);
    let n = u.addrs.length;
    if (u.resolveName !== undefined) {
      const r = w.resolveHost(u.resolveName);
      if (r === null) throw w.fail(d, `host not found in resolver "${v}"`, 'host-not-found');
      n = r === undefined ? 1 : r.length;
    }
    servers += n;
  }
  if (d.args.length > 0 && servers === 0) throw w.fail(d, 'no name servers defined');
};

export const HANDLERS: Record<string, Handler> = {
  events,
  http,
  server: (w, d, scope, spec) => (scope.ctx === 'upstream' ? upstreamServer : server)(w, d, scope, spec),
  location,
  if: ifBlock,
  limit_except: limitExcept,
  upstream,
  listen,
  server_name: serverName,
  proxy_pass: passHandler,
  return: returnH,
  rewrite,
  set,
  error_log: errorLog,
  log_format: logFormat,
  access_log: accessLog,
  root: rootOrAlias,
  alias: rootOrAlias,
  error_page: errorPage,
  add_header: addHeader,
  add_trailer: addHeader,
  expires,
  user,
  ssl_certificate: (w, d, scope, spec) => {
    w.state.serverSsl = true;
    sslFile(w, d, scope, spec);
  },
  ssl_certificate_key: sslFile,
  ssl: (w, d, scope, spec) => {
    w.state.serverSsl = true;
    sslFlag(w, d, scope, spec);
  },
  ssl_reject_handshake: (w, d, scope, spec) => {
    w.state.serverSsl = true;
    w.slot(d, scope, spec);
  },
  ssl_password_file: passwordFile,
  proxy_ssl_password_file: passwordFile,
  uwsgi_ssl_password_file: passwordFile,
  grpc_ssl_password_file: passwordFile,
  proxy_ssl_certificate: complexZero,
  proxy_ssl_certificate_key: complexZero,
  uwsgi_ssl_certificate: complexZero,
  uwsgi_ssl_certificate_key: complexZero,
  grpc_ssl_certificate: complexZero,
  grpc_ssl_certificate_key: complexZero,
  worker_processes: workerProcesses,
  pid: (w, d, scope, spec) => {
    w.slot(d, scope, spec);
    const v = d.args[0].value;
    w.state.pid = path.isAbsolute(v) ? v : w.state.prefix + v;
  },
  keepalive_timeout: keepaliveTimeout,
  fastcgi_pass: passHandler,
  scgi_pass: passHandler,
  uwsgi_pass: passHandler,
  grpc_pass: passHandler,
  memcached_pass: passHandler,
  ip_hash: balancer,
  least_conn: balancer,
  random: balancer,
  map: mapBlock,
  types: typesBlock,
  geo: geoBlock,
  split_clients: splitClients,
  charset_map: charsetMap,
  resolver,
  proxy_set_header: scriptArgs(1),
  grpc_set_header: scriptArgs(1),
  fastcgi_param: scriptArgs(1),
  uwsgi_param: scriptArgs(1),
  scgi_param: scriptArgs(1),
  proxy_set_body: scriptArgs(0),
  proxy_redirect: scriptArgs(0, 1),
  try_files: scriptArgs(),
  index: scriptArgs(),
  limit_req_zone: scriptArgs(0),
  limit_conn_zone: scriptArgs(0),
  hash: balancer,
  proxy_cache_key: scriptArgs(0),
  proxy_no_cache: scriptArgs(),
  proxy_cache_bypass: scriptArgs(),
  auth_request_set: (w, d) => {
    defineVariable(w, d, d.args[0].value);
    useScript(w, d, d.args[1].value);
  },
  secure_link: scriptArgs(0),
  secure_link_md5: scriptArgs(0),
  sub_filter: scriptArgs(0, 1),
  auth_basic: scriptArgs(0),
};

export const RAW_BLOCKS = new Set(['types', 'map', 'geo', 'split_clients', 'charset_map']);
