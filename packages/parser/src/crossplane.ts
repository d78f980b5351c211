import type { Directive } from './ast.js';
import type { CheckResult } from './check/index.js';
import { isEmerg } from './check/walker.js';

/** crossplane's payload format, so existing crossplane tooling can read nxproxy's parse. */
export interface CrossplaneDirective {
  directive: string;
  line: number;
  args: string[];
  includes?: number[];
  block?: CrossplaneDirective[];
}
export interface CrossplaneError {
  file: string;
  line: number | null;
  error: string;
}
export interface CrossplanePayload {
  status: 'ok' | 'failed';
  errors: CrossplaneError[];
  config: { file: string; status: 'ok' | 'failed'; errors: CrossplaneError[]; parsed: CrossplaneDirective[] }[];
}

export function toCrossplane(result: CheckResult): CrossplanePayload {
  const files = result.config ? [...result.config.files.keys()] : [];
  const index = new Map(files.map((f, i) => [f, i]));
  const conv = (dirs: Directive[]): CrossplaneDirective[] =>
    dirs.map((d) => {
      const out: CrossplaneDirective = { directive: d.name, line: d.line, args: d.args.map((a) => a.value) };
      if (d.includes) out.includes = d.includes.map((f) => index.get(f)).filter((i): i is number => i !== undefined);
      if (d.block) out.block = conv(d.block);
      return out;
    });
  const errors: CrossplaneError[] = result.diagnostics.filter(isEmerg).map((d) => ({
    file: d.file ?? result.config?.confFile ?? '',
    line: d.line ?? null,
    error: d.file && d.file !== 'command line' ? `${d.message} in ${d.file}:${d.line}` : d.message,
  }));
  const config = files.map((f) => {
    const fileErrors = errors.filter((e) => e.file === f);
    return {
      file: f,
      status: (fileErrors.length ? 'failed' : 'ok') as 'ok' | 'failed',
      errors: fileErrors,
      parsed: conv(result.config!.files.get(f)!.directives),
    };
  });
  return { status: errors.length ? 'failed' : 'ok', errors, config };
}
