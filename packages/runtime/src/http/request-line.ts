/**
 * The request head as nginx 1.22 reads it: ngx_http_parse_request_line, ngx_http_parse_header_line
 * and the checks of ngx_http_process_request_headers / ngx_http_process_request_header, with
 * the header buffers of client_header_buffer_size / large_client_header_buffers simulated byte
 * for byte (414, 494 come from there).
 *
 * A HeadFilter sits on each client connection's read side: it parses each head the nginx way and
 * frames its body (Content-Length, or chunked decoded the nginx way), telling a HeadSink; the
 * connection (connection.ts) turns that into requests. Node's http parser is not involved.
 */
import type { ServerConf } from '../compile/types.js';
import { isUsualUriByte, parseComplexUri, validateHost } from './uri.js';

const CR = 13;
const LF = 10;

export interface HeadLimits {
  /** client_header_buffer_size (default 1k). */
  clientBuffer: number;
  /** large_client_header_buffers number and size (default 4 8k). */
  largeNum: number;
  largeSize: number;
  ignoreInvalid: boolean;
  underscores: boolean;
  mergeSlashes: boolean;
}

const limitsByServer = new WeakMap<ServerConf, HeadLimits>();

/** A server's head limits: made once per (immutable) server conf, not per request. */
export function limitsOf(s: ServerConf): HeadLimits {
  let l = limitsByServer.get(s);
  if (!l) {
    l = {
      clientBuffer: s.clientHeaderBufferSize,
      largeNum: s.largeHeaderBuffers,
      largeSize: s.largeHeaderBuffer,
      ignoreInvalid: s.ignoreInvalidHeaders,
      underscores: s.underscoresInHeaders,
      mergeSlashes: s.mergeSlashes,
    };
    limitsByServer.set(s, l);
  }
  return l;
}

/** What one request head turned out to be. */
export interface RequestHead {
  /** 0 for a request to serve; else the status nginx finalizes it with (400, 414, 494, 405, 501, 505). */
  status: number;
  /** The error log message (without " while reading ..."). */
  log: string;
  /** Where the error happened: client request line or headers. */
  action: 'line' | 'headers';
  /** HTTP/0.9: the answer is the body alone. */
  http09: boolean;
  method: string;
  /** nginx's r->request_line (for the error log's `request: "..."`). */
  requestLine: string;
  /** The request target as sent (absolute form included), one char per byte. */
  target: string;
  /** The protocol version text after "HTTP/" ("1.1", "1.01"; "" for HTTP/0.9). */
  version: string;
  major: number;
  minor: number;
  /** Header lines nginx keeps, flat [name, value, ...], one char per byte. */
  headers: string[];
  /** Validated host that picked the virtual server (request line or Host header). */
  host: string | undefined;
  contentLength: string | null;
  chunked: boolean;
  /** nginx closes the connection after this request (Connection: close, HTTP/1.0, errors). */
  close: boolean;
  /** Connection header asked for keep-alive explicitly. */
  keepAlive: boolean;
  expectContinue: boolean;
  /** Bytes of the head from the request line on ($request_length without the body). */
  length: number;
  /** Header lines ignored as invalid (each logged at info level). */
  ignored: string[];
  /** Read after a previous request from the same buffer ("reading client pipelined request line"). */
  pipelined: boolean;
}

/** nginx's header buffer at the current parse position (offsets in the parse's coordinates). */
export interface BufSim {
  start: number;
  end: number;
  /** Large buffers in use. */
  nbusy: number;
}

/** Server selection while the head is read (Host changes the limits in force). */
export type PickLimits = (host: string) => HeadLimits;

/** Headers with ngx_http_process_unique_header_line: a second one is a 400. */
const UNIQUE = new Set([
  'if-modified-since',
  'if-unmodified-since',
  'if-match',
  'if-none-match',
  'content-length',
  'content-range',
  'if-range',
  'transfer-encoding',
  'expect',
  'authorization',
]);

/** ngx_http_parse_header_line's lowcase[]: 0 for bytes that are not a plain token char. */
const LOWCASE = (() => {
  const t = new Uint8Array(256);
  t[0x2d] = 0x2d;
  for (let c = 0x30; c <= 0x39; c++) t[c] = c;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = c + 32;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = c;
  return t;
})();

const enum RL {
  Start,
  Method,
  SpacesBeforeUri,
  Schema,
  SchemaSlash,
  SchemaSlashSlash,
  HostStart,
  Host,
  HostEnd,
  HostIpLiteral,
  Port,
  AfterSlashInUri,
  CheckUri,
  Uri,
  Http09,
  HttpH,
  HttpHT,
  HttpHTT,
  HttpHTTP,
  FirstMajorDigit,
  MajorDigit,
  FirstMinorDigit,
  MinorDigit,
  SpacesAfterDigit,
  AlmostDone,
}

const enum HL {
  Start,
  Name,
  SpaceBeforeValue,
  Value,
  SpaceAfterValue,
  AlmostDone,
  HeaderAlmostDone,
}

const ERR_METHOD = 'client sent invalid method';
const ERR_REQUEST = 'client sent invalid request';
const ERR_VERSION = 'client sent invalid version';
const ERR_09 = 'client sent invalid method in HTTP/0.9 request';

function latin1(b: Buffer, from: number, to: number): string {
  return to > from ? b.toString('latin1', from, to) : '';
}

/** Lengths of the header names nginx handles specially (Host, Connection, the unique ones). */
const KNOWN_LENGTHS = new Set([4, 6, 8, 10, 13, 14, 17, 19]);

/** The lowercase name if it may be one nginx handles specially, else "". */
function knownName(b: Buffer, from: number, to: number): string {
  if (!KNOWN_LENGTHS.has(to - from)) return '';
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i];
    s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return s;
}

/** ngx_atoof: digits only, not empty, fits off_t. */
function validLength(v: string): boolean {
  if (v.length === 0 || !/^[0-9]+$/.test(v)) return false;
  if (v.length < 19) return true;
  return BigInt(v) <= 0x7fffffffffffffffn;
}

/** C's "%*s\x%02xd" of the invalid header log line: bytes as they are. */
function hex2(c: number): string {
  return c.toString(16).padStart(2, '0');
}

export interface HeadParse {
  head: RequestHead;
  /** Offset just after the head (or where parsing stopped, for errors). */
  end: number;
}

/**
 * Parses one request head from data[start, end). Returns null while more bytes are needed.
 * `sim` (the nginx header buffer) is updated in place; `limits` are the default server's.
 */
export function parseHead(data: Buffer, start: number, end: number, sim: BufSim, limits: HeadLimits, pick: PickLimits): HeadParse | null {
  let p = start;
  let phaseLine = true;
  let st: number = RL.Start;
  // request line pointers
  let requestStart = start;
  let requestEnd = -1;
  let methodEnd = -1;
  let schemaStart = -1;
  let schemaEnd = -1;
  let hostStart = -1;
  let hostEnd = -1;
  let uriStart = -1;
  let uriEnd = -1;
  let targetEnd = -1;
  let protoStart = -1;
  /** The URI needs ngx_http_parse_complex_uri (complex_uri, quoted_uri, empty_path_in_uri). */
  let complex = false;
  let major = 0;
  let minor = 0;
  // header line pointers
  let hst: number = HL.Start;
  let nameStart = -1;
  let nameEnd = -1;
  let valueStart = -1;
  let valueEnd = -1;
  let invalid = false;

  const head: RequestHead = {
    status: 0,
    log: '',
    action: 'line',
    http09: false,
    method: '',
    requestLine: '',
    target: '',
    version: '',
    major: 1,
    minor: 0,
    headers: [],
    host: undefined,
    contentLength: null,
    chunked: false,
    close: true,
    keepAlive: false,
    expectContinue: false,
    length: 0,
    ignored: [],
    pipelined: false,
  };
  let serverPicked = false;
  let hostSeen: [string, string] | undefined;
  let connType = 0; // 1 close, 2 keep-alive
  // most heads carry none of the unique headers: the map is made for the first one
  let unique: Map<string, [string, string]> | undefined;
  let transferEncoding: string | undefined;

  const fail = (status: number, log: string, at: number): HeadParse => {
    head.status = status;
    head.log = log;
    head.close = true;
    if (!head.method && methodEnd >= 0) head.method = latin1(data, requestStart, methodEnd + 1);
    if (!head.requestLine && requestStart >= 0 && requestEnd < 0 && phaseLine) {
      // ngx_http_log_error_handler: the line so far, up to CR/LF
      let q = requestStart;
      while (q < end && q < sim.end && data[q] !== CR && data[q] !== LF) q++;
      head.requestLine = latin1(data, requestStart, q);
    }
    return { head, end: at };
  };

  const lineDone = (): HeadParse | null => {
    // request line complete: p is just after LF
    if (requestEnd < 0) requestEnd = p - 1;
    head.requestLine = latin1(data, requestStart, requestEnd);
    head.method = latin1(data, requestStart, methodEnd + 1);
    const version = major * 1000 + minor;
    head.major = major;
    head.minor = minor;
    head.version = protoStart >= 0 ? latin1(data, protoStart + 5, requestEnd) : '';
    head.http09 = version === 9;
    if (head.http09) {
      head.major = 0;
      head.minor = 9;
    }
    if (head.http09 && head.method !== 'GET') {
      head.http09 = true;
      return fail(400, ERR_09, p);
    }
    head.target = latin1(data, schemaStart >= 0 ? schemaStart : uriStart, targetEnd);
    if (complex && parseComplexUri(latin1(data, uriStart, uriEnd), limits.mergeSlashes) === null) return fail(400, ERR_REQUEST, p);
    if (hostEnd >= 0) {
      const h = validateHost(latin1(data, hostStart, hostEnd));
      if (h === null) return fail(400, 'client sent invalid host in request line', p);
      head.host = h;
      serverPicked = true;
      limits = pick(h);
    }
    if (head.http09) {
      if (!serverPicked) limits = pick('');
      head.close = true;
      head.length = p - requestStart;
      return { head, end: p };
    }
    head.action = 'headers';
    phaseLine = false;
    return null;
  };

  const headerLine = (): HeadParse | null => {
    // one header line parsed: name [nameStart, nameEnd), value [valueStart, valueEnd)
    if (invalid && limits.ignoreInvalid) {
      // logged like nginx, then dropped
      head.ignored.push(latin1(data, nameStart, valueEnd));
      return null;
    }
    const name = latin1(data, nameStart, nameEnd);
    const value = latin1(data, valueStart, valueEnd);
    head.headers.push(name, value);
    const lname = knownName(data, nameStart, nameEnd);
    if (lname === 'host') {
      if (hostSeen) {
        return fail(400, `client sent duplicate host header: "${name}: ${value}", previous value: "${hostSeen[0]}: ${hostSeen[1]}"`, p);
      }
      hostSeen = [name, value];
      const h = validateHost(value);
      if (h === null) return fail(400, 'client sent invalid host header', p);
      if (!serverPicked) {
        serverPicked = true;
        head.host = h;
        limits = pick(h);
      }
    } else if (lname === 'connection') {
      const lv = value.toLowerCase();
      if (lv.includes('close')) connType = 1;
      else if (lv.includes('keep-alive')) connType = 2;
    } else if (UNIQUE.has(lname)) {
      const prev = unique?.get(lname);
      if (prev) {
        return fail(400, `client sent duplicate header line: "${name}: ${value}", previous value: "${prev[0]}: ${prev[1]}"`, p);
      }
      (unique ??= new Map()).set(lname, [name, value]);
      if (lname === 'transfer-encoding') transferEncoding = value;
    }
    return null;
  };
  const headersDone = (): HeadParse => {
    head.length = p - requestStart;
    if (!serverPicked) {
      serverPicked = true;
      limits = pick('');
    }
    const version = major * 1000 + minor;
    if (!hostSeen && version > 1000) {
      return fail(400, 'client sent HTTP/1.1 request without "Host" header', p);
    }
    const cl = unique?.get('content-length');
    if (cl) {
      if (!validLength(cl[1])) return fail(400, 'client sent invalid "Content-Length" header', p);
      head.contentLength = cl[1];
    }
    if (transferEncoding !== undefined) {
      if (version < 1001) return fail(400, 'client sent HTTP/1.0 request with "Transfer-Encoding" header', p);
      if (transferEncoding.length === 7 && transferEncoding.toLowerCase() === 'chunked') {
        if (cl) return fail(400, 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time', p);
        head.chunked = true;
      } else {
        return fail(501, `client sent unknown "Transfer-Encoding": "${transferEncoding}"`, p);
      }
    }
    if (head.method === 'CONNECT') return fail(405, 'client sent CONNECT method', p);
    if (head.method === 'TRACE') return fail(405, 'client sent TRACE method', p);
    const expect = unique?.get('expect');
    head.expectContinue = version >= 1001 && !!expect && expect[1].length === 12 && expect[1].toLowerCase() === '100-continue';
    head.keepAlive = connType === 2;
    head.close = connType === 1 || (connType === 0 && version <= 1000);
    return { head, end: p };
  };

  for (;;) {
    if (p === sim.end) {
      // ngx_http_alloc_large_header_buffer
      if (phaseLine) {
        if (st === RL.Start) {
          // the client fills up the buffer with "\r\n": start it over
          const size = sim.end - sim.start;
          sim.start = p;
          sim.end = p + size;
        } else {
          if (p - requestStart >= limits.largeSize || sim.nbusy >= limits.largeNum) {
            head.requestLine = latin1(data, requestStart, sim.end);
            return fail(414, 'client sent too long URI', p);
          }
          sim.nbusy++;
          sim.start = requestStart;
          sim.end = requestStart + limits.largeSize;
        }
      } else {
        if ((hst !== HL.Start && p - nameStart >= limits.largeSize) || sim.nbusy >= limits.largeNum) {
          head.action = 'headers';
          if (nameStart < 0) return fail(494, 'client sent too large request', p);
          const len = Math.min(sim.end - nameStart, 2048 - 300);
          return fail(494, `client sent too long header line: "${latin1(data, nameStart, nameStart + len)}..."`, p);
        }
        sim.nbusy++;
        if (hst === HL.Start) {
          sim.start = p;
        } else {
          sim.start = nameStart;
        }
        sim.end = sim.start + limits.largeSize;
      }
      continue;
    }
    if (p >= end) return null;
    const ch = data[p];

    if (phaseLine) {
      switch (st) {
        case RL.Start:
          requestStart = p;
          if (ch === CR || ch === LF) break;
          if ((ch < 0x41 || ch > 0x5a) && ch !== 0x5f && ch !== 0x2d) return fail(400, ERR_METHOD, p);
          st = RL.Method;
          break;
        case RL.Method:
          if (ch === 0x20) {
            methodEnd = p - 1;
            st = RL.SpacesBeforeUri;
            break;
          }
          if ((ch < 0x41 || ch > 0x5a) && ch !== 0x5f && ch !== 0x2d) return fail(400, ERR_METHOD, p);
          break;
        case RL.SpacesBeforeUri: {
          if (ch === 0x2f) {
            uriStart = p;
            st = RL.AfterSlashInUri;
            break;
          }
          const c = ch | 0x20;
          if (c >= 0x61 && c <= 0x7a) {
            schemaStart = p;
            st = RL.Schema;
            break;
          }
          if (ch === 0x20) break;
          return fail(400, ERR_REQUEST, p);
        }
        case RL.Schema: {
          const c = ch | 0x20;
          if (c >= 0x61 && c <= 0x7a) break;
          if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2b || ch === 0x2d || ch === 0x2e) break;
          if (ch === 0x3a) {
            schemaEnd = p;
            st = RL.SchemaSlash;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        }
        case RL.SchemaSlash:
          if (ch === 0x2f) {
            st = RL.SchemaSlashSlash;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.SchemaSlashSlash:
          if (ch === 0x2f) {
            st = RL.HostStart;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.HostStart:
        case RL.Host:
        case RL.HostEnd: {
          if (st === RL.HostStart) {
            hostStart = p;
            if (ch === 0x5b) {
              st = RL.HostIpLiteral;
              break;
            }
            st = RL.Host;
          }
          if (st === RL.Host) {
            const c = ch | 0x20;
            if (c >= 0x61 && c <= 0x7a) break;
            if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2e || ch === 0x2d) break;
          }
          hostEnd = p;
          switch (ch) {
            case 0x3a:
              st = RL.Port;
              break;
            case 0x2f:
              uriStart = p;
              st = RL.AfterSlashInUri;
              break;
            case 0x3f:
              uriStart = p;
              complex = true;
              st = RL.Uri;
              break;
            case 0x20:
              // "http://host HTTP/1.1": the URI is a "/" of the "//"
              uriStart = schemaEnd + 1;
              uriEnd = schemaEnd + 2;
              targetEnd = p;
              st = RL.Http09;
              break;
            default:
              return fail(400, ERR_REQUEST, p);
          }
          break;
        }
        case RL.HostIpLiteral: {
          if (ch >= 0x30 && ch <= 0x39) break;
          const c = ch | 0x20;
          if (c >= 0x61 && c <= 0x7a) break;
          if (ch === 0x3a) break;
          if (ch === 0x5d) {
            st = RL.HostEnd;
            break;
          }
          if ('-._~!$&\'()*+,;='.includes(String.fromCharCode(ch))) break;
          return fail(400, ERR_REQUEST, p);
        }
        case RL.Port:
          if (ch >= 0x30 && ch <= 0x39) break;
          if (ch === 0x2f) {
            uriStart = p;
            st = RL.AfterSlashInUri;
            break;
          }
          if (ch === 0x3f) {
            uriStart = p;
            complex = true;
            st = RL.Uri;
            break;
          }
          if (ch === 0x20) {
            uriStart = schemaEnd + 1;
            uriEnd = schemaEnd + 2;
            targetEnd = p;
            st = RL.Http09;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.AfterSlashInUri:
        case RL.CheckUri:
        case RL.Uri:
          if (isUsualUriByte(ch)) {
            if (st === RL.AfterSlashInUri) st = RL.CheckUri;
            break;
          }
          switch (ch) {
            case 0x20:
              uriEnd = targetEnd = p;
              st = RL.Http09;
              break;
            case CR:
              uriEnd = targetEnd = p;
              minor = 9;
              st = RL.AlmostDone;
              break;
            case LF: {
              uriEnd = targetEnd = p;
              minor = 9;
              p++;
              const r = lineDone();
              if (r) return r;
              continue;
            }
            default:
              if (ch < 0x20 || ch === 0x7f) return fail(400, ERR_REQUEST, p);
              if (st === RL.AfterSlashInUri) {
                // ".", "%", "/", "?", "#", "+" and the rest lead on
                if (ch === 0x2b) break;
                if (ch === 0x2e || ch === 0x25 || ch === 0x2f || ch === 0x23) complex = true;
                st = ch === 0x2e || ch === 0x25 || ch === 0x2f || ch === 0x3f || ch === 0x23 ? RL.Uri : RL.CheckUri;
              } else if (st === RL.CheckUri) {
                if (ch === 0x2f) st = RL.AfterSlashInUri;
                else if (ch === 0x25 || ch === 0x3f || ch === 0x23) {
                  if (ch !== 0x3f) complex = true;
                  st = RL.Uri;
                }
              } else if (ch === 0x23) {
                complex = true;
              }
              break;
          }
          break;
        case RL.Http09:
          if (ch === 0x20) break;
          if (ch === CR) {
            minor = 9;
            st = RL.AlmostDone;
            break;
          }
          if (ch === LF) {
            minor = 9;
            p++;
            const r = lineDone();
            if (r) return r;
            continue;
          }
          if (ch === 0x48) {
            protoStart = p;
            st = RL.HttpH;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.HttpH:
          if (ch === 0x54) {
            st = RL.HttpHT;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.HttpHT:
          if (ch === 0x54) {
            st = RL.HttpHTT;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.HttpHTT:
          if (ch === 0x50) {
            st = RL.HttpHTTP;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.HttpHTTP:
          if (ch === 0x2f) {
            st = RL.FirstMajorDigit;
            break;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.FirstMajorDigit:
          if (ch < 0x31 || ch > 0x39) return fail(400, ERR_REQUEST, p);
          major = ch - 0x30;
          if (major > 1) return fail(505, ERR_VERSION, p);
          st = RL.MajorDigit;
          break;
        case RL.MajorDigit:
          if (ch === 0x2e) {
            st = RL.FirstMinorDigit;
            break;
          }
          if (ch < 0x30 || ch > 0x39) return fail(400, ERR_REQUEST, p);
          major = major * 10 + (ch - 0x30);
          if (major > 1) return fail(505, ERR_VERSION, p);
          break;
        case RL.FirstMinorDigit:
          if (ch < 0x30 || ch > 0x39) return fail(400, ERR_REQUEST, p);
          minor = ch - 0x30;
          st = RL.MinorDigit;
          break;
        case RL.MinorDigit:
          if (ch === CR) {
            st = RL.AlmostDone;
            break;
          }
          if (ch === LF) {
            p++;
            const r = lineDone();
            if (r) return r;
            continue;
          }
          if (ch === 0x20) {
            st = RL.SpacesAfterDigit;
            break;
          }
          if (ch < 0x30 || ch > 0x39) return fail(400, ERR_REQUEST, p);
          if (minor > 99) return fail(400, ERR_REQUEST, p);
          minor = minor * 10 + (ch - 0x30);
          break;
        case RL.SpacesAfterDigit:
          if (ch === 0x20) break;
          if (ch === CR) {
            st = RL.AlmostDone;
            break;
          }
          if (ch === LF) {
            p++;
            const r = lineDone();
            if (r) return r;
            continue;
          }
          return fail(400, ERR_REQUEST, p);
        case RL.AlmostDone:
          requestEnd = p - 1;
          if (ch === LF) {
            p++;
            const r = lineDone();
            if (r) return r;
            continue;
          }
          return fail(400, ERR_REQUEST, p);
      }
      p++;
      continue;
    }

    // header lines (ngx_http_parse_header_line)
    switch (hst) {
      case HL.Start:
        nameStart = p;
        invalid = false;
        if (ch === CR) {
          valueEnd = p;
          hst = HL.HeaderAlmostDone;
          break;
        }
        if (ch === LF) {
          p++;
          return headersDone();
        }
        hst = HL.Name;
        if (LOWCASE[ch]) break;
        if (ch === 0x5f) {
          if (!limits.underscores) invalid = true;
          break;
        }
        if (ch <= 0x20 || ch === 0x7f || ch === 0x3a) return invalidHeader(p, p);
        invalid = true;
        break;
      case HL.Name:
        if (LOWCASE[ch]) break;
        if (ch === 0x5f) {
          if (!limits.underscores) invalid = true;
          break;
        }
        if (ch === 0x3a) {
          nameEnd = p;
          hst = HL.SpaceBeforeValue;
          break;
        }
        if (ch === CR) {
          nameEnd = valueStart = valueEnd = p;
          hst = HL.AlmostDone;
          break;
        }
        if (ch === LF) {
          nameEnd = valueStart = valueEnd = p;
          p++;
          const r = headerLine();
          if (r) return r;
          hst = HL.Start;
          continue;
        }
        if (ch <= 0x20 || ch === 0x7f) return invalidHeader(p, p);
        invalid = true;
        break;
      case HL.SpaceBeforeValue:
        if (ch === 0x20) break;
        if (ch === CR) {
          valueStart = valueEnd = p;
          hst = HL.AlmostDone;
          break;
        }
        if (ch === LF) {
          valueStart = valueEnd = p;
          p++;
          const r = headerLine();
          if (r) return r;
          hst = HL.Start;
          continue;
        }
        if (ch === 0) return invalidHeader(p, p);
        valueStart = p;
        hst = HL.Value;
        break;
      case HL.Value:
        if (ch === 0x20) {
          valueEnd = p;
          hst = HL.SpaceAfterValue;
          break;
        }
        if (ch === CR) {
          valueEnd = p;
          hst = HL.AlmostDone;
          break;
        }
        if (ch === LF) {
          valueEnd = p;
          p++;
          const r = headerLine();
          if (r) return r;
          hst = HL.Start;
          continue;
        }
        if (ch === 0) return invalidHeader(p, p);
        break;
      case HL.SpaceAfterValue:
        if (ch === 0x20) break;
        if (ch === CR) {
          hst = HL.AlmostDone;
          break;
        }
        if (ch === LF) {
          p++;
          const r = headerLine();
          if (r) return r;
          hst = HL.Start;
          continue;
        }
        if (ch === 0) return invalidHeader(p, p);
        hst = HL.Value;
        break;
      case HL.AlmostDone:
        if (ch === LF) {
          p++;
          const r = headerLine();
          if (r) return r;
          hst = HL.Start;
          continue;
        }
        if (ch === CR) break;
        return invalidHeader(valueEnd, p);
      case HL.HeaderAlmostDone:
        if (ch === LF) {
          p++;
          return headersDone();
        }
        return invalidHeader(valueEnd, p);
    }
    p++;
  }

  function invalidHeader(headerEnd: number, at: number): HeadParse {
    head.action = 'headers';
    return fail(400, `client sent invalid header line: "${latin1(data, nameStart, headerEnd)}\\x${hex2(data[headerEnd] ?? 0)}..."`, at);
  }
}

// ---------------------------------------------------------------------------------------------
// The connection filter

const enum Mode {
  Head,
  Length,
  Chunked,
  /** Everything after this point is ignored (nginx closes the connection). */
  Discard,
}

const enum CH {
  Start,
  Size,
  Ext,
  ExtAlmostDone,
  Data,
  AfterData,
  AfterDataAlmostDone,
  LastExt,
  LastExtAlmostDone,
  Trailer,
  TrailerAlmostDone,
  TrailerHeader,
  TrailerHeaderAlmostDone,
}

const MAX_CHUNK = 0x7fffffffffffffffn;

const EMPTY = Buffer.alloc(0);

/** Where a HeadFilter delivers what it read from the client, in stream order. */
export interface HeadSink {
  /** A request head (status != 0: nginx answers it with that error and reads no further). */
  head(h: RequestHead): void;
  /** Body bytes of the latest head (chunked bodies arrive decoded). */
  body(chunk: Buffer): void;
  /** The latest head's body is complete (called at once for a request without a body). */
  bodyEnd(): void;
  /** The latest head's chunked body is malformed (nginx: 400, connection closed). */
  bodyError(): void;
}

/**
 * Per connection: splits the client's byte stream into request heads (parsed the nginx way)
 * and their bodies, and tells the sink, in order.
 */
export class HeadFilter {
  /** Heads parsed so far on this connection. */
  heads = 0;
  private pending: Buffer = EMPTY;
  private mode = Mode.Head;
  /** Absolute stream offset of pending[0]. */
  private pos = 0;
  private sim: BufSim;
  /** Remaining Content-Length bytes. */
  private remaining = 0;
  private chunkState = CH.Start;
  private chunkSize = 0n;
  private closeAfterBody = false;
  /** nginx's header buffer after the last head: [bufEnd, received-in-buffer) decide pipelining. */
  private lastBufEnd = 0;
  private lastInBuf = 0;
  private lastNbusy = 0;
  private lastBufSize = 0;
  private pipelined = false;
  /** The chunked body was found invalid. */
  private broken = false;
  /** While the chunks that came with their head are read: their data, held until the head is out. */
  private holding: Buffer[] | null = null;
  private heldEnd = false;

  constructor(
    private readonly limits: () => HeadLimits,
    private readonly pick: PickLimits,
    private readonly sink: HeadSink,
  ) {
    const l = limits();
    this.sim = { start: 0, end: l.clientBuffer, nbusy: 0 };
  }

  /** Bytes of an incomplete head are waiting. */
  get partial(): boolean {
    return this.mode === Mode.Head && this.pending.length > 0;
  }

  /** The incomplete head has its request line (for the timeout's log line). */
  get partialLine(): boolean {
    const lf = this.pending.indexOf(10);
    return lf >= 0 && this.pending.subarray(0, lf).some((c) => c !== 13 && c !== 10);
  }

  get discarding(): boolean {
    return this.mode === Mode.Discard;
  }

  /** A request body is still coming. */
  get inBody(): boolean {
    return this.mode === Mode.Length || this.mode === Mode.Chunked;
  }

  /** Feeds client bytes; the sink hears of heads and body bytes before this returns. */
  feed(chunk: Buffer): void {
    const sink = this.sink;
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    const received = this.pos + data.length;
    while (off < data.length) {
      if (this.mode === Mode.Discard) {
        off = data.length;
        break;
      }
      if (this.mode === Mode.Length) {
        const n = data.length - off;
        if (n < this.remaining) {
          sink.body(off === 0 ? data : data.subarray(off));
          this.remaining -= n;
          off = data.length;
          break;
        }
        const take = this.remaining;
        sink.body(data.subarray(off, off + take));
        off += take;
        this.remaining = 0;
        this.bodyDone(this.pos + off);
        continue;
      }
      if (this.mode === Mode.Chunked) {
        off = this.chunked(data, off);
        continue;
      }
      // Mode.Head: parse from `off` with the simulated nginx buffer in data coordinates
      const base = this.pos; // absolute offset of data[0]
      const sim: BufSim = { start: this.sim.start - base, end: this.sim.end - base, nbusy: this.sim.nbusy };
      const parsed = parseHead(data, off, data.length, sim, this.limits(), this.pick);
      if (!parsed) {
        // keep the bytes; nginx's buffer state is recomputed on the next feed
        break;
      }
      const h = parsed.head;
      h.pipelined = this.pipelined;
      this.heads++;
      this.sim = { start: sim.start + base, end: sim.end + base, nbusy: sim.nbusy };
      off = parsed.end;
      // an error found once Content-Length was read (CONNECT, TRACE, Transfer-Encoding
      // conflicts): nginx answers, drops that many body bytes, then closes
      const declared = h.status !== 0 && h.contentLength !== null ? Number(h.contentLength) : 0;
      if (declared > 0 || (h.status !== 0 && h.chunked)) {
        h.close = true;
        this.closeAfterBody = true;
        if (h.chunked) {
          this.mode = Mode.Chunked;
          this.chunkState = CH.Start;
          this.chunkSize = 0n;
        } else {
          this.mode = Mode.Length;
          this.remaining = declared;
        }
        sink.head(h);
        continue;
      }
      if (h.status !== 0 || h.http09) {
        this.mode = Mode.Discard;
        sink.head(h);
        sink.bodyEnd();
        off = data.length;
        break;
      }
      this.closeAfterBody = h.close;
      this.lastBufEnd = this.sim.end;
      this.lastInBuf = Math.min(received, this.sim.end);
      this.lastNbusy = this.sim.nbusy;
      this.lastBufSize = this.sim.end - this.sim.start;
      if (h.chunked) {
        this.mode = Mode.Chunked;
        this.chunkState = CH.Start;
        this.chunkSize = 0n;
        // a broken chunk that came with the head fails the body; what nginx answers depends on
        // whether it reads the body before answering (see InMsg.broken)
        const held: Buffer[] = [];
        const next = this.chunked(data, off, held);
        if (this.broken) {
          h.close = true;
          sink.head(h);
          sink.bodyError();
          off = data.length;
          break;
        }
        sink.head(h);
        for (let i = 0; i < held.length; i++) sink.body(held[i]);
        if (this.heldEnd) sink.bodyEnd();
        off = next;
      } else if (h.contentLength !== null && Number(h.contentLength) > 0) {
        // lengths past 2^53 cannot be sent within any timeout; nginx's limit is 2^63
        this.mode = Mode.Length;
        this.remaining = Number(h.contentLength);
        sink.head(h);
      } else {
        sink.head(h);
        this.bodyDone(this.pos + off);
      }
    }
    // keep what is left (an incomplete head)
    if (this.mode === Mode.Head && off < data.length) {
      this.pending = Buffer.from(data.subarray(off));
      this.pos += off;
    } else {
      this.pos += data.length;
      this.pending = EMPTY;
    }
  }

  /** The body ended at absolute offset `at`: decide where nginx reads the next head. */
  private bodyDone(at: number): void {
    if (this.holding) this.heldEnd = true;
    else this.sink.bodyEnd();
    if (this.closeAfterBody) {
      this.mode = Mode.Discard;
      return;
    }
    this.mode = Mode.Head;
    this.pipelined = at < this.lastInBuf;
    if (this.pipelined) {
      // pipelined: the next request goes on in the same buffer (large buffers but this one freed)
      this.sim = { start: this.lastBufEnd - this.lastBufSize, end: this.lastBufEnd, nbusy: this.lastNbusy > 0 ? 1 : 0 };
    } else {
      this.sim = { start: at, end: at + this.limits().clientBuffer, nbusy: 0 };
    }
  }

  /** ngx_http_parse_chunked over data[off..]; the chunks' data goes to the sink (or to `hold`). */
  private chunked(data: Buffer, off: number, hold?: Buffer[]): number {
    this.holding = hold ?? null;
    this.heldEnd = false;
    try {
      return this.chunkedScan(data, off);
    } finally {
      this.holding = null;
    }
  }

  private chunkedScan(data: Buffer, off: number): number {
    let p = off;
    const n = data.length;
    while (p < n) {
      if (this.chunkState === CH.Data) {
        const avail = BigInt(n - p);
        if (this.chunkSize === 0n) {
          this.chunkState = CH.AfterData;
          continue;
        }
        const take = avail < this.chunkSize ? n - p : Number(this.chunkSize);
        const piece = data.subarray(p, p + take);
        if (this.holding) this.holding.push(piece);
        else this.sink.body(piece);
        this.chunkSize -= BigInt(take);
        p += take;
        continue;
      }
      const ch = data[p];
      switch (this.chunkState) {
        case CH.Start: {
          const c = ch | 0x20;
          if (ch >= 0x30 && ch <= 0x39) this.chunkSize = BigInt(ch - 0x30);
          else if (c >= 0x61 && c <= 0x66) this.chunkSize = BigInt(c - 0x61 + 10);
          else return this.chunkInvalid(n);
          this.chunkState = CH.Size;
          break;
        }
        case CH.Size: {
          if (this.chunkSize > MAX_CHUNK / 16n) return this.chunkInvalid(n);
          const c = ch | 0x20;
          if (ch >= 0x30 && ch <= 0x39) {
            this.chunkSize = this.chunkSize * 16n + BigInt(ch - 0x30);
            break;
          }
          if (c >= 0x61 && c <= 0x66) {
            this.chunkSize = this.chunkSize * 16n + BigInt(c - 0x61 + 10);
            break;
          }
          const last = this.chunkSize === 0n;
          if (ch === CR) this.chunkState = last ? CH.LastExtAlmostDone : CH.ExtAlmostDone;
          else if (ch === LF) this.chunkState = last ? CH.Trailer : CH.Data;
          else if (ch === 0x3b || ch === 0x20 || ch === 0x09) this.chunkState = last ? CH.LastExt : CH.Ext;
          else return this.chunkInvalid(n);
          break;
        }
        case CH.Ext:
          if (ch === CR) this.chunkState = CH.ExtAlmostDone;
          else if (ch === LF) this.chunkState = CH.Data;
          break;
        case CH.ExtAlmostDone:
          if (ch !== LF) return this.chunkInvalid(n);
          this.chunkState = CH.Data;
          break;
        case CH.AfterData:
          if (ch === CR) this.chunkState = CH.AfterDataAlmostDone;
          else if (ch === LF) this.chunkState = CH.Start;
          else return this.chunkInvalid(n);
          break;
        case CH.AfterDataAlmostDone:
          if (ch !== LF) return this.chunkInvalid(n);
          this.chunkState = CH.Start;
          break;
        case CH.LastExt:
          if (ch === CR) this.chunkState = CH.LastExtAlmostDone;
          else if (ch === LF) this.chunkState = CH.Trailer;
          break;
        case CH.LastExtAlmostDone:
          if (ch !== LF) return this.chunkInvalid(n);
          this.chunkState = CH.Trailer;
          break;
        case CH.Trailer:
          if (ch === CR) this.chunkState = CH.TrailerAlmostDone;
          else if (ch === LF) return this.chunkEnd(p + 1);
          else this.chunkState = CH.TrailerHeader;
          break;
        case CH.TrailerAlmostDone:
          if (ch !== LF) return this.chunkInvalid(n);
          return this.chunkEnd(p + 1);
        case CH.TrailerHeader:
          if (ch === CR) this.chunkState = CH.TrailerHeaderAlmostDone;
          else if (ch === LF) this.chunkState = CH.Trailer;
          break;
        case CH.TrailerHeaderAlmostDone:
          if (ch !== LF) return this.chunkInvalid(n);
          this.chunkState = CH.Trailer;
          break;
      }
      p++;
    }
    return p;
  }

  private chunkEnd(next: number): number {
    this.bodyDone(this.pos + next);
    return next;
  }

  /** nginx: 400 "client sent invalid chunked body". */
  private chunkInvalid(n: number): number {
    this.mode = Mode.Discard;
    this.broken = true;
    if (!this.holding) this.sink.bodyError();
    return n;
  }
}
