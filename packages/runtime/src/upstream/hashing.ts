import { isIP } from 'node:net';
import { crc32 } from 'node:zlib';

/** The bytes ip_hash uses: the first three octets of IPv4, all 16 bytes of IPv6. */
export function ipHashBytes(addr: string): number[] {
  if (isIP(addr) === 4) return addr.split('.').slice(0, 3).map(Number);
  if (isIP(addr) === 6) {
    const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    const out: number[] = [];
    for (const g of groups) {
      const v = parseInt(g || '0', 16);
      out.push(v >> 8, v & 0xff);
    }
    return out;
  }
  return [0, 0, 0]; // unix sockets: nginx's pseudo address
}

/** Cache::Memcached-compatible step of `hash KEY`: ((crc32([REHASH] KEY) >> 16) & 0x7fff). */
export function hashStep(key: string, rehash: number): number {
  const data = rehash > 0 ? String(rehash) + key : key;
  return (crc32(Buffer.from(data, 'latin1')) >>> 16) & 0x7fff;
}

export interface ChashPoint {
  hash: number;
  server: string;
}

/**
 * The ketama ring of `hash ... consistent` (Cache::Memcached::Fast compatible):
 * 160 points per unit of weight, crc32(HOST \0 PORT PREV_HASH), sorted, duplicates dropped.
 */
export function chashPoints(servers: { server: string; weight: number }[]): ChashPoint[] {
  const points: ChashPoint[] = [];
  for (const { server, weight } of servers) {
    let host = server;
    let port = '';
    if (server.toLowerCase().startsWith('unix:')) host = server.slice(5);
    else {
      const m = /^(.*):(\d*)$/.exec(server);
      if (m) {
        host = m[1];
        port = m[2];
      }
    }
    const base = Buffer.from(host + '\0' + port, 'latin1');
    const prev = Buffer.alloc(4);
    for (let j = 0; j < weight * 160; j++) {
      const hash = crc32(prev, crc32(base)) >>> 0;
      points.push({ hash, server });
      prev.writeUInt32LE(hash, 0);
    }
  }
  points.sort((a, b) => a.hash - b.hash);
  const out: ChashPoint[] = [];
  for (const p of points) if (out.length === 0 || out[out.length - 1].hash !== p.hash) out.push(p);
  return out;
}

/** First point whose hash is >= the key's (ngx_http_upstream_find_chash_point). */
export function findChashPoint(points: ChashPoint[], hash: number): number {
  let i = 0;
  let j = points.length;
  while (i < j) {
    const k = (i + j) >> 1;
    if (hash > points[k].hash) i = k + 1;
    else if (hash < points[k].hash) j = k;
    else return k;
  }
  return i;
}

export function crc32Key(key: string): number {
  return crc32(Buffer.from(key, 'latin1')) >>> 0;
}
