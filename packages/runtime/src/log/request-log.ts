import type { Req } from '../http/request.js';
import { writeAccessLogs } from './access-log.js';

/**
 * nginx's log phase, once per request. Called right before the response's last bytes are handed
 * to the socket, so the access log line is on disk by the time the client has the response.
 */
export function logRequest(r: Req): void {
  const tagged = r as Req & { logged?: boolean };
  if (tagged.logged) return;
  tagged.logged = true;
  let head = 17; // "HTTP/1.1 200 OK\r\n" and the blank line, as nginx counts $bytes_sent
  if (r.sentHeaders) for (const s of r.sentHeaders) head += s.length + 2;
  r.bytesSent = r.bodyBytesSent + head;
  writeAccessLogs(r);
}
