import type { Req } from '../http/request.js';
import type { LogFormat } from './types.js';
import type { Variables } from './variables.js';

export const COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** escape=default: '"', '\' and bytes < 0x20 or >= 0x7f as \xHH (ngx_http_log_escape). */
function escapeDefault(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).toUpperCase().padStart(2, '0');
    else out += s[i];
  }
  return out;
}

function escapeJson(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out;
}

/** A log_format compiled to one function; missing values log as "-" (escape=default/none) or "" (json). */
export function compileLogFormat(name: string, escape: string, text: string, vars: Variables): LogFormat {
  const parts: (string | ((r: Req) => string))[] = [];
  const re = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    const g = vars.getter(m[1] ?? m[2]);
    if (escape === 'json') parts.push((r) => escapeJson(g(r) ?? ''));
    else if (escape === 'none') parts.push((r) => g(r) || '-');
    else parts.push((r) => {
      const v = g(r);
      return v === undefined ? '-' : escapeDefault(v);
    });
    last = re.lastIndex;
  }
  if (last < text.length) parts.push(text.slice(last));
  return {
    name,
    render: (r) => {
      let s = '';
      for (const p of parts) s += typeof p === 'string' ? p : p(r);
      return s;
    },
  };
}
