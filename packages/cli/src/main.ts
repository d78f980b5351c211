import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { checkConfig, compatibilityReport, isEmerg, toCrossplane, type CheckResult, type Diagnostic } from '@nxproxy/parser';
import { DEFAULT_CONF, DEFAULT_ERROR_LOG, DEFAULT_PREFIX, NGINX_COMPAT, VERSION } from './defaults.js';
import { StartupLog } from './render.js';

export interface CliOptions {
  test?: boolean;
  dump?: boolean;
  quiet?: boolean;
  json?: boolean;
  strict?: boolean;
  version?: boolean;
  verbose?: boolean;
  signal?: string;
  prefix?: string;
  conf?: string;
  errorLog?: string;
  globals?: string;
  directives?: boolean;
}

function buildProgram(): Command {
  const program = new Command('nxproxy');
  program
    .helpOption('-h, --help', 'this help')
    .option('-?', 'this help')
    .option('-v', 'show version and exit')
    .option('-V', 'show version and configure options then exit')
    .option('-t', 'test configuration and exit')
    .option('-T', 'test configuration, dump it and exit')
    .option('-q', 'suppress non-error messages during configuration testing')
    .option('-s <signal>', 'send signal to the running instance: stop, quit, reopen, reload')
    .option('-p <prefix>', `set prefix path (default: ${DEFAULT_PREFIX})`)
    .option('-e <filename>', `set error log file (default: ${DEFAULT_ERROR_LOG})`)
    .option('-c <filename>', `set configuration file (default: ${DEFAULT_CONF})`)
    .option('-g <directives>', 'set global directives out of configuration file')
    .option('--json', 'with -T: print the parsed configuration as crossplane JSON')
    .option('--strict', 'treat directives nxproxy does not implement as errors')
    .option('--directives', 'print the directive compatibility report (markdown) and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stderr.write(s), writeErr: (s) => process.stderr.write(s) });
  return program;
}

function parseArgs(argv: string[]): CliOptions | number {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 1;
    }
    throw e;
  }
  const o = program.opts();
  if (o['?']) {
    program.outputHelp();
    return 0;
  }
  return {
    test: o.t,
    dump: o.T,
    quiet: o.q,
    json: o.json,
    strict: o.strict,
    version: o.v,
    verbose: o.V,
    signal: o.s,
    prefix: o.p,
    conf: o.c,
    errorLog: o.e,
    globals: o.g,
    directives: o.directives,
  };
}

export function unimplementedWarnings(result: CheckResult, strict: boolean): Diagnostic[] {
  return result.unimplemented.map(({ directive: d, spec }) => ({
    severity: strict ? 'emerg' : 'warn',
    code: 'unimplemented',
    message: spec.guardsAccess
      ? `"${d.name}" directive is not implemented by nxproxy, and it guards access: nxproxy refuses to serve this configuration`
      : `"${d.name}" directive is not implemented by nxproxy and has no effect`,
    file: d.file,
    line: d.termLine,
    nxproxyOnly: true,
  }));
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (typeof parsed === 'number') return parsed;
  const o = parsed;
  if (o.directives) {
    process.stdout.write(compatibilityReport());
    return 0;
  }
  if (o.version || o.verbose) {
    process.stderr.write(`nxproxy version: nxproxy/${VERSION} (nginx/${NGINX_COMPAT} compatible)\n`);
    if (o.verbose) {
      process.stderr.write(`built with Node.js ${process.version}\n`);
      process.stderr.write(
        `configure arguments: --prefix=${DEFAULT_PREFIX} --conf-path=${DEFAULT_CONF} --error-log-path=${DEFAULT_ERROR_LOG}\n`,
      );
    }
    if (!o.test && !o.dump) return 0;
  }
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  const conf = o.conf ?? DEFAULT_CONF;
  const errorLog = o.errorLog && o.errorLog !== 'stderr' ? path.resolve(prefix, o.errorLog) : undefined;
  if (o.test || o.dump) return testConfig(o, prefix, conf, errorLog);
  const { serve } = await import('./serve.js');
  return serve({ prefix, conf, errorLog, globals: o.globals, signal: o.signal, strict: o.strict ?? false });
}

async function testConfig(o: CliOptions, prefix: string, conf: string, errorLog: string | undefined): Promise<number> {
  const result = await checkConfig({ prefix, confFile: conf, globals: o.globals });
  const confFile = path.isAbsolute(conf) ? conf : path.resolve(prefix, conf);
  if (o.dump && o.json) {
    process.stdout.write(JSON.stringify(toCrossplane(result), null, 2) + '\n');
    return result.ok ? 0 : 1;
  }
  const log = new StartupLog(errorLog, o.quiet ?? false);
  const texts = result.config?.texts ?? new Map<string, string>();
  const extra = unimplementedWarnings(result, o.strict ?? false);
  let ok = result.ok;
  result.diagnostics.forEach((d, i) => {
    if (i === result.syntaxOkAfter) printSyntaxOk();
    log.diagnostic(d, texts);
  });
  function printSyntaxOk(): void {
    for (const d of extra) log.diagnostic(d, texts);
    if (extra.some(isEmerg)) ok = false;
    // nginx prints this as soon as parsing succeeds; later (post-parse) errors come after it.
    if (!extra.some(isEmerg) && !o.quiet) log.info(`the configuration file ${confFile} syntax is ok`);
  }
  if (result.syntaxOkAfter === result.diagnostics.length) printSyntaxOk();
  if (!ok) {
    log.info(`configuration file ${confFile} test failed`);
    return 1;
  }
  if (!o.quiet) log.info(`configuration file ${confFile} test is successful`);
  if (o.dump && result.config) {
    for (const [file, text] of result.config.texts) {
      process.stdout.write(Buffer.from(`# configuration file ${file}:\n${text}\n`, 'latin1'));
    }
  }
  return 0;
}
