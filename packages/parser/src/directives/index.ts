import { DIRECTIVES } from './table.js';
import type { ArgRule, Context, DirectiveSpec } from './types.js';

export type { ArgRule, Context, DirectiveSpec, Slot, Status } from './types.js';
export { DIRECTIVES };

/** name -> every module's entry for it, in nginx's module order. */
export const DIRECTIVES_BY_NAME: ReadonlyMap<string, readonly DirectiveSpec[]> = (() => {
  const m = new Map<string, DirectiveSpec[]>();
  for (const d of DIRECTIVES) {
    const list = m.get(d.name);
    if (list) list.push(d);
    else m.set(d.name, [d]);
  }
  return m;
})();

/** The entry nginx would dispatch to in this context (ngx_conf_handler's scan), if any. */
export function specFor(name: string, ctx: Context): DirectiveSpec | undefined {
  const list = DIRECTIVES_BY_NAME.get(name);
  if (!list) return undefined;
  for (const s of list) if (s.contexts.includes(ctx) || s.contexts.includes('any')) return s;
  return undefined;
}

/** nginx's argument-count test; `n` counts arguments after the name. */
export function argCountOk(rule: ArgRule, n: number): boolean {
  switch (rule) {
    case 'ANY':
      return true;
    case 'FLAG':
      return n === 1;
    case '1MORE':
      return n >= 1;
    case '2MORE':
      return n >= 2;
    case 'NOARGS':
      return n === 0;
    case 'NOARGS_TAKE1':
      return n <= 1;
    case 'NOARGS_TAKE12':
      return n <= 2;
    default: {
      if (n + 1 > 8) return false; // NGX_CONF_MAX_ARGS counts the name
      return ((TAKE_MASKS.get(rule) ?? takeMask(rule)) & (1 << n)) !== 0;
    }
  }
}

/** "TAKE123" -> bits 1, 2, 3: the argument counts a TAKE rule allows. */
const TAKE_MASKS = new Map<string, number>();
function takeMask(rule: string): number {
  let mask = 0;
  for (const c of rule.slice(4)) if (c >= '0' && c <= '7') mask |= 1 << Number(c);
  TAKE_MASKS.set(rule, mask);
  return mask;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest known directive name, if it is close enough to be a likely typo. */
export function suggestDirective(name: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const known of DIRECTIVES_BY_NAME.keys()) {
    const d = distance(name.toLowerCase(), known);
    if (d < bestD) {
      bestD = d;
      best = known;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 4));
  return bestD <= limit ? best : undefined;
}
