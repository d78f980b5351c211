/**
 * The configuration AST. Strings hold the file's bytes one char per byte (latin1), so that any
 * input round-trips exactly and byte offsets equal string offsets.
 */
export interface Arg {
  /** The value after unquoting and nginx's escape processing. */
  value: string;
  /** The text as written, quotes included. */
  raw: string;
  /** The quote character if the argument was quoted, '' otherwise. */
  quote: '' | '"' | "'";
  line: number;
  column: number;
}

export interface Directive {
  name: string;
  args: Arg[];
  /** Present for block directives ("{ ... }"), even when empty. */
  block?: Directive[];
  file: string;
  /** Line and column of the directive's name. */
  line: number;
  column: number;
  /** Line of the terminating ";" or "{": where nginx's lexer stands when it reports a directive error. */
  termLine: number;
  /** Quote used around the name, if the name itself was quoted (legal in nginx). */
  nameQuote?: '"' | "'";
  /** Line of a block's closing "}" (undefined when the file ends inside the block). */
  endLine?: number;
  /** For include directives after loading: the files it brought in, in glob order. */
  includes?: string[];
}

/** One parsed file. A syntax error stops nginx at that point: it comes after every directive here. */
export interface ConfigFile {
  file: string;
  directives: Directive[];
  syntaxError?: import('./diagnostic.js').Diagnostic;
}
