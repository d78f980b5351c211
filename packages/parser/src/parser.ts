import { EmbeddedActionsParser, EOF, type IToken, type TokenType } from './chevrotain.js';
import type { Arg, ConfigFile, Directive } from './ast.js';
import { diag, type Diagnostic } from './diagnostic.js';
import {
  allTokens,
  Arg as ArgToken,
  LBrace,
  RBrace,
  Semi,
  LineIndex,
  TokenStream,
  unescape,
  Word,
} from './lexer.js';

/**
 * directive := word arg* (";" | "{" directive* "}"). The tree is built in embedded actions at
 * the moment nginx would dispatch each directive (at its ";" or "{"), so when parsing stops at
 * an error, exactly the directives nginx had already seen are in the tree.
 */
class GrammarParser extends EmbeddedActionsParser {
  file = '';
  lines!: LineIndex;
  private stack: Directive[][] = [];
  private open: Directive[] = [];
  /** The current directive's tokens are words[0, nwords): the array is reused, never shrunk. */
  private words: IToken[] = [];
  private nwords = 0;
  /**
   * Directive names seen in this parse, each kept once: the few hundred distinct names stand
   * for ~all directives, so each directive's name string dies young (and later Map lookups by
   * name find its hash already computed).
   */
  private names = new Map<string, string>();
  argsPending = false;
  depth = 0;
  root: Directive[] = [];
  /** Tokens come from a TokenStream a chunk at a time (Chevrotain's LexerAdapter hooks below). */
  stream!: TokenStream;
  /** The last token of the previous chunk: LA(0) for error messages at a chunk's first token. */
  private prev: IToken;
  private readonly eof: IToken;
  /** Chevrotain's LexerAdapter position: index of the last consumed token (-1 before the first). */
  declare currIdx: number;

  constructor() {
    super(allTokens, { recoveryEnabled: false, maxLookahead: 1, skipValidations: true });
    this.performSelfAnalysis();
    // With no input, LA(1) is Chevrotain's END_OF_FILE token.
    this.eof = super.LA(1);
    this.prev = this.eof;
  }

  load(stream: TokenStream, file: string): void {
    this.reset();
    this.stream = stream;
    this.prev = this.eof;
    this.lines = stream.lines;
    this.file = file;
    this.root = [];
    this.stack = [this.root];
    this.open = [];
    this.words = [];
    this.nwords = 0;
    this.names = new Map();
    this.argsPending = false;
    this.depth = 0;
  }

  // Chevrotain's LexerAdapter reads a token vector by index (currIdx); these overrides read the
  // same indices from the stream's current chunk, lexing the next chunk when the parser gets there.
  protected override LA_FAST(howMuch: number): IToken {
    const s = this.stream;
    const i = this.currIdx + howMuch - s.base;
    return i >= 0 && i < s.tokens.length ? s.tokens[i] : this.fill(this.currIdx + howMuch);
  }

  protected override LA(howMuch: number): IToken {
    return this.LA_FAST(howMuch);
  }

  /**
   * Chevrotain's LexerAdapter method (not in its typings) for an error that ends the top rule:
   * it moves to the end of the token vector; here nothing more is read, LA(1) is EOF from now on.
   */
  moveToTerminatedState(): void {
    const s = this.stream;
    s.tokens.length = Math.max(0, Math.min(s.tokens.length, this.currIdx + 1 - s.base));
    s.done = true;
  }

  private fill(idx: number): IToken {
    const s = this.stream;
    if (idx < 0) return this.eof;
    if (idx === s.base - 1) return this.prev;
    if (idx < s.base) throw new Error(`token ${idx} is behind the lexer's chunk (${s.base})`);
    while (idx >= s.base + s.tokens.length) {
      if (s.done) return this.eof;
      if (s.tokens.length > 0) this.prev = s.tokens[s.tokens.length - 1];
      s.next();
    }
    return s.tokens[idx - s.base];
  }

  public config = this.RULE('config', () => {
    this.MANY(() => this.SUBRULE(this.directive));
  });

  // Rule bodies check RECORDING_PHASE instead of wrapping actions in ACTION(() => ...): that
  // closure was allocated per token. Alternatives are built once (Chevrotain's advice for OR).
  private directive = this.RULE('directive', () => {
    const t = this.CONSUME(ArgToken);
    if (!this.RECORDING_PHASE) {
      this.words[this.nwords++] = t;
      this.argsPending = true;
    }
    this.MANY2(() => {
      const a = this.CONSUME2(ArgToken);
      if (!this.RECORDING_PHASE) this.words[this.nwords++] = a;
    });
    this.OR(this.terminators);
  });

  private terminators = [
    {
      ALT: () => {
        const semi = this.CONSUME(Semi);
        if (!this.RECORDING_PHASE) this.top().push(this.finish(semi, false));
      },
    },
    {
      ALT: () => {
        const brace = this.CONSUME(LBrace);
        if (!this.RECORDING_PHASE) {
          const d = this.finish(brace, true);
          this.top().push(d);
          this.stack.push(d.block!);
          this.open.push(d);
          this.depth++;
        }
        this.MANY(() => this.SUBRULE(this.directive));
        const close = this.CONSUME(RBrace);
        if (!this.RECORDING_PHASE) {
          this.stack.pop();
          this.open.pop()!.endLine = this.lines.line(close.startOffset);
          this.depth--;
        }
      },
    },
  ];

  private top(): Directive[] {
    return this.stack[this.stack.length - 1];
  }

  private finish(term: IToken, block: boolean): Directive {
    const words = this.words;
    this.argsPending = false;
    const n = this.nwords;
    const first = words[0];
    const args: Arg[] = new Array(n - 1);
    const lines = this.lines;
    const line = lines.line(first.startOffset);
    const column = lines.columnOn(line, first.startOffset);
    for (let i = 1; i < n; i++) args[i - 1] = toArg(words[i], lines);
    this.nwords = 0;
    let name = wordValue(first);
    const known = this.names.get(name);
    if (known === undefined) this.names.set(name, name);
    else name = known;
    const termLine = lines.line(term.startOffset);
    // A block directive is built with its block fields in the literal: adding them afterwards
    // gave each of them a separate out-of-object property store.
    const d: Directive = block
      ? { name, args, file: this.file, line, column, termLine, block: [], endLine: undefined }
      : { name, args, file: this.file, line, column, termLine };
    if (first.tokenType !== Word) d.nameQuote = first.image[0] as '"' | "'";
    return d;
  }
}

function wordValue(t: IToken): string {
  return t.tokenType === Word ? unescape(t.image) : unescape(t.image.slice(1, -1));
}

function toArg(t: IToken, lines: LineIndex): Arg {
  const type: TokenType = t.tokenType;
  const line = lines.line(t.startOffset);
  return {
    value: wordValue(t),
    raw: t.image,
    quote: type === Word ? '' : (t.image[0] as '"' | "'"),
    line,
    column: lines.columnOn(line, t.startOffset),
  };
}

let shared: GrammarParser | undefined;

/**
 * Parses one file's text. Never throws on bad input: the first syntax error (nginx stops there)
 * is returned as data, after every directive that nginx would already have dispatched.
 */
export function parseText(text: string, file: string): ConfigFile {
  const lex = new TokenStream(text, new LineIndex(text));
  const parser = (shared ??= new GrammarParser());
  parser.load(lex, file);
  parser.config();
  const directives = parser.root;
  const failure = parser.errors[0];
  let syntaxError: Diagnostic | undefined;
  if (failure) {
    const tok = failure.token;
    const type = tok.tokenType;
    const where = (t: IToken) => ({ file, line: lex.lines.line(t.startOffset), column: lex.lines.column(t.startOffset) });
    if (type === EOF || tok.image === '' || type === undefined) {
      if (lex.stop) {
        syntaxError = diag('emerg', 'syntax', lex.stop.message, { file, ...lex.stop });
      } else if (parser.argsPending) {
        syntaxError = diag('emerg', 'unexpected-eof', 'unexpected end of file, expecting ";" or "}"', {
          file,
          line: lex.lines.lastLine,
        });
      } else {
        syntaxError = diag('emerg', 'unexpected-eof', 'unexpected end of file, expecting "}"', {
          file,
          line: lex.lines.lastLine,
        });
      }
    } else if (type === RBrace) {
      syntaxError = diag('emerg', 'unexpected-token', 'unexpected "}"', where(tok));
    } else if (type === Semi || type === LBrace) {
      syntaxError = diag('emerg', 'unexpected-token', `unexpected "${tok.image}"`, where(tok));
    } else {
      // An unterminated quote: nginx reads to the end of the file looking for it.
      syntaxError = diag('emerg', 'unexpected-eof', 'unexpected end of file, expecting ";" or "}"', {
        file,
        line: lex.lines.lastLine,
      });
    }
  } else if (lex.stop) {
    syntaxError = diag('emerg', 'syntax', lex.stop.message, { file, ...lex.stop });
  } else if (parser.depth > 0) {
    syntaxError = diag('emerg', 'unexpected-eof', 'unexpected end of file, expecting "}"', {
      file,
      line: lex.lines.lastLine,
    });
  }
  const result: ConfigFile = { file, directives };
  if (syntaxError) result.syntaxError = syntaxError;
  parser.load(new TokenStream('', lex.lines), '');
  return result;
}
