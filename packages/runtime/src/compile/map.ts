import type { Directive } from '@nxproxy/parser';
import { captureGroups, compileRegex } from './regex.js';
import type { Script } from './types.js';
import type { Variables } from './variables.js';

/** map: exact keys first, then (with hostnames) wildcards, then regexes in order, else default. */
export function compileMap(d: Directive, entries: Directive[], vars: Variables): void {
  const source = vars.script(d.args[0].value);
  const target = d.args[1].value.slice(1).toLowerCase();
  const exact = new Map<string, Script>();
  const regexes: [RegExp, Script][] = [];
  const head: [string, Script][] = [];
  const tail: [string, Script][] = [];
  let dflt: Script = () => '';
  let hostnames = false;
  for (const e of entries) {
    if (e.args.length === 0) {
      if (e.name === 'hostnames') hostnames = true;
      continue;
    }
    const key = e.name;
    const value = vars.script(e.args[0].value);
    if (key === 'default') dflt = value;
    else if (key.startsWith('~*')) regexes.push([compileRegex(key.slice(2), true), value]);
    else if (key.startsWith('~')) regexes.push([compileRegex(key.slice(1), false), value]);
    else {
      const k = key.startsWith('\\') ? key.slice(1) : key;
      if (hostnames && (k.startsWith('*.') || k.startsWith('.'))) {
        const suffix = k.startsWith('*') ? k.slice(1) : k;
        head.push([suffix.toLowerCase(), value]);
        if (k.startsWith('.')) exact.set(k.slice(1).toLowerCase(), value);
      } else if (hostnames && k.endsWith('.*')) tail.push([k.slice(0, -1).toLowerCase(), value]);
      else exact.set(hostnames ? k.toLowerCase() : k, value);
    }
  }
  head.sort((a, b) => b[0].length - a[0].length);
  tail.sort((a, b) => b[0].length - a[0].length);
  vars.defineMap(target, (r) => {
    let s = source(r);
    if (hostnames) {
      s = s.toLowerCase();
      if (s.endsWith('.')) s = s.slice(0, -1);
    }
    const hit = exact.get(s);
    if (hit) return hit(r);
    if (hostnames) {
      for (const [suf, v] of head) if (s.endsWith(suf)) return v(r);
      for (const [pre, v] of tail) if (s.startsWith(pre)) return v(r);
    }
    for (const [re, v] of regexes) {
      const m = re.exec(s);
      if (m) {
        const g = captureGroups(m);
        r.captures = g.captures;
        if (g.named) r.namedCaptures = { ...(r.namedCaptures ?? {}), ...g.named };
        return v(r);
      }
    }
    return dflt(r);
  });
}
