import { captureGroups } from '../compile/regex.js';
import type { LocationConf, LocationTree } from '../compile/types.js';
import type { Req } from './request.js';

export const enum Found {
  None,
  Exact,
  Prefix,
  Regex,
  /** The implicit 301 to "uri/" (auto_redirect). */
  Redirect,
}

export interface Match {
  found: Found;
  loc?: LocationConf;
}

/**
 * ngx_http_core_find_location: exact match wins; otherwise the longest prefix, whose nested
 * locations are searched first; then this level's regexes in order unless the prefix was ^~.
 */
export function findLocation(tree: LocationTree, uri: string, r: Req): Match {
  let found = Found.None;
  let loc: LocationConf | undefined;
  const exact = tree.exact.get(uri);
  if (exact) return { found: Found.Exact, loc: exact };
  let noregex = false;
  for (const p of tree.prefixes) {
    if (uri.startsWith(p.name)) {
      found = Found.Prefix;
      loc = p;
      noregex = p.modifier === '^~';
      break;
    }
  }
  if (!(found === Found.Prefix && loc!.name.length === uri.length)) {
    // "/api" with `location /api/ { proxy_pass ... }`: nginx answers 301 "/api/"
    const slash = uri + '/';
    const withSlash = tree.exact.get(slash) ?? tree.prefixes.find((p) => p.name === slash);
    if (withSlash && withSlash.autoRedirect) return { found: Found.Redirect, loc: withSlash };
  }
  if (found === Found.Prefix && loc!.tree) {
    const nested = findLocation(loc!.tree, uri, r);
    if (nested.found === Found.Exact || nested.found === Found.Regex || nested.found === Found.Redirect) return nested;
    if (nested.found === Found.Prefix) loc = nested.loc;
  }
  if (!noregex) {
    for (const re of tree.regexes) {
      const m = re.regex!.exec(uri);
      if (m) {
        const g = captureGroups(m);
        r.captures = g.captures;
        if (g.named) r.namedCaptures = { ...(r.namedCaptures ?? {}), ...g.named };
        if (re.tree) {
          const nested = findLocation(re.tree, uri, r);
          if (nested.found !== Found.None) return { found: Found.Regex, loc: nested.loc };
        }
        return { found: Found.Regex, loc: re };
      }
    }
  }
  return { found, loc };
}
