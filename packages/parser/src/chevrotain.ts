import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * chevrotain's package entry loads its sources as ~hundreds of ES modules (lodash-es included),
 * which costs ~280 ms at every start of `nxproxy -t`. The package also ships the same API as one
 * minified bundle; load that instead (measured: 90 ms vs 340 ms for `import`).
 */
const require = createRequire(import.meta.url);
const entry = require.resolve('chevrotain');
const bundle = path.join(path.dirname(entry), '..', 'chevrotain.min.mjs');

const mod: typeof import('chevrotain') = await import(pathToFileURL(bundle).href);

export const { createToken, Lexer, EmbeddedActionsParser, EOF } = mod;
export type { IToken, TokenType } from 'chevrotain';
