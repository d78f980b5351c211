import * as path from 'node:path';
import type { Directive } from '../ast.js';
import type { DirectiveSpec } from '../directives/types.js';
import { translateRegex } from '../regex.js';
import { parseNumber, parseSize, parseTime } from '../values.js';
import { parseIfCondition } from './if-condition.js';
import { parseListen, parseUrlHostPort } from './listen.js';
import { scriptRefs } from './script.js';
import type { LocationInfo, RawHandler, Scope, ServerInfo } from './state.js';
import type { Walker } from './walker.js';

export type Handler = (w: Walker, d: Directive, scope: Scope, spec: DirectiveSpec) => void;

/** Records the variables a value uses (checked once the http block is done), or fails as nginx does. */
export function useScript(w: Walker, d: Directive, value: string): void {
  if (value.indexOf('$') < 0) return;
  const refs = scriptRefs(value);
  if ('error' in refs) throw w.fail(d, refs.error);
  for (const name of refs.variables) w.state.variablesUsed.push({ name: name.toLowerCase(), directive: d });
}

function defineVariable(w: Walker, d: Directive, raw: string): string {
  if (raw.length < 2 || raw[0] !== '$') throw w.fail(d, `invalid variable name "${raw}"`);
  const name = raw.slice(1).toLowerCase();
  w.state.variablesDefined.add(name);
  return name;
}

function regexOrFail(w: Walker, d: Directive, pattern: string, caseless: boolean): void {
  const r = translateRegex(pattern, caseless);
  if ('error' in r) throw w.fail(d, r.error, 'regex');
  if ('unsupported' in r) w.warn(d, `nxproxy cannot run ${r.unsupported}`, 'regex-unsupported');
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
  w.block(d.block!, child);
};

const server: Handler = (w, d, scope) => {
  const info: ServerInfo = { directive: d, listens: [], names: [], locations: [] };
  w.state.servers.push(info);
  const child = w.child(d, scope, 'server', { server: info, locations: info.locations });
  w.block(d.block!, child);
};

function locationInfo(w: Walker, d: Directive): LocationInfo {
  const a = d.args.map((x) => x.value);
  if (a.length === 2) {
    const m = a[0];
    if (m === '=' || m === '^~' || m === '~' || m === '~*') return { name: a[1], modifier: m, directive: d };
    throw w.fail(d, `invalid location modifier "${m}"`);
  }
  const n = a[0];
  if (n.startsWith('=')) return { name: n.slice(1), modifier: '=', directive: d };
  if (n.startsWith('^~')) return { name: n.slice(2), modifier: '^~', directive: d };
  if (n.startsWith('~*')) return { name: n.slice(2), modifier: '~*', directive: d };
  if (n.startsWith('~')) return { name: n.slice(1), modifier: '~', directive: d };
  if (n.startsWith('@')) return { name: n, modifier: '@', directive: d };
  return { name: n, modifier: '', directive: d };
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
  scope.locations?.push(info);
  const child = w.child(d, scope, 'location', { location: info, locations: [], server: scope.server });
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
  });
  w.block(d.block!, child);
};

const limitExcept: Handler = (w, d, scope) => {
  const methods = new Set([
    'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS', 'PROPFIND',
    'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH',
  ]);
  for (const a of d.args) if (!methods.has(a.value)) w.fail(d, `invalid method "${a.value}"`);
  const child = w.child(d, scope, 'lmt', { location: scope.location, server: scope.server, noUriPart: 'limit_except' });
  w.block(d.block!, child);
};

const upstream: Handler = (w, d, scope) => {
  const name = d.args[0].value.toLowerCase();
  if (w.state.upstreams.has(name)) throw w.fail(d, `duplicate upstream "${d.args[0].value}"`);
  w.state.upstreams.set(name, d);
  const child = w.child(d, scope, 'upstream');
  w.block(d.block!, child);
};

const UPSTREAM_SERVER_PARAMS = /^(weight|max_fails|fail_timeout|max_conns|slow_start|route|service|resolve)=|^(backup|down|resolve)$/;

const upstreamServer: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
  for (let i = 1; i < a.length; i++) {
    const p = a[i];
    if (p.startsWith('weight=') || p.startsWith('max_fails=') || p.startsWith('max_conns=')) {
      const n = parseNumber(p.slice(p.indexOf('=') + 1));
      if (n === null || (p.startsWith('weight=') && n === 0)) throw w.fail(d, `invalid parameter "${p}"`);
    } else if (p.startsWith('fail_timeout=')) {
      if (parseTime(p.slice(13), true) === null) throw w.fail(d, `invalid parameter "${p}"`);
    } else if (p === 'backup' || p === 'down') {
      // allowed; "backup" is checked against the balancer at http init
    } else if (!UPSTREAM_SERVER_PARAMS.test(p) || p.startsWith('slow_start=') || p.startsWith('route=') || p.startsWith('service=') || p.startsWith('resolve')) {
      throw w.fail(d, `invalid parameter "${p}"`);
    }
  }
  const addr = a[0];
  if (addr.startsWith('unix:')) return;
  const hp = parseUrlHostPort(addr, 80);
  if ('error' in hp) throw w.fail(d, `${hp.error} in upstream "${addr}"`);
  w.state.hostChecks.push({
    host: hp.host,
    directive: d,
    message: `host not found in upstream "${addr}"`,
    atInit: false,
    seq: w.state.diagnostics.length,
  });
};

const listen: Handler = (w, d, scope) => {
  const r = parseListen(d.args.map((x) => x.value));
  if ('error' in r) throw w.fail(d, r.error);
  scope.server?.listens.push({ addr: r.addr, defaultServer: r.defaultServer, directive: d });
};

const serverName: Handler = (w, d, scope) => {
  for (const a of d.args) {
    const v = a.value;
    if (v.startsWith('~')) {
      if (v.length === 1) throw w.fail(d, `empty regex in server name "${v}"`);
      regexOrFail(w, d, v.slice(1), false);
    } else if (v.includes('/')) {
      throw w.fail(d, `server name "${v}" has suspicious symbols`);
    }
    scope.server?.names.push({ name: v, directive: d });
  }
};

const proxyPass: Handler = (w, d, scope) => {
  const key = 'proxy_pass';
  const loc = scope.location;
  if (scope.seen.has(key)) throw w.fail(d, `"proxy_pass" directive is duplicate`);
  scope.seen.add(key);
  const url = d.args[0].value;
  if (url.indexOf('$') >= 0) {
    useScript(w, d, url);
    return;
  }
  const lower = url.toLowerCase();
  let rest: string;
  if (lower.startsWith('http://')) rest = url.slice(7);
  else if (lower.startsWith('https://')) rest = url.slice(8);
  else throw w.fail(d, `invalid URL prefix in "${url}"`);
  let hostPort = rest;
  let uri = '';
  if (rest.startsWith('unix:')) {
    const colon = rest.indexOf(':', 5);
    hostPort = colon >= 0 ? rest.slice(0, colon) : rest;
    uri = colon >= 0 ? rest.slice(colon + 1) : '';
  } else {
    const slash = rest.search(/[/?]/);
    if (slash >= 0) {
      hostPort = rest.slice(0, slash);
      uri = rest.slice(slash);
    }
  }
  if (uri.length > 0 && (scope.noUriPart || loc?.modifier === '~' || loc?.modifier === '~*' || loc?.modifier === '@')) {
    throw w.fail(
      d,
      `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`,
    );
  }
  if (hostPort.startsWith('unix:')) return;
  const hp = parseUrlHostPort(hostPort, lower.startsWith('https://') ? 443 : 80);
  if ('error' in hp) throw w.fail(d, `${hp.error} in "${url}"`);
  if (!w.state.upstreams.has(hp.host.toLowerCase()) || hp.explicitPort) {
    w.state.hostChecks.push({
      host: hp.host,
      directive: d,
      message: `host not found in upstream "${hostPort}"`,
      atInit: true,
      upstreamName: hp.host.toLowerCase(),
      explicitPort: hp.explicitPort,
      seq: 0,
    });
  }
};

const RETURN_CODES_WITH_URL = new Set([301, 302, 303, 307, 308]);

const returnH: Handler = (w, d) => {
  const a = d.args.map((x) => x.value);
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
  const a = d.args.map((x) => x.value);
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
  if (scope.seen.has('expires')) throw w.fail(d, `"expires" directive is duplicate`);
  scope.seen.add('expires');
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

const sslFile =
  (kind: 'certificate' | 'key'): Handler =>
  (w, d) => {
    const v = d.args[0].value;
    if (v.includes('$')) {
      useScript(w, d, v);
      return;
    }
    if (v.startsWith('data:') || v.startsWith('engine:')) return;
    w.state.certificates.push({ path: path.isAbsolute(v) ? v : w.state.confPrefix + v, directive: d, kind });
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

const geoBlock: Handler = (w, d, scope) => {
  const a = d.args.map((x) => x.value);
  if (a.length === 2) useScript(w, d, a[0]);
  defineVariable(w, d, a[a.length - 1]);
  const child = w.child(d, scope, scope.ctx, { raw: geoEntry, rawState: {} });
  w.block(d.block!, child);
};

const geoEntry: RawHandler = (w, d, scope) => {
  if (d.block) throw w.fail(d, 'unexpected "{"');
  const n = d.args.length + 1;
  if (d.name === 'include' && n === 2) {
    w.include(d, scope);
    return;
  }
  if (n === 1 && (d.name === 'ranges')) return;
  if (n !== 2) throw w.fail(d, 'invalid number of the geo parameters');
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

const resolver: Handler = (w, d) => {
  for (const a of d.args) {
    const v = a.value;
    if (v.includes('=')) continue;
    const hp = parseUrlHostPort(v, 53);
    if ('error' in hp) throw w.fail(d, `${hp.error} in resolver "${v}"`);
    w.state.hostChecks.push({
      host: hp.host,
      directive: d,
      message: `host not found in resolver "${v}"`,
      atInit: false,
      seq: w.state.diagnostics.length,
    });
  }
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
  proxy_pass: proxyPass,
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
  ssl_certificate: sslFile('certificate'),
  ssl_certificate_key: sslFile('key'),
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
  hash: scriptArgs(0),
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
