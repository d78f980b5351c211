import type { Req } from '../http/request.js';
import { writeAccessLogs } from './access-log.js';

/**
 * nginx's log phase, once per request. Called right before the response's last bytes are handed
 * to the socket, so the access log line is on disk by the time the client has the response.
 */
export function logRequest(r: Req): void {
  if (r.logged) return;
  r.logged = true;
  // only an access log reads $bytes_sent (access_log off: nothing to do)
  const targets = r.loc?.accessLogs;
  if (!targets || targets.length === 0) return;
  // the status line, each "Name: value\r\n", and the blank line, as nginx counts $bytes_sent
  let head = 9 + 3 + 1 + (r.res.statusMessage?.length ?? 0) + 2 + 2;
  const h = r.sentHeaders;
  if (h) for (let i = 0; i < h.length; i += 2) head += h[i].length + 2 + h[i + 1].length + 2;
  r.bytesSent = r.bodyBytesSent + head;
  writeAccessLogs(r);
}
