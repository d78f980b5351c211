import { isIP } from 'node:net';
import type { Directive } from '@nxproxy/parser';
import type { AccessRule } from './types.js';

function ipv4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function ipv6(s: string): bigint {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const parts = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  let v = 0n;
  for (const x of parts) v = (v << 16n) | BigInt(parseInt(x || '0', 16));
  return v;
}

/** allow/deny arguments (address, CIDR, "all", "unix:") compiled for matching. */
export function compileAccess(dirs: readonly Directive[]): AccessRule[] {
  return dirs.map((d) => {
    const allow = d.name === 'allow';
    const v = d.args[0].value;
    if (v === 'all') return { allow, kind: 'all' };
    if (v === 'unix:') return { allow, kind: 'unix' };
    const [addr, bits] = v.split('/');
    if (isIP(addr) === 6) {
      const n = bits === undefined ? 128 : Number(bits);
      const mask = n === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - n)) - 1n);
      return { allow, kind: 'v6', addr6: ipv6(addr) & mask, mask6: mask };
    }
    const n = bits === undefined ? 32 : Number(bits);
    const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
    return { allow, kind: 'v4', addr: (ipv4(addr) & mask) >>> 0, mask };
  });
}

/** ngx_http_access_handler: the first rule that matches decides; no match allows. */
export function accessAllowed(rules: readonly AccessRule[], remote: string): boolean {
  const v = isIP(remote);
  for (const r of rules) {
    if (r.kind === 'all') return r.allow;
    if (r.kind === 'unix') {
      if (v === 0) return r.allow;
      continue;
    }
    if (r.kind === 'v4' && v === 4) {
      if (((ipv4(remote) & r.mask!) >>> 0) === r.addr) return r.allow;
    } else if (r.kind === 'v6' && v === 6) {
      if ((ipv6(remote) & r.mask6!) === r.addr6) return r.allow;
    }
  }
  return true;
}
