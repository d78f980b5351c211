#!/usr/bin/env node
// The floor of the config-test benchmark: what any `-t` built on the required stack pays before
// it parses or checks anything. Node starts, loads Chevrotain and nxproxy's lexer, reads the
// file and turns it into tokens with the same Chevrotain lexer `nxproxy -t` uses (in the same
// 16 KB chunks), and exits. No parser, no AST, no checks.
//
//   node bench/config-test/floor.mjs FILE
import { readFileSync } from 'node:fs';
import { LineIndex, TokenStream } from '../../packages/parser/dist/lexer.js';

const text = readFileSync(process.argv[2], 'latin1');
const stream = new TokenStream(text, new LineIndex(text));
let count = 0;
while (!stream.done) {
  stream.next();
  count += stream.tokens.length;
}
console.log(`${count} tokens`);
