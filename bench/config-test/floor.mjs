#!/usr/bin/env node
// The floor of the config-test benchmark: what any `-t` built on the required stack pays before
// it builds or checks anything. Node starts, loads Chevrotain and nxproxy's lexer, reads the
// file and turns it into tokens with the same Chevrotain lexer `nxproxy -t` uses (in the same
// 16 KB chunks), and exits. No AST, no checks.
//
//   node bench/config-test/floor.mjs FILE [--recognize]
//
// --recognize: each chunk's tokens also go through a Chevrotain parser with the least grammar
// that still looks at every token: statement := Arg+ (";" | "{") | "}". No actions, no tree:
// a lower bound for any parser on Chevrotain (nxproxy's nests blocks and builds the AST).
import { readFileSync } from 'node:fs';
import { EmbeddedActionsParser } from '../../packages/parser/dist/chevrotain.js';
import { allTokens, Arg, LBrace, LineIndex, RBrace, Semi, TokenStream } from '../../packages/parser/dist/lexer.js';

class Recognizer extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { recoveryEnabled: false, maxLookahead: 1, skipValidations: true });
    this.RULE('statements', () => {
      this.MANY(() => {
        this.OR([
          {
            ALT: () => {
              this.AT_LEAST_ONE(() => this.CONSUME(Arg));
              this.OR2([{ ALT: () => this.CONSUME(Semi) }, { ALT: () => this.CONSUME(LBrace) }]);
            },
          },
          { ALT: () => this.CONSUME(RBrace) },
        ]);
      });
    });
    this.performSelfAnalysis();
  }
}

const text = readFileSync(process.argv[2], 'latin1');
const recognizer = process.argv.includes('--recognize') ? new Recognizer() : null;
const stream = new TokenStream(text, new LineIndex(text));
let count = 0;
while (!stream.done) {
  stream.next();
  count += stream.tokens.length;
  if (recognizer) {
    recognizer.input = stream.tokens;
    recognizer.statements();
    if (recognizer.errors.length) throw new Error(recognizer.errors[0].message);
  }
}
console.log(`${count} tokens${recognizer ? ', recognized' : ''}`);
