import type { Req } from '../http/request.js';

/** A compiled value: literal text and variable getters, evaluated per request. */
export type Script = (r: Req) => string;

export type RewriteOp =
  | { op: 'return'; code: number; text?: Script; url?: Script }
  | { op: 'rewrite'; re: RegExp; replacement: Script; redirectReplacement: Script; flag: 'last' | 'break' | 'redirect' | 'permanent' | ''; redirectByScheme: boolean; keepArgs: boolean; hasArgs: boolean }
  | { op: 'set'; name: string; value: Script }
  | { op: 'break' }
  | { op: 'if'; test: (r: Req) => boolean; conf: LocationConf; ops: RewriteOp[] };

export interface HeaderSetting {
  name: string;
  lname: string;
  value: Script;
  /** nginx's $proxy_internal_body_length / $proxy_internal_chunked defaults. */
  internal?: 'length' | 'chunked';
}

export interface AddHeader {
  name: string;
  value: Script;
  always: boolean;
}

export interface ErrorPage {
  /** "=code", "=" (use upstream's), or undefined (keep the original). */
  overwrite?: number | 'upstream';
  target: Script;
}

export interface ProxyConf {
  /** Static URL pieces, or a script when proxy_pass uses variables. */
  scheme: 'http' | 'https';
  url?: Script;
  /** For a static proxy_pass: the upstream group and the URI part (null: none). */
  group?: UpstreamGroup;
  hostHeader: string;
  port: string;
  uriPart: string | null;
  /** The location's name as written, for URI replacement. */
  locationName: string;
  headers: HeaderSetting[];
  /** Lowercase names not to copy from the client (set headers and defaults). */
  skip: Set<string>;
  passRequestHeaders: boolean;
  passRequestBody: boolean;
  hide: Set<string>;
  httpVersion: '1.0' | '1.1';
  method?: Script;
  redirects: { from: string | RegExp; to: Script }[] | 'off';
  interceptErrors: boolean;
  connectTimeout: number;
  sendTimeout: number;
  readTimeout: number;
  nextUpstream: Set<string>;
  nextUpstreamTries: number;
  nextUpstreamTimeout: number;
  buffering: boolean;
  /** proxy_buffer_size: room for the upstream's response head. */
  headerBuffer: number;
  /** proxy_buffers (count × size): what waits in memory for a slow client. */
  bufferBytes: number;
  /** proxy_max_temp_file_size: what may wait in a temp file beyond that (0: nothing). */
  maxTempFileSize: number;
  /** proxy_temp_path. */
  tempPath: string;
  requestBuffering: boolean;
  ignoreClientAbort: boolean;
  setBody?: Script;
  /** upstream{} groups by lowercase name, for proxy_pass with variables. */
  upstreams: ReadonlyMap<string, UpstreamGroup>;
  /** `resolver`: names in a variable proxy_pass that are not upstream groups are looked up there. */
  resolver: ResolverConf | null;
}

/** The `resolver` (and resolver_timeout) of a location. */
export interface ResolverConf {
  /** DNS servers as "ip:port" / "[ip6]:port". */
  servers: string[];
  /** `valid=`: how long answers are kept (ms); null: their TTL. */
  valid: number | null;
  /** `ipv6=` (on by default in nginx 1.22): AAAA records are asked for too. */
  ipv6: boolean;
  /** resolver_timeout (ms). */
  timeout: number;
}

export interface UpstreamPeer {
  /** "127.0.0.1:8081" or "unix:/path", as $upstream_addr shows it. */
  name: string;
  /** The server directive's address as written (consistent hashing keys on it). */
  server: string;
  host: string;
  port: number;
  socketPath?: string;
  weight: number;
  maxFails: number;
  failTimeout: number;
  backup: boolean;
  down: boolean;
  maxConns: number;
}

export interface UpstreamGroup {
  name: string;
  peers: UpstreamPeer[];
  backups: UpstreamPeer[];
  balancer: 'round_robin' | 'least_conn' | 'ip_hash' | 'hash' | 'random';
  hashKey?: Script;
  hashConsistent?: boolean;
  randomTwo?: boolean;
  keepalive: number;
  keepaliveTimeout: number;
  keepaliveRequests: number;
  keepaliveTime: number;
  /** Implicit groups from proxy_pass http://host:port. */
  implicit: boolean;
}

export interface LogFormat {
  name: string;
  render: (r: Req) => string;
}

export interface AccessLogTarget {
  path: string;
  format: LogFormat;
  buffer: number;
  flush: number;
  condition?: Script;
}

export interface AccessRule {
  allow: boolean;
  kind: 'all' | 'unix' | 'v4' | 'v6';
  addr?: number;
  mask?: number;
  addr6?: bigint;
  mask6?: bigint;
}

export interface LocationConf {
  name: string;
  modifier: '=' | '^~' | '' | '~' | '~*' | '@' | 'if' | 'server';
  regex?: RegExp;
  /** Nested locations. */
  tree?: LocationTree;
  autoRedirect: boolean;
  internal: boolean;
  rewrites: RewriteOp[];
  /** allow/deny rules in force (the nearest level's). */
  access: AccessRule[];
  /** limit_except: methods allowed freely; the others must pass the block's rules. */
  limitExcept?: { methods: Set<string>; access: AccessRule[] };
  proxy?: ProxyConf;
  root: string;
  rootHasVars: boolean;
  alias?: Script;
  /** try_files: the candidates, then the fallback URI or "=code". */
  tryFiles?: { candidates: { value: Script; dir: boolean }[]; fallback: Script; code?: number };
  index: string[];
  /** autoindex on: directory listings (format html|json|xml|jsonp). */
  autoindex?: { format: 'html' | 'json' | 'xml' | 'jsonp'; exactSize: boolean; localtime: boolean };
  defaultType: string;
  /** charset: appended to Content-Type for charset_types. */
  charset?: string;
  charsetTypes: Set<string>;
  types: Map<string, string>;
  addHeaders: AddHeader[];
  expires?: { kind: 'off' | 'epoch' | 'max' | 'time' | 'modified' | 'daily'; seconds: number };
  errorPages: Map<number, ErrorPage>;
  recursiveErrorPages: boolean;
  clientMaxBodySize: number;
  /** client_body_buffer_size / client_body_temp_path: where a buffered request body waits. */
  clientBodyBufferSize: number;
  clientBodyTempPath: string;
  clientBodyTimeout: number;
  sendTimeout: number;
  /** reset_timedout_connection: timed-out clients get an RST instead of a FIN. */
  resetTimedoutConnection: boolean;
  keepaliveTimeout: number;
  /** keepalive_timeout's second value (seconds; 0: no "Keep-Alive" header). */
  keepaliveHeader: number;
  keepaliveRequests: number;
  /** uninitialized_variable_warn: reading a `set` variable no `set` gave a value logs a warning. */
  uninitializedVariableWarn: boolean;
  /** keepalive_time: requests on a connection older than this get "Connection: close". */
  keepaliveTime: number;
  absoluteRedirect: boolean;
  serverNameInRedirect: boolean;
  portInRedirect: boolean;
  serverTokens: 'on' | 'off' | 'build';
  accessLogs: AccessLogTarget[];
  logNotFound: boolean;
  mergeSlashes: boolean;
  chunkedTransferEncoding: boolean;
  rewriteLog: boolean;
}

export interface LocationTree {
  exact: Map<string, LocationConf>;
  /** Inclusive (prefix and ^~) locations, longest name first. */
  prefixes: LocationConf[];
  regexes: LocationConf[];
  named: Map<string, LocationConf>;
}

export interface ServerConf {
  names: string[];
  /** First server_name ($server_name). */
  name: string;
  conf: LocationConf;
  tree: LocationTree;
  mergeSlashes: boolean;
  ignoreInvalidHeaders: boolean;
  underscoresInHeaders: boolean;
  largeHeaderBuffer: number;
  /** large_client_header_buffers' count and client_header_buffer_size (request-head limits). */
  largeHeaderBuffers: number;
  clientHeaderBufferSize: number;
  clientHeaderTimeout: number;
}

export interface SocketConf {
  key: string;
  /** file:line of a `listen ... ssl` on this socket (nxproxy does not terminate TLS). */
  tlsAt?: string;
  host: string;
  port: number;
  unix?: string;
  defaultServer: ServerConf;
  exact: Map<string, ServerConf>;
  /** "*.example.com" as ".example.com" suffixes, longest first. */
  headWildcards: [string, ServerConf][];
  /** "www.example.*" as "www.example." prefixes, longest first. */
  tailWildcards: [string, ServerConf][];
  regexes: [RegExp, ServerConf][];
}

export interface RuntimeConfig {
  sockets: SocketConf[];
  upstreams: Map<string, UpstreamGroup>;
  pidFile: string;
  errorLog: { path: string; level: string; explicit: boolean };
  prefix: string;
  confFile: string;
  hostname: string;
}
