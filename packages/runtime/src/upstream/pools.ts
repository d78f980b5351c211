import { Pool } from 'undici';
import type { ProxyConf, UpstreamGroup, UpstreamPeer } from '../compile/types.js';
import { GroupState } from './balancer.js';

/**
 * One undici Pool per upstream peer (and per timeout profile). nxproxy's balancer picks the
 * peer; undici only carries bytes, so it never decides routing.
 */
const pools = new Map<string, Pool>();
const groups = new Map<string, GroupState>();

export function poolFor(peer: UpstreamPeer, group: UpstreamGroup, conf: ProxyConf): Pool {
  const key = `${peer.name}|${conf.connectTimeout}|${conf.readTimeout}|${group.keepalive}`;
  let p = pools.get(key);
  if (!p) {
    const origin = peer.socketPath ? 'http://localhost' : `http://${peer.host.includes(':') ? `[${peer.host}]` : peer.host}:${peer.port}`;
    p = new Pool(origin, {
      connect: peer.socketPath ? { socketPath: peer.socketPath, timeout: conf.connectTimeout } : { timeout: conf.connectTimeout },
      headersTimeout: conf.readTimeout,
      bodyTimeout: conf.readTimeout,
      keepAliveTimeout: group.keepalive ? group.keepaliveTimeout : 4_000,
      keepAliveMaxTimeout: group.keepalive ? group.keepaliveTimeout : 600_000,
      pipelining: 1,
      connections: group.keepalive ? null : null,
    });
    pools.set(key, p);
  }
  return p;
}

export function groupState(group: UpstreamGroup): GroupState {
  const key = group.name + '|' + group.peers.map((p) => p.name).join(',') + '|' + group.backups.map((p) => p.name).join(',');
  let s = groups.get(key);
  if (!s) {
    s = new GroupState(group);
    groups.set(key, s);
  }
  return s;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.close()));
}
