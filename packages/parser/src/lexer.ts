import { createToken, Lexer, type IToken, type TokenType } from './chevrotain.js';

/*
 * nginx's tokenizer (ngx_conf_read_token) is a byte state machine; these token patterns encode
 * the same rules:
 * - a word ends at whitespace, ";" or "{" — but "{" right after "$" stays in the word (${var});
 * - "}" does not end a word; "#" starts a comment only where a token could start;
 * - a quote opens a quoted string only at the start of a token; "\" escapes the next byte
 *   everywhere (in and out of quotes), including a newline.
 * What must follow a closing quote is checked after lexing (see scanQuoteFollowers).
 */
export const Whitespace = createToken({
  name: 'Whitespace',
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });
export const Semi = createToken({ name: 'Semi', pattern: ';' });
export const LBrace = createToken({ name: 'LBrace', pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', pattern: '}' });
export const DQuoted = createToken({
  name: 'DQuoted',
  pattern: /"(?:\\[\s\S]|[^"\\])*"/,
  line_breaks: true,
  start_chars_hint: ['"'],
});
export const SQuoted = createToken({
  name: 'SQuoted',
  pattern: /'(?:\\[\s\S]|[^'\\])*'/,
  line_breaks: true,
  start_chars_hint: ["'"],
});
/** A quote that never closes: nginx reads to end of file (or to its 4 KiB token limit). */
export const Unterminated = createToken({
  name: 'Unterminated',
  pattern: /["'][\s\S]*/,
  line_breaks: true,
  start_chars_hint: ['"', "'"],
});
export const Word = createToken({
  name: 'Word',
  pattern:
    /(?:\\[\s\S]|\\$|\$\{*|[^ \t\r\n;{}#"'\\$])(?:\\[\s\S]|\\$|\$\{*|[^ \t\r\n;{\\$])*/,
  line_breaks: true,
});

export const allTokens: TokenType[] = [
  Whitespace,
  Comment,
  Semi,
  LBrace,
  RBrace,
  DQuoted,
  SQuoted,
  Unterminated,
  Word,
];

// Offsets only: line numbers are computed from offsets when a directive is built (LineIndex),
// which is much cheaper than Chevrotain tracking lines for every token (measured 290 -> 170 ms
// on a 5.5 MB config).
export const nginxLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ['\n'],
  ensureOptimizations: false,
  skipValidations: true,
});

/** nginx's read buffer (NGX_CONF_BUFFER): no token may reach this length. */
export const TOKEN_LIMIT = 4096;

export interface LexResult {
  tokens: IToken[];
  lines: LineIndex;
  /** An error the lexer finds at a point in the stream; tokens stop just before it. */
  stop?: { message: string; line: number; column: number; offset: number };
}

/** Line and column of byte offsets, via the offsets of every LF (nginx counts lines by LF only). */
export class LineIndex {
  private readonly nl: Int32Array;
  private cursor = 0;

  constructor(text: string) {
    let n = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
    this.nl = new Int32Array(n);
    n = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.nl[n++] = i;
  }

  /** 1-based line of an offset. Calls are mostly in increasing order, so a cursor usually suffices. */
  line(offset: number): number {
    const nl = this.nl;
    let c = this.cursor;
    if (c > 0 && nl[c - 1] >= offset) {
      // went backwards: binary search
      let lo = 0;
      let hi = nl.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (nl[mid] < offset) lo = mid + 1;
        else hi = mid;
      }
      c = lo;
    }
    while (c < nl.length && nl[c] < offset) c++;
    this.cursor = c;
    return c + 1;
  }

  column(offset: number): number {
    const line = this.line(offset);
    return line === 1 ? offset + 1 : offset - this.nl[line - 2];
  }

  /** The line nginx's lexer is on at end of file. */
  get lastLine(): number {
    return this.nl.length + 1;
  }
}

/** Applies the rules a regex can't carry: the byte after a closing quote, and the 4 KiB limit. */
export function tokenize(text: string): LexResult {
  const { tokens } = nginxLexer.tokenize(text);
  const lines = new LineIndex(text);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const type = t.tokenType;
    if (type === Word || type === DQuoted || type === SQuoted || type === Unterminated) {
      // Bytes nginx must hold at once: a word from its first byte, a quoted string after its
      // opening quote (the closing quote ends the token before another refill is needed).
      const held =
        type === Word ? t.image.length : type === Unterminated ? t.image.length - 1 : t.image.length - 2;
      if (held >= TOKEN_LIMIT) {
        const message =
          type === Word
            ? `too long parameter "${t.image.slice(0, 10)}..." started`
            : `too long parameter, probably missing terminating "${t.image[0]}" character`;
        return {
          tokens: tokens.slice(0, i),
          lines,
          stop: { message, line: lines.line(t.startOffset), column: lines.column(t.startOffset), offset: t.startOffset },
        };
      }
    }
    if (type === DQuoted || type === SQuoted) {
      const after = t.startOffset + t.image.length;
      if (after < text.length) {
        const ch = text[after];
        if (ch !== ' ' && ch !== '\t' && ch !== '\r' && ch !== '\n' && ch !== ';' && ch !== '{' && ch !== ')') {
          return {
            tokens: tokens.slice(0, i + 1),
            lines,
            stop: { message: `unexpected "${ch}"`, line: lines.line(after), column: lines.column(after), offset: after },
          };
        }
      }
    }
  }
  return { tokens, lines };
}

/** nginx's escape processing when a word is stored: \" \' \\ lose the backslash; \t \r \n become bytes. */
export function unescape(s: string): string {
  let i = s.indexOf('\\');
  if (i < 0) return s;
  // copy runs between backslashes in slices: configs hold many regexes with "\."
  let out = '';
  let from = 0;
  while (i >= 0 && i + 1 < s.length) {
    const n = s[i + 1];
    let rep: string | undefined;
    if (n === '"' || n === "'" || n === '\\') rep = n;
    else if (n === 't') rep = '\t';
    else if (n === 'r') rep = '\r';
    else if (n === 'n') rep = '\n';
    if (rep !== undefined) {
      out += s.slice(from, i) + rep;
      from = i + 2;
      i = s.indexOf('\\', from);
    } else {
      i = s.indexOf('\\', i + 2);
    }
  }
  return from === 0 ? s : out + s.slice(from);
}
