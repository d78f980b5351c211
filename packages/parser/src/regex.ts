/**
 * nginx compiles regexes with PCRE2; nxproxy runs them as JavaScript RegExps over latin1 byte
 * strings. This translates the PCRE syntax configs use (named groups in all three spellings, a
 * leading (?i)) and reports errors in PCRE2's words where the two engines agree a pattern is bad.
 * A pattern only PCRE accepts (possessive quantifiers, atomic groups, \Q..\E, ...) is reported as
 * unsupported rather than invalid: nginx would take it.
 */
export interface CompiledRegex {
  source: string;
  flags: string;
  /** Named groups in order, for $name variables. */
  names: string[];
  /** Number of capture groups. */
  captures: number;
}

export type RegexResult = CompiledRegex | { error: string } | { unsupported: string };

function pcreError(msg: string, pattern: string, at: number): { error: string } {
  const rest = at < pattern.length ? ` at "${pattern.slice(at)}"` : '';
  return { error: `pcre2_compile() failed: ${msg} in "${pattern}"${rest}` };
}

export function translateRegex(pattern: string, caseless: boolean): RegexResult {
  let flags = caseless ? 'i' : '';
  let src = pattern;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(src);
  if (lead) {
    if (lead[1] === 'i') {
      flags = 'i';
      src = src.slice(lead[0].length);
    } else if (lead[1] === 's' || lead[1] === 'm') {
      flags += lead[1];
      src = src.slice(lead[0].length);
    }
  }
  let out = '';
  let depth = 0;
  let inClass = false;
  let captures = 0;
  const names: string[] = [];
  const opens: number[] = [];
  let prevRepeatable = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      if (i + 1 >= src.length) return pcreError('\\ at end of pattern', pattern, pattern.length);
      const n = src[i + 1];
      if (n === 'Q' || n === 'E' || n === 'K' || n === 'G' || n === 'X' || n === 'R') {
        return { unsupported: `\\${n} in regex "${pattern}"` };
      }
      if (n === 'A') out += '^';
      else if (n === 'z') out += '$';
      else if (n === 'Z') out += '(?=\\n?$)';
      else if (n === 'h') out += inClass ? ' \\t' : '[ \\t]';
      else out += c + n;
      i++;
      prevRepeatable = true;
      continue;
    }
    if (inClass) {
      if (c === ']' && !(src[i - 1] === '[' || (src[i - 1] === '^' && src[i - 2] === '['))) inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      prevRepeatable = true;
      continue;
    }
    if (c === '(') {
      opens.push(i);
      depth++;
      if (src[i + 1] === '?') {
        const rest = src.slice(i + 2);
        const named = /^(?:P<([A-Za-z_][A-Za-z0-9_]*)>|<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(rest);
        if (named) {
          const name = named[1] ?? named[2] ?? named[3];
          if (names.includes(name)) {
            return pcreError(
              'two named subpatterns have the same name (PCRE2_DUPNAMES not set)',
              pattern,
              pattern.length - (src.length - (i + 2 + named[0].length)),
            );
          }
          names.push(name);
          captures++;
          out += `(?<${name}>`;
          i += 1 + named[0].length;
        } else if (/^(?::|=|!|<=|<!)/.test(rest)) {
          out += '(?';
          i += 1;
        } else {
          return { unsupported: `group "(?${rest.slice(0, 2)}" in regex "${pattern}"` };
        }
      } else {
        captures++;
        out += c;
      }
      prevRepeatable = false;
      continue;
    }
    if (c === ')') {
      if (depth === 0) return pcreError('unmatched closing parenthesis', pattern, pattern.length - (src.length - i));
      depth--;
      opens.pop();
      out += c;
      prevRepeatable = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      if (!prevRepeatable && !(c === '?' && /[*+?}]/.test(src[i - 1] ?? ''))) {
        return pcreError('quantifier does not follow a repeatable item', pattern, pattern.length - (src.length - i));
      }
      if ((c === '+' || c === '*' || c === '?') && src[i + 1] === '+') {
        return { unsupported: `possessive quantifier in regex "${pattern}"` };
      }
      out += c;
      prevRepeatable = c !== '?' ? false : prevRepeatable;
      continue;
    }
    if (c === '|') {
      prevRepeatable = false;
      out += c;
      continue;
    }
    out += c;
    prevRepeatable = c !== '^';
  }
  if (inClass) return pcreError('missing terminating ] for character class', pattern, pattern.length);
  if (depth > 0) return pcreError('missing closing parenthesis', pattern, pattern.length);
  try {
    new RegExp(out, flags);
  } catch (e) {
    return { unsupported: `regex "${pattern}" (${(e as Error).message})` };
  }
  return { source: out, flags, names, captures };
}
