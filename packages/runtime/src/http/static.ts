import * as fs from 'node:fs';
import * as path from 'node:path';
import { logError } from '../log/error-log.js';
import { dropBodyFailed, finalize } from './phases.js';
import type { Req } from './request.js';
import { logRequest } from '../log/request-log.js';
import { serveAutoindex } from './autoindex.js';
import { defaultErrorBody, formatHttpDate } from './error-pages.js';
import { sendResumed, sendSpecial, sendStalled, writeHead } from './respond.js';

function contentType(r: Req, file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return r.loc.types.get(ext) ?? r.loc.defaultType;
}

/** The file an aliased location maps a URI to: a regex location's alias is the whole path. */
export function aliasPath(r: Req, uri: string): string {
  const loc = r.loc;
  const alias = loc.alias!(r);
  if (loc.regex) return alias;
  return alias + uri.slice(loc.name.length);
}

/** The static and index modules, enough for root-served files and their error paths. */
export function serveStatic(r: Req): void {
  const loc = r.loc;
  const base = loc.rootHasVars ? loc.root : loc.root;
  const file = loc.alias !== undefined ? aliasPath(r, r.uri) : base + r.uri;
  if (r.uri.endsWith('/')) {
    for (const idx of loc.index) {
      const candidate = file + idx;
      try {
        if (fs.statSync(candidate).isFile()) {
          r.uri = r.uri + idx;
          r.uriChanged = true;
          return sendFile(r, candidate);
        }
      } catch {
        // try the next index
      }
    }
    try {
      if (fs.statSync(file).isDirectory()) {
        if (loc.autoindex) return serveAutoindex(r, file);
        logError('error', `directory index of "${file}" is forbidden`, r);
        return finalize(r, 403);
      }
    } catch {
      // fall through to 404
    }
    logError('error', `"${file}index.html" is not found (2: No such file or directory)`, r);
    return finalize(r, 404);
  }
  return sendFile(r, file);
}

function sendFile(r: Req, file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    if (r.loc.logNotFound) logError('error', `open() "${file}" failed (2: No such file or directory)`, r);
    return finalize(r, 404);
  }
  if (st.isDirectory()) {
    return sendSpecial(r, 301, r.uri + '/' + (r.args ? '?' + r.args : ''));
  }
  if (r.method !== 'GET' && r.method !== 'HEAD') return finalize(r, 405);
  r.msg.sendContinue();
  if (dropBodyFailed(r)) return;
  const etag = `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
  const lastModified = formatHttpDate(st.mtime);
  // not_modified filter: If-Modified-Since must equal Last-Modified exactly (if_modified_since exact)
  const ims = r.header('if-modified-since');
  const inm = r.header('if-none-match');
  if ((inm !== undefined && (inm === etag || inm === '*')) || (inm === undefined && ims === lastModified)) {
    writeHead(r, { status: 304, lastModified, headers: ['ETag', etag] }, false);
    r.res.end();
    return;
  }
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = r.header('range');
  const m = range !== undefined && st.size > 0 ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') start = Math.max(0, st.size - Number(m[2]));
    else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= st.size) {
      const body = defaultErrorBody(416, r.loc.serverTokens)!;
      writeHead(r, { status: 416, contentType: 'text/html', contentLength: body.length, headers: ['Content-Range', `bytes */${st.size}`], special: true }, true);
      r.res.end(r.headerOnly ? undefined : body);
      return;
    }
    status = 206;
  }
  const length = end - start + 1;
  writeHead(
    r,
    {
      status,
      contentType: contentType(r, file),
      contentLength: length,
      lastModified,
      headers: status === 206 ? ['ETag', etag, 'Content-Range', `bytes ${start}-${end}/${st.size}`] : ['ETag', etag],
      acceptRanges: status === 200,
    },
    length > 0,
  );
  if (r.headerOnly || length === 0) {
    r.res.end();
    return;
  }
  const stream = fs.createReadStream(file, { start, end });
  const res = r.res;
  // by hand rather than pipe(): send_timeout runs while the client leaves data unread
  stream.on('data', (c) => {
    r.bodyBytesSent += c.length;
    if (res.write(c)) return;
    stream.pause();
    sendStalled(r);
    res.once('drain', () => {
      sendResumed(r);
      stream.resume();
    });
  });
  stream.on('end', () => {
    logRequest(r);
    res.end();
  });
  stream.on('error', () => res.destroy());
  res.once('close', () => {
    sendResumed(r);
    stream.destroy();
  });
}
