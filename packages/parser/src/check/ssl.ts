/**
 * What nginx's OpenSSL calls report when `nginx -t` loads certificates, keys and CA files
 * (event/ngx_event_openssl.c), with OpenSSL 3.0's error strings. Only what can be told from the
 * file system and the PEM armour is checked: a missing file, or a file without the expected
 * PEM block. (Certificate/key mismatches and bad DER are not detected.)
 */
import * as path from 'node:path';
import type { ConfigFs } from './files.js';

/** ngx_conf_full_name(cycle, name, 1): relative to the conf prefix. */
export function confFullName(confPrefix: string, name: string): string {
  return path.isAbsolute(name) ? name : confPrefix + name;
}

/** OpenSSL's queue after a failed fopen() in BIO_new_file(). */
function fopenError(file: string, mode: string, errno: number, message: string): string {
  const sys = `error:${(0x80000000 + errno).toString(16).toUpperCase()}:system library::${message}:calling fopen(${file}, ${mode})`;
  return errno === 2 ? `${sys} error:10000080:BIO routines::no such file` : `${sys} error:10080002:BIO routines::system lib`;
}

type Read = { text: string } | { err: string };

function readFile(fsys: ConfigFs, file: string, mode = 'r'): Read {
  const r = fsys.read(file);
  if (typeof r === 'string') return { text: r };
  // fopen() of a directory succeeds on Linux; reading it yields nothing
  if (r.errno === 21) return { text: '' };
  return { err: fopenError(file, mode, r.errno, r.message) };
}

const CERT_PEM = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const X509_PEM = /-----BEGIN (?:(?:TRUSTED |X509 )?CERTIFICATE|X509 CRL)-----/;

/** ngx_ssl_certificate's first half: "cannot load certificate ..." or null. */
export function loadCertificate(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  const data = value.startsWith('data:');
  const file = data ? value : confFullName(confPrefix, value);
  const r: Read = data ? { text: value.slice(5) } : readFile(fsys, file);
  if ('err' in r) return `cannot load certificate "${file}": BIO_new_file() failed (SSL: ${r.err})`;
  if (!CERT_PEM.test(r.text)) {
    return `cannot load certificate "${file}": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)`;
  }
  return null;
}

/** ngx_ssl_certificate's second half: "cannot load certificate key ..." or null. */
export function loadCertificateKey(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  if (value.startsWith('engine:')) return null;
  const data = value.startsWith('data:');
  const file = data ? value : confFullName(confPrefix, value);
  const r: Read = data ? { text: value.slice(5) } : readFile(fsys, file);
  if ('err' in r) return `cannot load certificate key "${file}": BIO_new_file() failed (SSL: ${r.err})`;
  if (!KEY_PEM.test(r.text)) {
    return `cannot load certificate key "${file}": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)`;
  }
  return null;
}

function x509Load(fsys: ConfigFs, file: string, fn: string): string | null {
  const r = readFile(fsys, file);
  if ('err' in r) return `${fn}("${file}") failed (SSL: ${r.err} error:05880002:x509 certificate routines::system lib)`;
  if (!X509_PEM.test(r.text)) return `${fn}("${file}") failed (SSL: error:05800088:x509 certificate routines::no certificate or crl found)`;
  return null;
}

/** ngx_ssl_client_certificate / ngx_ssl_trusted_certificate. */
export function loadVerifyLocations(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  return x509Load(fsys, confFullName(confPrefix, value), 'SSL_CTX_load_verify_locations');
}

/** ngx_ssl_crl. */
export function loadCrl(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  return x509Load(fsys, confFullName(confPrefix, value), 'X509_LOOKUP_load_file');
}

/** ngx_ssl_dhparam. */
export function loadDhparam(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  const file = confFullName(confPrefix, value);
  const r = readFile(fsys, file);
  if ('err' in r) return `BIO_new_file("${file}") failed (SSL: ${r.err})`;
  if (!/-----BEGIN (?:X9\.42 )?DH PARAMETERS-----/.test(r.text)) {
    return `PEM_read_bio_DHparams("${file}") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)`;
  }
  return null;
}

/** ngx_ssl_stapling_file. */
export function loadStaplingFile(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  const file = confFullName(confPrefix, value);
  const r = readFile(fsys, file, 'rb');
  if ('err' in r) return `BIO_new_file("${file}") failed (SSL: ${r.err})`;
  if (r.text.length === 0) return `d2i_OCSP_RESPONSE_bio("${file}") failed`;
  return null;
}

/**
 * ngx_ssl_session_ticket_keys: "open() ... failed (errno: text)" or the size check; these are
 * ngx_conf_log_error messages (the caller adds the place).
 */
export function loadTicketKey(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  const file = confFullName(confPrefix, value);
  const r = fsys.read(file);
  if (typeof r !== 'string') return `open() "${file}" failed (${r.errno}: ${r.message})`;
  if (r.length !== 48 && r.length !== 80) return `"${file}" must be 48 or 80 bytes`;
  return null;
}

/** ngx_ssl_read_password_file at parse time: the open() error, or null. */
export function readPasswordFile(fsys: ConfigFs, confPrefix: string, value: string): string | null {
  const file = confFullName(confPrefix, value);
  const r = fsys.read(file);
  if (typeof r !== 'string') {
    if (r.errno === 21) return `read() "${file}" failed (21: Is a directory)`;
    return `open() "${file}" failed (${r.errno}: ${r.message})`;
  }
  return null;
}
