import type { Directive, LoadedConfig } from '@nxproxy/parser';

/** A block's directives with every include replaced by the directives of the files it names. */
export function expand(dirs: readonly Directive[], config: LoadedConfig): Directive[] {
  const out: Directive[] = [];
  for (const d of dirs) {
    if (d.name === 'include' && d.includes) {
      for (const f of d.includes) {
        const file = config.files.get(f);
        if (file) out.push(...expand(file.directives, config));
      }
    } else {
      out.push(d);
    }
  }
  return out;
}
