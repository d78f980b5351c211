/**
 * Property test: for random sets of locations (`=`, prefix, `^~`, `~`, `~*`, one level of
 * nesting, named locations, prefix/`^~`/`=` locations ending in "/" with proxy_pass for the
 * implicit 301) and random request URIs, nxproxy picks the same location as nginx 1.22.1.
 * URIs are built from location names and the same path pieces, with case flips, trailing slashes,
 * extensions, repeated slashes, "."/".." segments that stay inside the root, %-encoded letters,
 * query strings and (rarely) a final %0A; proxy locations only get their slash-less name.
 *
 * Every location answers `return 200 "L<id>"`, so the body names the location that matched.
 * Cases are batched: one config holds CASES_PER_BATCH servers on one port (`server_name
 * c<i>.test`), started once under nginx and once under nxproxy; every URI is sent raw (unnormalised)
 * to both with the case's Host, and status, body and Location (port masked) must be equal.
 *
 * Environment:
 *   FC_SEED=n        fast-check seed (default below; printed)
 *   FC_BATCHES=n     number of batches (fast-check runs), default 15
 *   FC_SHRINK_MS=n   time allowed for shrinking a failure, default 30000
 *   NGINX_BIN, NXPROXY_CLI: see tests/support/twin-servers.ts
 *
 * On failure fast-check shrinks the failing batch to one server (failing servers are tried first)
 * and then shrinks its locations and URIs; the report shows that server block, the URIs and both
 * answers.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import {
  findNginx,
  startInstance,
  stopInstance,
  stopAll,
  rawGet,
  mapLimit,
  type Answer,
  type Instance,
} from './support/twin-servers.js';

const NGINX = findNginx();
if (!NGINX) console.log('skipping: nginx not installed');

const DEFAULT_SEED = 20221019; // nginx 1.22.1's release date
const SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== '' ? Number(process.env.FC_SEED) : DEFAULT_SEED;
const BATCHES = Number(process.env.FC_BATCHES ?? 15);
const CASES_PER_BATCH = 30;
const SHRINK_MS = Number(process.env.FC_SHRINK_MS ?? 30_000);
const REQUEST_CONCURRENCY = 12;

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** Path pieces for location names, regexes and URIs (none contains "px": see proxy locations). */
const PIECES = ['a', 'b', 'ab', 'img', 'Img', 'api', 'v1'] as const;
const EXTS = ['png', 'PNG', 'css', 'php', 'html'] as const;
const piece = (i: number): string => PIECES[i % PIECES.length]!;

type Kind = 'prefix' | 'exact' | 'caret' | 'regex' | 'iregex';

interface Loc {
  id: number;
  kind: Kind | 'named' | 'proxy';
  /** `=`, `^~`, `~`, `~*` or '' */
  modifier: string;
  arg: string;
  children: Loc[];
}

interface Case {
  locs: Loc[];
  uris: string[];
  /** location id -> index of the raw location it was built from (for shrinking) */
  rawOf: Map<number, number>;
}

// ---------------------------------------------------------------------------------------------
// Raw (shrinkable) descriptions and their arbitraries

interface RawRegex {
  form: number;
  p1: number;
  p2: number;
  ext: number;
  flip: boolean;
  mask: number;
}

interface RawChild {
  kind: Kind;
  suffix: number[];
  join: boolean;
  slash: boolean;
  re: RawRegex;
}

interface RawLoc {
  kind: Kind | 'named' | 'proxy';
  pieces: number[];
  slash: boolean;
  re: RawRegex;
  children: RawChild[];
  /** proxy: '', '^~' or '=' */
  proxyMod: number;
  /** proxy: a sibling location sharing the slash-less name (-1: none) */
  sibling: number;
}

interface RawDot {
  at: number;
  kind: number; // 0 "./" after a slash, 1 "zz/../" after a slash, 2 trailing "/.", 3 trailing "/.."
}

interface RawUri {
  special: 'none' | 'proxy' | 'named';
  fromLoc: boolean;
  pick: number;
  pieces: number[];
  join: boolean;
  ext: number; // -1: none
  slash: boolean;
  flip: boolean;
  flipMask: number;
  dots: RawDot[];
  dbl: number;
  pct: number;
  pctUpper: boolean;
  query: boolean;
  /** end the path with %0A (PCRE's `$` also matches before a final newline) */
  newline: boolean;
}

const pieceArb = fc.nat({ max: PIECES.length - 1 });
const mask16 = fc.nat({ max: 0xffff });
/** A weighted choice that shrinks to its first (simplest) alternative. */
const weighted = <T>(...alts: [fc.Arbitrary<T>, number][]): fc.Arbitrary<T> =>
  fc.oneof({ withCrossShrink: true }, ...alts.map(([arbitrary, weight]) => ({ arbitrary, weight })));

const regexArb: fc.Arbitrary<RawRegex> = fc.record({
  form: fc.nat({ max: 11 }),
  p1: pieceArb,
  p2: pieceArb,
  ext: fc.nat({ max: EXTS.length - 1 }),
  flip: fc.boolean(),
  mask: mask16,
});

const kindArb: fc.Arbitrary<Kind> = fc.constantFrom<Kind>('prefix', 'exact', 'caret', 'regex', 'iregex');

const childArb: fc.Arbitrary<RawChild> = fc.record({
  kind: kindArb,
  suffix: fc.array(pieceArb, { maxLength: 2 }),
  join: fc.boolean(),
  slash: fc.boolean(),
  re: regexArb,
});

const locArb: fc.Arbitrary<RawLoc> = fc.record({
  kind: weighted<RawLoc['kind']>([kindArb, 10], [fc.constant('proxy'), 1], [fc.constant('named'), 1]),
  pieces: fc.array(pieceArb, { maxLength: 3 }),
  slash: fc.boolean(),
  re: regexArb,
  children: weighted<RawChild[]>([fc.constant([]), 1], [fc.array(childArb, { minLength: 1, maxLength: 3 }), 1]),
  proxyMod: fc.nat({ max: 2 }),
  sibling: fc.integer({ min: -1, max: 4 }),
});

const dotArb: fc.Arbitrary<RawDot> = fc.record({ at: fc.nat({ max: 15 }), kind: fc.nat({ max: 3 }) });

const uriArb: fc.Arbitrary<RawUri> = fc.record({
  special: weighted<RawUri['special']>([fc.constant('none'), 12], [fc.constant('proxy'), 2], [fc.constant('named'), 1]),
  fromLoc: weighted([fc.constant(false), 1], [fc.constant(true), 3]),
  pick: fc.nat({ max: 100 }),
  pieces: fc.array(pieceArb, { maxLength: 3 }),
  join: fc.boolean(),
  ext: weighted([fc.constant(-1), 3], [fc.nat({ max: EXTS.length - 1 }), 1]),
  slash: fc.boolean(),
  flip: weighted([fc.constant(false), 2], [fc.constant(true), 1]),
  flipMask: mask16,
  dots: weighted<RawDot[]>([fc.constant([]), 3], [fc.array(dotArb, { minLength: 1, maxLength: 2 }), 1]),
  dbl: weighted([fc.constant(0), 3], [mask16, 1]),
  pct: weighted([fc.constant(0), 3], [mask16, 1]),
  pctUpper: fc.boolean(),
  query: weighted([fc.constant(false), 3], [fc.constant(true), 1]),
  newline: weighted([fc.constant(false), 19], [fc.constant(true), 1]),
});

// ---------------------------------------------------------------------------------------------
// Raw -> valid config (duplicates nginx rejects are dropped, nesting rules respected)

const isLetter = (c: string): boolean => /[A-Za-z]/.test(c);

/** Flips the case of the letters whose index (among letters) has its bit set in `mask`. */
function flipCase(s: string, mask: number): string {
  let n = 0;
  let out = '';
  for (const c of s) {
    if (isLetter(c)) {
      out += mask & (1 << n % 16) ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c;
      n++;
    } else out += c;
  }
  return out;
}

/**
 * A regex and a path it matches (a URI base). Mixed case only for `~*` (a case-sensitive `~` with
 * flipped letters would rarely match). Nested regexes may also be built on their parent's name.
 */
function buildRegex(r: RawRegex, caseless: boolean, parent?: string): { re: string; example: string } {
  const p1 = piece(r.p1);
  const p2 = piece(r.p2);
  const e = EXTS[r.ext]!;
  const forms: [string, string][] = [
    [`^/${p1}`, `/${p1}`],
    [`^/${p1}/${p2}`, `/${p1}/${p2}`],
    [`\\.${e}$`, `/f.${e}`],
    [`/${p1}/`, `/${p1}/`],
    [`^/${p1}/.*\\.${e}$`, `/${p1}/f.${e}`],
    [`/(${p1}|${p2})$`, `/${p2}`],
    [`^/${p1}$`, `/${p1}`],
    [`${p1}`, `/${p1}`],
    [`^/${p1}/?$`, `/${p1}/`],
    [`^/${p1}/(${p2})?`, `/${p1}/${p2}`],
  ];
  if (parent !== undefined) forms.push([`^${parent}${p1}`, `${parent}${p1}`], [`^${parent}.*\\.${e}$`, `${parent}f.${e}`]);
  const [re, example] = forms[r.form % forms.length]!;
  return { re: r.flip && caseless ? flipCase(re, r.mask) : re, example };
}

const pathOf = (pieces: number[], slash: boolean): string =>
  '/' + pieces.map(piece).join('/') + (slash && pieces.length > 0 ? '/' : '');

const MODIFIER: Record<Kind, string> = { prefix: '', exact: '=', caret: '^~', regex: '~', iregex: '~*' };

function buildCase(rawLocs: readonly RawLoc[], rawUris: readonly RawUri[]): Case {
  let nextId = 1;
  const locs: Loc[] = [];
  const topExact = new Set<string>();
  const topInclusive = new Set<string>();
  const bases: string[] = [];
  let nProxy = 0;
  let nNamed = 0;

  /** Returns false for a name nginx would reject as a duplicate at this level. */
  const claim = (kind: Kind, name: string, exact: Set<string>, inclusive: Set<string>): boolean => {
    if (kind === 'regex' || kind === 'iregex') return true;
    const set = kind === 'exact' ? exact : inclusive;
    if (set.has(name)) return false;
    set.add(name);
    return true;
  };

  const rawOf = new Map<number, number>();
  for (const [ri, r] of rawLocs.entries()) {
    const firstId = nextId;
    build(r);
    for (let id = firstId; id < nextId; id++) rawOf.set(id, ri);
  }

  function build(r: RawLoc): void {
    if (r.kind === 'named') {
      locs.push({ id: nextId++, kind: 'named', modifier: '', arg: `@n${nNamed++}`, children: [] });
      return;
    }
    if (r.kind === 'proxy') {
      const k = nProxy++;
      const name = `/px${k}/`;
      const modifier = ['', '^~', '='][r.proxyMod % 3]!;
      locs.push({ id: nextId++, kind: 'proxy', modifier, arg: name, children: [] });
      (modifier === '=' ? topExact : topInclusive).add(name);
      if (r.sibling >= 0) {
        // A location whose name shares "/px<k>" (sorted before or after "/px<k>/" in nginx's tree)
        const sib = [
          { modifier: '', arg: `/px${k}-v` },
          { modifier: '', arg: `/px${k}.d` },
          { modifier: '', arg: `/px${k}a` },
          { modifier: '=', arg: `/px${k}` },
          { modifier: '', arg: `/px${k}` },
        ][r.sibling % 5]!;
        locs.push({ id: nextId++, kind: sib.modifier === '=' ? 'exact' : 'prefix', ...sib, children: [] });
        (sib.modifier === '=' ? topExact : topInclusive).add(sib.arg);
      }
      return;
    }
    const kind = r.kind;
    const rx = kind === 'regex' || kind === 'iregex' ? buildRegex(r.re, kind === 'iregex') : undefined;
    const arg = rx ? rx.re : pathOf(r.pieces, r.slash);
    if (!claim(kind, arg, topExact, topInclusive)) return;
    const loc: Loc = { id: nextId++, kind, modifier: MODIFIER[kind], arg, children: [] };
    locs.push(loc);
    bases.push(rx ? rx.example : arg);
    if (kind === 'prefix' || kind === 'caret') {
      // nested: prefix/^~/= names must start with the parent's name; regexes are free
      const exact = new Set<string>();
      const inclusive = new Set<string>();
      for (const c of r.children) {
        let carg: string;
        if (c.kind === 'regex' || c.kind === 'iregex') {
          const crx = buildRegex(c.re, c.kind === 'iregex', arg);
          carg = crx.re;
          // a path under the parent (nested regexes are only looked at there)
          bases.push(crx.example.startsWith(arg) ? crx.example : arg.replace(/\/$/, '') + crx.example);
        } else {
          const sep = c.join && !arg.endsWith('/') && c.suffix.length > 0 ? '/' : '';
          carg = arg + sep + c.suffix.map(piece).join('/') + (c.slash && c.suffix.length > 0 ? '/' : '');
        }
        if (!claim(c.kind, carg, exact, inclusive)) continue;
        loc.children.push({ id: nextId++, kind: c.kind, modifier: MODIFIER[c.kind], arg: carg, children: [] });
        if (c.kind !== 'regex' && c.kind !== 'iregex') bases.push(carg);
      }
    }
  }

  const uris = rawUris.map((u) => buildUri(u, bases, nProxy, nNamed));
  return withToString({ locs, uris, rawOf });
}

/** How many directories deep a path is once "." and ".." are resolved (a trailing name counts). */
function depth(path: string): number {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.length;
}

function buildUri(u: RawUri, bases: string[], nProxy: number, nNamed: number): string {
  const query = u.query ? '?q=1&X=%41' : '';
  if (u.special === 'proxy' && nProxy > 0) {
    // only the slash-less name of a proxy location (the implicit 301; never proxied)
    const k = u.pick % nProxy;
    const name = u.pct & 1 ? `/p%78${k}` : u.pct & 2 ? `/%70x${k}` : `/px${k}`;
    return name + query;
  }
  if (u.special === 'named' && nNamed > 0) return `/@n${u.pick % nNamed}` + query;

  let path = u.fromLoc && bases.length > 0 ? bases[u.pick % bases.length]! : '/';
  if (u.pieces.length > 0) {
    if (!path.endsWith('/') && u.join) path += '/';
    path += u.pieces.map(piece).join('/');
  }
  if (u.ext >= 0) {
    if (path.endsWith('/')) path += 'f';
    path += '.' + EXTS[u.ext]!;
  }
  if (u.slash && !path.endsWith('/')) path += '/';
  if (u.flip) path = flipCase(path, u.flipMask);

  // "." and ".." segments that stay inside the root
  for (const d of u.dots) {
    const slashes = [...path].flatMap((c, i) => (c === '/' ? [i] : []));
    const kind = d.kind === 3 && depth(path) === 0 ? 0 : d.kind;
    if (kind === 0 || kind === 1) {
      const at = slashes[d.at % slashes.length]! + 1;
      path = path.slice(0, at) + (kind === 0 ? './' : 'zz/../') + path.slice(at);
    } else {
      path += (path.endsWith('/') ? '' : '/') + (kind === 2 ? '.' : '..');
    }
  }

  // repeated slashes
  if (u.dbl) {
    let n = 0;
    path = [...path].map((c) => (c === '/' && u.dbl & (1 << n++ % 16) ? '//' : c)).join('');
  }

  // %-encoded letters
  if (u.pct) {
    let n = 0;
    path = [...path]
      .map((c) => {
        if (!isLetter(c)) return c;
        const hit = u.pct & (1 << n++ % 16);
        if (!hit) return c;
        const hex = c.charCodeAt(0).toString(16);
        return '%' + (u.pctUpper ? hex.toUpperCase() : hex);
      })
      .join('');
  }
  return path + (u.newline ? (u.pctUpper ? '%0A' : '%0a') : '') + query;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function renderLoc(l: Loc, indent: string): string {
  const head = `${indent}location ${l.modifier ? l.modifier + ' ' : ''}${l.arg} {`;
  if (l.kind === 'proxy') return `${head} proxy_pass http://127.0.0.1:1; }`;
  const ret = `return 200 "L${l.id}";`;
  if (l.children.length === 0) return `${head} ${ret} }`;
  return [`${head}`, `${indent}    ${ret}`, ...l.children.map((c) => renderLoc(c, indent + '    ')), `${indent}}`].join('\n');
}

function renderServer(c: Case, index: number, port: number | string): string {
  return [
    '    server {',
    `        listen 127.0.0.1:${port};`,
    `        server_name c${index}.test;`,
    ...c.locs.map((l) => renderLoc(l, '        ')),
    '    }',
  ].join('\n');
}

function renderConfig(cases: readonly Case[], port: number, prefix: string): string {
  return [
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${prefix}/run.pid;`,
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    `    client_body_temp_path ${prefix}/client_body_temp;`,
    `    proxy_temp_path ${prefix}/proxy_temp;`,
    `    fastcgi_temp_path ${prefix}/fastcgi_temp;`,
    `    uwsgi_temp_path ${prefix}/uwsgi_temp;`,
    `    scgi_temp_path ${prefix}/scgi_temp;`,
    ...cases.map((c, i) => renderServer(c, i, port)),
    '}',
    '',
  ].join('\n');
}

function withToString(c: Case): Case {
  Object.defineProperty(c, fc.toStringMethod, {
    enumerable: false,
    value: () => `\n${renderServer(c, 0, 'PORT')}\nURIs (Host: c0.test): ${c.uris.map((u) => JSON.stringify(u)).join(' ')}\n`,
  });
  return c;
}

// ---------------------------------------------------------------------------------------------
// Custom arbitraries: shrinking a failing batch first isolates a failing server (the ones that
// failed are tried first), then shrinks that one case (first to its failing URI).

/**
 * Recorded by the predicate when a batch fails: the failing case indices of a batch; per failing
 * case, the failing URI indices and the raw locations that either side answered from.
 */
const failedCases = new WeakMap<object, number[]>();
const failedUris = new WeakMap<object, number[]>();
const involvedRaw = new WeakMap<object, number[]>();

interface CaseContext {
  locs: fc.Value<RawLoc>[];
  uris: fc.Value<RawUri>[];
}

/**
 * A case: 1-9 raw locations and 1-10 raw URIs. Shrinking tries, in order: only the first failing
 * URI; only the locations involved in the failure; without each URI; smaller URIs (these keep the
 * config, hence the running servers); without each location; smaller locations.
 */
class CaseArbitrary extends fc.Arbitrary<Case> {
  private make(locs: fc.Value<RawLoc>[], uris: fc.Value<RawUri>[]): fc.Value<Case> {
    const ctx: CaseContext = { locs, uris };
    return new fc.Value(
      buildCase(
        locs.map((l) => l.value),
        uris.map((u) => u.value),
      ),
      ctx,
    );
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Case> {
    const locs = Array.from({ length: mrng.nextInt(1, 9) }, () => locArb.generate(mrng, biasFactor));
    const uris = Array.from({ length: mrng.nextInt(1, 10) }, () => uriArb.generate(mrng, biasFactor));
    return this.make(locs, uris);
  }

  canShrinkWithoutContext(_value: unknown): _value is Case {
    return false;
  }

  shrink(value: Case, context: unknown): fc.Stream<fc.Value<Case>> {
    const { locs, uris } = context as CaseContext;
    const failing = failedUris.get(value) ?? [];
    const involved = involvedRaw.get(value) ?? [];
    const self = this;
    const without = <T>(xs: T[], i: number): T[] => xs.filter((_, j) => j !== i);
    function* candidates(): Generator<fc.Value<Case>> {
      if (uris.length > 1 && failing.length > 0) yield self.make(locs, [uris[failing[0]!]!]);
      if (involved.length > 0 && involved.length < locs.length) yield self.make(locs.filter((_, i) => involved.includes(i)), uris);
      if (uris.length > 1) for (let i = 0; i < uris.length; i++) yield self.make(locs, without(uris, i));
      for (let i = 0; i < uris.length; i++) {
        const u = uris[i]!;
        for (const s of uriArb.shrink(u.value, u.context)) yield self.make(locs, uris.map((x, j) => (j === i ? s : x)));
      }
      if (locs.length > 1) for (let i = 0; i < locs.length; i++) yield self.make(without(locs, i), uris);
      for (let i = 0; i < locs.length; i++) {
        const l = locs[i]!;
        for (const s of locArb.shrink(l.value, l.context)) yield self.make(locs.map((x, j) => (j === i ? s : x)), uris);
      }
    }
    return new fc.Stream(candidates());
  }
}

class BatchArbitrary extends fc.Arbitrary<Case[]> {
  constructor(
    private readonly inner: CaseArbitrary,
    private readonly size: number,
  ) {
    super();
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Case[]> {
    const vs = Array.from({ length: this.size }, () => this.inner.generate(mrng, biasFactor));
    return new fc.Value(
      vs.map((v) => v.value),
      vs,
    );
  }

  canShrinkWithoutContext(_value: unknown): _value is Case[] {
    return false;
  }

  shrink(value: Case[], context: unknown): fc.Stream<fc.Value<Case[]>> {
    const vs = context as fc.Value<Case>[];
    const inner = this.inner;
    function* candidates(): Generator<fc.Value<Case[]>> {
      if (vs.length > 1) {
        const failing = failedCases.get(value) ?? [];
        const order = [...failing, ...vs.map((_, i) => i).filter((i) => !failing.includes(i))];
        for (const i of order) yield new fc.Value([vs[i]!.value], [vs[i]!]);
        return;
      }
      const only = vs[0]!;
      for (const s of inner.shrink(only.value, only.context)) yield new fc.Value([s.value], [s]);
    }
    return new fc.Stream(candidates());
  }
}

// ---------------------------------------------------------------------------------------------
// Running a batch

const show = (a: Answer): string =>
  a.error !== undefined
    ? `${a.status} <${a.error}> ${JSON.stringify(a.body.slice(0, 200))}`
    : `${a.status}${a.location !== undefined ? ` Location: ${a.location}` : ''} ${JSON.stringify(a.body.length > 60 ? a.body.slice(0, 60) + '...' : a.body)}`;

function same(a: Answer, b: Answer): boolean {
  return a.status === b.status && a.body === b.body && a.location === b.location && a.error === b.error;
}

function maskPort(a: Answer, port: number): Answer {
  if (a.location === undefined) return a;
  return { ...a, location: a.location.split(`:${port}/`).join(':PORT/') };
}

const stats = { batches: 0, cases: 0, requests: 0, shrinkRuns: 0 };
/** What nginx answered, by matched location kind (a sanity check of the generator's coverage). */
const coverage = new Map<string, number>();

function kindOfAnswer(c: Case, a: Answer): string {
  if (a.status !== 200) return String(a.status);
  const id = /^L(\d+)$/.exec(a.body)?.[1];
  for (const l of c.locs) {
    if (String(l.id) === id) return l.kind === 'prefix' || l.kind === 'exact' ? l.modifier || 'prefix' : l.modifier;
    for (const n of l.children) if (String(n.id) === id) return `nested ${n.modifier || 'prefix'}`;
  }
  return '200?';
}
let firstFailureAt: number | undefined;

async function checkBatch(cases: Case[]): Promise<void> {
  if (firstFailureAt !== undefined) {
    stats.shrinkRuns++;
    // Shrinking budget spent: stop here, fast-check reports the smallest failure so far.
    if (Date.now() - firstFailureAt > SHRINK_MS) throw new fc.PreconditionFailure(true);
  }
  const { nginx, nx } = await ensureServers(cases);
  const jobs = cases.flatMap((c, ci) => c.uris.map((uri, ui) => ({ ci, ui, uri })));
  const results = await mapLimit(jobs, REQUEST_CONCURRENCY, async (j) => {
    const host = `c${j.ci}.test`;
    const [a, b] = await Promise.all([rawGet(nginx.port, host, j.uri), rawGet(nx.port, host, j.uri)]);
    return { ...j, nginx: maskPort(a, nginx.port), nxproxy: maskPort(b, nx.port) };
  });
  if (firstFailureAt === undefined) {
    stats.batches++;
    stats.cases += cases.length;
    stats.requests += results.length;
    for (const r of results) {
      const k = kindOfAnswer(cases[r.ci]!, r.nginx);
      coverage.set(k, (coverage.get(k) ?? 0) + 1);
      if (process.env.LOCPROP_DEBUG === k) console.log(debugLine(cases[r.ci]!, r.uri));
    }
  }
  const bad = results.filter((r) => !same(r.nginx, r.nxproxy));
  if (bad.length === 0) return;

  firstFailureAt ??= Date.now();
  const caseIdx = [...new Set(bad.map((r) => r.ci))];
  failedCases.set(cases, caseIdx);
  for (const ci of caseIdx) {
    const c = cases[ci]!;
    const mine = bad.filter((r) => r.ci === ci);
    failedUris.set(c, [...new Set(mine.map((r) => r.ui))]);
    const ids = mine.flatMap((r) => [r.nginx, r.nxproxy]).flatMap((a) => (a.status === 200 && /^L\d+$/.test(a.body) ? [Number(a.body.slice(1))] : []));
    involvedRaw.set(c, [...new Set(ids.flatMap((id) => (c.rawOf.has(id) ? [c.rawOf.get(id)!] : [])))]);
  }
  const lines: string[] = [`nxproxy and nginx disagree on ${bad.length} request(s) in ${caseIdx.length} server(s)`];
  for (const ci of caseIdx.slice(0, 3)) {
    lines.push('', renderServer(cases[ci]!, ci, 'PORT'));
    for (const r of bad.filter((x) => x.ci === ci).slice(0, 4)) {
      lines.push(`GET ${r.uri} (Host: c${ci}.test)`, `    nginx:   ${show(r.nginx)}`, `    nxproxy: ${show(r.nxproxy)}`);
    }
  }
  throw new Error(lines.join('\n'));
}

/**
 * The nginx/nxproxy pair serving the config of `cases`. Kept running while the config stays the
 * same (shrinking URIs then costs no restart); replaced otherwise.
 */
let running: { key: string; nginx: Instance; nx: Instance } | undefined;

async function ensureServers(cases: Case[]): Promise<{ nginx: Instance; nx: Instance }> {
  const key = renderConfig(cases, 0, 'DIR');
  const alive = (i: Instance): boolean => i.proc.exitCode === null && i.proc.signalCode === null;
  if (running && running.key === key && alive(running.nginx) && alive(running.nx)) return running;
  await stopServers();
  const config = (port: number, prefix: string): string => renderConfig(cases, port, prefix);
  const nginx = await startInstance('nginx', NGINX!, config).catch((e: Error) => {
    // nginx rejecting a generated config is a bug of this generator
    throw new Error(`GENERATOR BUG: nginx rejected the generated config\n${e.message}\n${key}`);
  });
  let nx: Instance;
  try {
    nx = await startInstance('nxproxy', NGINX!, config);
  } catch (e) {
    await stopInstance(nginx);
    throw e;
  }
  running = { key, nginx, nx };
  return running;
}

async function stopServers(): Promise<void> {
  const r = running;
  running = undefined;
  if (r) await Promise.all([stopInstance(r.nx), stopInstance(r.nginx)]);
}

/** LOCPROP_DEBUG=<answer kind> prints the URIs nginx answered that way, with the case's locations. */
function debugLine(c: Case, uri: string): string {
  const one = (l: Loc): string => `${l.modifier ? l.modifier + ' ' : ''}${l.arg}`;
  return `${uri} | ${c.locs.map((l) => one(l) + (l.children.length ? ` { ${l.children.map(one).join('; ')} }` : '')).join('; ')}`;
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!NGINX)('location matching (property, nginx oracle)', () => {
  afterAll(async () => {
    await stopServers();
    await stopAll();
  });

  it(
    'nxproxy answers every generated URI from the same location as nginx',
    async () => {
      console.log(
        `location-property: seed ${SEED} (FC_SEED), ${BATCHES} batches x ${CASES_PER_BATCH} servers (FC_BATCHES), shrink budget ${SHRINK_MS} ms`,
      );
      const t0 = Date.now();
      firstFailureAt = undefined;
      Object.assign(stats, { batches: 0, cases: 0, requests: 0, shrinkRuns: 0 });
      coverage.clear();
      try {
        await fc.assert(
          fc.asyncProperty(new BatchArbitrary(new CaseArbitrary(), CASES_PER_BATCH), async (cases) => {
            await checkBatch(cases);
          }),
          { seed: SEED, numRuns: BATCHES },
        );
      } finally {
        await stopServers();
        console.log(
          `location-property: ${stats.batches} batches, ${stats.cases} cases, ${stats.requests} URIs compared, ` +
            `${stats.shrinkRuns} shrink runs, ${((Date.now() - t0) / 1000).toFixed(1)} s (seed ${SEED})\n` +
            `  nginx's answers: ${[...coverage].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k}: ${n}`).join(', ')}`,
        );
      }
      expect(stats.cases).toBeGreaterThanOrEqual(Math.min(300, BATCHES * CASES_PER_BATCH));
    },
    180_000,
  );
});
