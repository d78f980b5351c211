import { createToken, Lexer, type IToken, type TokenType } from './chevrotain.js';

/*
 * nginx's tokenizer (ngx_conf_read_token) is a byte state machine; these token patterns encode
 * the same rules:
 * - a word ends at whitespace, ";" or "{" — but "{" right after "$" stays in the word (${var});
 * - "}" does not end a word; "#" starts a comment only where a token could start;
 * - a quote opens a quoted string only at the start of a token; "\" escapes the next byte
 *   everywhere (in and out of quotes), including a newline.
 * What must follow a closing quote is checked after lexing (see checkTokens).
 *
 * The patterns are Chevrotain custom matchers (char loops) rather than regexes, each with its
 * start characters, so the lexer dispatches on the first char (a regex Word made Chevrotain try
 * every pattern in turn at each token) and no RegExp match array is allocated per token.
 * Measured on the 5.3 MB bench config: tokenize() 300 -> 220 ms.
 */

/** One reused match result: Chevrotain only reads [0] (and .payload) before the next call. */
const match: [string] = [''];

// Skipped tokens are never materialized: Chevrotain only uses their image's length (offset-only
// position tracking), so a shared blank string of that length stands in for a substring.
const blanks: string[] = [];
function blank(n: number): string {
  return n < 256 ? (blanks[n] ??= ' '.repeat(n)) : ' '.repeat(n);
}

/** Whitespace and comments, as one skipped run: [ \t\r\n]+ and "#" to end of line. */
function matchSkip(text: string, offset: number): [string] | null {
  const len = text.length;
  let i = offset;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) i++;
    else if (c === 35) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? len : nl;
    } else break;
  }
  if (i === offset) return null;
  match[0] = blank(i - offset);
  return match;
}

/**
 * A word: its first byte is not whitespace, ";", "{", "}", "#" or a quote; it runs to whitespace,
 * ";" or "{". "\" takes the next byte with it (or ends the text); "$" takes any "{" after it.
 */
function matchWord(text: string, offset: number): [string] | null {
  const len = text.length;
  let i = offset;
  const first = text.charCodeAt(i);
  if (
    first === 32 || first === 10 || first === 9 || first === 13 || first === 59 || first === 123 ||
    first === 125 || first === 35 || first === 34 || first === 39 || i >= len
  ) {
    return null;
  }
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 92) i += i + 1 < len ? 2 : 1;
    else if (c === 36) {
      i++;
      while (i < len && text.charCodeAt(i) === 123) i++;
    } else if (c === 32 || c === 10 || c === 9 || c === 13 || c === 59 || c === 123) break;
    else i++;
  }
  match[0] = text.slice(offset, i);
  return match;
}

/** A quoted string that closes: the quote, then escaped bytes or anything but that quote. */
function matchQuoted(q: number): (text: string, offset: number) => [string] | null {
  return (text, offset) => {
    if (text.charCodeAt(offset) !== q) return null;
    const len = text.length;
    let i = offset + 1;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === q) {
        match[0] = text.slice(offset, i + 1);
        return match;
      } else i++;
    }
    return null;
  };
}

/** A quote that never closes (tried only after the closed form failed): the rest of the text. */
function matchUnterminated(text: string, offset: number): [string] | null {
  const c = text.charCodeAt(offset);
  if (c !== 34 && c !== 39) return null;
  match[0] = text.slice(offset);
  return match;
}

/** Every char code a word can start with, one per Chevrotain first-char bucket above 255. */
function wordStartChars(): number[] {
  const out: number[] = [];
  for (let c = 0; c < 256; c++) {
    if (!' \t\r\n;{}#"\''.includes(String.fromCharCode(c))) out.push(c);
  }
  // Chevrotain maps codes above 255 to buckets of 255 (255 + ~~(c / 255)); one code per bucket.
  for (let c = 256; c < 65536; c++) if (c % 255 === 0 || c === 256) out.push(c);
  return out;
}

export const Skip = createToken({
  name: 'Skip',
  pattern: matchSkip,
  group: Lexer.SKIPPED,
  line_breaks: true,
  start_chars_hint: [' ', '\t', '\r', '\n', '#'],
});
export const Semi = createToken({ name: 'Semi', pattern: ';' });
export const LBrace = createToken({ name: 'LBrace', pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', pattern: '}' });
/** Any argument-like token (Word, DQuoted, SQuoted): what a directive is made of. */
export const Arg = createToken({ name: 'Arg', pattern: Lexer.NA });
export const DQuoted = createToken({
  name: 'DQuoted',
  pattern: matchQuoted(34),
  line_breaks: true,
  start_chars_hint: ['"'],
  categories: [Arg],
});
export const SQuoted = createToken({
  name: 'SQuoted',
  pattern: matchQuoted(39),
  line_breaks: true,
  start_chars_hint: ["'"],
  categories: [Arg],
});
/** A quote that never closes: nginx reads to end of file (or to its 4 KiB token limit). */
export const Unterminated = createToken({
  name: 'Unterminated',
  pattern: matchUnterminated,
  line_breaks: true,
  start_chars_hint: ['"', "'"],
});
export const Word = createToken({
  name: 'Word',
  pattern: matchWord,
  line_breaks: true,
  start_chars_hint: wordStartChars(),
  categories: [Arg],
});

export const allTokens: TokenType[] = [Skip, Semi, LBrace, RBrace, Arg, DQuoted, SQuoted, Unterminated, Word];

// Offsets only: line numbers are computed from offsets when a directive is built (LineIndex),
// which is much cheaper than Chevrotain tracking lines for every token (measured 290 -> 170 ms
// on a 5.5 MB config).
export const nginxLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ['\n'],
  ensureOptimizations: true,
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
    return this.columnOn(this.line(offset), offset);
  }

  /** column(offset) when its line is known. */
  columnOn(line: number, offset: number): number {
    return line === 1 ? offset + 1 : offset - this.nl[line - 2];
  }

  /** The line nginx's lexer is on at end of file. */
  get lastLine(): number {
    return this.nl.length + 1;
  }
}

export type LexStop = NonNullable<LexResult['stop']>;

/**
 * The rules a token pattern can't carry — the byte after a closing quote, and the 4 KiB limit —
 * over tokens[from, to) of `text`. Returns where the stream must end (the tokens nginx read
 * before the error) and the error, or undefined when these tokens are fine.
 */
export function checkTokens(
  tokens: IToken[],
  from: number,
  to: number,
  text: string,
  lines: LineIndex,
): { end: number; stop: LexStop } | undefined {
  for (let i = from; i < to; i++) {
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
          end: i,
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
            end: i + 1,
            stop: { message: `unexpected "${ch}"`, line: lines.line(after), column: lines.column(after), offset: after },
          };
        }
      }
    }
  }
  return undefined;
}

/** The whole token stream of a text, cut where nginx's reader would stop (see checkTokens). */
export function tokenize(text: string): LexResult {
  const { tokens } = nginxLexer.tokenize(text);
  const lines = new LineIndex(text);
  const cut = checkTokens(tokens, 0, tokens.length, text, lines);
  return cut ? { tokens: tokens.slice(0, cut.end), lines, stop: cut.stop } : { tokens, lines };
}

/** Text lexed per chunk by TokenStream (see there). */
const CHUNK = 16 * 1024;

/**
 * The token stream of a text, lexed by the same Chevrotain lexer a chunk at a time, so that the
 * parser's tokens die young instead of all ~700k of a large config being alive (and promoted to
 * V8's old space) at once.
 *
 * A chunk is cut after its last ";", "{" or "}": every token before that one ended before it, and
 * lexing is left to right, so they are exactly the tokens the whole text yields there; the text
 * after it (possibly a token cut by the chunk's end) is lexed again with the next chunk. A chunk
 * without any of those three is doubled until it has one or reaches the end of the text.
 */
export class TokenStream {
  private pos = 0;
  /** Token count before this chunk. */
  base = 0;
  tokens: IToken[] = [];
  done: boolean;
  stop?: LexStop;

  constructor(
    readonly text: string,
    readonly lines: LineIndex,
    private readonly chunk = CHUNK,
  ) {
    this.done = text.length === 0;
  }

  /** Replaces `tokens` with the next chunk's (at least one token unless the stream is done). */
  next(): void {
    const text = this.text;
    const start = this.pos;
    this.base += this.tokens.length;
    for (let size = this.chunk; ; size *= 2) {
      const end = Math.min(text.length, start + size);
      const last = end === text.length;
      const tokens = nginxLexer.tokenize(start === 0 && last ? text : text.slice(start, end)).tokens;
      let keep = tokens.length;
      if (!last) {
        while (keep > 0 && !isPunct(tokens[keep - 1].tokenType)) keep--;
        if (keep === 0) continue;
        tokens.length = keep;
      }
      if (start !== 0) for (let i = 0; i < keep; i++) tokens[i].startOffset += start;
      const cut = checkTokens(tokens, 0, keep, text, this.lines);
      if (cut) {
        tokens.length = cut.end;
        this.stop = cut.stop;
        this.done = true;
      } else if (last) {
        this.done = true;
      } else {
        this.pos = tokens[keep - 1].startOffset + 1;
      }
      this.tokens = tokens;
      return;
    }
  }
}

function isPunct(t: TokenType): boolean {
  return t === Semi || t === LBrace || t === RBrace;
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
