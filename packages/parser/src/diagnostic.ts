/**
 * Errors are data. Everything the parser, the validator and the runtime's compile step find
 * wrong with a config is a Diagnostic; only the CLI turns them into nginx-style text.
 */
export type Severity = 'emerg' | 'alert' | 'crit' | 'error' | 'warn' | 'notice' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. "unknown-directive". */
  code: string;
  /** The message exactly as nginx words it, without the " in FILE:LINE" suffix. */
  message: string;
  /** Absolute path of the file, "command line" for -g, or undefined when nginx prints no place. */
  file?: string;
  line?: number;
  column?: number;
  /** Directive name suggestion for misspellings (beyond nginx). */
  hint?: string;
  /** True for diagnostics nxproxy adds on top of nginx's (unimplemented directives). */
  nxproxyOnly?: boolean;
}

export function diag(
  severity: Severity,
  code: string,
  message: string,
  where?: { file?: string; line?: number; column?: number },
): Diagnostic {
  return { severity, code, message, file: where?.file, line: where?.line, column: where?.column };
}

/** nginx's " in FILE:LINE" suffix (or " in command line" for -g). */
export function placeSuffix(d: Diagnostic): string {
  if (d.file === undefined) return '';
  if (d.file === 'command line') return ' in command line';
  return ` in ${d.file}:${d.line ?? 0}`;
}
