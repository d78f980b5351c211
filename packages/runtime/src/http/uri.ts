/** ngx_http_parse.c's "usual" table: bytes that need no attention in a URI. */
const USUAL = new Uint32Array([0x00000000, 0x7fff37d6, 0xffffffff, 0x7fffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

export function isUsualUriByte(ch: number): boolean {
  return (USUAL[ch >> 5] & (1 << (ch & 0x1f))) !== 0;
}

const enum U {
  Usual,
  Slash,
  Dot,
  DotDot,
  Quoted,
  QuotedSecond,
}

/**
 * ngx_http_parse_complex_uri over an unparsed request URI (path, "?args", "#fragment", as sent;
 * one char per byte): percent-decodes once, resolves "." and "..", merges slashes, stops the
 * path at a raw "?" (args) or "#" (ignored), and stops the args at "#".
 * Returns null where nginx answers 400 ("client sent invalid request").
 */
export function parseComplexUri(raw: string, mergeSlashes: boolean): { uri: string; args: string } | null {
  const n = raw.length;
  const out: number[] = [];
  let u = 0;
  let state = U.Usual;
  let quotedState = U.Usual;
  let decoded = 0;
  let args: string | undefined;
  let i = 0;
  if (raw.charCodeAt(0) === 0x3f /* ? */) out[u++] = 0x2f; // empty path in "http://host?args"
  let ch = n > 0 ? raw.charCodeAt(i++) & 0xff : 0;
  const argsFrom = (from: number): string => {
    const hash = raw.indexOf('#', from);
    return hash < 0 ? raw.slice(from) : raw.slice(from, hash);
  };
  const backToSlash = (): boolean => {
    u -= 4;
    for (;;) {
      if (u < 0) return false;
      if (out[u] === 0x2f) {
        u++;
        return true;
      }
      u--;
    }
  };
  loop: while (i <= n) {
    switch (state) {
      case U.Usual:
        if (isUsualUriByte(ch)) {
          out[u++] = ch;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        switch (ch) {
          case 0x2f:
            state = U.Slash;
            out[u++] = ch;
            break;
          case 0x25:
            quotedState = state;
            state = U.Quoted;
            break;
          case 0x3f:
            args = argsFrom(i);
            break loop;
          case 0x23:
            state = U.Usual;
            break loop;
          default:
            out[u++] = ch;
            break;
        }
        ch = raw.charCodeAt(i++) & 0xff;
        break;
      case U.Slash:
        if (isUsualUriByte(ch)) {
          state = U.Usual;
          out[u++] = ch;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        switch (ch) {
          case 0x2f:
            if (!mergeSlashes) out[u++] = ch;
            break;
          case 0x2e:
            state = U.Dot;
            out[u++] = ch;
            break;
          case 0x25:
            quotedState = state;
            state = U.Quoted;
            break;
          case 0x3f:
            args = argsFrom(i);
            break loop;
          case 0x23:
            state = U.Usual;
            break loop;
          default:
            state = U.Usual;
            out[u++] = ch;
            break;
        }
        ch = raw.charCodeAt(i++) & 0xff;
        break;
      case U.Dot:
        if (isUsualUriByte(ch)) {
          state = U.Usual;
          out[u++] = ch;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        switch (ch) {
          case 0x2f:
            state = U.Slash;
            u--;
            break;
          case 0x2e:
            state = U.DotDot;
            out[u++] = ch;
            break;
          case 0x25:
            quotedState = state;
            state = U.Quoted;
            break;
          case 0x3f:
            u--;
            args = argsFrom(i);
            state = U.Usual;
            break loop;
          case 0x23:
            u--;
            state = U.Usual;
            break loop;
          default:
            state = U.Usual;
            out[u++] = ch;
            break;
        }
        ch = raw.charCodeAt(i++) & 0xff;
        break;
      case U.DotDot:
        if (isUsualUriByte(ch)) {
          state = U.Usual;
          out[u++] = ch;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        switch (ch) {
          case 0x2f:
          case 0x3f:
          case 0x23:
            if (!backToSlash()) return null;
            if (ch === 0x3f) {
              args = argsFrom(i);
              state = U.Usual;
              break loop;
            }
            if (ch === 0x23) {
              state = U.Usual;
              break loop;
            }
            state = U.Slash;
            break;
          case 0x25:
            quotedState = state;
            state = U.Quoted;
            break;
          default:
            state = U.Usual;
            out[u++] = ch;
            break;
        }
        ch = raw.charCodeAt(i++) & 0xff;
        break;
      case U.Quoted: {
        if (ch >= 0x30 && ch <= 0x39) {
          decoded = ch - 0x30;
          state = U.QuotedSecond;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        const c = ch | 0x20;
        if (c >= 0x61 && c <= 0x66) {
          decoded = c - 0x61 + 10;
          state = U.QuotedSecond;
          ch = raw.charCodeAt(i++) & 0xff;
          break;
        }
        return null;
      }
      case U.QuotedSecond: {
        if (ch >= 0x30 && ch <= 0x39) {
          ch = ((decoded << 4) + (ch - 0x30)) & 0xff;
          if (ch === 0x25 || ch === 0x23) {
            state = U.Usual;
            out[u++] = ch;
            ch = raw.charCodeAt(i++) & 0xff;
            break;
          } else if (ch === 0) {
            return null;
          }
          state = quotedState;
          break;
        }
        const c = ch | 0x20;
        if (c >= 0x61 && c <= 0x66) {
          ch = ((decoded << 4) + (c - 0x61) + 10) & 0xff;
          if (ch === 0x3f) {
            state = U.Usual;
            out[u++] = ch;
            ch = raw.charCodeAt(i++) & 0xff;
            break;
          }
          state = quotedState;
          break;
        }
        return null;
      }
    }
  }
  if (args === undefined) {
    if (state === U.Quoted || state === U.QuotedSecond) return null;
    if (state === U.Dot) u--;
    else if (state === U.DotDot && !backToSlash()) return null;
  }
  let uri = '';
  for (let k = 0; k < u; k += 8192) uri += String.fromCharCode(...out.slice(k, Math.min(u, k + 8192)));
  return { uri, args: args ?? '' };
}

/**
 * The decoded, normalized path of a request-target path ($uri): see parseComplexUri. A raw
 * "#" ends it. Returns null where nginx answers 400.
 */
export function normalizePath(raw: string, mergeSlashes: boolean): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return null;
  // fast path: nothing to decode, resolve or merge ("%", "#", "?", "/.", "//"): the path is its own $uri
  let plain = true;
  for (let i = 0, n = raw.length; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      const next = raw.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e) {
        plain = false;
        break;
      }
    } else if (c === 0x25 || c === 0x23 || c === 0x3f || c > 0xff) {
      plain = false;
      break;
    }
  }
  if (plain) return raw;
  const r = parseComplexUri(raw, mergeSlashes);
  return r && r.uri;
}

const URI_ESCAPE = (() => {
  // ngx_escape_uri NGX_ESCAPE_URI: space, '#', '%', '?', controls and bytes >= 0x7f
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i <= 0x20 || i >= 0x7f || i === 0x23 || i === 0x25 || i === 0x3f ? 1 : 0;
  return t;
})();

export function escapeUri(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    out += URI_ESCAPE[c] ? '%' + c.toString(16).toUpperCase().padStart(2, '0') : s[i];
  }
  return out;
}

/**
 * ngx_http_validate_host: drops the port (and a bracketed literal's tail) and one trailing dot,
 * lowercases ASCII letters; null means 400. One char per byte (latin1).
 */
export function validateHost(h: string): string | null {
  const len = h.length;
  let dotPos = len;
  let hostLen = len;
  let state = 0; // 0 usual, 1 literal, 2 rest
  let upper = false;
  for (let i = 0; i < len; i++) {
    const ch = h.charCodeAt(i);
    switch (ch) {
      case 0x2e: // .
        if (dotPos === i - 1) return null;
        dotPos = i;
        break;
      case 0x3a: // :
        if (state === 0) {
          hostLen = i;
          state = 2;
        }
        break;
      case 0x5b: // [
        if (i === 0) state = 1;
        break;
      case 0x5d: // ]
        if (state === 1) {
          hostLen = i + 1;
          state = 2;
        }
        break;
      default:
        if (ch === 0x2f || ch <= 0x20 || ch === 0x7f) return null;
        if (ch >= 0x41 && ch <= 0x5a) upper = true;
        break;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  if (hostLen <= 0) return null;
  const host = h.slice(0, hostLen);
  return upper ? host.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : host;
}
