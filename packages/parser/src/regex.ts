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

/** POSIX classes PCRE accepts inside brackets, as JavaScript class contents. */
const POSIX: Record<string, string> = {
  alpha: 'a-zA-Z', digit: '0-9', alnum: 'a-zA-Z0-9', upper: 'A-Z', lower: 'a-z', space: '\\t\\n\\v\\f\\r ',
  blank: ' \\t', punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9A-Fa-f', word: '\\w', cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~', graph: '!-~',
};

/** PCRE's \s is ASCII whitespace only; JavaScript's also matches 0xA0 and more. */
const SPACE = '\\t\\n\\v\\f\\r ';

function otherCase(c: string): string {
  const l = c.toLowerCase();
  const u = c.toUpperCase();
  return c === l ? u : l;
}

function isAsciiLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

export function translateRegex(pattern: string, caseless: boolean): RegexResult {
  let flags = '';
  let src = pattern;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(src);
  if (lead) {
    if (lead[1] === 'i') {
      caseless = true;
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
      else if (n === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (n === 'S' && !inClass) out += `[^${SPACE}]`;
      else if (n === 'x') {
        // \xHH: copy the hex digits untouched (they may be letters)
        const hex = /^[0-9a-fA-F]{1,2}/.exec(src.slice(i + 2))?.[0] ?? '';
        out += '\\x' + hex.padStart(2, '0');
        i += hex.length;
      } else if (n === 'k' && src[i + 2] === '<') {
        const close = src.indexOf('>', i);
        out += src.slice(i, close + 1);
        i = close - 1;
      }
      else out += c + n;
      i++;
      prevRepeatable = true;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        if (m && POSIX[m[2]] && !m[1]) {
          out += POSIX[m[2]];
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === ']' && !(src[i - 1] === '[' || (src[i - 1] === '^' && src[i - 2] === '['))) {
        inClass = false;
        out += c;
        continue;
      }
      // PCRE without UTF folds ASCII letters only: add the other case explicitly
      if (caseless && isAsciiLetter(c)) {
        if (src[i + 1] === '-' && isAsciiLetter(src[i + 2] ?? '')) {
          const to = src[i + 2];
          out += `${c}-${to}${otherCase(c)}-${otherCase(to)}`;
          i += 2;
          continue;
        }
        out += c + otherCase(c);
        continue;
      }
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
    if (c === '$') {
      // PCRE's $ also matches before a final newline
      out += '(?=\\n?$)';
      prevRepeatable = false;
      continue;
    }
    if (caseless && isAsciiLetter(c)) {
      out += `[${c}${otherCase(c)}]`;
      prevRepeatable = true;
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
