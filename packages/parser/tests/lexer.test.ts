import { describe, expect, it } from 'vitest';
import { LineIndex, tokenize, TokenStream } from '../src/lexer.js';
import { parseText } from '../src/parser.js';

const words = (text: string) => {
  const f = parseText(text, '/t.conf');
  expect(f.syntaxError).toBeUndefined();
  return f.directives.map((d) => [d.name, ...d.args.map((a) => a.value)]);
};
const error = (text: string) => {
  const e = parseText(text, '/t.conf').syntaxError;
  return e ? `${e.message}:${e.line}` : undefined;
};

describe('tokenizer edge cases, as ngx_conf_read_token', () => {
  it('a "}" does not end a word', () => {
    expect(error('return 200 ok}')).toBe('unexpected end of file, expecting ";" or "}":1');
  });
  it('"#" starts a comment only at the start of a token', () => {
    expect(words('return 200 a#b; # comment\n')).toEqual([['return', '200', 'a#b']]);
  });
  it('a quote inside a word is literal', () => {
    expect(words('x a"b;')).toEqual([['x', 'a"b']]);
  });
  it('after a closing quote only space, ";", "{" or ")" may follow', () => {
    expect(error('server_tokens "off"x;')).toBe('unexpected "x":1');
    expect(words('if ($a = "b") { }')).toEqual([['if', '($a', '=', 'b', ')']]);
  });
  it('"${" stays inside a word', () => {
    expect(words('set $a ${b}c;')).toEqual([['set', '$a', '${b}c']]);
  });
  it('applies nginx escapes in and out of quotes', () => {
    expect(words(`x 'a\\n' "q\\"" c\\;d e\\\\f;`)).toEqual([['x', 'a\n', 'q"', 'c\\;d', 'e\\f']]);
  });
  it('keeps unknown escapes such as regex \\. as two characters', () => {
    expect(words('location ~ \\.php$ { }')).toEqual([['location', '~', '\\.php$']]);
  });
  it('accepts an empty quoted argument', () => {
    expect(words('add_header X "";')).toEqual([['add_header', 'X', '']]);
  });
  it('counts lines with LF only and reports the terminator line', () => {
    const f = parseText('a\r\n  b\n  c;\n', '/t.conf');
    expect(f.directives[0].line).toBe(1);
    expect(f.directives[0].termLine).toBe(3);
  });
  it('reports unexpected ";", "{" and "}"', () => {
    expect(error(';')).toBe('unexpected ";":1');
    expect(error('\n{')).toBe('unexpected "{":2');
    expect(error('a;\n}')).toBe('unexpected "}":2');
    expect(error('a b\n}')).toBe('unexpected "}":2');
  });
  it('reports both end-of-file errors on the last line', () => {
    expect(error('a {\n b;\n')).toBe('unexpected end of file, expecting "}":3');
    expect(error('a b')).toBe('unexpected end of file, expecting ";" or "}":1');
    expect(error('a "abc\n')).toBe('unexpected end of file, expecting ";" or "}":2');
  });
  it('limits a token to nginx\'s 4 KiB buffer', () => {
    expect(error('x ' + 'a'.repeat(5000) + ';')).toBe('too long parameter "aaaaaaaaaa..." started:1');
    expect(error('x "' + 'a'.repeat(5000))).toBe('too long parameter, probably missing terminating """ character:1');
  });
  it('keeps the directives dispatched before an error', () => {
    const f = parseText('a;\nb {\n c;\n d e}\n', '/t.conf');
    expect(f.directives.map((d) => d.name)).toEqual(['a', 'b']);
    expect(f.directives[1].block!.map((d) => d.name)).toEqual(['c']);
  });
});

describe('chunked token stream', () => {
  const streamed = (text: string, chunk: number) => {
    const s = new TokenStream(text, new LineIndex(text), chunk);
    const out: [string, number, string][] = [];
    while (!s.done) {
      s.next();
      for (const t of s.tokens) out.push([t.image, t.startOffset, t.tokenType.name]);
    }
    return { tokens: out, stop: s.stop };
  };
  const whole = (text: string) => {
    const r = tokenize(text);
    return { tokens: r.tokens.map((t): [string, number, string] => [t.image, t.startOffset, t.tokenType.name]), stop: r.stop };
  };
  it('yields exactly the whole-text tokens, whatever the chunk size', () => {
    const texts = [
      'a b;\n# c;d\nx "q;}" \'r{\' {\n  y ${z}{;\n}\n',
      'a "unterminated; b; c {',
      "a 'x\\' b;' c; d \\; e\\",
      'a "b"c; d;',
      'x ' + 'a'.repeat(5000) + ';',
      'x "' + 'a'.repeat(5000) + '"; y;',
      '}} ;; {{ # only punctuation\n',
      '',
      'no terminator at all',
    ];
    for (const text of texts) {
      for (const chunk of [1, 2, 3, 5, 8, 64]) expect(streamed(text, chunk)).toEqual(whole(text));
    }
  });
});
