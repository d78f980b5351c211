import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { logError } from '../log/error-log.js';
import type { Req } from './request.js';

/**
 * A request body read whole before it goes upstream (proxy_request_buffering on). Up to
 * client_body_buffer_size it stays in memory; past that it goes to an unlinked temp file under
 * client_body_temp_path, as nginx does, so large uploads do not grow the process.
 */
export class BufferedBody {
  constructor(
    readonly length: number,
    private readonly mem: Buffer | null,
    private readonly fd: number,
  ) {}

  /** A fresh reader for one attempt (a retry reads the body again from the start). */
  open(): Buffer | Readable | undefined {
    if (this.length === 0) return undefined;
    if (this.mem) return this.mem;
    return fs.createReadStream('', { fd: this.fd, start: 0, end: this.length - 1, autoClose: false });
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
    }
  }
}

type Failure = { status: number; close?: boolean };

/**
 * Reads the whole request body: 413 past client_max_body_size, a silent close (408 logged) when
 * client_body_timeout passes between two reads.
 */
export function readBody(r: Req): Promise<BufferedBody> {
  return new Promise((resolve, reject) => {
    const loc = r.loc;
    const max = loc.clientMaxBodySize;
    const memLimit = loc.clientBodyBufferSize;
    const stream = r.msg.body();
    const chunks: Buffer[] = [];
    let size = 0;
    let fd = -1;
    let written = 0;
    let writing = false;
    let ended = false;
    let failed = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (f: Failure) => {
      if (failed) return;
      failed = true;
      if (timer) clearTimeout(timer);
      stream.removeAllListeners('data');
      if (fd >= 0) fs.close(fd, () => undefined);
      reject(f);
    };
    const arm = () => {
      if (loc.clientBodyTimeout <= 0) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        logError('info', 'client timed out (110: Connection timed out) while reading client request body', r);
        fail({ status: 408, close: true });
      }, loc.clientBodyTimeout);
    };
    const done = () => {
      if (failed || writing || !ended) return;
      if (timer) clearTimeout(timer);
      if (fd < 0) resolve(new BufferedBody(size, size ? Buffer.concat(chunks, size) : null, -1));
      else resolve(new BufferedBody(size, null, fd));
    };
    // the file takes what memory would not hold; one write at a time, the client waiting meanwhile
    const spill = () => {
      if (writing || chunks.length === 0 || failed) return done();
      const data = Buffer.concat(chunks);
      chunks.length = 0;
      writing = true;
      stream.pause();
      fs.write(fd, data, 0, data.length, written, (err) => {
        writing = false;
        if (err) {
          logError('crit', `write() to a temp file failed (${err.message})`, r);
          return fail({ status: 500 });
        }
        written += data.length;
        stream.resume();
        if (chunks.length) spill();
        else done();
      });
    };
    arm();
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (max && size > max) return fail({ status: 413 });
      chunks.push(c);
      arm();
      if (fd < 0 && size > memLimit) {
        try {
          fs.mkdirSync(loc.clientBodyTempPath, { recursive: true });
          const file = path.join(loc.clientBodyTempPath, `nxproxy-body-${process.pid}-${Math.random().toString(36).slice(2)}`);
          fd = fs.openSync(file, 'w+', 0o600);
          fs.unlinkSync(file);
        } catch (e) {
          logError('crit', `open() temp file failed (${(e as Error).message})`, r);
          return fail({ status: 500 });
        }
      }
      if (fd >= 0) spill();
    });
    stream.on('end', () => {
      ended = true;
      if (fd >= 0) spill();
      else done();
    });
    stream.on('error', () => {
      if (r.msg.broken) logError('error', 'client sent invalid chunked body', r);
      fail({ status: 400 });
    });
  });
}
