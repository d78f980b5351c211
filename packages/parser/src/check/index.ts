import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigFile, Directive } from '../ast.js';
import { diag, type Diagnostic } from '../diagnostic.js';
import { parseText } from '../parser.js';
import { errnoOf, nodeFs, type ConfigFs } from './files.js';
import type { Scope, WalkState } from './state.js';
import { isEmerg, Stop, Walker } from './walker.js';

export interface CheckOptions {
  /** Install prefix (-p), with or without the trailing slash. */
  prefix: string;
  /** The main config file, absolute or relative to the prefix (-c). */
  confFile: string;
  /** -g directives. */
  globals?: string;
  fs?: ConfigFs;
  /**
   * getaddrinfo() for the host names nginx resolves at load (listen, upstream servers, resolver,
   * implicit upstreams): their addresses, or false / [] when the name does not resolve. `true`
   * means "resolves" without saying where (an address is then assumed).
   */
  resolve?: (host: string) => Promise<boolean | string[]>;
  /** Open log files as nginx -t does (default true). */
  openFiles?: boolean;
  /** Create-or-open the pid file as `nginx -t` does (default true; a server writes it itself later). */
  openPidFile?: boolean;
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

/** getaddrinfo(host, AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG): the addresses, or false. */
async function defaultResolve(host: string): Promise<string[] | false> {
  // loaded here, not at startup (~5 ms): only configs naming hosts get this far
  const [{ isIP }, dns] = await Promise.all([import('node:net'), import('node:dns')]);
  if (isIP(host)) return [host];
  try {
    const r = await dns.promises.lookup(host, { all: true, hints: dns.ADDRCONFIG });
    return r.length > 0 ? r.map((x) => x.address) : false;
  } catch {
    return false;
  }
}

export function normalizePrefix(p: string): string {
  const abs = path.resolve(p);
  return abs.endsWith('/') ? abs : abs + '/';
}

/** One walk of the configuration, in nginx's order, with the host names resolved so far. */
function walkOnce(
  opts: CheckOptions,
  prefix: string,
  confFile: string,
  resolved: Map<string, string[] | null>,
  parseCache: WalkState['parseCache'],
  textCache: Map<string, string | { errno: number; message: string }>,
): { state: WalkState; walker: Walker; globals: Directive[]; main?: ConfigFile; stopped: boolean } {
  const fsys = opts.fs ?? nodeFs;
  const state: WalkState = {
    prefix,
    confPrefix: path.dirname(confFile) + '/',
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
    upstreamList: [],
    servers: [],
    ports: [],
    logFormats: new Set(),
    openFiles: [],
    resolved,
    pendingHosts: new Set(),
    passwd: opts.passwd ?? readAccounts,
    parseCache,
    root: typeof process.getuid === 'function' ? process.getuid() === 0 : true,
  };
  const walker = new Walker(state, fsys, textCache);
  const mainScope: Scope = { ctx: 'main', files: state.files };
  let globals: Directive[] = [];
  let main: ConfigFile | undefined;
  let stopped = false;
  try {
    if (opts.globals) {
      // ngx_conf_param: the -g text is parsed as one "file" read directive by directive
      const g = parseText(opts.globals, 'command line');
      globals = g.directives;
      for (const d of g.directives) {
        d.termLine = 0;
        if (d.block) walker.fail(d, 'block directives are not supported in -g option');
        walker.directive(d, mainScope);
      }
      if (g.syntaxError) {
        const e = g.syntaxError;
        const message = e.message.startsWith('unexpected end of file') ? 'unexpected end of parameter, expecting ";"' : e.message;
        walker.emit({ ...e, message, file: 'command line', line: 0, column: undefined });
      }
    }
    const loaded = walker.loadFile(confFile);
    if (!('directives' in loaded)) {
      walker.emit(diag('emerg', 'open-failed', `open() "${confFile}" failed (${loaded.errno}: ${loaded.message})`));
      throw new Stop();
    }
    main = loaded;
    state.including.push(confFile);
    walker.walkFile(loaded, mainScope);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    stopped = true;
  }
  return { state, walker, globals, main, stopped };
}

/**
 * `nginx -t`: load, parse and check a configuration as nginx 1.22 does, in nginx's order.
 *
 * nginx resolves host names (listen, upstream servers, resolver, implicit upstreams) while it
 * reads the configuration. The walk is synchronous, so it runs once to learn the names, they are
 * resolved, and it runs again with the answers (repeated if a shorter walk hid names).
 */
export async function checkConfig(opts: CheckOptions): Promise<CheckResult> {
  const prefix = normalizePrefix(opts.prefix);
  const confFile = path.isAbsolute(opts.confFile) ? opts.confFile : prefix + opts.confFile;
  const resolve = opts.resolve ?? defaultResolve;
  const resolved = new Map<string, string[] | null>();
  const parseCache: WalkState['parseCache'] = new Map();
  const textCache = new Map<string, string | { errno: number; message: string }>();
  let run = walkOnce(opts, prefix, confFile, resolved, parseCache, textCache);
  for (let pass = 0; pass < 8 && run.state.pendingHosts.size > 0; pass++) {
    const hosts = [...run.state.pendingHosts].filter((h) => !resolved.has(h));
    if (hosts.length === 0) break;
    const answers = await Promise.all(hosts.map((h) => resolve(h)));
    hosts.forEach((h, i) => {
      const a = answers[i];
      resolved.set(h, a === false ? null : a === true ? ['0.0.0.0'] : a.length > 0 ? a : null);
    });
    run = walkOnce(opts, prefix, confFile, resolved, parseCache, textCache);
  }
  const { state, walker, globals, main } = run;
  let syntaxOkAfter = -1;
  if (!run.stopped) {
    syntaxOkAfter = state.diagnostics.length;
    try {
      postParse(walker, opts.openFiles ?? true, opts.openPidFile ?? true);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
  }
  const ok = !state.diagnostics.some(isEmerg);
  const result: CheckResult = {
    ok,
    diagnostics: state.diagnostics,
    syntaxOkAfter,
    unimplemented: state.unimplemented,
  };
  if (main) {
    result.config = { confFile, prefix, confPrefix: state.confPrefix, files: state.files, texts: state.texts, globals, main };
  }
  return result;
}

/** After "syntax is ok": module init_conf (events) and opening files (ngx_init_cycle). */
function postParse(w: Walker, openFiles: boolean, openPidFile: boolean): void {
  const st = w.state;
  if (!st.sawEvents) w.emit(diag('emerg', 'no-events', 'no "events" section in configuration'));
  if (!openFiles) return;
  // ngx_create_pidfile: in test mode the pid file is opened (created if need be), not written.
  // Only an explicit "pid" is checked: nxproxy's own default pid path is not nginx's.
  if (st.pid && openPidFile) {
    try {
      const fd = fs.openSync(st.pid, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      fs.closeSync(fd);
    } catch (e) {
      const { errno, message } = errnoOf(e);
      w.emit(diag('emerg', 'open-failed', `open() "${st.pid}" failed (${errno}: ${message})`));
    }
  }
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
