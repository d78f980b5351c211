#!/usr/bin/env node
// The floor of the proxy benchmark: the least a Node proxy built on undici does per request.
// A bare `net` server finds the end of each request head, sends GET <target> to the backend
// through one undici Pool (the engine nxproxy uses), and writes the answer back with a fixed
// head. No nginx semantics, no configuration, no logging: whatever nxproxy costs beyond this is
// nxproxy's own; this much is Node's sockets plus undici.
//
//   node bench/proxy/floor-proxy.mjs PORT BACKEND_PORT keepalive|close
//
// keepalive: upstream connections are reused (like `keepalive 64` + HTTP/1.1);
// close: every upstream request says "Connection: close" (a new connection each time).
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { ROOT } from '../lib.mjs';

const { Pool } = createRequire(`${ROOT}/packages/runtime/package.json`)('undici');
const [port, backend] = process.argv.slice(2, 4).map(Number);
const close = process.argv[4] === 'close';
const pool = new Pool(`http://127.0.0.1:${backend}`, { connections: 64, pipelining: 1 });
const HEADERS = close ? ['host', `127.0.0.1:${backend}`, 'connection', 'close'] : ['host', `127.0.0.1:${backend}`];

/** One request's undici handler: collects the answer, then writes it to the client. */
class Answer {
  constructor(socket) {
    this.socket = socket;
    this.status = 0;
    this.chunks = [];
  }

  onConnect() {}

  onError() {
    this.socket.destroy();
  }

  onHeaders(status) {
    this.status = status;
    return true;
  }

  onData(chunk) {
    this.chunks.push(chunk);
    return true;
  }

  onComplete() {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const head = `HTTP/1.1 ${this.status} OK\r\nServer: floor\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`;
    this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }
}

createServer({ noDelay: true }, (socket) => {
  let pending = '';
  socket.on('data', (data) => {
    pending += data.toString('latin1');
    for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
      const line = pending.slice(0, pending.indexOf('\r\n'));
      pending = pending.slice(end + 4);
      const target = line.split(' ')[1] ?? '/';
      pool.dispatch({ path: target, method: 'GET', headers: HEADERS }, new Answer(socket));
    }
  });
  socket.on('error', () => socket.destroy());
}).listen(port, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
