import type { ServerConf, SocketConf } from '../compile/types.js';
import { captureGroups } from '../compile/regex.js';
import type { Req } from './request.js';

/** ngx_http_find_virtual_server: exact, longest *.suffix, longest prefix.*, first regex, default. */
export function selectServer(sock: SocketConf, host: string, r: Req): ServerConf {
  if (host.length === 0) return sock.exact.get('') ?? sock.defaultServer;
  const exact = sock.exact.get(host);
  if (exact) return exact;
  for (const [suffix, s] of sock.headWildcards) if (host.endsWith(suffix)) return s;
  for (const [prefix, s] of sock.tailWildcards) if (host.startsWith(prefix)) return s;
  for (const [re, s] of sock.regexes) {
    const m = re.exec(host);
    if (m) {
      const g = captureGroups(m);
      r.captures = g.captures;
      r.namedCaptures = g.named;
      return s;
    }
  }
  return sock.defaultServer;
}
