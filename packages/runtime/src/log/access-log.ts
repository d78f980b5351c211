import * as fs from 'node:fs';
import type { AccessLogTarget } from '../compile/types.js';
import type { Req } from '../http/request.js';

interface OpenLog {
  fd: number;
  buffer: string[];
  size: number;
  max: number;
  timer?: NodeJS.Timeout;
}

const open = new Map<string, OpenLog>();

function get(t: AccessLogTarget): OpenLog | undefined {
  let l = open.get(t.path);
  if (l) return l;
  try {
    const fd = t.path === '/dev/stdout' ? 1 : t.path === '/dev/stderr' || t.path === 'stderr' ? 2 : fs.openSync(t.path, 'a');
    l = { fd, buffer: [], size: 0, max: t.buffer };
    open.set(t.path, l);
    return l;
  } catch {
    return undefined;
  }
}

function flush(l: OpenLog): void {
  if (l.buffer.length === 0) return;
  const data = l.buffer.join('');
  l.buffer = [];
  l.size = 0;
  try {
    fs.writeSync(l.fd, Buffer.from(data, 'latin1'));
  } catch {
    // nginx logs and goes on; so do we
  }
}

/**
 * Appends the request's line to each access_log. Unbuffered logs are written synchronously, so
 * the line is on disk by the time the response has been sent; buffer= holds lines until the
 * buffer fills, flush= passes, or the process stops.
 */
export function writeAccessLogs(r: Req): void {
  const targets = r.loc?.accessLogs;
  if (!targets) return;
  for (const t of targets) {
    if (t.condition) {
      const c = t.condition(r);
      if (c === '' || c === '0') continue;
    }
    const l = get(t);
    if (!l) continue;
    const line = t.format.render(r) + '\n';
    if (l.max === 0) {
      try {
        fs.writeSync(l.fd, Buffer.from(line, 'latin1'));
      } catch {
        // see flush()
      }
      continue;
    }
    l.buffer.push(line);
    l.size += line.length;
    if (l.size >= l.max) flush(l);
    else if (t.flush && !l.timer) {
      l.timer = setTimeout(() => {
        l.timer = undefined;
        flush(l);
      }, t.flush);
      l.timer.unref();
    }
  }
}

/** Flushes and closes every access log (shutdown, reopen). */
export function closeAccessLogs(): void {
  for (const l of open.values()) {
    flush(l);
    if (l.timer) clearTimeout(l.timer);
    if (l.fd > 2) {
      try {
        fs.closeSync(l.fd);
      } catch {
        // already closed
      }
    }
  }
  open.clear();
}
