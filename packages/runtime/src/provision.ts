import * as dns from 'node:dns';
import { isIP } from 'node:net';
import type { Directive, LoadedConfig } from '@nxproxy/parser';
import { expand } from './compile/expand.js';

/** Resolves the host names compile needs (upstream servers, static proxy_pass hosts): every address becomes a peer. */
export async function resolveHosts(config: LoadedConfig): Promise<Map<string, string[]>> {
  const names = new Set<string>();
  const visit = (dirs: Directive[], inUpstream: boolean) => {
    for (const d of expand(dirs, config)) {
      if (d.name === 'server' && inUpstream) names.add(hostOf(d.args[0].value));
      if (d.name === 'proxy_pass' && !d.args[0].value.includes('$')) {
        const m = /^https?:\/\/([^/?]+)/i.exec(d.args[0].value);
        if (m && !m[1].startsWith('unix:')) names.add(hostOf(m[1]));
      }
      if (d.block) visit(d.block, d.name === 'upstream');
    }
  };
  visit([...config.globals, ...config.main.directives], false);
  const out = new Map<string, string[]>();
  await Promise.all(
    [...names].map(async (n) => {
      if (!n || isIP(n) || n.startsWith('unix:')) return;
      try {
        const r = await dns.promises.lookup(n, { all: true });
        out.set(n, r.map((x) => x.address));
      } catch {
        // -t reported it already; an unresolvable name gets no peers
      }
    }),
  );
  return out;
}

function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const c = hostPort.lastIndexOf(':');
  return c >= 0 ? hostPort.slice(0, c) : hostPort;
}
