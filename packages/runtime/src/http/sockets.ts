import type { RuntimeConfig, SocketConf } from '../compile/types.js';

/**
 * What to bind. As nginx does, a port that has a wildcard listen (*:80) is bound once on the
 * wildcard; servers listening on a specific address of that port are then chosen by the
 * connection's local address, not by a socket of their own.
 */
export function bindPlan(table: RuntimeConfig): SocketConf[] {
  const wildcardPorts = new Set(table.sockets.filter((s) => !s.unix && isWildcard(s.host)).map((s) => s.port));
  return table.sockets.filter((s) => s.unix || isWildcard(s.host) || !wildcardPorts.has(s.port));
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The listen address a connection belongs to: its exact local address, else the port's wildcard. */
export function socketFor(table: RuntimeConfig, bindKey: string, localAddr: string, localPort: number): SocketConf | undefined {
  let wildcard: SocketConf | undefined;
  let bound: SocketConf | undefined;
  for (const s of table.sockets) {
    if (s.key === bindKey) bound = s;
    if (s.unix || s.port !== localPort) continue;
    if (s.host === localAddr || s.host === `[${localAddr}]`) return s;
    if (isWildcard(s.host)) wildcard = s;
  }
  return bound?.unix ? bound : wildcard ?? bound;
}
