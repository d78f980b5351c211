/**
 * nginx's address parsers (core/ngx_inet.c): ngx_inet_addr, ngx_inet6_addr, ngx_ptocidr and the
 * text form ngx_sock_ntop prints. They are laxer or stricter than Node's isIP in places
 * ("1..2.3" is a valid IPv4 address to nginx), so listen/geo/allow checks use these.
 */

/** ngx_inet_addr: dotted quad, empty octets count as 0, each octet <= 255. Returns the address or null. */
export function inetAddr(text: string): number | null {
  let addr = 0;
  let octet = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (octet > 255) return null;
      continue;
    }
    if (c === 46 /* . */) {
      addr = addr * 256 + octet;
      octet = 0;
      dots++;
      continue;
    }
    return null;
  }
  if (dots !== 3) return null;
  return addr * 256 + octet;
}

/** ngx_inet6_addr: 16 bytes, or null. */
export function inet6Addr(text: string): Uint8Array | null {
  if (text.length === 0) return null;
  const out = new Uint8Array(16);
  let o = 0;
  let p = 0;
  let len = text.length;
  let zero = -1;
  let digit = -1;
  let nibbles = 0;
  let word = 0;
  let n = 8;
  if (text[0] === ':') {
    p++;
    len--;
  }
  for (; len > 0; len--) {
    const ch = text[p++];
    if (ch === ':') {
      if (nibbles) {
        digit = p;
        out[o++] = word >> 8;
        out[o++] = word & 0xff;
        if (--n) {
          nibbles = 0;
          word = 0;
          continue;
        }
      } else if (zero < 0) {
        digit = p;
        zero = o;
        continue;
      }
      return null;
    }
    if (ch === '.' && nibbles) {
      if (n < 2 || digit < 0) return null;
      const v4 = inetAddr(text.slice(digit));
      if (v4 === null) return null;
      out[o++] = (v4 >>> 24) & 0xff;
      out[o++] = (v4 >>> 16) & 0xff;
      word = v4 & 0xffff;
      n--;
      nibbles = 1; // the low word is stored below
      len = 0;
      break;
    }
    if (++nibbles > 4) return null;
    const c = ch.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      word = word * 16 + (c - 48);
      continue;
    }
    const l = c | 0x20;
    if (l >= 97 && l <= 102) {
      word = word * 16 + (l - 97) + 10;
      continue;
    }
    return null;
  }
  if (nibbles === 0 && zero < 0) return null;
  if (o >= 16) return null;
  out[o++] = word >> 8;
  out[o++] = word & 0xff;
  if (--n) {
    if (zero >= 0) {
      const shift = n * 2;
      for (let s = o - 1; s >= zero; s--) out[s + shift] = out[s];
      for (let z = zero; z < zero + shift; z++) out[z] = 0;
      return out;
    }
  } else if (zero < 0) {
    return out;
  }
  return null;
}

/** ngx_inet6_ntop: lower-case hex, the longest run (>= 2) of zero words compressed, v4-mapped dotted. */
export function ntop6(a: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((a[i] << 8) | a[i + 1]);
  let zero = -1;
  let max = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > max) {
      max = j - i;
      zero = i;
    }
    i = j;
  }
  if (max < 2) zero = -1;
  const v4tail = zero === 0 && ((max === 5 && words[5] === 0xffff) || max === 6);
  const n = v4tail ? 6 : 8;
  let out = '';
  for (let i = 0; i < n; i++) {
    if (i === zero) {
      out += i === 0 ? '::' : ':';
      i += max - 1;
      continue;
    }
    out += words[i].toString(16);
    if (i < 7) out += ':';
  }
  if (v4tail) out += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  return out;
}

export function ntop4(addr: number): string {
  return `${(addr >>> 24) & 0xff}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** A socket address as nginx keeps it: family plus canonical text. */
export interface SockAddr {
  family: 4 | 6 | 'unix';
  /** Canonical address text without port ("127.0.0.1", "::1", "/path"). */
  host: string;
  port: number;
}

/** ngx_sock_ntop(..., port=1): "127.0.0.1:80", "[::1]:80", "unix:/path". */
export function sockText(a: SockAddr): string {
  if (a.family === 'unix') return `unix:${a.host}`;
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Canonical text of an address given in any form Node or nginx prints. */
export function canonicalHost(host: string): { family: 4 | 6; host: string } | null {
  const v4 = inetAddr(host);
  if (v4 !== null) return { family: 4, host: ntop4(v4) };
  const v6 = inet6Addr(host);
  if (v6 !== null) return { family: 6, host: ntop6(v6) };
  return null;
}

/** ngx_ptocidr: "addr[/bits]"; 'done' means host bits were set (nginx warns "low address bits ... are meaningless"). */
export function ptocidr(text: string): { family: 4 | 6; status: 'ok' | 'done'; key: string } | null {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  let family: 4 | 6;
  let bytes: Uint8Array;
  const v4 = inetAddr(addrText);
  if (v4 !== null) {
    family = 4;
    bytes = new Uint8Array([(v4 >>> 24) & 0xff, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]);
  } else {
    const v6 = inet6Addr(addrText);
    if (v6 === null) return null;
    family = 6;
    bytes = v6;
  }
  if (slash < 0) return { family, status: 'ok', key: `${family}/${bytes.join('.')}/${family === 4 ? 32 : 128}` };
  const maskText = text.slice(slash + 1);
  if (!/^[0-9]+$/.test(maskText)) return null;
  const bits = Number(maskText);
  if (bits > (family === 4 ? 32 : 128)) return null;
  let shift = bits;
  let status: 'ok' | 'done' = 'ok';
  for (let i = 0; i < bytes.length; i++) {
    const s = Math.min(shift, 8);
    shift -= s;
    const m = (0xff << (8 - s)) & 0xff;
    if ((bytes[i] & m) !== bytes[i]) status = 'done';
    bytes[i] &= m;
  }
  return { family, status, key: `${family}/${bytes.join('.')}/${bits}` };
}
