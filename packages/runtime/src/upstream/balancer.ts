import type { UpstreamGroup, UpstreamPeer } from '../compile/types.js';
import { chashPoints, crc32Key, findChashPoint, hashStep, ipHashBytes, type ChashPoint } from './hashing.js';

/** What a balancer knows of one request; hash balancers keep their position here across retries. */
export interface PickContext {
  /** Client address (ip_hash). */
  addr?: string;
  /** Evaluated `hash` key. */
  key?: string;
  hash?: number;
  rehash?: number;
  tries?: number;
  started?: boolean;
}

/** Run-time state of one peer (ngx_http_upstream_rr_peer_t's counters). */
export interface PeerState {
  peer: UpstreamPeer;
  current: number;
  effective: number;
  fails: number;
  accessed: number;
  checked: number;
  conns: number;
}

/** Balancer state per group, kept across reloads by group name so failures are remembered. */
export class GroupState {
  readonly primary: PeerState[];
  readonly backup: PeerState[];
  private readonly totalWeight: number;
  private readonly points: ChashPoint[] | undefined;

  constructor(readonly group: UpstreamGroup) {
    const mk = (p: UpstreamPeer): PeerState => ({ peer: p, current: 0, effective: p.weight, fails: 0, accessed: 0, checked: 0, conns: 0 });
    this.primary = group.peers.map(mk);
    this.backup = group.backups.map(mk);
    this.totalWeight = group.peers.reduce((a, p) => a + p.weight, 0);
    if (group.balancer === 'hash' && group.hashConsistent) {
      // one entry per server directive: every address of a name shares its points
      const seen = new Map<string, number>();
      for (const p of group.peers) if (!seen.has(p.server)) seen.set(p.server, p.weight);
      this.points = chashPoints([...seen].map(([server, weight]) => ({ server, weight })));
    }
  }

  /**
   * Picks a peer not yet tried for this request with the group's balancer, skipping down, failed
   * (max_fails within fail_timeout) and full (max_conns) peers; backups only when no primary is
   * eligible (round robin and least_conn).
   */
  pick(tried: Set<PeerState>, now = Date.now(), ctx: PickContext = {}): PeerState | undefined {
    const single = this.primary.length === 1 && this.backup.length === 0;
    switch (this.group.balancer) {
      case 'ip_hash':
        if (!single) return this.pickIpHash(tried, now, ctx);
        break;
      case 'hash':
        if (!single && ctx.key) return this.points ? this.pickChash(tried, now, ctx) : this.pickHash(tried, now, ctx);
        break;
      case 'least_conn':
        if (!single) return this.pickLeastConn(this.primary, tried, now) ?? this.pickLeastConn(this.backup, tried, now);
        break;
      case 'random':
        if (!single) return this.pickRandom(tried, now);
        break;
    }
    return this.pickFrom(this.primary, tried, now) ?? this.pickFrom(this.backup, tried, now);
  }

  private eligible(s: PeerState, tried: Set<PeerState>, now: number): boolean {
    const p = s.peer;
    if (tried.has(s) || p.down) return false;
    if (p.maxFails && s.fails >= p.maxFails && now - s.checked <= p.failTimeout * 1000) return false;
    if (p.maxConns && s.conns >= p.maxConns) return false;
    return true;
  }

  private chosen(s: PeerState, now: number): PeerState {
    if (now - s.checked > s.peer.failTimeout * 1000) s.checked = now;
    return s;
  }

  /** The peer a weight offset lands on (peers laid end to end by weight). */
  private byWeight(w: number): PeerState {
    let i = 0;
    while (w >= this.primary[i].peer.weight) {
      w -= this.primary[i].peer.weight;
      i++;
    }
    return this.primary[i];
  }

  /** ngx_http_upstream_get_ip_hash_peer: 89, then hash*113+byte mod 6271, up to 20 tries. */
  private pickIpHash(tried: Set<PeerState>, now: number, ctx: PickContext): PeerState | undefined {
    const bytes = ipHashBytes(ctx.addr ?? '');
    let hash = ctx.hash ?? 89;
    ctx.tries ??= 0;
    for (;;) {
      if (ctx.tries > 20) return this.pickFrom(this.primary, tried, now);
      for (const b of bytes) hash = (hash * 113 + b) % 6271;
      const s = this.byWeight(hash % this.totalWeight);
      if (this.eligible(s, tried, now)) {
        ctx.hash = hash;
        return this.chosen(s, now);
      }
      ctx.tries++;
    }
  }

  /** ngx_http_upstream_get_hash_peer: crc32-based, rehashing "N KEY" on a miss. */
  private pickHash(tried: Set<PeerState>, now: number, ctx: PickContext): PeerState | undefined {
    ctx.hash ??= 0;
    ctx.rehash ??= 0;
    ctx.tries ??= 0;
    for (;;) {
      if (ctx.tries > 20) return this.pickFrom(this.primary, tried, now);
      ctx.hash += hashStep(ctx.key!, ctx.rehash);
      ctx.rehash++;
      const s = this.byWeight(ctx.hash % this.totalWeight);
      if (this.eligible(s, tried, now)) return this.chosen(s, now);
      ctx.tries++;
    }
  }

  /** ngx_http_upstream_get_chash_peer: walk the ring from the key's point, WRR among a server's addresses. */
  private pickChash(tried: Set<PeerState>, now: number, ctx: PickContext): PeerState | undefined {
    const points = this.points!;
    if (!ctx.started) {
      ctx.started = true;
      ctx.hash = findChashPoint(points, crc32Key(ctx.key!));
      ctx.tries = 0;
    }
    for (;;) {
      if (ctx.tries! > 20) return this.pickFrom(this.primary, tried, now);
      const server = points[ctx.hash! % points.length].server;
      let best: PeerState | undefined;
      let total = 0;
      for (const s of this.primary) {
        if (s.peer.server !== server || !this.eligible(s, tried, now)) continue;
        s.current += s.effective;
        total += s.effective;
        if (s.effective < s.peer.weight) s.effective++;
        if (!best || s.current > best.current) best = s;
      }
      if (best) {
        best.current -= total;
        return this.chosen(best, now);
      }
      ctx.hash!++;
      ctx.tries!++;
    }
  }

  /** ngx_http_upstream_get_least_conn_peer: fewest conns per weight, WRR among ties. */
  private pickLeastConn(list: PeerState[], tried: Set<PeerState>, now: number): PeerState | undefined {
    let best: PeerState | undefined;
    let many = false;
    for (const s of list) {
      if (!this.eligible(s, tried, now)) continue;
      if (!best || s.conns * best.peer.weight < best.conns * s.peer.weight) {
        best = s;
        many = false;
      } else if (s.conns * best.peer.weight === best.conns * s.peer.weight) {
        many = true;
      }
    }
    if (!best) return undefined;
    if (!many) return this.chosen(best, now);
    let total = 0;
    let pick: PeerState | undefined;
    for (const s of list) {
      if (!this.eligible(s, tried, now) || s.conns * best.peer.weight !== best.conns * s.peer.weight) continue;
      s.current += s.effective;
      total += s.effective;
      if (s.effective < s.peer.weight) s.effective++;
      if (!pick || s.current > pick.current) pick = s;
    }
    pick!.current -= total;
    return this.chosen(pick!, now);
  }

  /** random [two]: a weighted random peer, or the less loaded of two. */
  private pickRandom(tried: Set<PeerState>, now: number): PeerState | undefined {
    const live = this.primary.filter((s) => this.eligible(s, tried, now));
    if (live.length === 0) return this.pickFrom(this.backup, tried, now);
    const one = () => {
      const total = live.reduce((a, s) => a + s.peer.weight, 0);
      let w = Math.random() * total;
      for (const s of live) {
        if (w < s.peer.weight) return s;
        w -= s.peer.weight;
      }
      return live[live.length - 1];
    };
    let s = one();
    if (this.group.randomTwo && live.length > 1) {
      let t = one();
      for (let i = 0; i < 20 && t === s; i++) t = one();
      if (t.conns * s.peer.weight < s.conns * t.peer.weight) s = t;
    }
    return this.chosen(s, now);
  }

  private pickFrom(list: PeerState[], tried: Set<PeerState>, now: number): PeerState | undefined {
    if (list.length === 1 && list === this.primary) {
      const only = list[0];
      // a single peer is never marked failed (peers->single)
      return only.peer.down || tried.has(only) ? undefined : only;
    }
    let best: PeerState | undefined;
    let total = 0;
    for (const s of list) {
      if (tried.has(s) || s.peer.down) continue;
      const p = s.peer;
      if (p.maxFails && s.fails >= p.maxFails && now - s.checked <= p.failTimeout * 1000) continue;
      if (p.maxConns && s.conns >= p.maxConns) continue;
      s.current += s.effective;
      total += s.effective;
      if (s.effective < p.weight) s.effective++;
      if (!best || s.current > best.current) best = s;
    }
    if (!best) return undefined;
    best.current -= total;
    if (now - best.checked > best.peer.failTimeout * 1000) best.checked = now;
    return best;
  }

  /** free_round_robin_peer: count a failure or clear the failures after a success. */
  release(s: PeerState, failed: boolean, now = Date.now()): void {
    if (failed) {
      s.fails++;
      s.accessed = now;
      s.checked = now;
      if (s.peer.maxFails) {
        s.effective -= Math.floor(s.peer.weight / s.peer.maxFails);
        if (s.effective < 0) s.effective = 0;
      }
    } else if (s.accessed < s.checked) {
      s.fails = 0;
    }
  }
}
