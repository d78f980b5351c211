import type { ConfigFile, Directive } from '../ast.js';
import type { Diagnostic } from '../diagnostic.js';
import type { Context, DirectiveSpec } from '../directives/types.js';
import type { SockAddr } from './addr.js';
import type { Walker } from './walker.js';

export type RawHandler = (w: Walker, d: Directive, scope: Scope) => void;

export interface LocationInfo {
  name: string;
  modifier: '=' | '^~' | '' | '~' | '~*' | '@';
  directive: Directive;
}

export interface ListenInfo {
  /** "127.0.0.1:80", "0.0.0.0:80", "[::1]:80", "unix:/path" */
  addr: string;
  defaultServer: boolean;
  directive: Directive;
}

export interface ServerInfo {
  directive: Directive;
  listens: ListenInfo[];
  names: { name: string; directive: Directive; regex?: boolean }[];
  /** Locations at server level, for duplicate checks. */
  locations: LocationInfo[];
  /** The server{} block's scope (its srv and loc confs). */
  scope?: Scope;
  /** cscf->file_name / cscf->line: where "server {" was read. */
  file: string;
  line: number;
  /** cscf->listen: the block had a listen directive. */
  hasListen: boolean;
}

/** One block being walked: nginx's cf->cmd_type plus what its handlers need to know. */
export interface Scope {
  ctx: Context;
  /**
   * Keys ("module:name", or a name) of single-value directives already set at this level, for
   * "is duplicate": the first one alone, the others in a set. Most levels set one or none, and a
   * Set per block was a measurable part of the walk. Use firstAtLevel().
   */
  seenFirst?: string;
  seen?: Set<string>;
  parent?: Scope;
  directive?: Directive;
  /** Blocks whose entries are not directives (types, map, geo, ...). */
  raw?: RawHandler;
  server?: ServerInfo;
  location?: LocationInfo;
  /** Locations declared directly in this block. */
  locations?: LocationInfo[];
  /** Kind + name of those locations, once there are many of them (duplicate checks). */
  locationKeys?: Set<string>;
  /** Creation order of the walk's blocks (preorder: parents before their nested blocks). */
  seq?: number;
  /** Inside "if" or "limit_except" (proxy_pass may not carry a URI there). */
  noUriPart?: 'if' | 'limit_except';
  /** For raw blocks: state of the block's own handler. */
  rawState?: Record<string, unknown>;
  /**
   * Directives set at this level by name, in order (what nginx's merge functions read). Built
   * on first use by dirsAt(), from the block and the files it includes: only http init reads
   * it, for few scopes, while building it during the walk cost a Map per scope.
   */
  dirs?: Map<string, Directive[]>;
  /** Blocks with their own loc conf nested here (location, if, limit_except), in order. */
  children?: Scope[];
  /** Inside upstream{}: the upstream being defined. */
  upstream?: UpstreamInfo;
  /** The root scope only: the walk's parsed files (for the directives of includes, see dirsAt). */
  files?: Map<string, ConfigFile>;
  /** Bitmask slots: values already set at this level (nginx ORs them across directives). */
  bits?: Map<string, Set<string>>;
}

export interface VariableUse {
  name: string;
  directive: Directive;
}

/** An upstream{} block or an upstream implicitly added by proxy_pass & co (ngx_http_upstream_add). */
export interface UpstreamInfo {
  /** u->host as written (lower-cased comparison). */
  host: string;
  /** NGX_HTTP_UPSTREAM_CREATE: an explicit upstream{} block. */
  explicit: boolean;
  port: number;
  noPort: boolean;
  file: string;
  line: number;
  /** Servers of an explicit block, or the one literal address of an implicit one; null = resolve at init. */
  servers: { naddrs: number; backup: boolean }[] | null;
}

/** An address:port a server listens on (ngx_http_conf_addr_t). */
export interface ConfAddr {
  sockaddr: SockAddr;
  /** addr_text of the first listen that created it. */
  text: string;
  set: boolean;
  ssl: boolean;
  http2: boolean;
  defaultServerFlag: boolean;
  defaultServer: ServerInfo;
  servers: ServerInfo[];
}

export interface ConfPort {
  family: 4 | 6 | 'unix';
  port: number;
  addrs: ConfAddr[];
}

export interface WalkState {
  prefix: string;
  confPrefix: string;
  confFile: string;
  diagnostics: Diagnostic[];
  files: Map<string, ConfigFile>;
  texts: Map<string, string>;
  including: string[];
  unimplemented: { directive: Directive; spec: DirectiveSpec }[];
  sawEvents: boolean;
  sawHttp: boolean;
  variablesUsed: VariableUse[];
  variablesDefined: Set<string>;
  /** Explicit upstream{} names (lower case) to their directive. */
  upstreams: Map<string, Directive>;
  /** umcf->upstreams: explicit and implicit upstreams in creation order. */
  upstreamList: UpstreamInfo[];
  servers: ServerInfo[];
  /** cmcf->ports. */
  ports: ConfPort[];
  logFormats: Set<string>;
  /** The "pid" file (absolute), opened after "syntax is ok". */
  pid?: string;
  /** Files nginx opens after "syntax is ok" (logs); errors there come after that line. */
  openFiles: { path: string; directive?: Directive }[];
  /** Host names resolved before this pass: addresses, or null when the name does not resolve. */
  resolved: Map<string, string[] | null>;
  /** Host names this pass needed but `resolved` did not have. */
  pendingHosts: Set<string>;
  /** The http{} block's scope. */
  http?: Scope;
  /** Where nginx's lexer stands once http{} is read: merge-time ngx_conf_log_error messages carry it. */
  httpEnd?: { file: string; line: number };
  /** Local users and groups (getpwnam/getgrnam), or undefined when not running as root. */
  passwd?: () => { users: Set<string>; groups: Set<string> } | undefined;
  user?: { user: string; group?: string; directive: Directive };
  /** Parsed files shared between passes. */
  parseCache: Map<string, ConfigFile | { errno: number; message: string }>;
  /**
   * The *_pass directive names met with a variable or an SSL scheme in their URL: http init's
   * *_set_ssl does nothing for a module without any, so it skips walking the locations for it.
   */
  passes?: Set<string>;
  /**
   * An "ssl", "ssl_certificate" or "ssl_reject_handshake" directive was met: without any, the
   * SSL merge of every server ends at its first test, so http init skips it.
   */
  serverSsl?: boolean;
  /** The first duplicate location in nginx's order, and its block's Scope.seq (see noteLocation). */
  duplicateLocation?: LocationInfo;
  duplicateLocationSeq?: number;
  /** Whether the process runs as root (default listen port 80, else 8000). */
  root: boolean;
}

/**
 * The directives named `name` set at this scope's level, in order: its directive's block with
 * included files expanded in place, as the walk dispatched them in this scope (raw blocks,
 * such as map or types, have none).
 */
export function dirsAt(scope: Scope, name: string): Directive[] | undefined {
  let dirs = scope.dirs;
  if (!dirs) {
    const block = scope.directive?.block;
    if (!block || scope.raw) return undefined;
    let root = scope;
    while (root.parent) root = root.parent;
    dirs = scope.dirs = indexLevel(root.files ?? new Map(), block, new Map());
  }
  return dirs.get(name);
}

function indexLevel(files: Map<string, ConfigFile>, block: Directive[], out: Map<string, Directive[]>): Map<string, Directive[]> {
  for (const d of block) {
    const list = out.get(d.name);
    if (list) list.push(d);
    else out.set(d.name, [d]);
    if (d.name === 'include' && d.includes) {
      for (const f of d.includes) {
        const cf = files.get(f);
        if (cf) indexLevel(files, cf.directives, out);
      }
    }
  }
  return out;
}

/** Records `key` as set at this scope's level: false if it already was ("is duplicate"). */
export function firstAtLevel(scope: Scope, key: string): boolean {
  const first = scope.seenFirst;
  if (first === undefined) {
    scope.seenFirst = key;
    return true;
  }
  if (first === key) return false;
  const seen = (scope.seen ??= new Set());
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}
