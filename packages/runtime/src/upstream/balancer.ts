import type { UpstreamGroup, UpstreamPeer } from '../compile/types.js';

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

  constructor(readonly group: UpstreamGroup) {
    const mk = (p: UpstreamPeer): PeerState => ({ peer: p, current: 0, effective: p.weight, fails: 0, accessed: 0, checked: 0, conns: 0 });
    this.primary = group.peers.map(mk);
    this.backup = group.backups.map(mk);
  }

  /**
   * nginx's smooth weighted round robin over the peers not yet tried for this request, skipping
   * down, failed (max_fails within fail_timeout) and full (max_conns) peers; backups only when no
   * primary is eligible.
   */
  pick(tried: Set<PeerState>, now = Date.now()): PeerState | undefined {
    return this.pickFrom(this.primary, tried, now) ?? this.pickFrom(this.backup, tried, now);
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
