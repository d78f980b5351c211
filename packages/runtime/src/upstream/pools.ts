import type { Socket } from 'node:net';
import { buildConnector, Client, Pool } from 'undici';
import type { ProxyConf, UpstreamGroup, UpstreamPeer } from '../compile/types.js';
import { GroupState } from './balancer.js';

/**
 * Request heads written by nxproxy. undici carries the connection (pooling, keep-alive, response
 * parsing, timeouts) but serializes heads its own way: always "HTTP/1.1", with host and
 * connection lowercased and moved first, content-length last. nginx 1.22 sends "HTTP/1.0" by
 * default and its own header order, and backends see the difference. So each dispatch carries
 * a marker header, and the socket's write swaps undici's head for the one nxproxy built.
 */
const MARKER = '\r\nx-nxproxy-head: ';
/** Heads by slot; a request's slot is its marker value until the attempt is done (then reused). */
const heads: (string | undefined)[] = [];
/** Per slot: how long the connection its head went out on took to connect (0 when reused). */
const connectMs: number[] = [];
const freeSlots: number[] = [];

/** $upstream_connect_time of the attempt holding this slot, once its head was written (-1: not yet). */
export function headConnectMs(slot: number): number {
  return connectMs[slot] ?? -1;
}

/** Registers the exact head (request line and header lines, without the final blank line). */
export function registerHead(head: string): number {
  const slot = freeSlots.length ? freeSlots.pop()! : heads.length;
  heads[slot] = head;
  connectMs[slot] = -1;
  return slot;
}

/**
 * The attempt is over (its head was written or never will be): the slot may be reused. With
 * `keptBy`, the response completed on a kept-alive connection of that group, which is now idle.
 */
export function dropHead(slot: number, keptBy?: UpstreamGroup): void {
  if (heads[slot] === undefined) return;
  heads[slot] = undefined;
  freeSlots.push(slot);
  const socket = slotSocket[slot];
  slotSocket[slot] = undefined;
  if (socket && keptBy && keptBy.keepalive > 0 && !socket.destroyed) markIdle(socket, keptBy);
}

interface TimedSocket extends Socket {
  /** Milliseconds the TCP connect took; reset to 0 once a request went out on it. */
  nxConnectMs?: number;
  /** The idle set this connection is in, while idle. */
  nxIdle?: Set<TimedSocket>;
  /** A close listener takes it out of its idle set (registered once). */
  nxWatched?: boolean;
  /** When the connection was made (keepalive_time). */
  nxBorn?: number;
}

/** The socket each head slot's request went out on. */
const slotSocket: (TimedSocket | undefined)[] = [];

/**
 * `keepalive N`: at most N idle connections per upstream group, the least recently used closed
 * first. undici's pools keep every idle connection until its timeout; nginx's cache does not.
 */
const idleByGroup = new WeakMap<UpstreamGroup, Set<TimedSocket>>();

function markBusy(socket: TimedSocket): void {
  socket.nxIdle?.delete(socket);
  socket.nxIdle = undefined;
}

function markIdle(socket: TimedSocket, group: UpstreamGroup): void {
  // keepalive_time: a connection older than this is closed instead of being kept
  if (socket.nxBorn !== undefined && Date.now() - socket.nxBorn > group.keepaliveTime) {
    socket.destroy();
    return;
  }
  let set = idleByGroup.get(group);
  if (!set) idleByGroup.set(group, (set = new Set()));
  if (!socket.nxWatched) {
    socket.nxWatched = true;
    socket.once('close', () => markBusy(socket));
  }
  set.delete(socket);
  set.add(socket);
  socket.nxIdle = set;
  while (set.size > group.keepalive) {
    const oldest = set.values().next().value as TimedSocket;
    markBusy(oldest);
    oldest.destroy();
  }
}

function substituteHead(chunk: string, socket: TimedSocket): string {
  const i = chunk.indexOf(MARKER);
  if (i < 0) return chunk;
  let slot = 0;
  let k = i + MARKER.length;
  for (let c = chunk.charCodeAt(k); c >= 0x30 && c <= 0x39; c = chunk.charCodeAt(++k)) slot = slot * 10 + (c - 0x30);
  const head = heads[slot];
  if (head === undefined) return chunk;
  connectMs[slot] = socket.nxConnectMs ?? 0;
  socket.nxConnectMs = 0;
  slotSocket[slot] = socket;
  markBusy(socket);
  // undici leaves the blank line to the first chunk of a chunked body
  return chunk.endsWith('transfer-encoding: chunked\r\n') ? head : head + '\r\n';
}

function headWritingConnector(timeout: number, socketPath?: string): buildConnector.connector {
  const base = buildConnector({ timeout, socketPath } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const started = Date.now();
    base(opts, (err, socket) => {
      if (socket) {
        const s = socket as TimedSocket;
        s.nxConnectMs = Date.now() - started;
        s.nxBorn = started;
        const write = s.write;
        s.write = function (this: TimedSocket, chunk: unknown, encoding?: unknown, cb?: unknown) {
          return (write as (...a: unknown[]) => boolean).call(this, typeof chunk === 'string' ? substituteHead(chunk, this) : chunk, encoding, cb);
        } as typeof s.write;
      }
      callback(err as Error, socket as never);
    });
  };
}

/**
 * A connection of its own for one request, closed once the request is done. nginx's one extra
 * try after a cached connection failed goes out on a new connection; undici's pool could hand the
 * retry another stale idle connection instead.
 */
export function freshClient(peer: UpstreamPeer, conf: ProxyConf): Client {
  const origin = peer.socketPath ? 'http://localhost' : `http://${peer.host.includes(':') ? `[${peer.host}]` : peer.host}:${peer.port}`;
  return new Client(origin, {
    connect: headWritingConnector(conf.connectTimeout, peer.socketPath),
    headersTimeout: conf.readTimeout,
    bodyTimeout: conf.readTimeout,
    pipelining: 1,
  });
}

/**
 * One undici Pool per upstream peer (and per timeout profile). nxproxy's balancer picks the
 * peer; undici only carries bytes, so it never decides routing.
 */
const pools = new Map<string, Pool>();
const groups = new Map<string, GroupState>();

/** Compiled peers and groups never change: their pools and states are looked up once. */
interface PoolEntry {
  connectTimeout: number;
  readTimeout: number;
  keepalive: number;
  pool: Pool;
  headerBuffer: number;
}
let poolsByPeer = new WeakMap<UpstreamPeer, PoolEntry[]>();
const statesByGroup = new WeakMap<UpstreamGroup, GroupState>();

export function poolFor(peer: UpstreamPeer, group: UpstreamGroup, conf: ProxyConf): Pool {
  let list = poolsByPeer.get(peer);
  if (list) {
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e.connectTimeout === conf.connectTimeout && e.readTimeout === conf.readTimeout && e.keepalive === group.keepalive && e.headerBuffer === conf.headerBuffer) return e.pool;
    }
  } else {
    list = [];
    poolsByPeer.set(peer, list);
  }
  const key = `${peer.name}|${conf.connectTimeout}|${conf.readTimeout}|${group.keepalive}|${conf.headerBuffer}`;
  let p = pools.get(key);
  if (!p) {
    const origin = peer.socketPath ? 'http://localhost' : `http://${peer.host.includes(':') ? `[${peer.host}]` : peer.host}:${peer.port}`;
    p = new Pool(origin, {
      connect: headWritingConnector(conf.connectTimeout, peer.socketPath),
      headersTimeout: conf.readTimeout,
      bodyTimeout: conf.readTimeout,
      keepAliveTimeout: group.keepalive ? group.keepaliveTimeout : 4_000,
      keepAliveMaxTimeout: group.keepalive ? group.keepaliveTimeout : 600_000,
      pipelining: 1,
      connections: null,
      // proxy_buffer_size: a response head that does not fit is "upstream sent too big header"
      maxHeaderSize: conf.headerBuffer,
      // keepalive_requests: a kept connection is closed after this many requests
      maxRequestsPerClient: group.keepalive ? group.keepaliveRequests : undefined,
    });
    pools.set(key, p);
  }
  list.push({ connectTimeout: conf.connectTimeout, readTimeout: conf.readTimeout, keepalive: group.keepalive, headerBuffer: conf.headerBuffer, pool: p });
  return p;
}

/**
 * The balancer state of a group, shared by every group of the same name and servers (so a reload
 * keeps failures). `cache`: remember it for this group object (not for groups made per request).
 */
export function groupState(group: UpstreamGroup, cache = true): GroupState {
  let s = statesByGroup.get(group);
  if (s) return s;
  const key = group.name + '|' + group.peers.map((p) => p.name).join(',') + '|' + group.backups.map((p) => p.name).join(',');
  s = groups.get(key);
  if (!s) {
    s = new GroupState(group);
    groups.set(key, s);
  }
  if (cache) statesByGroup.set(group, s);
  return s;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  poolsByPeer = new WeakMap();
  await Promise.allSettled(all.map((p) => p.close()));
}
