/**
 * Request-target handling as ngx_http_parse_request_line + ngx_http_parse_complex_uri do it:
 * split off the query, percent-decode once, resolve "." and "..", optionally merge slashes.
 * Returns null where nginx answers 400.
 */
export function normalizePath(raw: string, mergeSlashes: boolean): string | null {
  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 /* % */) {
      const h = hex(raw.charCodeAt(i + 1));
      const l = hex(raw.charCodeAt(i + 2));
      if (h < 0 || l < 0) return null;
      const v = h * 16 + l;
      if (v === 0) return null;
      decoded += String.fromCharCode(v);
      i += 2;
    } else {
      decoded += raw[i];
    }
  }
  if (decoded.length === 0 || decoded[0] !== '/') return null;
  const out: string[] = [];
  const segs = decoded.split('/');
  // segs[0] is '' (leading slash)
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (last) out.push('');
      continue;
    }
    if (s === '' && !last && mergeSlashes) continue;
    out.push(s);
  }
  let result = '/' + out.join('/');
  if (mergeSlashes) result = result.replace(/\/{2,}/g, '/');
  return result;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
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

/** ngx_http_validate_host: lowercase, drop the port and one trailing dot; null means 400. */
export function validateHost(h: string): string | null {
  let host = h;
  let dotPos = -10;
  let inBracket = false;
  let end = host.length;
  for (let i = 0; i < host.length; i++) {
    const ch = host[i];
    const c = host.charCodeAt(i);
    if (ch === '.') {
      if (dotPos === i - 1) return null;
      dotPos = i;
    } else if (ch === ':') {
      if (!inBracket) {
        end = i;
        break;
      }
    } else if (ch === '[') {
      if (i !== 0) return null;
      inBracket = true;
    } else if (ch === ']') {
      inBracket = false;
    } else if (ch === '/' || c <= 0x20 || c === 0x7f) {
      return null;
    }
  }
  host = host.slice(0, end);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0) return null;
  return host.toLowerCase();
}
