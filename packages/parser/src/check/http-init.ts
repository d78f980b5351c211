/**
 * What ngx_http_block does once the http{} block has been read, in its order:
 *   1. per module (ngx_modules[] order): init_main_conf, then merge every server's srv/loc confs
 *      (upstream init, ssl certificates, proxy/uwsgi/grpc client certificates);
 *   2. location trees (duplicate locations);
 *   3. postconfiguration ("listen ... ssl" without a certificate);
 *   4. variables (unknown variables);
 *   5. server names per address (conflicting names).
 * Errors here are reported without a place, by ngx_log_error, unless nginx names one itself;
 * ngx_conf_log_error ones carry the position of the http{} block's closing brace.
 */
import * as os from 'node:os';
import type { Directive } from '../ast.js';
import { diag } from '../diagnostic.js';
import { parseFlag } from '../values.js';
import { BUILTIN_VARIABLES, VARIABLE_PREFIXES } from './builtin-variables.js';
import {
  loadCertificate,
  loadCertificateKey,
  loadCrl,
  loadDhparam,
  loadStaplingFile,
  loadTicketKey,
  loadVerifyLocations,
} from './ssl.js';
import { dirsAt, type ConfAddr, type Scope, type ServerInfo } from './state.js';
import type { Walker } from './walker.js';

/** The directives of `name` that apply at `scope` after merging (the nearest level that set it). */
export function nearest(scope: Scope | undefined, name: string): Directive[] | undefined {
  for (let s = scope; s; s = s.parent) {
    const l = dirsAt(s, name);
    if (l && l.length > 0) return l;
    if (s.ctx === 'http') break;
  }
  return undefined;
}

function nearestValue(scope: Scope | undefined, name: string): string | undefined {
  const l = nearest(scope, name);
  return l ? l[l.length - 1].args[0]?.value : undefined;
}

function nearestFlag(scope: Scope | undefined, name: string): boolean {
  const v = nearestValue(scope, name);
  return v !== undefined && parseFlag(v) === true;
}

export function httpInit(w: Walker, httpDirective: Directive): void {
  const st = w.state;
  st.httpEnd = { file: httpDirective.file, line: httpDirective.endLine ?? httpDirective.termLine };
  upstreamInit(w);
  if (st.serverSsl) for (const srv of st.servers) sslMergeServer(w, srv);
  for (const m of ['proxy', 'uwsgi', 'grpc'] as const) {
    // only a scope whose "${m}_pass" has a variable or an SSL scheme does anything here
    if (!st.passes?.has(SSL_NAMES[m].pass)) continue;
    for (const srv of st.servers) if (srv.scope) upstreamSslMerge(w, srv.scope, m);
  }
  // ngx_http_init_locations → ngx_http_join_exact_locations: "duplicate location" (found during
  // the walk, see noteLocation: the first in nginx's order, servers then their location trees)
  const dup = st.duplicateLocation;
  if (dup) {
    w.emit(diag('emerg', 'duplicate-location', `duplicate location "${dup.name}" in ${dup.directive.file}:${dup.directive.termLine}`));
  }
  sslListenCheck(w);
  for (const u of st.variablesUsed) {
    const n = u.name;
    if (BUILTIN_VARIABLES.has(n) || st.variablesDefined.has(n)) continue;
    if (VARIABLE_PREFIXES.some((p) => n.startsWith(p))) continue;
    w.emit(diag('emerg', 'unknown-variable', `unknown "${n}" variable`));
  }
  serverNames(w);
}

/** ngx_http_upstream_init_main_conf: round-robin init of every upstream, explicit or implicit. */
function upstreamInit(w: Walker): void {
  for (const u of w.state.upstreamList) {
    if (u.servers) {
      let n = 0;
      for (const s of u.servers) if (!s.backup) n += s.naddrs;
      if (n === 0) {
        w.emit(diag('emerg', 'upstream', `no servers in upstream "${u.host}" in ${u.file}:${u.line}`));
      }
      continue;
    }
    if (u.port === 0) {
      w.emit(diag('emerg', 'upstream', `no port in upstream "${u.host}" in ${u.file}:${u.line}`));
    }
    if (w.resolveHost(u.host) === null) {
      w.emit(diag('emerg', 'host-not-found', `host not found in upstream "${u.host}" in ${u.file}:${u.line}`));
    }
  }
}

/** ngx_http_ssl_merge_srv_conf for one server. */
function sslMergeServer(w: Walker, srv: ServerInfo): void {
  const st = w.state;
  const scope = srv.scope;
  const fail = (msg: string) => w.emit(diag('emerg', 'ssl', msg));
  const sslDir = nearest(scope, 'ssl');
  const enable = sslDir ? parseFlag(sslDir[sslDir.length - 1].args[0].value) === true : false;
  const sslAt = sslDir ? `${sslDir[sslDir.length - 1].file}:${sslDir[sslDir.length - 1].termLine}` : '';
  const certs = nearest(scope, 'ssl_certificate')?.map((d) => d.args[0].value);
  const keys = nearest(scope, 'ssl_certificate_key')?.map((d) => d.args[0].value);
  const reject = nearestFlag(scope, 'ssl_reject_handshake');
  if (enable) {
    if (certs) {
      if (!keys) fail(`no "ssl_certificate_key" is defined for the "ssl" directive in ${sslAt}`);
      else if (keys.length < certs.length) {
        fail(`no "ssl_certificate_key" is defined for certificate "${certs[certs.length - 1]}" and the "ssl" directive in ${sslAt}`);
      }
    } else if (!reject) {
      fail(`no "ssl_certificate" is defined for the "ssl" directive in ${sslAt}`);
    }
  } else if (certs) {
    if (!keys || keys.length < certs.length) {
      fail(`no "ssl_certificate_key" is defined for certificate "${certs[certs.length - 1]}"`);
    }
  } else if (!reject) {
    return;
  }
  const fsys = w.fsys;
  const cp = st.confPrefix;
  if (certs && keys && !certs.some((c) => c.includes('$')) && !keys.some((k) => k.includes('$'))) {
    for (let i = 0; i < certs.length; i++) {
      const e = loadCertificate(fsys, cp, certs[i]) ?? loadCertificateKey(fsys, cp, keys[i]);
      if (e) fail(e);
    }
  }
  const verify = nearestValue(scope, 'ssl_verify_client')?.toLowerCase() ?? 'off';
  if (verify !== 'off') {
    const cc = nearestValue(scope, 'ssl_client_certificate') ?? '';
    if (cc === '' && verify !== 'optional_no_ca') fail('no ssl_client_certificate for ssl_verify_client');
    if (cc !== '') {
      const e = loadVerifyLocations(fsys, cp, cc);
      if (e) fail(e);
    }
  }
  const trusted = nearestValue(scope, 'ssl_trusted_certificate') ?? '';
  if (trusted !== '') {
    const e = loadVerifyLocations(fsys, cp, trusted);
    if (e) fail(e);
  }
  const crl = nearestValue(scope, 'ssl_crl') ?? '';
  if (crl !== '') {
    const e = loadCrl(fsys, cp, crl);
    if (e) fail(e);
  }
  const ocsp = nearestValue(scope, 'ssl_ocsp')?.toLowerCase() ?? 'off';
  if (ocsp !== 'off' && verify === 'optional_no_ca') {
    fail(`"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"`);
  }
  const dh = nearestValue(scope, 'ssl_dhparam') ?? '';
  if (dh !== '') {
    const e = loadDhparam(fsys, cp, dh);
    if (e) fail(e);
  }
  for (const d of nearest(scope, 'ssl_session_ticket_key') ?? []) {
    const e = loadTicketKey(fsys, cp, d.args[0].value);
    if (e) w.emit(diag('emerg', 'ssl', e, st.httpEnd));
  }
  if (nearestFlag(scope, 'ssl_stapling')) {
    const file = nearestValue(scope, 'ssl_stapling_file') ?? '';
    if (file !== '') {
      const e = loadStaplingFile(fsys, cp, file);
      if (e) fail(e);
    }
  }
}

const PASS_SSL: Record<'proxy' | 'uwsgi' | 'grpc', RegExp> = {
  proxy: /^https:\/\//i,
  uwsgi: /^suwsgi:\/\//i,
  grpc: /^grpcs:\/\//i,
};

/** The directive names each module's merge reads, built once rather than per location. */
const SSL_NAMES = Object.fromEntries(
  (['proxy', 'uwsgi', 'grpc'] as const).map((m) => [
    m,
    {
      pass: `${m}_pass`,
      cert: `${m}_ssl_certificate`,
      key: `${m}_ssl_certificate_key`,
      verify: `${m}_ssl_verify`,
      trusted: `${m}_ssl_trusted_certificate`,
      crl: `${m}_ssl_crl`,
    },
  ]),
) as Record<'proxy' | 'uwsgi' | 'grpc', Record<'pass' | 'cert' | 'key' | 'verify' | 'trusted' | 'crl', string>>;

/** ngx_http_{proxy,uwsgi,grpc}_merge_loc_conf → *_set_ssl, over a server's loc conf tree. */
function upstreamSslMerge(w: Walker, scope: Scope, m: 'proxy' | 'uwsgi' | 'grpc'): void {
  const n = SSL_NAMES[m];
  const pass = dirsAt(scope, n.pass)?.[0]?.args[0]?.value;
  if (pass !== undefined && (pass.includes('$') || PASS_SSL[m].test(pass))) upstreamSsl(w, scope, m);
  const children = scope.children;
  if (children) for (const c of children) upstreamSslMerge(w, c, m);
}

/** *_set_ssl for one loc conf whose *_pass may use SSL (kept apart: its closure is per call). */
function upstreamSsl(w: Walker, scope: Scope, m: 'proxy' | 'uwsgi' | 'grpc'): void {
  const n = SSL_NAMES[m];
  const fail = (msg: string) => w.emit(diag('emerg', 'ssl', msg));
  const cert = nearestValue(scope, n.cert);
  const key = nearestValue(scope, n.key);
  if (cert !== undefined) {
    if (key === undefined) fail(`no "${m}_ssl_certificate_key" is defined for certificate "${cert}"`);
    else if (!cert.includes('$') && !key.includes('$')) {
      const e = loadCertificate(w.fsys, w.state.confPrefix, cert) ?? loadCertificateKey(w.fsys, w.state.confPrefix, key);
      if (e) fail(e);
    }
  }
  if (nearestFlag(scope, n.verify)) {
    const trusted = nearestValue(scope, n.trusted) ?? '';
    if (trusted === '') fail(`no ${m}_ssl_trusted_certificate for ${m}_ssl_verify`);
    const e = loadVerifyLocations(w.fsys, w.state.confPrefix, trusted);
    if (e) fail(e);
    const crl = nearestValue(scope, n.crl) ?? '';
    if (crl !== '') {
      const e2 = loadCrl(w.fsys, w.state.confPrefix, crl);
      if (e2) fail(e2);
    }
  }
}

/** ngx_http_ssl_init: every "listen ... ssl" address needs a certificate in its servers. */
function sslListenCheck(w: Walker): void {
  const hasCert = (srv: ServerInfo) => nearest(srv.scope, 'ssl_certificate') !== undefined;
  const rejects = (srv: ServerInfo) => nearestFlag(srv.scope, 'ssl_reject_handshake');
  const fail = (srv: ServerInfo) =>
    w.emit(diag('emerg', 'ssl', `no "ssl_certificate" is defined for the "listen ... ssl" directive in ${srv.file}:${srv.line}`));
  for (const port of w.state.ports) {
    for (const a of port.addrs) {
      if (!a.ssl) continue;
      const def = a.defaultServer;
      if (hasCert(def)) continue;
      if (!rejects(def)) fail(def);
      for (const s of a.servers) {
        if (hasCert(s) || rejects(s)) continue;
        fail(s);
      }
    }
  }
}

/** ngx_http_optimize_servers → ngx_http_server_names: names hashed per address. */
function serverNames(w: Walker): void {
  const hostname = os.hostname().toLowerCase();
  for (const port of w.state.ports) {
    // ngx_http_cmp_conf_addrs: explicitly bound addresses first, the wildcard last (stable)
    const rank = (a: ConfAddr) => (isWildcard(a) ? 2 : a.set ? 0 : 1);
    const addrs = [...port.addrs].sort((x, y) => rank(x) - rank(y));
    for (const a of addrs) {
      if (a.servers.length < 2) continue;
      const exact = new Set<string>();
      const head = new Set<string>();
      const tail = new Set<string>();
      for (const srv of a.servers) {
        const names = srv.names.length > 0 ? srv.names : [{ name: '', directive: srv.directive }];
        for (const n of names) {
          if ('regex' in n && n.regex) continue;
          let name = n.name.toLowerCase();
          if (name === '$hostname') name = hostname;
          let conflict: boolean;
          if (name.startsWith('*.')) conflict = busy(head, name.slice(2));
          else if (name.endsWith('.*')) conflict = busy(tail, name.slice(0, -2));
          else if (name.startsWith('.')) {
            const key = name.slice(1);
            conflict = exact.has(key) || head.has(key);
            exact.add(key);
            head.add(key);
          } else conflict = busy(exact, name);
          if (conflict) w.emit(diag('warn', 'conflicting-server-name', `conflicting server name "${n.name}" on ${a.text}, ignored`));
        }
      }
    }
  }
}

function isWildcard(a: ConfAddr): boolean {
  const s = a.sockaddr;
  if (s.family === 4) return s.host === '0.0.0.0';
  if (s.family === 6) return s.host === '::';
  return false;
}

/** Adds a key to a set; true if it was already there. */
function busy(set: Set<string>, key: string): boolean {
  if (set.has(key)) return true;
  set.add(key);
  return false;
}
