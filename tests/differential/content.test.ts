/** Content types, charset, server_tokens, chunked encoding, header name handling. */
import { differential, get, raw } from './harness.js';

differential(
  'default_type, types, charset',
  `
    default_type application/json;
    types {
        text/x-foo foo;
        application/x-bar bar BAR;
        text/html html;
    }
    server {
        listen 127.0.0.1:{{PORT}};
        location / { return 200 "{}\\n"; }
        location /utf/ { charset utf-8; return 200 "café\\n"; }
        location /utf-static/ { charset utf-8; alias html/; }
        location /typed/ { default_type text/x-typed; return 200 "typed\\n"; }
        location /empty-types/ { types { } default_type text/plain; return 200 "x\\n"; }
    }
  `,
  [
    get('/a.foo', { expect: { headers: { 'content-type': 'text/x-foo' } } }),
    get('/a.bar'),
    get('/a.BAR'),
    get('/a.html'),
    get('/a.gif'),
    get('/noext'),
    get('/dir.foo/noext'),
    get('/utf/x.foo'),
    get('/utf-static/file.txt'),
    get('/utf-static/index.html'),
    get('/typed/x'),
    get('/typed/x.foo'),
    get('/empty-types/x.html'),
  ],
);

differential(
  'server_tokens off, chunked_transfer_encoding off, header name options',
  `
    server_tokens off;
    server {
        listen 127.0.0.1:{{PORT}};
        location /r404 { return 404; }
        location /r502 { return 502; }
        location /eof/ {
            chunked_transfer_encoding off;
            proxy_pass http://127.0.0.1:{{BACKEND}}/;
        }
        location /chunked/ { proxy_pass http://127.0.0.1:{{BACKEND}}/; }
        location /nobuf/ { proxy_buffering off; proxy_pass http://127.0.0.1:{{BACKEND}}/; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        underscores_in_headers on;
        ignore_invalid_headers off;
        location / {
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
        location /var { return 200 "x_y=[$http_x_y] x_under=[$http_x_under]\\n"; }
    }
  `,
  [
    get('/r404', { expect: { status: 404, body: /<hr><center>nginx<\/center>/ } }),
    get('/r502'),
    get('/eof/__eof', { close: false }),
    get('/eof/__chunked', { close: false }),
    get('/chunked/__eof', { close: false }),
    get('/nobuf/__chunked'),
    get('/nobuf/__eof'),
    get('/nobuf/__headers'),
    raw('underscores_in_headers on, ignore_invalid_headers off', 'GET /h HTTP/1.1\r\nHost: localhost\r\nX_Under: u\r\nX@At: a\r\nConnection: close\r\n\r\n', { port: 'PORT2' }),
    raw('underscore header as a variable', 'GET /var HTTP/1.1\r\nHost: localhost\r\nX_Under: u\r\nX-Y: dash\r\nConnection: close\r\n\r\n', { port: 'PORT2' }),
  ],
);
