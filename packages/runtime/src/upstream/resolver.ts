import { promises as dns } from 'node:dns';
import type { ResolverConf } from '../compile/types.js';

/** A name's addresses, or nginx's reason for having none. */
export type Resolved = { addrs: string[] } | { error: string };

interface Cached {
  addrs: string[];
  expires: number;
}

interface ResolverState {
  resolver: dns.Resolver;
  cache: Map<string, Cached>;
}

const states = new WeakMap<ResolverConf, ResolverState>();

function stateFor(conf: ResolverConf): ResolverState {
  let s = states.get(conf);
  if (!s) {
    // nginx asks the servers `resolver` names, and only those (no /etc/hosts, no search domains)
    const resolver = new dns.Resolver({ timeout: conf.timeout, tries: 1 });
    try {
      resolver.setServers(conf.servers);
    } catch {
      // a server given by name (nginx looks it up at start): the system's servers answer instead
    }
    s = { resolver, cache: new Map() };
    states.set(conf, s);
  }
  return s;
}

type Answer = { address: string; ttl: number }[];

/** One record type; "no such name" and "no such record" are empty answers. */
async function query(run: () => Promise<Answer>): Promise<Answer | { code: string }> {
  try {
    return await run();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    return { code };
  }
}

/**
 * The addresses of `name` through the configured resolver, kept for their TTL (or `valid=`), as
 * nginx's resolver does. A and AAAA are asked for together (ipv6=on, nginx 1.22's default).
 */
export async function resolveName(conf: ResolverConf, name: string): Promise<Resolved> {
  const s = stateFor(conf);
  const key = name.toLowerCase();
  const now = Date.now();
  const hit = s.cache.get(key);
  if (hit && hit.expires > now) return { addrs: hit.addrs };
  const [a, aaaa] = await Promise.all([
    query(() => s.resolver.resolve4(key, { ttl: true })),
    conf.ipv6 ? query(() => s.resolver.resolve6(key, { ttl: true })) : Promise.resolve([] as Answer),
  ]);
  if (!Array.isArray(a) || !Array.isArray(aaaa)) {
    const code = (Array.isArray(a) ? aaaa : a) as { code: string };
    return { error: code.code === 'ETIMEOUT' ? '110: Operation timed out' : '2: Server failure' };
  }
  const all = [...a, ...aaaa];
  if (all.length === 0) return { error: '3: Host not found' };
  const ttl = conf.valid ?? Math.min(...all.map((x) => x.ttl)) * 1000;
  const addrs = all.map((x) => x.address);
  s.cache.set(key, { addrs, expires: now + ttl });
  return { addrs };
}
