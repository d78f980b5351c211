import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Directive } from '../src/ast.js';
import { parseText } from '../src/parser.js';
import { print } from '../src/print.js';

const seed = Number(process.env.FC_SEED ?? 20261130);

const bare = fc.stringMatching(/^[a-z_$][a-z0-9_.\/:$=~*^-]{0,12}$/);
const quoted = fc
  .string({ maxLength: 12 })
  .map((s) => s.replace(/[\\"]/g, ''))
  .map((s) => `"${s}"`);
const single = fc
  .string({ maxLength: 12 })
  .map((s) => s.replace(/[\\']/g, ''))
  .map((s) => `'${s}'`);
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
const arg = fc.oneof(bare, quoted, single);

const directive: fc.Memo<string> = fc.memo((depth) =>
  fc
    .tuple(name, fc.array(arg, { maxLength: 4 }), depth > 1 ? fc.option(fc.array(directive(depth - 1), { maxLength: 3 })) : fc.constant(null))
    .map(([n, args, block]) => `${[n, ...args].join(' ')}${block ? ` {\n${block.join('')}}\n` : ';\n'}`),
);
const config = fc.array(directive(3), { maxLength: 6 }).map((ds) => ds.join(''));

function shape(ds: Directive[]): unknown {
  return ds.map((d) => ({ n: d.name, a: d.args.map((a) => [a.value, a.raw, a.quote]), b: d.block ? shape(d.block) : null }));
}

describe('parser properties', () => {
  it(`parse(print(ast)) equals the AST (seed ${seed})`, () => {
    fc.assert(
      fc.property(config, (text) => {
        const first = parseText(text, '/p.conf');
        expect(first.syntaxError).toBeUndefined();
        const again = parseText(print(first.directives), '/p.conf');
        expect(again.syntaxError).toBeUndefined();
        expect(shape(again.directives)).toEqual(shape(first.directives));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('never throws on arbitrary or mutated input, and every error has a line', () => {
    const mutated = fc.tuple(config, fc.array(fc.tuple(fc.nat(), fc.constantFrom('{', '}', ';', '"', "'", '\\', '#', '$', '\n', '\0', 'x')), { maxLength: 5 })).map(
      ([text, edits]) => {
        let t = text;
        for (const [pos, ch] of edits) {
          const p = t.length ? pos % t.length : 0;
          t = t.slice(0, p) + ch + t.slice(p + 1);
        }
        return t;
      },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')), mutated), (text) => {
        const f = parseText(text, '/fuzz.conf');
        if (f.syntaxError) {
          expect(f.syntaxError.line).toBeGreaterThanOrEqual(1);
          expect(f.syntaxError.file).toBe('/fuzz.conf');
        }
      }),
      { seed, numRuns: 1000 },
    );
  });
});
