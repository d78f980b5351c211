import type { Directive } from './ast.js';

/** Prints directives back to config text. Arguments keep their original spelling (raw). */
export function print(dirs: readonly Directive[], indent = ''): string {
  let out = '';
  for (const d of dirs) {
    out += indent + (d.nameQuote ? d.nameQuote + d.name + d.nameQuote : d.name);
    for (const a of d.args) out += ' ' + a.raw;
    if (d.block) {
      if (d.block.length === 0) out += ' {\n' + indent + '}\n';
      else out += ' {\n' + print(d.block, indent + '    ') + indent + '}\n';
    } else {
      out += ';\n';
    }
  }
  return out;
}
