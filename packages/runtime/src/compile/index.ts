import * as os from 'node:os';
import * as path from 'node:path';
import {
  parseFlag,
  parseListen,
  parseNumber,
  parseSize,
  parseTime,
  type Directive,
  type LoadedConfig,
} from '@nxproxy/parser';
import { expand } from './expand.js';
import { Level } from './level.js';
import { COMBINED, compileLogFormat } from './log-format.js';
import { compileAccess } from './access.js';
import { compileMap } from './map.js';
import { compileProxy, type ProxyCompileContext } from './proxy.js';
import { compileRegex } from './regex.js';
import { compileRewrites } from './rewrite.js';
import type {
  AccessLogTarget,
  ErrorPage,
  LocationConf,
  LocationTree,
  LogFormat,
  RuntimeConfig,
  ServerConf,
  SocketConf,
  UpstreamGroup,
} from './types.js';
import { compileUpstream, type HostTable } from './upstreams.js';
import { Variables } from './variables.js';

export interface CompileOptions {
  /** Resolved addresses of host names used by upstreams (compile does no DNS). */
  hosts?: HostTable;
  /** Running as root: a server without listen gets *:80, else *:8000 (nginx's rule). */
  root?: boolean;
}

/** ngx_http_core_default_types: what nginx knows without a types{} block. */
const DEFAULT_TYPES = new Map([
  ['html', 'text/html'],
  ['gif', 'image/gif'],
  ['jpg', 'image/jpeg'],
]);

class Compiler {
  readonly vars = new Variables();
  readonly upstreams = new Map<string, UpstreamGroup>();
  readonly implicit = new Map<string, UpstreamGroup>();
  readonly logFormats = new Map<string, LogFormat>();
  readonly proxyCtx: ProxyCompileContext;

  constructor(
    readonly config: LoadedConfig,
    readonly opts: CompileOptions,
  ) {
    this.proxyCtx = {
      vars: this.vars,
      prefixed: (p) => this.prefixed(p),
      upstreams: this.upstreams,
      implicit: this.implicit,
      hosts: opts.hosts ?? new Map(),
    };
    this.logFormats.set('combined', compileLogFormat('combined', 'default', COMBINED, this.vars));
  }

  expand(dirs: readonly Directive[]): Directive[] {
    return expand(dirs, this.config);
  }

  /** Every name a `set` assigns under http{}, includes expanded. */
  private setNames(dirs: readonly Directive[]): Set<string> {
    const names = new Set<string>();
    const walk = (list: readonly Directive[]): void => {
      for (const d of list) {
        if (d.name === 'set' && d.args[0]?.value.startsWith('$')) names.add(d.args[0].value.slice(1).toLowerCase());
        else if (d.block && d.name !== 'map' && d.name !== 'types' && d.name !== 'upstream') walk(this.expand(d.block));
      }
    };
    walk(dirs);
    return names;
  }

  prefixed(p: string): string {
    return path.isAbsolute(p) ? p : this.config.prefix + p;
  }

  run(): RuntimeConfig {
    const main = this.expand([...this.config.globals, ...this.config.main.directives]);
    const mainLevel = new Level(undefined, main);
    const http = main.find((d) => d.name === 'http');
    const httpDirs = http ? this.expand(http.block ?? []) : [];
    const httpLevel = new Level(undefined, httpDirs);
    this.vars.setNames = this.setNames(httpDirs);
    for (const d of httpDirs) {
      if (d.name === 'upstream') {
        const g = compileUpstream({ ...d, block: this.expand(d.block ?? []) }, this.vars, this.proxyCtx.hosts);
        this.upstreams.set(g.name.toLowerCase(), g);
      } else if (d.name === 'map') {
        compileMap(d, this.expand(d.block ?? []), this.vars);
      } else if (d.name === 'log_format') {
        const a = d.args.map((x) => x.value);
        const esc = a[1]?.startsWith('escape=') ? a[1].slice(7) : 'default';
        const text = a.slice(esc !== 'default' || a[1]?.startsWith('escape=') ? 2 : 1).join('');
        this.logFormats.set(a[0], compileLogFormat(a[0], esc, text, this.vars));
      }
    }
    const servers: { conf: ServerConf; listens: (ReturnType<typeof parseListen> & { at?: string })[] }[] = [];
    for (const d of httpDirs) {
      if (d.name !== 'server') continue;
      const dirs = this.expand(d.block ?? []);
      const level = new Level(httpLevel, dirs);
      servers.push({
        conf: this.server(level, dirs),
        listens: (level.own('listen') ?? []).map((l) => {
          const spec = parseListen(l.args.map((a) => a.value));
          return 'error' in spec ? spec : { ...spec, at: `${l.file}:${l.termLine}` };
        }),
      });
    }
    const pid = mainLevel.args('pid')?.[0];
    const errorLog = mainLevel.args('error_log');
    return Object.freeze({
      sockets: this.sockets(servers),
      upstreams: new Map([...this.upstreams, ...this.implicit]),
      pidFile: pid ? this.prefixed(pid) : '/run/nxproxy.pid',
      errorLog: {
        path: errorLog ? (errorLog[0] === 'stderr' ? 'stderr' : this.prefixed(errorLog[0])) : 'stderr',
        level: errorLog?.[1] ?? 'error',
        explicit: !!errorLog,
      },
      prefix: this.config.prefix,
      confFile: this.config.confFile,
      hostname: os.hostname(),
    });
  }

  server(level: Level, dirs: Directive[]): ServerConf {
    const names = (level.own('server_name') ?? []).flatMap((d) => d.args.map((a) => a.value));
    const conf = this.location(level, dirs, '', 'server');
    const sc: ServerConf = {
      names,
      // $server_name: the first name, ".example.com" without its dot
      name: (names[0] ?? '').replace(/^\./, ''),
      conf,
      tree: conf.tree!,
      mergeSlashes: parseFlag(level.args('merge_slashes')?.[0] ?? 'on') ?? true,
      ignoreInvalidHeaders: parseFlag(level.args('ignore_invalid_headers')?.[0] ?? 'on') ?? true,
      underscoresInHeaders: parseFlag(level.args('underscores_in_headers')?.[0] ?? 'off') ?? false,
      largeHeaderBuffer: parseSize(level.args('large_client_header_buffers')?.[1] ?? '8k') ?? 8192,
      largeHeaderBuffers: parseNumber(level.args('large_client_header_buffers')?.[0] ?? '4') ?? 4,
      clientHeaderBufferSize: parseSize(level.args('client_header_buffer_size')?.[0] ?? '1k') ?? 1024,
      clientHeaderTimeout: parseTime(level.args('client_header_timeout')?.[0] ?? '60s', false) ?? 60_000,
    };
    return sc;
  }

  /** One location (or server/if) level, merged with its parents. */
  location(level: Level, dirs: Directive[], name: string, modifier: LocationConf['modifier'], regex?: RegExp): LocationConf {
    const a = (n: string) => level.args(n);
    const f = (n: string, d: boolean) => parseFlag(a(n)?.[0] ?? (d ? 'on' : 'off')) ?? d;
    const ms = (n: string, d: string) => parseTime(a(n)?.[0] ?? d, false) ?? 60_000;
    const root = a('root')?.[0] ?? 'html';
    const conf: LocationConf = {
      name,
      modifier,
      regex,
      autoRedirect: false,
      internal: !!level.own('internal'),
      rewrites: [],
      access: [],
      root: this.prefixed(root),
      rootHasVars: root.includes('$'),
      index: a('index') ?? ['index.html'],
      defaultType: a('default_type')?.[0] ?? 'text/plain',
      charset: a('charset')?.[0] === 'off' ? undefined : a('charset')?.[0],
      charsetTypes: new Set(
        a('charset_types') ?? ['text/html', 'text/xml', 'text/plain', 'text/vnd.wap.wml', 'application/javascript', 'application/rss+xml'],
      ),
      types: this.types(level),
      addHeaders: (level.nearest('add_header') ?? []).map((d) => ({
        name: d.args[0].value,
        value: this.vars.script(d.args[1].value),
        always: d.args[2]?.value === 'always',
      })),
      errorPages: this.errorPages(level),
      recursiveErrorPages: f('recursive_error_pages', false),
      uninitializedVariableWarn: f('uninitialized_variable_warn', true),
      clientMaxBodySize: parseSize(a('client_max_body_size')?.[0] ?? '1m') ?? 1048576,
      clientBodyBufferSize: parseSize(a('client_body_buffer_size')?.[0] ?? '16k') ?? 16384,
      clientBodyTempPath: this.prefixed(a('client_body_temp_path')?.[0] ?? 'client_body_temp'),
      clientBodyTimeout: ms('client_body_timeout', '60s'),
      sendTimeout: ms('send_timeout', '60s'),
      resetTimedoutConnection: f('reset_timedout_connection', false),
      keepaliveTimeout: parseTime(a('keepalive_timeout')?.[0] ?? '75s', false) ?? 75_000,
      // keepalive_timeout's second value: the "Keep-Alive: timeout=N" header, in seconds
      keepaliveHeader: parseTime(level.nearestArg('keepalive_timeout', 1) ?? '0', true) ?? 0,
      keepaliveRequests: parseNumber(a('keepalive_requests')?.[0] ?? '1000') ?? 1000,
      keepaliveTime: ms('keepalive_time', '1h'),
      absoluteRedirect: f('absolute_redirect', true),
      serverNameInRedirect: f('server_name_in_redirect', false),
      portInRedirect: f('port_in_redirect', true),
      serverTokens: (a('server_tokens')?.[0] ?? 'on') as 'on' | 'off' | 'build',
      accessLogs: this.accessLogs(level),
      logNotFound: f('log_not_found', true),
      mergeSlashes: f('merge_slashes', true),
      chunkedTransferEncoding: f('chunked_transfer_encoding', true),
      rewriteLog: f('rewrite_log', false),
    };
    // an `if` block serves files from its location's alias
    const alias = level.own('alias') ?? (modifier === 'if' ? level.parent?.own('alias') : undefined);
    if (alias) conf.alias = this.vars.script(this.prefixed(alias[0].args[0].value));
    const rules = level.nearestGroup(['allow', 'deny']);
    conf.access = compileAccess([...(rules.get('allow') ?? []), ...(rules.get('deny') ?? [])].sort((x, y) => x.line - y.line || x.column - y.column));
    const le = level.own('limit_except');
    if (le) {
      const methods = new Set(le[0].args.map((x) => x.value));
      if (methods.has('GET')) methods.add('HEAD');
      const inner = this.expand(le[0].block ?? []).filter((d) => d.name === 'allow' || d.name === 'deny');
      conf.limitExcept = { methods, access: compileAccess(inner) };
    }
    if (f('autoindex', false)) {
      conf.autoindex = {
        format: (a('autoindex_format')?.[0] ?? 'html') as 'html' | 'json' | 'xml' | 'jsonp',
        exactSize: f('autoindex_exact_size', true),
        localtime: f('autoindex_localtime', false),
      };
    }
    const tf = level.own('try_files');
    if (tf) {
      const a = tf[0].args.map((x) => x.value);
      const last = a[a.length - 1];
      conf.tryFiles = {
        // a trailing "/" makes a directory test of the name without it (ngx_http_try_files)
        candidates: a.slice(0, -1).map((x) => ({
          value: this.vars.script(x.endsWith('/') ? x.slice(0, -1) : x),
          dir: x.endsWith('/'),
        })),
        fallback: this.vars.script(last),
        code: /^=\d+$/.test(last) ? Number(last.slice(1)) : undefined,
      };
    }
    const exp = level.nearest('expires');
    if (exp) conf.expires = this.expires(exp[0].args.map((x) => x.value));
    const pass = level.own('proxy_pass');
    if (pass) {
      conf.proxy = compileProxy(pass[0], level, name, this.proxyCtx);
      if (name.endsWith('/') && (modifier === '' || modifier === '^~' || modifier === '=')) conf.autoRedirect = true;
    }
    conf.rewrites = compileRewrites(dirs, {
      vars: this.vars,
      ifConf: (d) => {
        const inner = this.expand(d.block ?? []);
        const ifConf = this.location(new Level(level, inner), inner, name, 'if', regex);
        // an if block without its own content handler keeps the location's
        if (!ifConf.proxy && conf.proxy) ifConf.proxy = conf.proxy;
        return ifConf;
      },
    });
    if (modifier !== 'if') conf.tree = this.tree(level, dirs);
    return conf;
  }

  tree(level: Level, dirs: Directive[]): LocationTree {
    const t: LocationTree = { exact: new Map(), prefixes: [], regexes: [], named: new Map() };
    for (const d of dirs) {
      if (d.name !== 'location') continue;
      const a = d.args.map((x) => x.value);
      let mod = '';
      let name = a[0];
      if (a.length === 2) {
        mod = a[0];
        name = a[1];
      } else if (name.startsWith('=')) (mod = '='), (name = name.slice(1));
      else if (name.startsWith('^~')) (mod = '^~'), (name = name.slice(2));
      else if (name.startsWith('~*')) (mod = '~*'), (name = name.slice(2));
      else if (name.startsWith('~')) (mod = '~'), (name = name.slice(1));
      else if (name.startsWith('@')) mod = '@';
      const inner = this.expand(d.block ?? []);
      const child = new Level(level, inner);
      const regex = mod === '~' || mod === '~*' ? compileRegex(name, mod === '~*') : undefined;
      const lc = this.location(child, inner, name, mod as LocationConf['modifier'], regex);
      if (mod === '=') t.exact.set(name, lc);
      else if (mod === '@') t.named.set(name, lc);
      else if (regex) t.regexes.push(lc);
      else t.prefixes.push(lc);
    }
    t.prefixes.sort((x, y) => y.name.length - x.name.length);
    return t;
  }

  types(level: Level): Map<string, string> {
    const d = level.nearest('types');
    if (!d) return DEFAULT_TYPES;
    const m = new Map<string, string>();
    for (const e of this.expand(d[d.length - 1].block ?? [])) for (const ext of e.args) m.set(ext.value.toLowerCase(), e.name);
    return m;
  }

  errorPages(level: Level): Map<number, ErrorPage> {
    const m = new Map<number, ErrorPage>();
    for (const d of level.nearest('error_page') ?? []) {
      const a = d.args.map((x) => x.value);
      const target = a[a.length - 1];
      let overwrite: ErrorPage['overwrite'];
      let codes = a.slice(0, -1);
      const eq = codes.find((x) => x.startsWith('='));
      if (eq) {
        overwrite = eq.length > 1 ? Number(eq.slice(1)) : 'upstream';
        codes = codes.filter((x) => x !== eq);
      }
      for (const c of codes) m.set(Number(c), { overwrite, target: this.vars.script(target) });
    }
    return m;
  }

  accessLogs(level: Level): AccessLogTarget[] {
    const list = level.nearest('access_log');
    if (!list) return [{ path: this.prefixed('logs/access.log'), format: this.logFormats.get('combined')!, buffer: 0, flush: 0 }];
    const out: AccessLogTarget[] = [];
    for (const d of list) {
      const a = d.args.map((x) => x.value);
      if (a[0] === 'off') continue;
      const fmtName = a[1] && !a[1].includes('=') ? a[1] : 'combined';
      const t: AccessLogTarget = {
        path: a[0] === 'stderr' || a[0].startsWith('/dev/') ? a[0] : this.prefixed(a[0]),
        format: this.logFormats.get(fmtName) ?? this.logFormats.get('combined')!,
        buffer: 0,
        flush: 0,
      };
      for (const p of a.slice(fmtName === 'combined' && !(a[1] === 'combined') ? 1 : 2)) {
        if (p.startsWith('buffer=')) t.buffer = parseSize(p.slice(7)) ?? 0;
        else if (p.startsWith('flush=')) t.flush = parseTime(p.slice(6), false) ?? 0;
        else if (p.startsWith('if=')) t.condition = this.vars.script(p.slice(3));
      }
      out.push(t);
    }
    return out;
  }

  expires(a: string[]): LocationConf['expires'] {
    let v = a[a.length - 1];
    if (v === 'off') return { kind: 'off', seconds: 0 };
    if (v === 'epoch') return { kind: 'epoch', seconds: 0 };
    if (v === 'max') return { kind: 'max', seconds: 0 };
    let kind: 'time' | 'modified' | 'daily' = a.length === 2 ? 'modified' : 'time';
    if (v.startsWith('@')) {
      kind = 'daily';
      v = v.slice(1);
    }
    let sign = 1;
    if (v.startsWith('-')) (sign = -1), (v = v.slice(1));
    else if (v.startsWith('+')) v = v.slice(1);
    return { kind, seconds: sign * (parseTime(v, true) ?? 0) };
  }

  sockets(servers: { conf: ServerConf; listens: (ReturnType<typeof parseListen> & { at?: string })[] }[]): SocketConf[] {
    const byKey = new Map<string, SocketConf>();
    const defaults = new Set<string>();
    for (const s of servers) {
      const listens = s.listens.length
        ? s.listens
        : [parseListen([this.opts.root === false ? '8000' : '80'])];
      for (const l of listens as (ReturnType<typeof parseListen> & { at?: string })[]) {
        if ('error' in l) continue;
        let sock = byKey.get(l.addr);
        if (!sock) {
          sock = { key: l.addr, host: l.host, port: l.port, unix: l.unix, defaultServer: s.conf, exact: new Map(), headWildcards: [], tailWildcards: [], regexes: [] };
          byKey.set(l.addr, sock);
        }
        // TLS is not terminated here: remember where it was asked for, so serving can refuse it
        if (l.params.includes('ssl') && !sock.tlsAt) sock.tlsAt = l.at;
        if (l.defaultServer && !defaults.has(l.addr)) {
          sock.defaultServer = s.conf;
          defaults.add(l.addr);
        }
        const names = s.conf.names.length ? s.conf.names : [''];
        for (const raw of names) {
          if (raw.startsWith('~')) {
            sock.regexes.push([compileRegex(raw.slice(1), false), s.conf]);
            continue;
          }
          const n = raw.toLowerCase();
          if (n.startsWith('.')) {
            if (!sock.exact.has(n.slice(1))) sock.exact.set(n.slice(1), s.conf);
            sock.headWildcards.push([n, s.conf]);
          } else if (n.startsWith('*.')) sock.headWildcards.push([n.slice(1), s.conf]);
          else if (n.endsWith('.*')) sock.tailWildcards.push([n.slice(0, -1), s.conf]);
          else if (!sock.exact.has(n)) sock.exact.set(n, s.conf);
        }
      }
    }
    for (const s of byKey.values()) {
      s.headWildcards.sort((a, b) => b[0].length - a[0].length);
      s.tailWildcards.sort((a, b) => b[0].length - a[0].length);
    }
    return [...byKey.values()];
  }
}

/** Pure: a loaded, checked configuration in, an immutable routing table out. No sockets, no timers. */
export function compile(config: LoadedConfig, opts: CompileOptions = {}): RuntimeConfig {
  return new Compiler(config, opts).run();
}

export type * from './types.js';
