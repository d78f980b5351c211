import { EmbeddedActionsParser, EOF, type IToken, type TokenType } from './chevrotain.js';
import type { Arg, ConfigFile, Directive } from './ast.js';
import { diag, type Diagnostic } from './diagnostic.js';
import {
  allTokens,
  DQuoted,
  LBrace,
  RBrace,
  Semi,
  SQuoted,
  LineIndex,
  tokenize,
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
  private words: IToken[] = [];
  argsPending = false;
  depth = 0;
  root: Directive[] = [];

  constructor() {
    super(allTokens, { recoveryEnabled: false, maxLookahead: 1, skipValidations: true });
    this.performSelfAnalysis();
  }

  load(tokens: IToken[], file: string, lines: LineIndex): void {
    this.input = tokens;
    this.lines = lines;
    this.file = file;
    this.root = [];
    this.stack = [this.root];
    this.open = [];
    this.words = [];
    this.argsPending = false;
    this.depth = 0;
  }

  public config = this.RULE('config', () => {
    this.MANY(() => this.SUBRULE(this.directive));
  });

  private word = this.RULE('word', () => {
    const t = this.OR([
      { ALT: () => this.CONSUME(Word) },
      { ALT: () => this.CONSUME(DQuoted) },
      { ALT: () => this.CONSUME(SQuoted) },
    ]);
    this.ACTION(() => {
      this.words.push(t);
      this.argsPending = true;
    });
  });

  private directive = this.RULE('directive', () => {
    this.AT_LEAST_ONE(() => this.SUBRULE(this.word));
    this.OR([
      {
        ALT: () => {
          const semi = this.CONSUME(Semi);
          this.ACTION(() => {
            this.top().push(this.finish(semi, false));
          });
        },
      },
      {
        ALT: () => {
          const brace = this.CONSUME(LBrace);
          this.ACTION(() => {
            const d = this.finish(brace, true);
            this.top().push(d);
            this.stack.push(d.block!);
            this.open.push(d);
            this.depth++;
          });
          this.MANY(() => this.SUBRULE2(this.directive));
          const close = this.CONSUME(RBrace);
          this.ACTION(() => {
            this.stack.pop();
            this.open.pop()!.endLine = this.lines.line(close.startOffset);
            this.depth--;
          });
        },
      },
    ]);
  });

  private top(): Directive[] {
    return this.stack[this.stack.length - 1];
  }

  private finish(term: IToken, block: boolean): Directive {
    const words = this.words;
    this.words = [];
    this.argsPending = false;
    const first = words[0];
    const args: Arg[] = new Array(words.length - 1);
    const lines = this.lines;
    const line = lines.line(first.startOffset);
    const column = lines.column(first.startOffset);
    for (let i = 1; i < words.length; i++) args[i - 1] = toArg(words[i], lines);
    const d: Directive = {
      name: wordValue(first),
      args,
      file: this.file,
      line,
      column,
      termLine: lines.line(term.startOffset),
    };
    if (first.tokenType !== Word) d.nameQuote = first.image[0] as '"' | "'";
    if (block) d.block = [];
    return d;
  }
}

function wordValue(t: IToken): string {
  return t.tokenType === Word ? unescape(t.image) : unescape(t.image.slice(1, -1));
}

function toArg(t: IToken, lines: LineIndex): Arg {
  const type: TokenType = t.tokenType;
  return {
    value: wordValue(t),
    raw: t.image,
    quote: type === Word ? '' : (t.image[0] as '"' | "'"),
    line: lines.line(t.startOffset),
    column: lines.column(t.startOffset),
  };
}

let shared: GrammarParser | undefined;

/**
 * Parses one file's text. Never throws on bad input: the first syntax error (nginx stops there)
 * is returned as data, after every directive that nginx would already have dispatched.
 */
export function parseText(text: string, file: string): ConfigFile {
  const lex = tokenize(text);
  const parser = (shared ??= new GrammarParser());
  parser.load(lex.tokens, file, lex.lines);
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
      } else if (parser.argsPending || (lex.tokens.length > 0 && isUnterminatedAtEnd(lex.tokens, parser))) {
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
  parser.load([], '', lex.lines);
  return result;
}

function isUnterminatedAtEnd(_tokens: IToken[], _p: GrammarParser): boolean {
  return false;
}
