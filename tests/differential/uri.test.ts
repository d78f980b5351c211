/** Request-target parsing and URI normalisation: $uri vs $request_uri vs $args. */
import { differential, get, raw } from './harness.js';

const SHOW = `return 200 "uri=$uri|request_uri=$request_uri|args=$args|is_args=$is_args|query_string=$query_string|document_uri=$document_uri\\n";`;

differential(
  'URI normalisation (merge_slashes on)',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location / { ${SHOW} }
    }
  `,
  [
    get('/a/b', { expect: { status: 200, body: 'uri=/a/b|request_uri=/a/b|args=|is_args=|query_string=|document_uri=/a/b\n' } }),
    get('/a//b///c'),
    get('//a/../b', { expect: { body: /^uri=\/b\|request_uri=\/\/a\/..\/b\|/ } }),
    get('/a/./b/.'),
    get('/a/b/..'),
    get('/a/b/../../c'),
    get('/../x', { expect: { status: 400 } }),
    get('/a/../../x'),
    get('/a%2Fb', { expect: { body: /^uri=\/a\/b\|request_uri=\/a%2Fb\|/ } }),
    get('/a%2F..%2Fb'),
    get('/%2e%2e/x'),
    get('/a/%2E%2E/b'),
    get('/%61%62%63'),
    get('/a%20b'),
    get('/a+b?c+d=e%20f'),
    get('/a?x=1&y=2', { expect: { body: /args=x=1&y=2\|is_args=\?\|/ } }),
    get('/a?'),
    get('/a??b'),
    get('/a?x=/../..'),
    get('/a#frag'),
    get('/a?x=1#frag'),
    get('/a#frag?x=1'),
    get('/a%23b'),
    get('/a%zzb'),
    get('/a%2'),
    get('/a%00b'),
    get('/a\\b'),
    get('/%7euser/~x'),
    get('/a;param/b'),
    get('/caf%C3%A9'),
    get('/a%3Fb?c'),
    get('*', { name: 'asterisk-form target' }),
    get('a/b', { name: 'target without leading slash' }),
    raw('target with raw space', 'GET /a b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('raw control character in target', 'GET /a\x01b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('raw high-bit byte in target', 'GET /caf\xe9 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
  ],
);

differential(
  'merge_slashes off',
  `
    merge_slashes off;
    server {
        listen 127.0.0.1:{{PORT}};
        location / { ${SHOW} }
        location /exact//double { return 200 "double-slash location\\n"; }
    }
  `,
  [get('//a//b///c'), get('/a//../b'), get('/exact//double'), get('/exact/double')],
);
