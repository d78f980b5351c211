import { describe, it, expect } from 'vitest';
import { DIRECTIVES } from '../src/directives/table.js';
import type { DirectiveSpec } from '../src/directives/types.js';

const byName = (name: string): DirectiveSpec[] => DIRECTIVES.filter((d) => d.name === name);
const one = (name: string, module?: string): DirectiveSpec => {
  const found = byName(name).filter((d) => module === undefined || d.module === module);
  expect(found, `${name} ${module ?? ''}`).toHaveLength(1);
  return found[0]!;
};

/** What nxproxy's runtime serves; every name must be in the table with status 'implemented'. */
const IMPLEMENTED = `autoindex autoindex_exact_size autoindex_format autoindex_localtime alias try_files allow deny limit_except charset charset_types include user pid error_log events
  http server listen server_name location root internal error_page
  recursive_error_pages merge_slashes absolute_redirect server_name_in_redirect port_in_redirect
  client_max_body_size client_body_buffer_size client_header_timeout client_body_timeout send_timeout
  keepalive_timeout keepalive_requests keepalive_time reset_timedout_connection underscores_in_headers
  ignore_invalid_headers large_client_header_buffers client_header_buffer_size default_type types
  server_tokens resolver resolver_timeout log_format access_log log_not_found upstream keepalive
  least_conn ip_hash hash random proxy_pass proxy_set_header proxy_pass_request_headers
  proxy_pass_request_body proxy_hide_header proxy_pass_header proxy_http_version proxy_method
  proxy_redirect proxy_intercept_errors proxy_connect_timeout proxy_send_timeout proxy_read_timeout
  proxy_next_upstream proxy_next_upstream_tries proxy_next_upstream_timeout proxy_buffering
  proxy_request_buffering proxy_buffer_size proxy_buffers
  proxy_max_temp_file_size proxy_temp_path proxy_set_body proxy_ignore_client_abort return rewrite
  set break if rewrite_log uninitialized_variable_warn map map_hash_bucket_size map_hash_max_size
  add_header expires server_names_hash_bucket_size server_names_hash_max_size variables_hash_max_size
  variables_hash_bucket_size proxy_headers_hash_max_size proxy_headers_hash_bucket_size
  types_hash_max_size types_hash_bucket_size client_body_temp_path`.split(/\s+/);

describe('directive table', () => {
  it('has one entry per (name, module) pair', () => {
    const keys = DIRECTIVES.map((d) => `${d.module}:${d.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(DIRECTIVES.length).toBe(538);
  });

  it('keeps every module contiguous (nginx module order)', () => {
    const seen: string[] = [];
    for (const d of DIRECTIVES) {
      if (seen[seen.length - 1] !== d.module) {
        expect(seen, `module ${d.module} appears twice`).not.toContain(d.module);
        seen.push(d.module);
      }
    }
    expect(seen[0]).toBe('ngx_core_module');
    expect(seen.indexOf('ngx_http_core_module')).toBeLessThan(seen.indexOf('ngx_http_upstream_module'));
    expect(seen.indexOf('ngx_errlog_module')).toBeLessThan(seen.indexOf('ngx_http_core_module'));
    expect(seen.indexOf('ngx_http_core_module')).toBeLessThan(
      seen.indexOf('ngx_http_upstream_keepalive_module'),
    );
  });

  it('gives enum/bitmask slots their values and nothing else', () => {
    for (const d of DIRECTIVES) {
      if (d.slot === 'enum' || d.slot === 'bitmask') {
        expect(d.values?.length ?? 0, d.name).toBeGreaterThan(0);
        expect(new Set(d.values).size, d.name).toBe(d.values!.length);
      } else {
        expect(d.values, d.name).toBeUndefined();
      }
    }
    expect(one('satisfy').values).toEqual(['all', 'any']);
    expect(one('server_tokens').values).toEqual(['off', 'on', 'build']);
    expect(one('proxy_http_version').values).toEqual(['1.0', '1.1']);
    expect(one('proxy_next_upstream').slot).toBe('bitmask');
    expect(one('proxy_next_upstream').values).toContain('non_idempotent');
  });

  it('is internally consistent', () => {
    for (const d of DIRECTIVES) {
      expect(d.contexts.length, d.name).toBeGreaterThan(0);
      expect(new Set(d.contexts).size, d.name).toBe(d.contexts.length);
      expect(d.description?.length ?? 0, d.name).toBeGreaterThan(0);
      if (d.guardsAccess) expect(d.status, d.name).toBe('unimplemented');
      // nginx quirk kept as-is: uwsgi_cache_background_update is declared TAKE1 with the flag setter.
      if (d.slot === 'flag' && d.name !== 'uwsgi_cache_background_update') expect(d.args, d.name).toBe('FLAG');
      if (d.bounds) expect(d.slot, d.name).toBe('num');
      if (d.module.startsWith('ngx_http_') && d.module !== 'ngx_http_module') {
        expect(d.contexts, d.name).not.toContain('main');
        expect(d.contexts, d.name).not.toContain('events');
      }
    }
  });

  it('matches nginx for spot checks', () => {
    const pp = one('proxy_pass');
    expect(pp.module).toBe('ngx_http_proxy_module');
    expect([...pp.contexts].sort()).toEqual(['lif', 'lmt', 'location'].sort());
    expect(pp.args).toBe('TAKE1');
    expect(pp.status).toBe('implemented');

    const servers = byName('server');
    expect(servers.map((d) => d.module)).toEqual(['ngx_http_core_module', 'ngx_http_upstream_module']);
    expect(servers[0]).toMatchObject({ contexts: ['http'], args: 'NOARGS', block: 'directives' });
    expect(servers[1]).toMatchObject({ contexts: ['upstream'], args: '1MORE' });
    expect(servers[1]!.block).toBeUndefined();
    expect(DIRECTIVES.indexOf(servers[0]!)).toBeLessThan(DIRECTIVES.indexOf(servers[1]!));

    expect(one('types')).toMatchObject({ block: 'raw', args: 'NOARGS', contexts: ['http', 'server', 'location'] });
    for (const raw of ['map', 'geo', 'split_clients', 'charset_map']) expect(one(raw).block, raw).toBe('raw');
    for (const blk of ['http', 'events', 'location', 'upstream', 'if', 'limit_except']) {
      expect(one(blk).block, blk).toBe('directives');
    }
    expect(one('include')).toMatchObject({ module: 'ngx_conf_module', contexts: ['any'], args: 'TAKE1' });
    expect(one('events').contexts).toEqual(['main']);
    expect(one('worker_connections').contexts).toEqual(['events']);
    expect(one('load_module').contexts).toEqual(['main']);
    expect(one('listen')).toMatchObject({ contexts: ['server'], args: '1MORE' });
    expect(one('location').args).toBe('TAKE12');
    expect(one('if')).toMatchObject({ contexts: ['server', 'location'], args: '1MORE' });
    expect(one('return').contexts).toEqual(['server', 'location', 'sif', 'lif']);
    expect(one('zone', 'ngx_http_upstream_zone_module').contexts).toEqual(['upstream']);
    expect(one('gzip_comp_level').bounds).toEqual({ min: 1, max: 9 });
    expect(one('limit_req_status').bounds).toEqual({ min: 400, max: 599 });
    expect(one('proxy_temp_path').slot).toBe('path');
    expect(one('proxy_buffers').slot).toBe('bufs');
    expect(one('proxy_set_header').slot).toBe('keyval');
    expect(one('proxy_hide_header').slot).toBe('str_array');
    expect(one('client_max_body_size').slot).toBe('off');
    expect(one('proxy_store_access').slot).toBe('access');
    expect(one('uwsgi_cache_background_update')).toMatchObject({ slot: 'flag', args: 'TAKE1' });
    expect(one('ssl_ocsp')).toMatchObject({ slot: 'enum', args: 'FLAG', values: ['off', 'on', 'leaf'] });
    expect(one('random')).toMatchObject({ contexts: ['upstream'], args: 'NOARGS_TAKE12' });
    expect(one('max_headers')).toMatchObject({ module: 'ngx_http_header_count_module', contexts: ['http', 'server'] });
    expect(one('alias').status).toBe('implemented');
    expect(one('sendfile').status).toBe('no-effect');
  });

  it('has the names declared by several modules', () => {
    expect(byName('error_log').map((d) => d.module)).toEqual(['ngx_errlog_module', 'ngx_http_core_module']);
    for (const n of ['keepalive_timeout', 'keepalive_requests', 'keepalive_time']) {
      const ds = byName(n);
      expect(ds.map((d) => d.module), n).toEqual(['ngx_http_core_module', 'ngx_http_upstream_keepalive_module']);
      expect(ds[1]!.contexts, n).toEqual(['upstream']);
      expect(ds.every((d) => d.status === 'implemented'), n).toBe(true);
    }
    const multi = new Set(
      DIRECTIVES.map((d) => d.name).filter((n, i, all) => all.indexOf(n) !== i),
    );
    expect([...multi].sort()).toEqual(
      ['error_log', 'keepalive_requests', 'keepalive_time', 'keepalive_timeout', 'server'].sort(),
    );
  });

  it('omits directives nginx 1.22.1 (Debian, no dynamic modules loaded) does not know', () => {
    const absent = [
      'stream', 'mail', 'perl', 'perl_modules', 'image_filter', 'geoip_country', 'xslt_stylesheet',
      'js_content', 'http2', 'http3', 'quic_retry', 'status', 'status_zone', 'sticky', 'match',
      'health_check', 'auth_jwt', 'google_perftools_profiles', 'ssl_preread', 'proxy_protocol_timeout',
    ];
    for (const n of absent) expect(byName(n), n).toEqual([]);
  });

  it('marks access-guarding unimplemented directives', () => {
    for (const n of ['auth_basic', 'auth_basic_user_file', 'auth_request', 'limit_req', 'limit_conn',
      'valid_referers', 'secure_link', 'ssl_verify_client']) {
      expect(one(n).guardsAccess, n).toBe(true);
    }
    for (const n of ['limit_req_zone', 'limit_conn_zone', 'set_real_ip_from', 'internal', 'proxy_pass']) {
      expect(one(n).guardsAccess, n).toBeUndefined();
    }
  });

  it('includes every implemented directive with status implemented', () => {
    for (const n of IMPLEMENTED) {
      const ds = byName(n);
      expect(ds.length, n).toBeGreaterThan(0);
      for (const d of ds) expect(d.status, `${d.module}:${n}`).toBe('implemented');
    }
    const implemented = new Set(DIRECTIVES.filter((d) => d.status === 'implemented').map((d) => d.name));
    expect([...implemented].sort()).toEqual([...new Set(IMPLEMENTED)].sort());
  });
});
