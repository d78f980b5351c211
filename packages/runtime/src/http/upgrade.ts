import type { Socket } from 'node:net';
import type { ProxyConf } from '../compile/types.js';
import { logError } from '../log/error-log.js';
import { logRequest } from '../log/request-log.js';
import { httpDate } from './error-pages.js';
import type { Req } from './request.js';

/**
 * WebSocket and other Upgrade requests, as nginx proxies them: only when the configuration
 * passes the client's Upgrade header on and asks for "Connection: upgrade" (the usual
 * `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection
 * $connection_upgrade;`). Then a 101 from the upstream turns the connection into a tunnel.
 */
export function upgradeWanted(r: Req, conf: ProxyConf): string | undefined {
  if (!r.upgradeSocket || conf.httpVersion !== '1.1') return undefined;
  let upgrade: string | undefined;
  let connection: string | undefined;
  for (const h of conf.headers) {
    if (h.lname === 'upgrade') upgrade = h.value(r);
    else if (h.lname === 'connection') connection = h.value(r);
  }
  if (!upgrade || !connection || !/(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection)) return undefined;
  return upgrade;
}

/** Headers nginx never copies from the upstream's 101. */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * Sends the client nginx's 101 (Server, Date, Connection: upgrade, then the upstream's headers)
 * and joins the two sockets. proxy_read_timeout / proxy_send_timeout bound the idle time in
 * each direction; closing either side closes the other.
 */
export function tunnel(r: Req, conf: ProxyConf, raw: Buffer[], upstream: Socket): void {
  const client = r.upgradeSocket!;
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  head += `Server: ${r.loc.serverTokens === 'off' ? 'nginx' : 'nginx/1.22.1'}\r\nDate: ${httpDate()}\r\nConnection: upgrade\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lname = name.toLowerCase();
    if (DROP.has(lname) || conf.hide.has(lname)) continue;
    head += `${name}: ${raw[i + 1].toString('latin1')}\r\n`;
  }
  r.status = 101;
  client.write(head + '\r\n', 'latin1');
  if (r.upgradeHead && r.upgradeHead.length) upstream.write(r.upgradeHead);
  logRequest(r);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
  };
  // what the client sends bypasses the HTTP parser from now on
  r.divert!((chunk) => {
    client.setTimeout(conf.sendTimeout);
    if (!upstream.write(chunk)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (chunk: Buffer) => {
    if (!client.write(chunk)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  // proxy_read_timeout: the upstream idle; proxy_send_timeout: the client idle
  upstream.setTimeout(conf.readTimeout, () => {
    logError('error', 'upstream timed out (110: Connection timed out) while proxying upgraded connection', r);
    close();
  });
  client.setTimeout(conf.sendTimeout, close);
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', close);
    s.on('end', close);
  }
  upstream.resume();
}
