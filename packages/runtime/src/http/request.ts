import type { InMsg } from './incoming.js';
import type { Res } from './response.js';
import type { LocationConf, ServerConf } from '../compile/types.js';

/** Per-connection facts nginx keeps in ngx_connection_t. */
export interface ConnInfo {
  id: number;
  requests: number;
  remoteAddr: string;
  remotePort: number;
  serverAddr: string;
  serverPort: number;
  /** keepalive_timeout for the idle time after the current response. */
  keepaliveMs: number;
  /** When the connection was accepted (keepalive_time). */
  readonly startMs: number;
}

/**
 * One request's state, the counterpart of ngx_http_request_t. Fields are plain and mutable
 * (rewrite changes uri/args); variables read them through compiled getters.
 */
export class Req {
  /** Current normalized, decoded path ($uri); changes on rewrite and internal redirects. */
  uri = '';
  args = '';
  /** Raw request target as sent ($request_uri). */
  requestUri: string;
  /** The URI was changed by rewrite/try_files/error_page (nginx's !valid_unparsed_uri). */
  uriChanged = false;
  internal = false;
  /** Normalized host from the request line or Host header ('' if none). */
  host = '';
  server!: ServerConf;
  loc!: LocationConf;
  captures: string[] | null = null;
  namedCaptures: Record<string, string> | null = null;
  /** set/map results and other per-request variables. */
  vars: Map<string, string> | null = null;
  status = 0;
  bytesSent = 0;
  bodyBytesSent = 0;
  requestLength = 0;
  readonly startMs: number;
  /** Upstream attempts for $upstream_* variables (formatted only when a variable is read). */
  upstreamAddr: string[] | null = null;
  /** Status per attempt (502/504 for attempts that got no response). */
  upstreamStatus: number[] | null = null;
  /** Milliseconds per attempt, until the response header ($upstream_response_time). */
  upstreamTime: number[] | null = null;
  /** Per attempt: ms to connect (0 on a reused connection, -1 when none was made). */
  upstreamConnectTime: number[] | null = null;
  /** The last upstream response's header fields as received, flat [name, value, ...]. */
  upstreamHeaders: Buffer[] | null = null;
  proxyHost = '';
  proxyPort = '';
  /** Response headers as sent, flat [name, value, ...], for $sent_http_*. */
  sentHeaders: string[] | null = null;
  internalRedirects = 0;
  /** The raw client socket of an Upgrade request (Node hands it over on 'upgrade'). */
  upgradeSocket: import('node:net').Socket | undefined = undefined;
  /** Bytes the client sent after the request head, to go to the upstream once tunnelled. */
  upgradeHead: Buffer | undefined = undefined;
  /** Sends what the client writes from now on to `fn`, past the HTTP parser (tunnels). */
  divert: ((fn: (chunk: Buffer) => void) => void) | undefined = undefined;
  /** send_timeout, while the client is not reading. */
  sendTimer: NodeJS.Timeout | undefined = undefined;
  /** try_files already ran for the current location. */
  triedFiles = false;
  /** Status an error_page response is sent with (0: the page's own status). */
  errStatus = 0;
  /** Internal redirects to error pages turn the method into GET. */
  methodOverride: string | undefined;
  errorPageDepth = 0;
  headerOnly: boolean;
  /** The log phase ran (logRequest). */
  logged = false;
  /** The upstream request in flight (the proxy's attempt), told when the client goes away. */
  upstream: { clientClosed(): void; clientEnded(): boolean } | null = null;
  /** Request headers nginx looks at on every request, from one pass over them (first occurrence). */
  hostHeader: string | undefined = undefined;
  /** How many Host headers came (nginx rejects more than one). */
  hostCount = 0;
  contentLength: string | undefined = undefined;
  transferEncoding: string | undefined = undefined;
  /** The client sent an Upgrade header (a tunnel may follow). */
  wantsUpgrade = false;

  constructor(
    readonly msg: InMsg,
    readonly res: Res,
    readonly conn: ConnInfo,
  ) {
    this.requestUri = msg.url;
    this.startMs = Date.now();
    this.headerOnly = msg.method === 'HEAD';
    const raw = msg.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') {
            if (this.hostCount++ === 0) this.hostHeader = raw[i + 1];
          }
          break;
        case 7:
          if (name.toLowerCase() === 'upgrade') this.wantsUpgrade = true;
          break;
        case 14:
          if (this.contentLength === undefined && name.toLowerCase() === 'content-length') this.contentLength = raw[i + 1];
          break;
        case 17:
          if (this.transferEncoding === undefined && name.toLowerCase() === 'transfer-encoding') this.transferEncoding = raw[i + 1];
          break;
      }
    }
  }

  get method(): string {
    return this.methodOverride ?? this.msg.method;
  }

  get protocol(): string {
    // HTTP/0.9 request lines carry no protocol ($server_protocol is empty)
    return this.msg.httpVersion === '0.9' ? '' : `HTTP/${this.msg.httpVersion}`;
  }

  /** First request header with this lowercase name (nginx 1.22: first occurrence). */
  header(lname: string): string | undefined {
    const raw = this.msg.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length === lname.length && raw[i].toLowerCase() === lname) return raw[i + 1];
    }
    return undefined;
  }

  /** Every value of a header, in order. */
  headers(lname: string): string[] {
    const out: string[] = [];
    const raw = this.msg.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === lname) out.push(raw[i + 1]);
    return out;
  }

  setVar(name: string, value: string): void {
    (this.vars ??= new Map()).set(name, value);
  }
}
