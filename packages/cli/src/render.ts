import * as fs from 'node:fs';
import { isEmerg, placeSuffix, type Diagnostic } from '@nxproxy/parser';

/** nginx's "YYYY/MM/DD HH:MM:SS" local time. */
export function logTime(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The line nginx writes to stderr when the start-up error log is a file: "nginx: [emerg] ...". */
export function stderrLine(d: Diagnostic): string {
  return `nxproxy: [${d.severity}] ${d.message}${placeSuffix(d)}`;
}

/** The error-log form: "2026/11/30 06:00:35 [emerg] 5140#5140: ...". */
export function logLine(d: Diagnostic, pid = process.pid): string {
  return `${logTime()} [${d.severity}] ${pid}#${pid}: ${d.message}${placeSuffix(d)}`;
}

/**
 * Beyond nginx: the offending line with a caret under the directive, and a "did you mean".
 * Indented so that scripts matching nginx's "nginx: [level]" lines are not disturbed.
 */
export function context(d: Diagnostic, texts: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  if (d.file && d.line && d.file !== 'command line') {
    const text = texts.get(d.file);
    if (text !== undefined) {
      const lines = text.split('\n');
      const src = lines[d.line - 1];
      if (src !== undefined) {
        const num = String(d.line);
        out.push(`  ${num} | ${src.replace(/\t/g, ' ')}`);
        if (d.column && d.column <= src.length + 1) {
          out.push(`  ${' '.repeat(num.length)} | ${' '.repeat(d.column - 1)}^`);
        }
      }
    }
  }
  if (d.hint) out.push(`  did you mean "${d.hint}"?`);
  return out;
}

/** Where start-up messages go: nginx prints "nginx: [level]" lines unless its error log is stderr. */
export class StartupLog {
  constructor(
    private readonly file: string | undefined,
    private readonly quiet: boolean,
  ) {}

  diagnostic(d: Diagnostic, texts: ReadonlyMap<string, string>): void {
    if (this.file === undefined) {
      process.stderr.write(logLine(d) + '\n');
    } else {
      process.stderr.write(stderrLine(d) + '\n');
      try {
        fs.appendFileSync(this.file, logLine(d) + '\n');
      } catch {
        // nginx carries on when it cannot write its log
      }
    }
    if (isEmerg(d) && !this.quiet) for (const l of context(d, texts)) process.stderr.write(l + '\n');
  }

  info(line: string): void {
    process.stderr.write(`nxproxy: ${line}\n`);
  }
}

