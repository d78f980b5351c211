/**
 * checkConfig against nginx 1.22.1 on small configs aimed at what `nginx -t` does after a block is
 * read: listen sockets (ports, ranges, duplicate options and default servers), upstreams
 * (implicit ones from *_pass, ports, empty blocks), certificates and keys in nginx's loading
 * order, proxy/grpc client certificates, geo, resolver, named captures, bitmask slots, -g,
 * syntax errors inside blocks, and what is reported after "syntax is ok" (pid, logs).
 *
 * Each case holds nginx's stderr lines (recorded with `nginx -t -p DIR/ -c nginx.conf -e
 * DIR/err.log`, DIR shown as {DIR}). The test renders checkConfig's result the way the CLI does
 * and compares; when nginx is installed the recorded lines are checked against it too, so the
 * goldens cannot go stale. Every case dir also holds SHARED (an EC certificate and key, an empty
 * file, a password file, a 48-byte ticket key).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkConfig } from '../src/check/index.js';
import { isEmerg } from '../src/check/walker.js';
import { placeSuffix } from '../src/diagnostic.js';

interface Case {
  name: string;
  /** Extra argv (only -g is understood by the in-process run). */
  args?: string[];
  conf: string;
  files?: Record<string, string>;
  exit: number;
  /** nginx's "nginx: ..." stderr lines, the case dir as {DIR}. */
  nginx: string[];
}

const SHARED: Record<string, string> = {
  "good.crt": "-----BEGIN CERTIFICATE-----\nMIIBbjCCARWgAwIBAgIUR2TK/Lw0nDu7Do7n9Dzfh5/Fy7EwCgYIKoZIzj0EAwIw\nDDEKMAgGA1UEAwwBeDAgFw0yNjExMzAwODQ3MDZaGA8yMTI2MTEwNjA4NDcwNlow\nDDEKMAgGA1UEAwwBeDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMBLCb+iBXhU\nHqMxign+HtUIi+L8aieP0lR5NRL4OsIvSyBKotvhdLSeG/FP38Ro4TzANJ+nSbpE\nvS/GGmEplF+jUzBRMB0GA1UdDgQWBBSeGg5pOXSTsNW1xoOXVCB86wqHrTAfBgNV\nHSMEGDAWgBSeGg5pOXSTsNW1xoOXVCB86wqHrTAPBgNVHRMBAf8EBTADAQH/MAoG\nCCqGSM49BAMCA0cAMEQCICAcPNf42VXGvqboC2ePVXSk+prNpeyKB6LC5DhVAJqj\nAiAHbgULr1oQ33i3JcajWlvHWBq026C4r5fXJR2hXdXjjg==\n-----END CERTIFICATE-----\n",
  "good.key": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6cPXWhvIm4zE8jtv\n+aPlqxuvPl9ls4wdluaCZKO5t3mhRANCAATASwm/ogV4VB6jMYoJ/h7VCIvi/Gon\nj9JUeTUS+DrCL0sgSqLb4XS0nhvxT9/EaOE8wDSfp0m6RL0vxhphKZRf\n-----END PRIVATE KEY-----\n",
  "empty.crt": "",
  "pass": "secret\n",
  "ticket.key": "0123456789abcdef0123456789abcdef0123456789abcdef"
};

const NGINX = ((): string | undefined => {
  const explicit = process.env.NGINX_BIN;
  if (explicit !== undefined) return explicit !== '' && explicit !== 'none' && fs.existsSync(explicit) ? explicit : undefined;
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => fs.existsSync(p));
})();

function caseDir(c: Case): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nxproxy-check-')));
  for (const [f, text] of Object.entries({ ...SHARED, ...(c.files ?? {}), 'nginx.conf': c.conf })) {
    fs.writeFileSync(path.join(dir, f), text, 'latin1');
  }
  return dir;
}

/** What `nxproxy -t` prints, from checkConfig's result (nxproxy-only warnings left out). */
async function nxproxy(c: Case): Promise<{ exit: number; lines: string[] }> {
  const dir = caseDir(c);
  try {
    const g = c.args?.indexOf('-g') ?? -1;
    const r = await checkConfig({ prefix: dir + '/', confFile: 'nginx.conf', globals: g >= 0 ? c.args![g + 1] : undefined });
    const conf = `${dir}/nginx.conf`;
    const lines: string[] = [];
    r.diagnostics.forEach((d, i) => {
      if (i === r.syntaxOkAfter) lines.push(`nginx: the configuration file ${conf} syntax is ok`);
      if (d.code === 'regex-unsupported') return;
      lines.push(`nginx: [${d.severity}] ${d.message}${placeSuffix(d)}`);
    });
    if (r.syntaxOkAfter === r.diagnostics.length) lines.push(`nginx: the configuration file ${conf} syntax is ok`);
    const ok = !r.diagnostics.some(isEmerg);
    lines.push(ok ? `nginx: configuration file ${conf} test is successful` : `nginx: configuration file ${conf} test failed`);
    return { exit: ok ? 0 : 1, lines: lines.map((l) => l.split(dir).join('{DIR}')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function nginx(c: Case): { exit: number; lines: string[] } {
  const dir = caseDir(c);
  try {
    const r = spawnSync(NGINX!, ['-t', '-p', dir + '/', '-c', 'nginx.conf', '-e', dir + '/err.log', ...(c.args ?? [])], {
      encoding: 'latin1',
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NGINX')),
    });
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('nginx: '))
      .map((l) => l.split(dir).join('{DIR}'));
    return { exit: r.status ?? -1, lines };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const CASES: Case[] = [
  {
    name: "ssl: key before cert, both missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate_key nope.key; ssl_certificate nope.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/nope.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl: http-level pair, server-level missing pair",
    conf: "events {}\nhttp { access_log off; ssl_certificate_key good.key; ssl_certificate good.crt; server { listen 127.0.0.1:1 ssl; ssl_certificate_key nope.key; ssl_certificate nope.crt; } server { listen 127.0.0.1:2 ssl; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/nope.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl: two certificates, one key",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate good.crt; ssl_certificate_key good.key; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"ssl_certificate_key\" is defined for certificate \"good.crt\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl: second pair missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate nope.crt; ssl_certificate_key good.key; ssl_certificate_key good.key;} }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/nope.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl on without certificate",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1; ssl on; } }\n",
    exit: 1,
    nginx: [
      "nginx: [warn] the \"ssl\" directive is deprecated, use the \"listen ... ssl\" directive instead in {DIR}/nginx.conf:2",
      "nginx: [emerg] no \"ssl_certificate\" is defined for the \"ssl\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl on at http level, no key",
    conf: "events {}\nhttp { access_log off; ssl on; server { listen 127.0.0.1:1; ssl_certificate good.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [warn] the \"ssl\" directive is deprecated, use the \"listen ... ssl\" directive instead in {DIR}/nginx.conf:2",
      "nginx: [emerg] no \"ssl_certificate_key\" is defined for the \"ssl\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen ssl: second server without certificate",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; } server { listen 127.0.0.1:1 ssl; server_name x; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "listen ssl: default server has the certificate",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; server_name y; } server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; listen 127.0.0.1:1 ssl default_server; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] a duplicate listen 127.0.0.1:1 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen ssl: reject handshake",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_reject_handshake on; } server { listen 127.0.0.1:1; server_name z; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_password_file missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_password_file nope; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] open() \"{DIR}/nope\" failed (2: No such file or directory) in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_password_file duplicate",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_password_file pass; ssl_password_file pass; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"ssl_password_file\" directive is duplicate in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_password_file is read before certificates load",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate nope.crt; ssl_certificate_key nope.key; } server { ssl_password_file nope; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] open() \"{DIR}/nope\" failed (2: No such file or directory) in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_verify_client without CA",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_verify_client on; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no ssl_client_certificate for ssl_verify_client",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_ocsp with optional_no_ca",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_verify_client optional_no_ca; ssl_ocsp on; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"ssl_ocsp\" is incompatible with \"ssl_verify_client optional_no_ca\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_client_certificate missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_verify_client optional; ssl_client_certificate nope.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] SSL_CTX_load_verify_locations(\"{DIR}/nope.crt\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crt, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_trusted_certificate empty",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_trusted_certificate empty.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] SSL_CTX_load_verify_locations(\"{DIR}/empty.crt\") failed (SSL: error:05800088:x509 certificate routines::no certificate or crl found)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_crl missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_crl nope.crl; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] X509_LOOKUP_load_file(\"{DIR}/nope.crl\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crl, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_dhparam not DH",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_dhparam good.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] PEM_read_bio_DHparams(\"{DIR}/good.crt\") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_session_ticket_key ok",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_session_ticket_key ticket.key; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "ssl_session_ticket_key wrong size (place: end of http)",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_session_ticket_key good.crt; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"{DIR}/good.crt\" must be 48 or 80 bytes in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_stapling_file missing",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key good.key; ssl_stapling on; ssl_stapling_file nope.der; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] BIO_new_file(\"{DIR}/nope.der\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.der, rb) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_certificate with variables",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate $ssl_server_name.crt; ssl_certificate_key $ssl_server_name.key; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "ssl_certificate data:",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate data:xxx; ssl_certificate_key data:yyy; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"data:xxx\": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_certificate_key is a directory",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate good.crt; ssl_certificate_key .; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate key \"{DIR}/.\": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate without key",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass https://127.0.0.1; proxy_ssl_certificate a.crt; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"proxy_ssl_certificate_key\" is defined for certificate \"a.crt\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "duplicate among several single-value directives of one location",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1; location / { proxy_read_timeout 1s; proxy_connect_timeout 2s; proxy_send_timeout 3s;\n proxy_connect_timeout 4s; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"proxy_connect_timeout\" directive is duplicate in {DIR}/nginx.conf:3",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "ssl_certificate from an include in the server",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; include ssl.conf; } }\n",
    files: {"ssl.conf":"ssl_certificate a.crt;\n"},
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"ssl_certificate_key\" is defined for certificate \"a.crt\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate from an include in the location",
    conf: "events {}\nhttp { access_log off; server { location / { include tls.conf; proxy_pass https://127.0.0.1; } } }\n",
    files: {"tls.conf":"proxy_ssl_certificate a.crt;\n"},
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"proxy_ssl_certificate_key\" is defined for certificate \"a.crt\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate: only https locations load it",
    conf: "events {}\nhttp { access_log off; proxy_ssl_certificate a.crt; proxy_ssl_certificate_key a.key; server { location / { proxy_pass http://127.0.0.1; } location /s { proxy_pass https://127.0.0.1; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/a.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/a.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate: https in if",
    conf: "events {}\nhttp { access_log off; proxy_ssl_certificate a.crt; proxy_ssl_certificate_key a.key; server { location / { proxy_pass http://127.0.0.1; if ($a) { proxy_pass https://127.0.0.1; } } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/a.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/a.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate: proxy_pass with variables",
    conf: "events {}\nhttp { access_log off; proxy_ssl_certificate a.crt; proxy_ssl_certificate_key a.key; server { location / { proxy_pass http://$host; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/a.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/a.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_verify without trusted",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass https://127.0.0.1; proxy_ssl_verify on; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no proxy_ssl_trusted_certificate for proxy_ssl_verify",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_crl missing",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass https://127.0.0.1; proxy_ssl_verify on; proxy_ssl_trusted_certificate good.crt; proxy_ssl_crl nope.crl; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] X509_LOOKUP_load_file(\"{DIR}/nope.crl\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crl, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_ssl_certificate duplicate",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass https://127.0.0.1; proxy_ssl_certificate good.crt; proxy_ssl_certificate good.crt; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"proxy_ssl_certificate\" directive is duplicate in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "grpc_ssl_certificate_key missing",
    conf: "events {}\nhttp { access_log off; server { location / { grpc_pass grpcs://127.0.0.1:1; grpc_ssl_certificate good.crt; grpc_ssl_certificate_key nope.key; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate key \"{DIR}/nope.key\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.key, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "order: upstream init before ssl",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; ssl_certificate nope.crt; ssl_certificate_key nope.key; location / { proxy_pass http://nonexistent.invalid; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] host not found in upstream \"nonexistent.invalid\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "order: ssl module before proxy module",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass https://127.0.0.1; proxy_ssl_certificate x.crt; proxy_ssl_certificate_key x.key; } } server { listen 127.0.0.1:1 ssl; ssl_certificate nope.crt; ssl_certificate_key nope.key; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] cannot load certificate \"{DIR}/nope.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen({DIR}/nope.crt, r) error:10000080:BIO routines::no such file)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "order: duplicate location before listen ssl",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; location /a {} location /a {} } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] duplicate location \"/a\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "order: listen ssl before unknown variable",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; return 200 $nope; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "-g: missing semicolon",
    args: ["-g","worker_processes 2"],
    conf: "events {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected end of parameter, expecting \";\" in command line",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "-g: block",
    args: ["-g","worker_processes 2; events {}"],
    conf: "events {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] block directives are not supported in -g option in command line",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "-g: bad value before block",
    args: ["-g","worker_processes x; events {"],
    conf: "events {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"worker_processes\" directive invalid value in command line",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "-g: duplicate with file",
    args: ["-g","worker_processes 2;"],
    conf: "worker_processes 1;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"worker_processes\" directive is duplicate in {DIR}/nginx.conf:1",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "-g: unexpected brace",
    args: ["-g","daemon off; }"],
    conf: "events {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected \"}\" in command line",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen range",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:8182-8183; listen 127.0.0.1:8183; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] a duplicate listen 127.0.0.1:8183 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen range bad",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:8184-8183; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid port range in \"127.0.0.1:8184-8183\" of the \"listen\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen bare range",
    conf: "events {}\nhttp { access_log off; server { listen 8184-8185; } server { listen 8185 default; listen 8184 default_server;} }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] conflicting server name \"\" on 0.0.0.0:8184, ignored",
      "nginx: [warn] conflicting server name \"\" on 0.0.0.0:8185, ignored",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "listen dup options",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1 bind; } server { listen 127.0.0.1:1 reuseport; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] duplicate listen options for 127.0.0.1:1 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen dup same server",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1; listen 127.0.0.1:1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] a duplicate listen 127.0.0.1:1 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen localhost",
    conf: "events {}\nhttp { access_log off; server { listen localhost:1; } server { listen 127.0.0.1:1 default; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] conflicting server name \"\" on 127.0.0.1:1, ignored",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "listen star",
    conf: "events {}\nhttp { access_log off; server { listen *:1; } server { listen 0.0.0.0:1 default; listen [::]:1; listen [::0]:1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] a duplicate listen [::]:1 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen v6 bad",
    conf: "events {}\nhttp { access_log off; server { listen [::1:1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid host in \"[::1:1\" of the \"listen\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen badparams",
    conf: "events {}\nhttp { access_log off; server { listen 1 setfib=1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid parameter \"setfib=1\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen ipv6only",
    conf: "events {}\nhttp { access_log off; server { listen [::]:1 ipv6only=ox; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid ipv6only flags \"ox\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen so_keepalive",
    conf: "events {}\nhttp { access_log off; server { listen 1 so_keepalive=1m::0; listen 2 so_keepalive=0:0:0; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid so_keepalive value: \"0:0:0\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen uri",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1/x; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid host in \"127.0.0.1:1/x\" of the \"listen\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "listen nohost",
    conf: "events {}\nhttp { access_log off; server { listen :80; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no host in \":80\" of the \"listen\" directive in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "conflicting names",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1; server_name a b; } server { listen 127.0.0.1:1; server_name b a; } server { listen 1; } server {listen 1;} }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] conflicting server name \"b\" on 127.0.0.1:1, ignored",
      "nginx: [warn] conflicting server name \"a\" on 127.0.0.1:1, ignored",
      "nginx: [warn] conflicting server name \"\" on 0.0.0.0:1, ignored",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "conflicting wild",
    conf: "events {}\nhttp { access_log off; server { listen 127.0.0.1:1; server_name .a.com; } server { listen 127.0.0.1:1; server_name *.a.com a.com; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] conflicting server name \"*.a.com\" on 127.0.0.1:1, ignored",
      "nginx: [warn] conflicting server name \"a.com\" on 127.0.0.1:1, ignored",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "server_name invalid",
    conf: "events {}\nhttp { access_log off; server { server_name *a; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] server name \"*a\" is invalid in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "server_name suspicious",
    conf: "events {}\nhttp { access_log off; server { server_name a/b; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] server name \"a/b\" has suspicious symbols in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "server_name regex captures",
    conf: "events {}\nhttp { access_log off; server { server_name ~^(?<name>.+)\\.x$ ~^(?P<n2>a)$; return 200 $name$n2; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "server_name regex dup builtin",
    conf: "events {}\nhttp { access_log off; server { server_name ~^(?<host>.+)$; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] the duplicate \"host\" variable in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "location capture",
    conf: "events {}\nhttp { access_log off; server { location ~ ^/(?<rest>.*) { return 200 $rest; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "if capture",
    conf: "events {}\nhttp { access_log off; server { if ($uri ~ ^/(?'p'.*)) { return 200 $p; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "map regex capture",
    conf: "events {}\nhttp { access_log off; map $uri $m { ~^/(?<mm>.*) $mm; } server { return 200 $m$mm; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "set builtin",
    conf: "events {}\nhttp { access_log off; server { set $uri 1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] the duplicate \"uri\" variable in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "set args",
    conf: "events {}\nhttp { access_log off; server { set $args 1; set $http_foo 1; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "worker_processes",
    conf: "worker_processes 1x;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"worker_processes\" directive invalid value in {DIR}/nginx.conf:1",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "worker_processes auto dup",
    conf: "worker_processes auto;\nworker_processes 2;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"worker_processes\" directive is duplicate in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "keepalive",
    conf: "events {}\nhttp { access_log off; keepalive_timeout 10 1x; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"keepalive_timeout\" directive invalid value in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "keepalive2",
    conf: "events {}\nhttp { access_log off; keepalive_timeout 10ms 1m; keepalive_timeout 5; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"keepalive_timeout\" directive is duplicate in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "bitmask dup",
    conf: "events {}\nhttp { access_log off; proxy_ignore_headers Expires; proxy_ignore_headers Expires Vary; ssl_protocols TLSv1.2 TLSv1.2; }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] duplicate value \"Expires\" in {DIR}/nginx.conf:2",
      "nginx: [warn] duplicate value \"TLSv1.2\" in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "upstream empty",
    conf: "events {}\nhttp { access_log off; upstream u {\n}\n}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no servers are inside upstream in {DIR}/nginx.conf:3",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "upstream all backup",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1 backup; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no servers in upstream \"u\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "upstream ip_hash backup",
    conf: "events {}\nhttp { access_log off; upstream u { ip_hash; server 127.0.0.1:1 backup; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] balancing method does not support parameter \"backup\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "upstream backup then hash",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1 backup; server 127.0.0.1:2; hash $uri; least_conn; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] load balancing method redefined in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "upstream bad param",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1 weight=0; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid parameter \"weight=0\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "upstream server host",
    conf: "events {}\nhttp { access_log off; upstream u { server nonexistent.invalid:80; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] host not found in upstream \"nonexistent.invalid:80\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "upstream server localhost",
    conf: "events {}\nhttp { access_log off; upstream u { server localhost:80; } server { location / { proxy_pass http://u; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "proxy_pass port to upstream",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1; } server { location / { proxy_pass http://u:80; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] upstream \"u\" may not have port 80 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass before upstream with port",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass http://u:80; } } upstream u { server 127.0.0.1:1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] upstream \"u\" may not have port 80 in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass before upstream no port",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass http://u; } } upstream u { server 127.0.0.1:1; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "dup upstream",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1; } upstream U { server 127.0.0.1:1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] duplicate upstream \"U\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass unresolvable",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass http://nonexistent.invalid:8080/x; } location /b { proxy_pass http://nonexistent.invalid:8080; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] host not found in upstream \"nonexistent.invalid\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass prefix",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass ftp://x; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid URL prefix in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass uri in regex",
    conf: "events {}\nhttp { access_log off; server { location ~ a { proxy_pass http://127.0.0.1/x; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "proxy_pass unix",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass http://unix:/tmp/x.sock:/a; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "proxy_pass v6",
    conf: "events {}\nhttp { access_log off; server { location / { proxy_pass http://[::1]:8080/; } location /a { proxy_pass http://[::1; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid host in upstream \"[::1\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "fastcgi_pass no port",
    conf: "events {}\nhttp { access_log off; server { location / { fastcgi_pass 127.0.0.1; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no port in upstream \"127.0.0.1\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "fastcgi_pass host no port",
    conf: "events {}\nhttp { access_log off; server { location / { fastcgi_pass localhost; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no port in upstream \"localhost\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "fastcgi_pass uri",
    conf: "events {}\nhttp { access_log off; server { location / { fastcgi_pass 127.0.0.1:9000/x; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid host in upstream \"127.0.0.1:9000/x\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "grpc_pass",
    conf: "events {}\nhttp { access_log off; server { location / { grpc_pass grpc://127.0.0.1:1; } location /a { grpc_pass 127.0.0.1; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "uwsgi_pass ssl",
    conf: "events {}\nhttp { access_log off; server { location / { uwsgi_pass suwsgi://127.0.0.1:1; uwsgi_ssl_certificate a.crt; } } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no \"uwsgi_ssl_certificate_key\" is defined for certificate \"a.crt\"",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver",
    conf: "events {}\nhttp { access_log off; resolver 127.0.0.1 valid=1x; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid parameter: valid=1x in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver ipv6",
    conf: "events {}\nhttp { access_log off; resolver 127.0.0.1 ipv6=maybe; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid parameter: ipv6=maybe in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver only params",
    conf: "events {}\nhttp { access_log off; resolver valid=10s; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no name servers defined in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver dup",
    conf: "events {}\nhttp { access_log off; resolver 127.0.0.1; resolver 127.0.0.2; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] \"resolver\" directive is duplicate in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver ipv4",
    conf: "events {}\nhttp { access_log off; resolver 127.0.0.1 ipv4=on; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] host not found in resolver \"ipv4=on\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "resolver port",
    conf: "events {}\nhttp { access_log off; resolver 127.0.0.1:99999; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid port in resolver \"127.0.0.1:99999\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo ok",
    conf: "events {}\nhttp { access_log off; geo $g { default 0; 10.0.0.0/8 1; 10.1.0.0/16 2; delete 10.1.0.0/16; proxy 1.2.3.4; proxy_recursive; } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "geo bad net",
    conf: "events {}\nhttp { access_log off; geo $g { 10.0.0.0/33 1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid network \"10.0.0.0/33\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo low bits",
    conf: "events {}\nhttp { access_log off; geo $g { 10.0.0.1/8 1; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] low address bits of 10.0.0.1/8 are meaningless in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "geo ranges late",
    conf: "events {}\nhttp { access_log off; geo $g { default 1; ranges; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] the \"ranges\" directive must be the first directive inside \"geo\" block in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo ranges",
    conf: "events {}\nhttp { access_log off; geo $remote_addr $g { ranges; 1.0.0.0-1.0.0.255 a; 2.0.0.0-1.0.0.0 b; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid range \"2.0.0.0-1.0.0.0\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo three",
    conf: "events {}\nhttp { access_log off; geo $g { a b c; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] invalid number of the geo parameters in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo include",
    conf: "events {}\nhttp { access_log off; geo $g { include nope.conf; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] open() \"{DIR}/nope.conf\" failed (2: No such file or directory) in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo dup",
    conf: "events {}\nhttp { access_log off; geo $g { 1.2.3.4 a; 1.2.3.4 b; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] duplicate network \"1.2.3.4\", value: \"b\", old value: \"a\" in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "geo undefined source",
    conf: "events {}\nhttp { access_log off; geo $nope $g { default 1; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unknown \"nope\" variable",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "geo dup",
    conf: "events {}\nhttp { access_log off; geo $g { 1.2.3.4 a; 1.2.3.4/32 b; default x; 0.0.0.0/0 y; ::/0 z; delete 5.0.0.0/8; delete 1.2.3.4; delete 1.2.3.4; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] duplicate network \"1.2.3.4/32\", value: \"b\", old value: \"a\" in {DIR}/nginx.conf:2",
      "nginx: [warn] duplicate network \"0.0.0.0/0\", value: \"y\", old value: \"x\" in {DIR}/nginx.conf:2",
      "nginx: [warn] duplicate network \"::/0\", value: \"z\", old value: \"x\" in {DIR}/nginx.conf:2",
      "nginx: [warn] no network \"5.0.0.0/8\" to delete in {DIR}/nginx.conf:2",
      "nginx: [warn] no network \"1.2.3.4\" to delete in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "geo v6",
    conf: "events {}\nhttp { access_log off; geo $g { ::1 a; ::1/128 b; 2001:db8::1/32 c; } }\n",
    exit: 0,
    nginx: [
      "nginx: [warn] duplicate network \"::1/128\", value: \"b\", old value: \"a\" in {DIR}/nginx.conf:2",
      "nginx: [warn] low address bits of 2001:db8::1/32 are meaningless in {DIR}/nginx.conf:2",
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "syntax in http after var",
    conf: "events {}\nhttp { access_log off; server { return 200 $nope; } server { listen 1 }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected \"}\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "syntax eof in http",
    conf: "events {}\nhttp { access_log off; server { return 200 $nope; }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected end of file, expecting \"}\" in {DIR}/nginx.conf:3",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "syntax after http",
    conf: "events {}\nhttp { access_log off; server { return 200 $nope; } }\n}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unknown \"nope\" variable",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "unexpected brace in upstream",
    conf: "events {}\nhttp { access_log off; upstream u { server 127.0.0.1:1 } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected \"}\" in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "include syntax error",
    conf: "events {}\nhttp { access_log off; include inc.conf; server { return 200 $nope; } }\n",
    files: {"inc.conf":"server { listen 1\n"},
    exit: 1,
    nginx: [
      "nginx: [emerg] unexpected end of file, expecting \";\" or \"}\" in {DIR}/inc.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "include in server missing",
    conf: "events {}\nhttp { access_log off; server { return 200 $nope; include nope.conf; } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] open() \"{DIR}/nope.conf\" failed (2: No such file or directory) in {DIR}/nginx.conf:2",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "string with brace",
    conf: "events {}\nhttp { access_log off; server { return 200 \"}}}\"; location / { return 200 a}b; } } }\n",
    exit: 0,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: configuration file {DIR}/nginx.conf test is successful",
    ],
  },
  {
    name: "comment with brace",
    conf: "events {}\nhttp { access_log off; # }\n  upstream u {\n  # }\n  }\n}\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no servers are inside upstream in {DIR}/nginx.conf:5",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "var brace",
    conf: "events {}\nhttp { access_log off; upstream u { hash ${uri}x;\n  } }\n",
    exit: 1,
    nginx: [
      "nginx: [emerg] no servers are inside upstream in {DIR}/nginx.conf:3",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "pid bad",
    conf: "pid nope/x.pid;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: [emerg] open() \"{DIR}/nope/x.pid\" failed (2: No such file or directory)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "pid bad and log bad",
    conf: "pid nope/x.pid;\nerror_log nope/e.log;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: [emerg] open() \"{DIR}/nope/x.pid\" failed (2: No such file or directory)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "pid ok log bad",
    conf: "pid x.pid;\nerror_log nope/e.log;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: [emerg] open() \"{DIR}/nope/e.log\" failed (2: No such file or directory)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
  {
    name: "pid dir",
    conf: "pid .;\nevents {}\n",
    exit: 1,
    nginx: [
      "nginx: the configuration file {DIR}/nginx.conf syntax is ok",
      "nginx: [emerg] open() \"{DIR}/.\" failed (21: Is a directory)",
      "nginx: configuration file {DIR}/nginx.conf test failed",
    ],
  },
];

describe('checkConfig matches nginx -t', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      expect(await nxproxy(c)).toEqual({ exit: c.exit, lines: c.nginx });
    });
  }
});

// The goldens were recorded as root (nginx then reads "user", and a server without listen is on :80).
(NGINX && isRoot ? describe : describe.skip)('recorded nginx output is current', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(nginx(c)).toEqual({ exit: c.exit, lines: c.nginx });
    });
  }
});
