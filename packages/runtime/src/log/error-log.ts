import * as fs from 'node:fs';
import type { Req } from '../http/request.js';

const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'];

interface Sink {
  path: string;
  fd: number | 'stderr';
  level: number;
}

let sink: Sink = { path: 'stderr', fd: 'stderr', level: LEVELS.indexOf('error') };

/** Points the error log at a file (or stderr); returns a function that restores the previous sink. */
export function openErrorLog(path: string, level: string): void {
  const lv = Math.max(0, LEVELS.indexOf(level === 'stderr' ? 'error' : level));
  if (path === 'stderr') {
    sink = { path, fd: 'stderr', level: lv };
    return;
  }
  const fd = fs.openSync(path, 'a');
  const old = sink;
  sink = { path, fd, level: lv };
  if (typeof old.fd === 'number') fs.closeSync(old.fd);
}

export function errorLogLevelEnabled(level: string): boolean {
  return LEVELS.indexOf(level) <= sink.level;
}

const p2 = (n: number) => (n < 10 ? '0' + n : String(n));

function stamp(d = new Date()): string {
  return `${d.getFullYear()}/${p2(d.getMonth() + 1)}/${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** One line in nginx's error log format, with the request context nginx appends. */
export function logError(level: string, message: string, r?: Req, upstream?: string): void {
  if (!errorLogLevelEnabled(level)) return;
  let line = `${stamp()} [${level}] ${process.pid}#${process.pid}: `;
  if (r) line += `*${r.conn.id} `;
  line += message;
  if (r) {
    line += `, client: ${r.conn.remoteAddr}, server: ${r.server?.name ?? ''}`;
    // nginx's r->request_line as sent (set by the listener); none for an empty one
    const request = r.msg.requestLine;
    if (request) line += `, request: "${request}"`;
    if (upstream) line += `, upstream: "${upstream}"`;
    const host = r.hostHeader;
    if (host !== undefined) line += `, host: "${host}"`;
  }
  line += '\n';
  try {
    if (sink.fd === 'stderr') process.stderr.write(line);
    else fs.writeSync(sink.fd, line);
  } catch {
    // the log is best effort: a closed stderr must not take the server down
  }
}
