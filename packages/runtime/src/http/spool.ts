import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Res } from './response.js';
import type { Req } from './request.js';
import { sendResumed, sendStalled } from './respond.js';

const READ_SIZE = 64 * 1024;

/**
 * proxy_buffering on: the upstream's body is read as fast as it comes, whatever the client's pace.
 * What the client cannot take yet waits in memory up to the size of proxy_buffers, then in a temp
 * file under proxy_temp_path up to proxy_max_temp_file_size (unlinked at once, as nginx does);
 * only past that is the upstream slowed down. So a slow client does not hold the upstream
 * connection longer than nginx would.
 */
type Segment = { buf: Buffer } | { at: number; len: number };

export class Spool {
  /** What the client has not taken yet, in order: memory chunks and ranges of the temp file. */
  private readonly queue: Segment[] = [];
  private memBytes = 0;
  private fileBytes = 0;
  private fd = -1;
  /** Bytes of the temp file handed to writes, and those the writes have completed. */
  private fileEnd = 0;
  private fileDone = 0;
  /** A temp-file write is in flight (writes go to libuv's pool, one at a time, in order). */
  private writing = false;
  private pending: Buffer[] = [];
  private ended = false;
  private waiting = false;
  /** Set when the spool is full: call to let the upstream go on once there is room. */
  private resumeUpstream: (() => void) | undefined;

  constructor(
    private readonly r: Req,
    private readonly res: Res,
    private readonly memLimit: number,
    private readonly fileLimit: number,
    private readonly tempDir: string,
    private readonly onEnd: () => void,
  ) {
    res.on('drain', () => this.flush());
    res.once('close', () => this.release());
  }

  /** The response already holds data the client has not taken: wait for its drain. */
  behind(): void {
    this.waiting = true;
    sendStalled(this.r);
  }

  /** Takes a chunk from the upstream; false: full, resume() will be called when there is room. */
  write(chunk: Buffer, resume: () => void): boolean {
    if (this.res.destroyed) return true;
    if (!this.waiting && this.queue.length === 0) {
      if (!this.res.write(chunk)) {
        this.waiting = true;
        sendStalled(this.r);
      }
      return true;
    }
    if (this.memBytes + chunk.length <= this.memLimit) {
      this.queue.push({ buf: chunk });
      this.memBytes += chunk.length;
      return true;
    }
    if (this.fileBytes + chunk.length <= this.fileLimit && this.openFile()) {
      const last = this.queue[this.queue.length - 1];
      if (last && 'at' in last && last.at + last.len === this.fileEnd) last.len += chunk.length;
      else this.queue.push({ at: this.fileEnd, len: chunk.length });
      this.fileEnd += chunk.length;
      this.fileBytes += chunk.length;
      this.pending.push(chunk);
      if (!this.writing) this.writeFile();
      if (this.pending.length === 0) return true;
      // a write is already in flight: let the upstream wait for the disk, as nginx blocks on it
      this.resumeUpstream = resume;
      return false;
    }
    // buffers and temp file are full (or proxy_max_temp_file_size 0): now the upstream waits
    this.queue.push({ buf: chunk });
    this.memBytes += chunk.length;
    this.resumeUpstream = resume;
    return false;
  }

  /** The upstream body is complete: end the response once everything has gone out. */
  end(): void {
    this.ended = true;
    if (!this.waiting && this.queue.length === 0) this.finish();
  }

  /** Writes what is pending to the temp file off the event loop, then lets the upstream go on. */
  private writeFile(): void {
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.writing = true;
    const at = this.fileDone;
    fs.write(this.fd, data, 0, data.length, at, (err) => {
      this.writing = false;
      if (err || this.fd < 0) return;
      this.fileDone = at + data.length;
      if (this.pending.length > 0) return this.writeFile();
      if (this.resumeUpstream) {
        const r = this.resumeUpstream;
        this.resumeUpstream = undefined;
        r();
      }
      if (!this.waiting) this.flush();
    });
  }

  private openFile(): boolean {
    if (this.fd >= 0) return true;
    try {
      fs.mkdirSync(this.tempDir, { recursive: true });
      const file = path.join(this.tempDir, `nxproxy-${process.pid}-${Math.random().toString(36).slice(2)}`);
      this.fd = fs.openSync(file, 'w+', 0o600);
      fs.unlinkSync(file);
      return true;
    } catch {
      return false;
    }
  }

  private flush(): void {
    this.waiting = false;
    sendResumed(this.r);
    while (!this.waiting && this.queue.length > 0) {
      const seg = this.queue[0];
      let out: Buffer;
      if ('buf' in seg) {
        this.queue.shift();
        this.memBytes -= seg.buf.length;
        out = seg.buf;
      } else {
        // only what the temp-file writes have completed can be read back
        const n = Math.min(READ_SIZE, seg.len, this.fileDone - seg.at);
        if (n <= 0) break;
        out = Buffer.allocUnsafe(n);
        fs.readSync(this.fd, out, 0, n, seg.at);
        seg.at += n;
        seg.len -= n;
        this.fileBytes -= n;
        if (seg.len === 0) this.queue.shift();
      }
      if (!this.res.write(out)) {
        this.waiting = true;
        sendStalled(this.r);
      }
    }
    if (this.resumeUpstream && !this.writing && this.memBytes < this.memLimit) {
      const r = this.resumeUpstream;
      this.resumeUpstream = undefined;
      r();
    }
    if (!this.waiting && this.ended && this.queue.length === 0) this.finish();
  }

  private finish(): void {
    this.release();
    this.onEnd();
  }

  private release(): void {
    sendResumed(this.r);
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
  }
}
