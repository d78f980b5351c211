import { describe, expect, it } from 'vitest';
import { GroupState } from '../src/upstream/balancer.js';
import type { UpstreamGroup, UpstreamPeer } from '../src/compile/types.js';

const peer = (name: string, weight: number, extra: Partial<UpstreamPeer> = {}): UpstreamPeer => ({
  name, server: name, host: '127.0.0.1', port: 1, weight, maxFails: 1, failTimeout: 10, backup: false, down: false, maxConns: 0, ...extra,
});
const group = (peers: UpstreamPeer[], backups: UpstreamPeer[] = []): UpstreamGroup => ({
  name: 'g', peers, backups, balancer: 'round_robin', keepalive: 0, keepaliveTimeout: 0, keepaliveRequests: 0, keepaliveTime: 0, implicit: false,
});

describe('smooth weighted round robin', () => {
  it('weights 5,1,1 give a a b a c a a (nginx)', () => {
    const s = new GroupState(group([peer('a', 5), peer('b', 1), peer('c', 1)]));
    const seq = Array.from({ length: 7 }, () => s.pick(new Set())!.peer.name);
    expect(seq.join(' ')).toBe('a a b a c a a');
  });

  it('skips a failed peer for fail_timeout and uses backups only when all primaries are out', () => {
    const s = new GroupState(group([peer('a', 1), peer('b', 1)], [peer('z', 1)]));
    const now = 1_000_000;
    const a = s.pick(new Set(), now)!;
    s.release(a, true, now);
    const next = [s.pick(new Set(), now + 1)!.peer.name, s.pick(new Set(), now + 2)!.peer.name];
    expect(next).toEqual(['b', 'b']);
    const b = s.primary[1];
    s.release(b, true, now);
    expect(s.pick(new Set(), now + 3)!.peer.name).toBe('z');
    expect(s.pick(new Set(), now + 11_000)!.peer.name).not.toBe('z');
  });
});
