import * as fs from 'node:fs';
import { logError } from '../log/error-log.js';
import { logRequest } from '../log/request-log.js';
import { formatHttpDate } from './error-pages.js';
import { finalize } from './phases.js';
import type { Req } from './request.js';
import { argValue } from '../compile/variables.js';
import { writeHead } from './respond.js';

/** NGX_HTTP_AUTOINDEX_NAME_LEN: the width of the HTML listing's name column. */
const NAME_LEN = 50;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strerror() texts for the errnos a directory listing can run into. */
const STRERROR: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EIO: [5, 'Input/output error'],
  EBADF: [9, 'Bad file descriptor'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  ENOTDIR: [20, 'Not a directory'],
  EMFILE: [24, 'Too many open files'],
  ENFILE: [23, 'Too many open files in system'],
  ENAMETOOLONG: [36, 'File name too long'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  EOVERFLOW: [75, 'Value too large for defined data type'],
};

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known = err.code ? STRERROR[err.code] : undefined;
  if (known) return `(${known[0]}: ${known[1]})`;
  const msg = /^[A-Z0-9]+: ([^,]*)/.exec(err.message ?? '');
  const text = msg ? msg[1][0].toUpperCase() + msg[1].slice(1) : 'Unknown error';
  return `(${Math.abs(err.errno ?? 0)}: ${text})`;
}

/** A path string as the bytes nginx would hand to the system (one char per byte when it can be). */
function pathBytes(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
}

interface Entry {
  name: Buffer;
  dir: boolean;
  file: boolean;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
}

/** ngx_utf8_decode: the code point at p, or > 0x10ffff for an invalid/incomplete sequence; advances. */
function utf8Decode(b: Buffer, p: { i: number }, end: number): number {
  let u = b[p.i];
  let len: number;
  let valid: number;
  if (u >= 0xf0) {
    u &= 0x07;
    valid = 0xffff;
    len = 3;
  } else if (u >= 0xe0) {
    u &= 0x0f;
    valid = 0x7ff;
    len = 2;
  } else if (u >= 0xc2) {
    u &= 0x1f;
    valid = 0x7f;
    len = 1;
  } else {
    p.i++;
    return 0xffffffff;
  }
  if (end - p.i - 1 < len) return 0xfffffffe;
  p.i++;
  while (len) {
    const c = b[p.i++];
    if (c < 0x80) return 0xffffffff;
    u = ((u << 6) | (c & 0x3f)) >>> 0;
    len--;
  }
  return u > valid ? u : 0xffffffff;
}

/** ngx_utf8_length: characters in a UTF-8 string, or its byte length if it is not valid UTF-8. */
function utf8Length(b: Buffer): number {
  const p = { i: 0 };
  let len = 0;
  for (; p.i < b.length; len++) {
    if (b[p.i] < 0x80) {
      p.i++;
      continue;
    }
    if (utf8Decode(b, p, b.length) > 0x10ffff) return b.length;
  }
  return len;
}

/** The byte length of ngx_utf8_cpystrn(dst, b, n, ...): at most n - 1 characters. */
function utf8Prefix(b: Buffer, n: number): number {
  if (n === 0) return 0;
  let i = 0;
  while (--n) {
    if (i >= b.length) break; // the terminating NUL
    if (b[i] < 0x80) {
      i++;
      continue;
    }
    const p = { i };
    if (utf8Decode(b, p, b.length) > 0x10ffff) break;
    i = p.i;
  }
  return i;
}

/** ngx_escape_html: < > & " as entities. */
function escapeHtml(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x26) out += '&amp;';
    else if (c === 0x22) out += '&quot;';
    else out += String.fromCharCode(c);
  }
  return out;
}

/** ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT): all but ALPHA, DIGIT, "-", ".", "_", "~". */
function escapeUriComponent(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    const plain = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
    out += plain ? String.fromCharCode(c) : '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
  }
  return out;
}

/** ngx_escape_json: backslash before " and \, control characters as \n... or \u00XX. */
function escapeJson(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c > 0x1f) {
      if (c === 0x5c || c === 0x22) out += '\\';
      out += String.fromCharCode(c);
      continue;
    }
    switch (c) {
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      default:
        out += '\\u00' + (c >> 4) + (c & 0xf).toString(16).toUpperCase();
    }
  }
  return out;
}

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** ngx_http_autoindex_cmp_entries: directories first, then by name (strcmp). */
function cmpEntries(a: Entry, b: Entry): number {
  if (a.dir && !b.dir) return -1;
  if (!a.dir && b.dir) return 1;
  return Buffer.compare(a.name, b.name);
}

/** The listing's entries (dotfiles skipped), sorted; null after a fatal error (already logged). */
function readEntries(r: Req, path: Buffer): Entry[] | null | NodeJS.ErrnoException {
  let names: Buffer[];
  try {
    names = fs.readdirSync(path, { encoding: 'buffer' });
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  const entries: Entry[] = [];
  const prefix = Buffer.concat([path, Buffer.from('/')]);
  for (const name of names) {
    if (name[0] === 0x2e) continue;
    const filename = Buffer.concat([prefix, name]);
    let st: fs.Stats;
    try {
      st = fs.statSync(filename);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ELOOP') {
        logError('crit', `stat() "${filename.toString('latin1')}" failed ${errText(e)}`, r);
        if (code === 'EACCES') continue;
        return null;
      }
      try {
        st = fs.lstatSync(filename);
      } catch (e2) {
        logError('crit', `lstat() "${filename.toString('latin1')}" failed ${errText(e2)}`, r);
        return null;
      }
    }
    // the type comes from stat() (following symlinks), as the oracle build has no d_type support:
    // a symlink is listed as its target, a dangling one (lstat) as "other"
    entries.push({
      name,
      dir: st.isDirectory(),
      file: st.isFile(),
      mtime: Math.floor(st.mtimeMs / 1000),
      size: st.size,
    });
  }
  if (entries.length > 1) entries.sort(cmpEntries);
  return entries;
}

function htmlSize(e: Entry, exact: boolean): string {
  if (exact) return e.dir ? '                  -' : String(e.size).padStart(19);
  if (e.dir) return '      -';
  const length = e.size;
  const G = 1024 * 1024 * 1024;
  const M = 1024 * 1024;
  let size: number;
  let scale = '';
  if (length > G - 1) {
    size = Math.floor(length / G);
    if (length % G > G / 2 - 1) size++;
    scale = 'G';
  } else if (length > M - 1) {
    size = Math.floor(length / M);
    if (length % M > M / 2 - 1) size++;
    scale = 'M';
  } else if (length > 9999) {
    size = Math.floor(length / 1024);
    if (length % 1024 > 511) size++;
    scale = 'K';
  } else {
    size = length;
  }
  return scale ? String(size).padStart(6) + scale : ' ' + String(size).padStart(6);
}

/** ngx_http_autoindex_html; one char per byte. */
function renderHtml(r: Req, entries: Entry[], utf8: boolean): string {
  const conf = r.loc.autoindex!;
  const uri = escapeHtml(Buffer.from(r.uri, 'latin1'));
  let out = `<html>\r\n<head><title>Index of ${uri}</title></head>\r\n<body>\r\n<h1>Index of ${uri}</h1><hr><pre><a href="../">../</a>\r\n`;
  // autoindex_localtime shifts by the current UTC offset (nginx's cached ngx_timeofday()->gmtoff)
  const shift = conf.localtime ? -new Date().getTimezoneOffset() * 60 : 0;
  for (const e of entries) {
    const name = e.name;
    out += '<a href="' + escapeUriComponent(name) + (e.dir ? '/' : '') + '">';
    let len = utf8 ? utf8Length(name) : name.length;
    if (name.length !== len) {
      out += escapeHtml(name.subarray(0, utf8Prefix(name, len > NAME_LEN ? NAME_LEN - 3 + 1 : NAME_LEN + 1)));
    } else {
      out += escapeHtml(name.subarray(0, len > NAME_LEN ? NAME_LEN - 3 : NAME_LEN));
    }
    if (len > NAME_LEN) {
      out += '..&gt;</a>';
    } else {
      if (e.dir && NAME_LEN - len > 0) {
        out += '/';
        len++;
      }
      out += '</a>';
      if (NAME_LEN - len > 0) out += ' '.repeat(NAME_LEN - len);
    }
    const t = new Date((e.mtime + shift) * 1000);
    out += ` ${p2(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${t.getUTCFullYear()} ${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())} `;
    out += htmlSize(e, conf.exactSize) + '\r\n';
  }
  return out + '</pre><hr></body>\r\n</html>\r\n';
}

const typeName = (e: Entry): string => (e.dir ? 'directory' : e.file ? 'file' : 'other');

/** ngx_http_autoindex_json (with a callback: jsonp); one char per byte. */
function renderJson(entries: Entry[], callback: string | undefined): string {
  let out = callback !== undefined ? `/* callback */\r\n${callback}([` : '[';
  out += entries
    .map((e) => {
      let s = `\r\n{ "name":"${escapeJson(e.name)}", "type":"${typeName(e)}", "mtime":"${formatHttpDate(new Date(e.mtime * 1000))}`;
      s += e.file ? `", "size":${e.size}` : '"';
      return s + ' }';
    })
    .join(',');
  out += '\r\n]';
  if (callback !== undefined) out += ');';
  return out;
}

/** ngx_http_autoindex_xml; one char per byte. */
function renderXml(entries: Entry[]): string {
  let out = '<?xml version="1.0"?>\r\n<list>\r\n';
  for (const e of entries) {
    const type = typeName(e);
    const t = new Date(e.mtime * 1000);
    out += `<${type} mtime="${String(t.getUTCFullYear()).padStart(4)}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())}T${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}Z"`;
    if (e.file) out += ` size="${e.size}"`;
    out += `>${escapeHtml(e.name)}</${type}>\r\n`;
  }
  return out + '</list>\r\n';
}

/** ngx_http_autoindex_module: a directory listing. `dir` is the mapped path (ending in "/"). */
export function serveAutoindex(r: Req, dir: string): void {
  const conf = r.loc.autoindex!;
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    // autoindex declines; so does the static module for a "/" URI: the content phase's 403
    logError('error', `directory index of "${dir}" is forbidden`, r);
    return finalize(r, 403);
  }
  const path = pathBytes(dir.length > 1 ? dir.slice(0, -1) : dir);

  let format = conf.format;
  let callback: string | undefined;
  if (format === 'jsonp') {
    callback = argValue(r.args, 'callback') ?? '';
    if (callback.length > 128) {
      logError('info', `client sent too long callback name: "${callback}"`, r);
      return finalize(r, 400);
    }
    if (!/^[A-Za-z0-9_.]*$/.test(callback)) {
      logError('info', `client sent invalid callback name: "${callback}"`, r);
      return finalize(r, 400);
    }
    if (callback === '') {
      format = 'json';
      callback = undefined;
    }
  }

  // nginx opens the directory before it sends the header, and reads it after
  const entries = readEntries(r, path);
  if (entries instanceof Error) {
    const code = entries.code;
    const [level, status] =
      code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' ? ['error', 404] : code === 'EACCES' ? ['error', 403] : ['crit', 500];
    logError(level as string, `opendir() "${path.toString('latin1')}" failed ${errText(entries)}`, r);
    return finalize(r, status as number);
  }

  let contentType: string;
  switch (format) {
    case 'json':
      contentType = 'application/json';
      break;
    case 'jsonp':
      contentType = 'application/javascript';
      break;
    case 'xml':
      // nginx sets the charset itself (the charset filter leaves a set charset alone)
      contentType = 'text/xml; charset=utf-8';
      break;
    default:
      contentType = 'text/html';
  }

  // the HTML listing counts characters when the charset filter made the response UTF-8
  const charset = r.loc.charset;
  const utf8 =
    format === 'html' && charset !== undefined && charset.toLowerCase() === 'utf-8' && r.loc.charsetTypes.has('text/html');

  writeHead(r, { status: 200, contentType }, true);
  if (r.headerOnly) {
    logRequest(r);
    r.res.end();
    return;
  }
  if (entries === null) {
    // a failure after the header went out: nginx closes the connection
    logRequest(r);
    r.res.destroy();
    return;
  }

  const text = format === 'json' || format === 'jsonp' ? renderJson(entries, callback) : format === 'xml' ? renderXml(entries) : renderHtml(r, entries, utf8);
  const body = Buffer.from(text, 'latin1');
  // $body_bytes_sent counts what went out after the header, chunk framing included:
  // "<hex>\r\n" <body> "\r\n" "0\r\n\r\n"
  r.bodyBytesSent = body.length + (r.res.chunked ? body.length.toString(16).length + 9 : 0);
  logRequest(r);
  r.res.end(body);
}
