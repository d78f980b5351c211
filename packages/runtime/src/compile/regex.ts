import { translateRegex } from '@nxproxy/parser';

/** A config regex as a JS RegExp (validated by -t already; unsupported ones never match). */
export function compileRegex(pattern: string, caseless: boolean): RegExp {
  const r = translateRegex(pattern, caseless);
  if ('source' in r) return new RegExp(r.source, r.flags);
  return /(?!)/;
}

/** Applies a successful match's captures to the request ($1..$9, named). */
export function captureGroups(m: RegExpExecArray): { captures: string[]; named: Record<string, string> | null } {
  const captures: string[] = new Array(m.length);
  for (let i = 0; i < m.length; i++) captures[i] = m[i] ?? '';
  let named: Record<string, string> | null = null;
  if (m.groups) {
    named = {};
    for (const k of Object.keys(m.groups)) named[k.toLowerCase()] = m.groups[k] ?? '';
  }
  return { captures, named };
}
