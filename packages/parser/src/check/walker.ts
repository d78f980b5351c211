import * as path from 'node:path';
import type { ConfigFile, Directive } from '../ast.js';
import { diag, type Diagnostic } from '../diagnostic.js';
import { argCountOk, DIRECTIVES_BY_NAME, suggestDirective } from '../directives/index.js';
import type { Context, DirectiveSpec } from '../directives/types.js';
import { parseText } from '../parser.js';
import { translateRegex, type RegexResult } from '../regex.js';
import { parseFlag, parseNumber, parseOffset, parseSize, parseTime } from '../values.js';
import { isGlob, type ConfigFs } from './files.js';
import type { ParsedUrl } from './url.js';
import { HANDLERS, RAW_BLOCKS } from './handlers.js';
import { firstAtLevel, type Scope, type WalkState } from './state.js';

/** HANDLERS as a Map: a keyed property load with a freshly parsed name string costs a string-table lookup. */
const HANDLER_MAP = new Map(Object.entries(HANDLERS));

/** "module:name" per table entry (the "is duplicate" key), built once. */
const DUP_KEYS = new Map<DirectiveSpec, string>();

/** Thrown to unwind the walk at the first emerg: nginx stops there too. */
export class Stop extends Error {}

/**
 * Walks a config the way ngx_conf_parse does: in stream order, expanding includes where they
 * stand, dispatching each directive to the table entry nginx would pick, and stopping at the
 * first error.
 */
export class Walker {
  private readonly regexes = new Map<string, RegexResult>();
  /** Blocks opened so far (Scope.seq). */
  private scopes = 0;
  private readonly caselessRegexes = new Map<string, RegexResult>();
  /** proxy_pass & co: parsed URLs by directive name and argument (see passHandler). */
  readonly passUrls = new Map<string, Map<string, { rest: string; u: ParsedUrl | { err: string } }>>();

  constructor(
    readonly state: WalkState,
    readonly fsys: ConfigFs,
    readonly textCache: Map<string, string | { errno: number; message: string }> = new Map(),
  ) {}

  emit(d: Diagnostic): void {
    this.state.diagnostics.push(d);
    if (d.severity === 'emerg' || d.severity === 'alert' || d.severity === 'crit') throw new Stop();
  }

  /** An emerg at a directive's position (nginx reports the line of its ";" or "{"). */
  fail(d: Directive, message: string, code = 'invalid'): never {
    this.emit(diag('emerg', code, message, this.where(d)));
    throw new Stop();
  }

  warn(d: Directive, message: string, code = 'warn'): void {
    this.emit(diag('warn', code, message, this.where(d)));
  }

  where(d: Directive): { file: string; line: number; column?: number } {
    // The caret can point at the name only when nginx's reported line is the name's line.
    return { file: d.file, line: d.termLine, column: d.termLine === d.line ? d.column : undefined };
  }

  /** Loads (once) and parses a file, recording it in first-open order for -T. */
  loadFile(file: string): ConfigFile | { errno: number; message: string } {
    const cached = this.state.files.get(file);
    if (cached) return cached;
    const text = this.readText(file);
    if (typeof text !== 'string') return text;
    let parsed = this.state.parseCache.get(file);
    if (!parsed || !('directives' in parsed)) {
      parsed = parseText(text, file);
      this.state.parseCache.set(file, parsed);
    }
    this.state.files.set(file, parsed);
    this.state.texts.set(file, text);
    return parsed;
  }

  /** A file's text, read once per check (both resolver passes see the same bytes). */
  readText(file: string): string | { errno: number; message: string } {
    const key = file;
    const cached = this.textCache.get(key);
    if (cached !== undefined) return cached;
    const text = this.fsys.read(file);
    this.textCache.set(key, text);
    return text;
  }

  /**
   * getaddrinfo() for a host name: its addresses, null when it does not resolve. Names not
   * resolved yet are noted for the next pass and taken as resolvable (undefined).
   */
  resolveHost(host: string): string[] | null | undefined {
    const r = this.state.resolved.get(host.toLowerCase());
    if (r === undefined) this.state.pendingHosts.add(host.toLowerCase());
    return r;
  }

  /** Walks a whole file in the given scope; its syntax error, if any, comes after its directives. */
  walkFile(cf: ConfigFile, scope: Scope): void {
    this.block(cf.directives, scope);
    if (cf.syntaxError) this.emit(cf.syntaxError);
  }

  block(dirs: Directive[], scope: Scope): void {
    for (const d of dirs) this.directive(d, scope);
    const bd = scope.directive;
    if (bd && bd.block === dirs) this.unclosed(bd);
  }

  /**
   * A syntax error inside a block ends the walk there: nginx never finishes that block, so its
   * end-of-block work (http init, default listen, ...) must not run before the error. A block the
   * parser never saw closed holds the file's syntax error.
   */
  private unclosed(d: Directive): void {
    if (d.endLine !== undefined) return;
    const err = this.state.files.get(d.file)?.syntaxError;
    if (err) this.emit(err);
  }

  directive(d: Directive, scope: Scope): void {
    if (scope.raw) {
      scope.raw(this, d, scope);
      return;
    }
    const list = DIRECTIVES_BY_NAME.get(d.name);
    if (!list) {
      const hint = suggestDirective(d.name);
      const dg = diag('emerg', 'unknown-directive', `unknown directive "${d.name}"`, this.where(d));
      if (hint) dg.hint = hint;
      this.emit(dg);
      return;
    }
    const ctx = scope.ctx;
    let spec: DirectiveSpec | undefined;
    for (const s of list) {
      if (s.contexts.includes(ctx) || s.contexts.includes('any')) {
        spec = s;
        break;
      }
    }
    if (!spec) this.fail(d, `"${d.name}" directive is not allowed here`, 'not-allowed');
    if (!spec.block && d.block) this.fail(d, `directive "${d.name}" is not terminated by ";"`, 'not-terminated');
    if (spec.block && !d.block) this.fail(d, `directive "${d.name}" has no opening "{"`, 'no-opening-brace');
    if (!argCountOk(spec.args, d.args.length)) {
      this.fail(d, `invalid number of arguments in "${d.name}" directive`, 'arg-count');
    }
    if (spec.status !== 'implemented' && spec.status !== 'no-effect') {
      this.state.unimplemented.push({ directive: d, spec });
    }
    if (d.name === 'include') {
      this.include(d, scope);
      return;
    }
    const handler = HANDLER_MAP.get(d.name);
    if (handler) {
      handler(this, d, scope, spec);
    } else {
      this.slot(d, scope, spec);
      if (d.block) {
        this.fail(d, `directive "${d.name}" has no handler for its block`);
      }
    }
  }

  /** The generic setters' checks (ngx_conf_set_*_slot), worded as nginx words them. */
  slot(d: Directive, scope: Scope, spec: DirectiveSpec): void {
    const a = d.args;
    switch (spec.slot) {
      case 'flag':
        this.dup(d, scope, spec);
        if (parseFlag(a[0].value) === null) {
          this.fail(d, `invalid value "${a[0].value}" in "${d.name}" directive, it must be "on" or "off"`);
        }
        break;
      case 'str':
        this.dup(d, scope, spec);
        break;
      case 'num': {
        this.dup(d, scope, spec);
        const n = parseNumber(a[0].value);
        if (n === null) this.invalidValue(d, 'invalid number');
        this.bounds(d, spec, n!);
        break;
      }
      case 'size':
        this.dup(d, scope, spec);
        if (parseSize(a[0].value) === null) this.invalidValue(d, 'invalid value');
        break;
      case 'off':
        this.dup(d, scope, spec);
        if (parseOffset(a[0].value) === null) this.invalidValue(d, 'invalid value');
        break;
      case 'msec':
        this.dup(d, scope, spec);
        if (parseTime(a[0].value, false) === null) this.invalidValue(d, 'invalid value');
        break;
      case 'sec':
        this.dup(d, scope, spec);
        if (parseTime(a[0].value, true) === null) this.invalidValue(d, 'invalid value');
        break;
      case 'bufs': {
        this.dup(d, scope, spec);
        const n = parseNumber(a[0].value);
        if (n === null || n === 0) this.invalidValue(d, 'invalid value');
        const s = parseSize(a[1].value);
        if (s === null || s === 0) this.invalidValue(d, 'invalid value');
        break;
      }
      case 'enum': {
        this.dup(d, scope, spec);
        const v0 = a[0].value.toLowerCase();
        const ok = spec.values?.some((x) => x.toLowerCase() === v0);
        if (!ok) this.fail(d, `invalid value "${a[0].value}"`);
        break;
      }
      case 'bitmask': {
        // ngx_conf_set_bitmask_slot ORs values into one field: no "is duplicate", but a value
        // already set at this level (by this or an earlier directive) is a warning.
        const key = spec.module + ':' + d.name;
        scope.bits ??= new Map();
        let seen = scope.bits.get(key);
        if (!seen) scope.bits.set(key, (seen = new Set()));
        for (const arg of a) {
          const x = arg.value;
          const m = spec.values?.find((y) => y.toLowerCase() === x.toLowerCase());
          if (!m) this.fail(d, `invalid value "${x}"`);
          if (seen.has(m)) this.warn(d, `duplicate value "${x}"`);
          seen.add(m);
        }
        break;
      }
      case 'path': {
        this.dup(d, scope, spec);
        for (let i = 1; i < a.length; i++) {
          const n = parseNumber(a[i].value);
          if (n === null || n === 0 || n > 2) this.invalidValue(d, 'invalid value');
        }
        break;
      }
      case 'str_array':
      case 'keyval':
      case 'access':
      case 'custom':
        break;
    }
  }

  /** "is duplicate" for single-value slots: one setting per module field and level. */
  private dup(d: Directive, scope: Scope, spec: DirectiveSpec): void {
    let key = DUP_KEYS.get(spec);
    if (key === undefined) DUP_KEYS.set(spec, (key = spec.module + ':' + d.name));
    if (!firstAtLevel(scope, key)) this.fail(d, `"${d.name}" directive is duplicate`, 'duplicate');
  }

  private invalidValue(d: Directive, msg: string): never {
    return this.fail(d, `"${d.name}" directive ${msg}`);
  }

  bounds(d: Directive, spec: DirectiveSpec, n: number): void {
    const b = spec.bounds;
    if (!b) return;
    if (b.max === undefined) {
      if (b.min !== undefined && n < b.min) this.fail(d, `value must be equal to or greater than ${b.min}`);
    } else if (n < (b.min ?? 0) || n > b.max) {
      this.fail(d, `value must be between ${b.min ?? 0} and ${b.max}`);
    }
  }

  /** include: relative paths resolve against the main config's directory (the conf prefix). */
  include(d: Directive, scope: Scope): void {
    const target = d.args[0].value;
    const full = path.isAbsolute(target) ? target : this.state.confPrefix + target;
    let files: string[];
    if (isGlob(full)) {
      files = this.fsys.glob(full);
    } else {
      files = [full];
    }
    d.includes = files;
    for (const f of files) {
      if (this.state.including.includes(f)) {
        this.fail(
          d,
          `include cycle: "${f}" is already being included (nginx would recurse until it crashes)`,
          'include-cycle',
        );
      }
      const loaded = this.loadFile(f);
      if (!('directives' in loaded)) {
        this.fail(d, `open() "${f}" failed (${loaded.errno}: ${loaded.message})`, 'open-failed');
      }
      this.state.including.push(f);
      try {
        this.walkFile(loaded, scope);
      } finally {
        this.state.including.pop();
      }
    }
  }

  /** Opens a child scope for a block directive and walks its contents. */
  child(d: Directive, parent: Scope, ctx: Context, extra?: Partial<Scope>): Scope {
    // one literal with every field, so all scopes share one shape with in-object fields
    // (adding the extras afterwards gave each scope a separate property store)
    return {
      ctx,
      seenFirst: undefined,
      seen: undefined,
      parent,
      directive: d,
      dirs: undefined,
      raw: extra?.raw,
      server: extra?.server,
      location: extra?.location,
      locations: extra?.locations,
      noUriPart: extra?.noUriPart,
      rawState: extra?.rawState,
      children: extra?.children,
      upstream: extra?.upstream,
      bits: extra?.bits,
      locationKeys: undefined,
      seq: this.scopes++,
    };
  }

  /** ngx_regex_compile's result for a pattern, translated once per walk (configs repeat them). */
  regex(pattern: string, caseless: boolean): RegexResult {
    const cache = caseless ? this.caselessRegexes : this.regexes;
    let r = cache.get(pattern);
    if (!r) cache.set(pattern, (r = translateRegex(pattern, caseless)));
    return r;
  }
}

export function isEmerg(d: Diagnostic): boolean {
  return d.severity === 'emerg' || d.severity === 'alert' || d.severity === 'crit';
}

export { RAW_BLOCKS };
