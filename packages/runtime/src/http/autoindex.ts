import type { Req } from './request.js';
import { finalize } from './phases.js';

/** ngx_http_autoindex_module: a directory listing. (Placeholder until the listing formats land.) */
export function serveAutoindex(r: Req, dir: string): void {
  void dir;
  finalize(r, 403);
}
