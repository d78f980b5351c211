import * as fs from 'node:fs';
import * as path from 'node:path';
import { logError } from '../log/error-log.js';
import { finalize } from './phases.js';
import type { Req } from './request.js';
import { formatHttpDate } from './error-pages.js';
import { sendSpecial, writeHead } from './respond.js';

function contentType(r: Req, file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return r.loc.types.get(ext) ?? r.loc.defaultType;
}

/** The static and index modules, enough for root-served files and their error paths. */
export function serveStatic(r: Req): void {
  const loc = r.loc;
  const base = loc.rootHasVars ? loc.root : loc.root;
  const file = loc.alias !== undefined ? loc.alias + r.uri.slice(loc.name.length) : base + r.uri;
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
  const etag = `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
  writeHead(
    r,
    {
      status: 200,
      contentType: contentType(r, file),
      contentLength: st.size,
      lastModified: formatHttpDate(st.mtime),
      headers: ['ETag', etag, 'Accept-Ranges', 'bytes'],
    },
    st.size > 0,
  );
  if (r.headerOnly || st.size === 0) {
    r.res.end();
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('data', (c) => (r.bodyBytesSent += c.length));
  stream.on('error', () => r.res.destroy());
  stream.pipe(r.res);
}
