import type { Directive } from '@nxproxy/parser';

/**
 * One configuration level (http, server, location, if) and its parent: the shape of nginx's
 * merge_loc_conf. Single-value settings come from the nearest level that sets them; list settings
 * (proxy_set_header, add_header, ...) come whole from the nearest level that has any of them.
 */
export class Level {
  private readonly byName = new Map<string, Directive[]>();

  constructor(
    readonly parent: Level | undefined,
    readonly directives: readonly Directive[],
  ) {
    for (const d of directives) {
      const l = this.byName.get(d.name);
      if (l) l.push(d);
      else this.byName.set(d.name, [d]);
    }
  }

  own(name: string): Directive[] | undefined {
    return this.byName.get(name);
  }

  /** The nearest level's occurrences of `name`. */
  nearest(name: string): Directive[] | undefined {
    for (let l: Level | undefined = this; l; l = l.parent) {
      const v = l.byName.get(name);
      if (v) return v;
    }
    return undefined;
  }

  /** The nearest level that has any of `names`, with its occurrences of each. */
  nearestGroup(names: readonly string[]): Map<string, Directive[]> {
    for (let l: Level | undefined = this; l; l = l.parent) {
      if (names.some((n) => l!.byName.has(n))) {
        const m = new Map<string, Directive[]>();
        for (const n of names) m.set(n, l.byName.get(n) ?? []);
        return m;
      }
    }
    return new Map(names.map((n) => [n, []]));
  }

  /**
   * Argument `i` of the nearest `name` that has one: for directives whose values nginx merges
   * one by one (keepalive_timeout's header value is inherited on its own).
   */
  nearestArg(name: string, i: number): string | undefined {
    for (let l: Level | undefined = this; l; l = l.parent) {
      const v = l.byName.get(name);
      const arg = v?.[v.length - 1].args[i];
      if (arg) return arg.value;
    }
    return undefined;
  }

  /** The nearest single value's arguments. */
  args(name: string): string[] | undefined {
    const v = this.nearest(name);
    return v ? v[v.length - 1].args.map((a) => a.value) : undefined;
  }
}
