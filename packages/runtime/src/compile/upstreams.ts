import { parseNumber, parseTime, type Directive } from '@nxproxy/parser';
import type { UpstreamGroup, UpstreamPeer } from './types.js';
import type { Variables } from './variables.js';

/** Host -> addresses, resolved before compile (compile itself does no I/O). */
export type HostTable = ReadonlyMap<string, string[]>;

function peersOf(addr: string, defaultPort: number, hosts: HostTable): { host: string; port: number; socketPath?: string; name: string }[] {
  if (addr.startsWith('unix:')) return [{ host: 'localhost', port: 0, socketPath: addr.slice(5), name: addr }];
  let host = addr;
  let port = defaultPort;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(addr);
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const ips = hosts.get(bare) ?? [bare];
  return ips.map((ip) => ({ host: ip, port, name: ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}` }));
}

export function compileUpstream(d: Directive, vars: Variables, hosts: HostTable): UpstreamGroup {
  const g: UpstreamGroup = {
    name: d.args[0].value,
    peers: [],
    backups: [],
    balancer: 'round_robin',
    keepalive: 0,
    keepaliveTimeout: 60_000,
    keepaliveRequests: 1000,
    keepaliveTime: 3_600_000,
    implicit: false,
  };
  for (const s of d.block ?? []) {
    const a = s.args.map((x) => x.value);
    switch (s.name) {
      case 'server': {
        const o = { weight: 1, maxFails: 1, failTimeout: 10, backup: false, down: false, maxConns: 0 };
        for (const p of a.slice(1)) {
          const [k, v] = p.split('=');
          if (k === 'weight') o.weight = parseNumber(v) ?? 1;
          else if (k === 'max_fails') o.maxFails = parseNumber(v) ?? 1;
          else if (k === 'fail_timeout') o.failTimeout = parseTime(v, true) ?? 10;
          else if (k === 'max_conns') o.maxConns = parseNumber(v) ?? 0;
          else if (k === 'backup') o.backup = true;
          else if (k === 'down') o.down = true;
        }
        for (const p of peersOf(a[0], 80, hosts)) {
          const peer: UpstreamPeer = { ...p, ...o, server: a[0] };
          (o.backup ? g.backups : g.peers).push(peer);
        }
        break;
      }
      case 'keepalive':
        g.keepalive = parseNumber(a[0]) ?? 0;
        break;
      case 'keepalive_timeout':
        g.keepaliveTimeout = parseTime(a[0], false) ?? 60_000;
        break;
      case 'keepalive_requests':
        g.keepaliveRequests = parseNumber(a[0]) ?? 1000;
        break;
      case 'keepalive_time':
        g.keepaliveTime = parseTime(a[0], false) ?? 3_600_000;
        break;
      case 'least_conn':
        g.balancer = 'least_conn';
        break;
      case 'ip_hash':
        g.balancer = 'ip_hash';
        break;
      case 'hash':
        g.balancer = 'hash';
        g.hashKey = vars.script(a[0]);
        g.hashConsistent = a[1] === 'consistent';
        break;
      case 'random':
        g.balancer = 'random';
        g.randomTwo = a[0] === 'two';
        break;
    }
  }
  return g;
}

/** proxy_pass http://host:port without an upstream{} block: every address becomes a peer. */
export function implicitUpstream(hostPort: string, defaultPort: number, hosts: HostTable): UpstreamGroup {
  const peers = peersOf(hostPort, defaultPort, hosts).map((p) => ({
    ...p,
    server: hostPort,
    weight: 1,
    maxFails: 1,
    failTimeout: 10,
    backup: false,
    down: false,
    maxConns: 0,
  }));
  return {
    name: hostPort,
    peers,
    backups: [],
    balancer: 'round_robin',
    keepalive: 0,
    keepaliveTimeout: 60_000,
    keepaliveRequests: 1000,
    keepaliveTime: 3_600_000,
    implicit: true,
  };
}
