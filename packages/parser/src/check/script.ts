/**
 * Variable references in a value, as ngx_http_script_compile reads them: "$name", "${name}",
 * and "$1".."$9" captures. Returns the names, or nginx's error text.
 */
export interface ScriptRefs {
  variables: string[];
  captures: number[];
}

function isNameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

export function scriptRefs(source: string): ScriptRefs | { error: string } {
  const variables: string[] = [];
  const captures: number[] = [];
  const len = source.length;
  let i = 0;
  while (i < len) {
    if (source.charCodeAt(i) !== 36 /* $ */) {
      i++;
      continue;
    }
    if (++i === len) return { error: 'invalid variable name' };
    const c = source.charCodeAt(i);
    if (c >= 49 && c <= 57) {
      captures.push(c - 48);
      i++;
      continue;
    }
    let bracket = false;
    if (c === 123 /* { */) {
      bracket = true;
      if (++i === len) return { error: 'invalid variable name' };
    }
    const start = i;
    let end = i;
    for (; i < len; i++) {
      const ch = source.charCodeAt(i);
      if (ch === 125 /* } */ && bracket) {
        end = i;
        i++;
        bracket = false;
        break;
      }
      if (isNameChar(ch)) {
        end = i + 1;
        continue;
      }
      break;
    }
    if (bracket) {
      return { error: `the closing bracket in "${source.slice(start, i)}" variable is missing` };
    }
    if (end === start) return { error: 'invalid variable name' };
    variables.push(source.slice(start, end));
  }
  return { variables, captures };
}
