/**
 * Where nginx's lexer stands after a block's closing "}": merge-time errors reported with
 * ngx_conf_log_error (after http{} is read) carry that line. The AST keeps no end position, so
 * this re-reads the block with ngx_conf_read_token's rules (quotes, escapes, comments, "${",
 * and "}" being part of a word when it does not start a token).
 */
export function blockEndLine(text: string, line: number, column: number): number {
  return blockEnd(text, line, column).line;
}

/** Offset of a 1-based line/column in the text. */
export function offsetOf(text: string, line: number, column: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return off + column - 1;
}

/** The closing brace of the block whose directive name is at line/column: its line and offset (-1: not closed). */
export function blockEnd(text: string, line: number, column: number): { line: number; offset: number } {
  const off = offsetOf(text, line, column);
  let cur = line;
  let depth = 0;
  let opened = false;
  let inWord = false;
  for (let i = off; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') cur++;
    if (inWord) {
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';') {
        inWord = false;
        continue;
      }
      if (c === '{' && text[i - 1] !== '$') {
        inWord = false;
        depth++;
        opened = true;
        continue;
      }
      if (c === '\\' && i + 1 < text.length) {
        if (text[i + 1] === '\n') cur++;
        i++;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';') continue;
    if (c === '{') {
      depth++;
      opened = true;
      continue;
    }
    if (c === '}') {
      depth--;
      if (opened && depth === 0) return { line: cur, offset: i };
      continue;
    }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return { line: cur, offset: -1 };
      i = nl - 1;
      continue;
    }
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\n') cur++;
        if (text[i] === '\\' && i + 1 < text.length) {
          if (text[i + 1] === '\n') cur++;
          i++;
        }
      }
      continue;
    }
    inWord = true;
    if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] === '\n') cur++;
      i++;
    }
  }
  return { line: cur, offset: -1 };
}
