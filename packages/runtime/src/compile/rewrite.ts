import * as fs from 'node:fs';
import { parseIfCondition, parseNumber, type Directive } from '@nxproxy/parser';
import type { Req } from '../http/request.js';
import { captureGroups, compileRegex } from './regex.js';
import type { LocationConf, RewriteOp } from './types.js';
import type { Variables } from './variables.js';

export interface RewriteCompileContext {
  vars: Variables;
  /** Builds the conf of an `if` block (inherits from the enclosing level). */
  ifConf: (d: Directive) => LocationConf;
}

/** The rewrite module's directives of one level, in order, as nginx compiles them into codes. */
export function compileRewrites(dirs: readonly Directive[], ctx: RewriteCompileContext): RewriteOp[] {
  const ops: RewriteOp[] = [];
  for (const d of dirs) {
    const a = d.args.map((x) => x.value);
    switch (d.name) {
      case 'return': {
        const code = parseNumber(a[0]);
        if (code === null) {
          ops.push({ op: 'return', code: 302, url: ctx.vars.script(a[0]) });
        } else if (a.length === 2) {
          const isRedirect = code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
          ops.push(isRedirect ? { op: 'return', code, url: ctx.vars.script(a[1]) } : { op: 'return', code, text: ctx.vars.script(a[1]) });
        } else {
          ops.push({ op: 'return', code });
        }
        break;
      }
      case 'rewrite': {
        const flag = (a[2] ?? '') as 'last' | 'break' | 'redirect' | 'permanent' | '';
        let repl = a[1];
        const redirectByScheme = /^(https?:\/\/|\$scheme)/.test(repl);
        let keepArgs = true;
        if (repl.endsWith('?')) {
          keepArgs = false;
          repl = repl.slice(0, -1);
        }
        ops.push({
          op: 'rewrite',
          re: compileRegex(a[0], false),
          replacement: ctx.vars.script(repl),
          redirectReplacement: ctx.vars.script(repl, { escapeCaptures: true }),
          flag,
          redirectByScheme,
          keepArgs,
          hasArgs: repl.includes('?'),
        });
        break;
      }
      case 'set':
        ops.push({ op: 'set', name: a[0].slice(1).toLowerCase(), value: ctx.vars.script(a[1]) });
        break;
      case 'break':
        ops.push({ op: 'break' });
        break;
      case 'if': {
        const conf = ctx.ifConf(d);
        ops.push({ op: 'if', test: compileCondition(a, ctx.vars), conf, ops: conf.rewrites });
        break;
      }
    }
  }
  return ops;
}

function fileTest(test: 'f' | 'd' | 'e' | 'x', path: string): boolean {
  try {
    const st = fs.statSync(path);
    if (test === 'f') return st.isFile();
    if (test === 'd') return st.isDirectory();
    if (test === 'x') return (st.mode & 0o111) !== 0 && !st.isDirectory();
    return true;
  } catch {
    return false;
  }
}

function compileCondition(args: string[], vars: Variables): (r: Req) => boolean {
  const c = parseIfCondition(args);
  if ('error' in c) return () => false;
  switch (c.kind) {
    case 'var': {
      const v = vars.script(c.variable);
      return (r) => {
        const s = v(r);
        return s !== '' && s !== '0';
      };
    }
    case 'eq':
    case 'ne': {
      const v = vars.script(c.variable);
      const val = vars.script(c.value);
      const eq = c.kind === 'eq';
      return (r) => (v(r) === val(r)) === eq;
    }
    case 'regex': {
      const v = vars.script(c.variable);
      const re = compileRegex(c.pattern, c.caseless);
      const negate = c.negate;
      return (r) => {
        const m = re.exec(v(r));
        if (m && !negate) {
          const g = captureGroups(m);
          r.captures = g.captures;
          if (g.named) r.namedCaptures = { ...(r.namedCaptures ?? {}), ...g.named };
        }
        return negate ? !m : !!m;
      };
    }
    case 'file': {
      const v = vars.script(c.value);
      return (r) => fileTest(c.test, v(r)) !== c.negate;
    }
  }
}
