import type { ConfigFile, Directive } from '../ast.js';
import type { Diagnostic } from '../diagnostic.js';
import type { Context, DirectiveSpec } from '../directives/types.js';
import type { Walker } from './walker.js';

export type RawHandler = (w: Walker, d: Directive, scope: Scope) => void;

export interface LocationInfo {
  name: string;
  modifier: '=' | '^~' | '' | '~' | '~*' | '@';
  directive: Directive;
}

export interface ListenInfo {
  /** "127.0.0.1:80", "*:80", "[::1]:80", "unix:/path" */
  addr: string;
  defaultServer: boolean;
  directive: Directive;
}

export interface ServerInfo {
  directive: Directive;
  listens: ListenInfo[];
  names: { name: string; directive: Directive }[];
  /** Locations at server level, for duplicate checks. */
  locations: LocationInfo[];
}

/** One block being walked: nginx's cf->cmd_type plus what its handlers need to know. */
export interface Scope {
  ctx: Context;
  /** "module:name" of single-value directives already set at this level ("is duplicate"). */
  seen: Set<string>;
  parent?: Scope;
  directive?: Directive;
  /** Blocks whose entries are not directives (types, map, geo, ...). */
  raw?: RawHandler;
  server?: ServerInfo;
  location?: LocationInfo;
  /** Locations declared directly in this block. */
  locations?: LocationInfo[];
  /** Inside "if" or "limit_except" (proxy_pass may not carry a URI there). */
  noUriPart?: 'if' | 'limit_except';
  /** For raw blocks: state of the block's own handler. */
  rawState?: Record<string, unknown>;
}

export interface VariableUse {
  name: string;
  directive: Directive;
}

export interface HostCheck {
  host: string;
  directive: Directive;
  /** nginx's message when the name does not resolve. */
  message: string;
  /** Whether the failure is reported where the directive stands (in-stream) or at http init. */
  atInit: boolean;
  /** Position in the diagnostic stream where nginx would resolve it (in-stream checks). */
  seq: number;
  /** proxy_pass: the name to look up among upstream{} blocks first. */
  upstreamName?: string;
  explicitPort?: boolean;
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
  upstreams: Map<string, Directive>;
  servers: ServerInfo[];
  logFormats: Set<string>;
  /** Files nginx opens after "syntax is ok" (logs); errors there come after that line. */
  openFiles: { path: string; directive?: Directive }[];
  hostChecks: HostCheck[];
  certificates: {
    path: string;
    directive: Directive;
    kind: 'certificate' | 'key';
    errnoText?: (p: string) => string;
  }[];
  /** Local users and groups (getpwnam/getgrnam), or undefined when not running as root. */
  passwd?: () => { users: Set<string>; groups: Set<string> } | undefined;
  user?: { user: string; group?: string; directive: Directive };
  /** Diagnostic count when the http block ended (where implicit upstreams resolve). */
  httpInitSeq?: number;
}
