/**
 * The condition of `if (...)`, parsed as ngx_http_rewrite_if_condition does. Shared by the
 * validator (for nginx's error wording) and the runtime compiler (for evaluation).
 */
export type IfCondition =
  | { kind: 'var'; variable: string }
  | { kind: 'eq' | 'ne'; variable: string; value: string }
  | { kind: 'regex'; variable: string; pattern: string; caseless: boolean; negate: boolean }
  | { kind: 'file'; test: 'f' | 'd' | 'e' | 'x'; negate: boolean; value: string };

export function parseIfCondition(args: readonly string[]): IfCondition | { error: string } {
  const v = args.slice();
  if (v.length === 0) return { error: 'invalid number of arguments in "if" directive' };
  if (v[0].length < 1 || v[0][0] !== '(') return { error: `invalid condition "${v[0]}"` };
  let cur = 0;
  if (v[0].length === 1) cur = 1;
  else v[0] = v[0].slice(1);
  let last = v.length - 1;
  if (v[last].length < 1 || v[last][v[last].length - 1] !== ')') {
    return { error: `invalid condition "${v[last]}"` };
  }
  if (v[last].length === 1) last--;
  else v[last] = v[last].slice(0, -1);
  if (cur > last) return { error: `invalid condition "${args[0]}"` };

  const p = v[cur];
  if (p.length > 1 && p[0] === '$') {
    if (cur !== last && cur + 2 !== last) return { error: `invalid condition "${p}"` };
    const variable = p;
    if (cur === last) return { kind: 'var', variable };
    const op = v[cur + 1];
    const value = v[last];
    if (op === '=') return { kind: 'eq', variable, value };
    if (op === '!=') return { kind: 'ne', variable, value };
    if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
      return {
        kind: 'regex',
        variable,
        pattern: value,
        caseless: op.endsWith('*'),
        negate: op[0] === '!',
      };
    }
    return { error: `unexpected "${op}" in condition` };
  }
  if ((p.length === 2 && p[0] === '-') || (p.length === 3 && p[0] === '!' && p[1] === '-')) {
    if (cur + 1 !== last) return { error: `invalid condition "${p}"` };
    const negate = p[0] === '!';
    const t = negate ? p[2] : p[1];
    if (t === 'f' || t === 'd' || t === 'e' || t === 'x') {
      return { kind: 'file', test: t, negate, value: v[last] };
    }
    return { error: `invalid condition "${p}"` };
  }
  return { error: `invalid condition "${p}"` };
}
