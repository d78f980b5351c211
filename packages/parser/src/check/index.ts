import * as dns from 'node:dns';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { ConfigFile, Directive } from '../ast.js';
import { diag, type Diagnostic } from '../diagnostic.js';
import { parseText } from '../parser.js';
import { BUILTIN_VARIABLES, VARIABLE_PREFIXES } from './builtin-variables.js';
import { errnoOf, nodeFs, type ConfigFs } from './files.js';
import { parseListen } from './listen.js';
import type { HostCheck, LocationInfo, Scope, WalkState } from './state.js';
import { isEmerg, Stop, Walker } from './walker.js';

export interface CheckOptions {
  /** Install prefix (-p), with or without the trailing slash. */
  prefix: string;
  /** The main config file, absolute or relative to the prefix (-c). */
  confFile: string;
  /** -g directives. */
  globals?: string;
  fs?: ConfigFs;
  /** Resolve upstream/resolver host names as nginx does at load (default true). */
  resolve?: (host: string) => Promise<boolean>;
  /** Open log files as nginx -t does (default true). */
  openFiles?: boolean;
  /** getpwnam/getgrnam emulation; undefined = read /etc/passwd and /etc/group when root. */
  passwd?: () => { users: Set<string>; groups: Set<string> } | undefined;
}

export interface LoadedConfig {
  /** Absolute path of the main file. */
  confFile: string;
  prefix: string;
  confPrefix: string;
  /** Every file parsed, in first-open order (what -T prints). */
  files: Map<string, ConfigFile>;
  texts: Map<string, string>;
  /** -g directives, then the main file's directives; includes are expanded via Directive.includes. */
  globals: Directive[];
  main: ConfigFile;
}

export interface CheckResult {
  ok: boolean;
  /** Diagnostics in the order nginx prints them; the first emerg ends the list. */
  diagnostics: Diagnostic[];
  /** How many of the diagnostics come before "syntax is ok" (-1: that line is never printed). */
  syntaxOkAfter: number;
  /** nxproxy's own warnings about directives it does not implement. */
  unimplemented: WalkState['unimplemented'];
  config?: LoadedConfig;
}

function readAccounts(): { users: Set<string>; groups: Set<string> } | undefined {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return undefined;
  const names = (file: string) => {
    try {
      return new Set(
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .map((l) => l.split(':')[0])
          .filter(Boolean),
      );
    } catch {
      return new Set<string>();
    }
  };
  return { users: names('/etc/passwd'), groups: names('/etc/group') };
}

async function defaultResolve(host: string): Promise<boolean> {
  if (isIP(host)) return true;
  try {
    const r = await dns.promises.lookup(host, { all: true });
    return r.length > 0;
  } catch {
    return false;
  }
}

export function normalizePrefix(p: string): string {
  const abs = path.resolve(p);
  return abs.endsWith('/') ? abs : abs + '/';
}

/**
 * `nginx -t`: load, parse and check a configuration as nginx 1.22 does, in nginx's order.
 */
export async function checkConfig(opts: CheckOptions): Promise<CheckResult> {
  const prefix = normalizePrefix(opts.prefix);
  const confFile = path.isAbsolute(opts.confFile) ? opts.confFile : prefix + opts.confFile;
  const confPrefix = path.dirname(confFile) + '/';
  const fsys = opts.fs ?? nodeFs;
  const state: WalkState = {
    prefix,
    confPrefix,
    confFile,
    diagnostics: [],
    files: new Map(),
    texts: new Map(),
    including: [],
    unimplemented: [],
    sawEvents: false,
    sawHttp: false,
    variablesUsed: [],
    variablesDefined: new Set(),
    upstreams: new Map(),
    servers: [],
    logFormats: new Set(),
    openFiles: [],
    hostChecks: [],
    certificates: [],
    passwd: opts.passwd ?? readAccounts,
  };
  const walker = new Walker(state, fsys);
  const mainScope: Scope = { ctx: 'main', seen: new Set() };
  let globals: Directive[] = [];
  let main: ConfigFile | undefined;
  let syntaxOkAfter = -1;
  let stopped = false;
  try {
    if (opts.globals) {
      const g = parseText(opts.globals, 'command line');
      globals = g.directives;
      for (const d of g.directives) {
        if (d.block) walker.fail(d, 'block directives are not supported in -g option');
        d.termLine = 0;
      }
      if (g.syntaxError) {
        walker.emit({ ...g.syntaxError, file: 'command line' });
      }
      walker.block(g.directives, mainScope);
    }
    const loaded = walker.loadFile(confFile);
    if (!('directives' in loaded)) {
      walker.emit(diag('emerg', 'open-failed', `open() "${confFile}" failed (${loaded.errno}: ${loaded.message})`));
      throw new Stop();
    }
    main = loaded;
    state.including.push(confFile);
    walker.walkFile(loaded, mainScope);
    httpInit(walker);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    stopped = true;
  }

  // Host names resolve at their place in the stream; the walk ran ahead, so cut it back.
  const resolve = opts.resolve ?? defaultResolve;
  const checks = state.hostChecks.filter((c) => !(c.atInit && c.upstreamName && state.upstreams.has(c.upstreamName) && !c.explicitPort));
  const results = await Promise.all(checks.map((c) => resolve(c.host)));
  const failedAt = checks.findIndex((_, i) => !results[i]);
  if (failedAt >= 0) {
    const c: HostCheck = checks[failedAt];
    const seq = c.atInit ? state.httpInitSeq ?? state.diagnostics.length : c.seq;
    if (seq <= state.diagnostics.length && (!stopped || seq < state.diagnostics.length || true)) {
      const firstEmerg = state.diagnostics.findIndex(isEmerg);
      if (firstEmerg < 0 || seq <= firstEmerg) {
        state.diagnostics.length = Math.min(seq, state.diagnostics.length);
        state.diagnostics.push(diag('emerg', 'host-not-found', c.message, walker.where(c.directive)));
        stopped = true;
      }
    }
  }

  if (!stopped) {
    syntaxOkAfter = state.diagnostics.length;
    try {
      postParse(walker, opts.openFiles ?? true);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
  }
  const ok = !state.diagnostics.some(isEmerg);
  const result: CheckResult = {
    ok,
    diagnostics: state.diagnostics,
    syntaxOkAfter: ok || syntaxOkAfter >= 0 ? syntaxOkAfter : -1,
    unimplemented: state.unimplemented,
  };
  if (main) {
    result.config = { confFile, prefix, confPrefix, files: state.files, texts: state.texts, globals, main };
  }
  return result;
}

/** What ngx_http_block does once the http{} block is read: upstreams, locations, variables, servers. */
function httpInit(w: Walker): void {
  const st = w.state;
  st.httpInitSeq = st.diagnostics.length;
  for (const c of st.certificates) {
    const text = w.fsys.read(c.path);
    if (typeof text !== 'string') {
      const what = c.kind === 'certificate' ? 'certificate' : 'certificate key';
      const sslErr =
        c.errnoText?.(c.path) ??
        `error:80000002:system library::No such file or directory:calling fopen(${c.path}, r) error:10000080:BIO routines::no such file`;
      w.fail(c.directive, `cannot load ${what} "${c.path}": BIO_new_file() failed (SSL: ${sslErr})`, 'certificate');
    }
  }
  for (const srv of st.servers) duplicateLocations(w, srv.locations);
  for (const u of st.variablesUsed) {
    const n = u.name;
    if (BUILTIN_VARIABLES.has(n) || st.variablesDefined.has(n)) continue;
    if (VARIABLE_PREFIXES.some((p) => n.startsWith(p))) continue;
    w.emit(diag('emerg', 'unknown-variable', `unknown "${n}" variable`));
  }
  // Servers by listen socket: duplicate default servers and conflicting names.
  const sockets = new Map<string, { defaultSeen: boolean; names: Map<string, boolean> }>();
  for (const srv of st.servers) {
    const listens = srv.listens.length > 0 ? srv.listens : null;
    const addrs = listens ? listens.map((l) => ({ addr: l.addr, def: l.defaultServer, d: l.directive })) : [{ addr: '0.0.0.0:80', def: false, d: srv.directive }];
    const seenHere = new Set<string>();
    for (const a of addrs) {
      let s = sockets.get(a.addr);
      if (!s) sockets.set(a.addr, (s = { defaultSeen: false, names: new Map() }));
      if (a.def) {
        if (s.defaultSeen) w.fail(a.d, `a duplicate default server for ${a.addr}`);
        s.defaultSeen = true;
      }
      if (seenHere.has(a.addr)) w.fail(a.d, `duplicate listen options for ${a.addr}`);
      seenHere.add(a.addr);
      const names = srv.names.length > 0 ? srv.names : [{ name: '', directive: srv.directive }];
      for (const n of names) {
        const key = n.name.toLowerCase();
        if (key.startsWith('~')) continue;
        if (s.names.has(key)) {
          w.emit(diag('warn', 'conflicting-server-name', `conflicting server name "${n.name}" on ${a.addr}, ignored`));
        } else s.names.set(key, true);
      }
    }
  }
}

function duplicateLocations(w: Walker, locs: LocationInfo[]): void {
  const exact = new Set<string>();
  const inclusive = new Set<string>();
  const named = new Set<string>();
  const sorted = [...locs];
  for (const l of sorted) {
    const set = l.modifier === '=' ? exact : l.modifier === '@' ? named : l.modifier === '' || l.modifier === '^~' ? inclusive : null;
    if (!set) continue;
    if (set.has(l.name)) w.fail(l.directive, `duplicate location "${l.name}"`);
    set.add(l.name);
  }
  for (const l of locs) {
    const child = (l as LocationInfo & { children?: LocationInfo[] }).children;
    if (child) duplicateLocations(w, child);
  }
}

/** After "syntax is ok": module init_conf (events) and opening files (ngx_init_cycle). */
function postParse(w: Walker, openFiles: boolean): void {
  const st = w.state;
  if (!st.sawEvents) w.emit(diag('emerg', 'no-events', 'no "events" section in configuration'));
  if (!openFiles) return;
  const seen = new Set<string>();
  for (const f of st.openFiles) {
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    try {
      const fd = fs.openSync(f.path, 'a');
      fs.closeSync(fd);
    } catch (e) {
      const { errno, message } = errnoOf(e);
      w.emit(diag('emerg', 'open-failed', `open() "${f.path}" failed (${errno}: ${message})`));
    }
  }
}
