/** Error statuses and error_page handling. */
import { differential, get, raw } from './harness.js';

const B = 'http://127.0.0.1:{{BACKEND}}';

differential(
  'client errors: 413, 414, 494, 405, bad request lines',
  `
    large_client_header_buffers 4 1k;
    server {
        listen 127.0.0.1:{{PORT}};
        client_max_body_size 100;
        location / { return 200 "ok\\n"; }
        location /proxied/ { proxy_pass ${B}/; }
        location /big/ { client_max_body_size 1k; proxy_pass ${B}/; }
        location /unlimited/ { client_max_body_size 0; proxy_pass ${B}/; }
        location /static/ { root html; }
    }
  `,
  [
    get('/proxied/', { method: 'POST', body: 'x'.repeat(101), expect: { status: 413, backend: 0 } }),
    get('/proxied/', { name: 'POST exactly client_max_body_size', method: 'POST', body: 'x'.repeat(100), expect: { status: 200 } }),
    get('/', { name: 'POST too large to a return location', method: 'POST', body: 'x'.repeat(101) }),
    get('/proxied/', {
      name: 'chunked body over the limit',
      method: 'POST',
      headers: [['Transfer-Encoding', 'chunked']],
      body: '80\r\n' + 'y'.repeat(128) + '\r\n0\r\n\r\n',
    }),
    get('/big/', { name: 'location-level larger limit', method: 'POST', body: 'z'.repeat(500) }),
    get('/unlimited/', { name: 'client_max_body_size 0', method: 'POST', body: 'z'.repeat(5000) }),
    get('/proxied/', { name: 'declared length over the limit, no body sent', method: 'POST', headers: [['Content-Length', '1000000']] }),
    get('/' + 'u'.repeat(1100), { name: 'URI longer than the header buffer (414)', expect: { status: 414 } }),
    get('/' + 'u'.repeat(900), { name: 'URI within the header buffer' }),
    get('/', { name: 'header line longer than the buffer (494 -> 400)', headers: [['X-Long', 'v'.repeat(1100)]], expect: { status: 400 } }),
    get('/', { name: 'cookie longer than the buffer', headers: [['Cookie', 'c=' + 'v'.repeat(1100)]] }),
    get('/', { name: 'headers larger than all buffers', headers: Array.from({ length: 6 }, (_, i): [string, string] => [`X-H${i}`, 'h'.repeat(900)]) }),
    get('/static/app.js', { method: 'POST', body: 'x', expect: { status: 405 } }),
    get('/static/app.js', { method: 'DELETE' }),
    get('/static/app.js', { method: 'OPTIONS' }),
    get('/', { method: 'TRACE' }),
    get('/', { method: 'OPTIONS' }),
    raw('garbage request line', 'GARBAGE\r\n\r\n', { expect: { status: 400 } }),
    raw('lowercase http version', 'GET / http/1.1\r\nHost: localhost\r\n\r\n'),
    raw('HTTP/2.0 request line', 'GET / HTTP/2.0\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('HTTP/1.2 request line', 'GET / HTTP/1.2\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('HTTP/3.0 request line', 'GET / HTTP/3.0\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('version with leading zeros', 'GET / HTTP/01.01\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('HTTP/0.9 simple request', 'GET /\r\n'),
    raw('HTTP/0.9 to a 404', 'GET /static/missing\r\n'),
    raw('bare LF line endings', 'GET / HTTP/1.1\nHost: localhost\nConnection: close\n\n'),
    raw('leading empty lines', '\r\n\r\nGET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    raw('header without colon', 'GET / HTTP/1.1\r\nHost: localhost\r\nNoColon\r\nConnection: close\r\n\r\n'),
    raw('obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: localhost\r\nX-A: one\r\n two\r\nConnection: close\r\n\r\n'),
    raw('space before colon', 'GET / HTTP/1.1\r\nHost: localhost\r\nX-A : v\r\nConnection: close\r\n\r\n'),
    raw('NUL in header value', 'GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n'),
    raw('Content-Length and Transfer-Encoding', 'POST /proxied/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    raw('unsupported Transfer-Encoding', 'POST /proxied/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n'),
    raw('Transfer-Encoding on HTTP/1.0', 'POST /proxied/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    raw('invalid Content-Length', 'POST /proxied/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\nConnection: close\r\n\r\n'),
    raw('duplicate Content-Length', 'POST /proxied/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx'),
    raw('bad chunk size', 'POST /proxied/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'),
  ],
);

differential(
  'server errors: 500, 502, 504',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /r500 { return 500; }
        location /dead/ { proxy_pass http://127.0.0.1:{{DEAD}}; }
        location /close/ { proxy_pass ${B}; }
        location /slow/ { proxy_read_timeout 1s; proxy_pass ${B}; }
        location /fast-enough/ { proxy_read_timeout 3s; proxy_pass ${B}; }
        location /backend-500/ { proxy_pass ${B}/; }
    }
  `,
  [
    get('/r500', { expect: { status: 500 } }),
    get('/dead/x', { expect: { status: 502, backend: 0 } }),
    get('/close/__close', { expect: { status: 502, backend: 1 } }),
    get('/slow/__slow/2500', { expect: { status: 504 }, send: { timeoutMs: 8000 } }),
    get('/fast-enough/__slow/300'),
    get('/backend-500/__status/500', { expect: { status: 500, body: /"backend":"B1"/ } }),
    get('/backend-500/__status/503'),
    get('/dead/x', { name: 'HEAD to a dead backend', method: 'HEAD' }),
  ],
);

differential(
  'error_page: URI, named location, =code, redirect, proxy_intercept_errors',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ep.test;
        root html;
        error_page 404 /404.html;
        error_page 500 502 503 504 /50x.html;
        location = /404.html { internal; }
        location = /50x.html { }
        location /missing/ { }
        location /r500 { return 500; }
        location /r503 { return 503 "custom text is replaced\\n"; }
        location /eq {
            error_page 404 = /fallback$is_args$args;
            return 404;
        }
        location /eq-code {
            error_page 404 =200 /404.html;
            return 404;
        }
        location /eq-named {
            error_page 404 = @named;
            return 404;
        }
        location /eq-named-code {
            error_page 404 =299 @named;
            return 404;
        }
        location /to-url {
            error_page 404 http://example.com/notfound;
            return 404;
        }
        location /to-url-301 {
            error_page 404 =301 http://example.com/moved;
            return 404;
        }
        location /fallback { return 200 "fallback uri=$uri args=$args\\n"; }
        location @named { return 200 "named status=$status uri=$uri\\n"; }
        location /dead/ { proxy_pass http://127.0.0.1:{{DEAD}}; }
        location /intercept/ {
            proxy_intercept_errors on;
            error_page 404 = @backend404;
            proxy_pass ${B}/;
        }
        location /intercept-default/ {
            proxy_intercept_errors on;
            proxy_pass ${B}/;
        }
        location /no-intercept/ { proxy_pass ${B}/; }
        location @backend404 { return 200 "intercepted 404, uri=$uri\\n"; }
        location /internal-only { internal; return 200 "never\\n"; }
        location /loc-override {
            error_page 404 /fallback;
            location /loc-override/inner { return 404; }
        }
    }
  `,
  [
    get('/missing/x', { expect: { status: 404, body: '<h1>custom 404</h1>\n' } }),
    get('/404.html', { name: 'GET /404.html (internal location)' }),
    get('/r500', { expect: { status: 500, body: '<h1>custom 50x</h1>\n' } }),
    get('/r503'),
    get('/eq?a=1', { expect: { status: 200, body: 'fallback uri=/fallback args=a=1\n' } }),
    get('/eq-code'),
    get('/eq-named'),
    get('/eq-named-code'),
    get('/to-url', { expect: { status: 302, headers: { location: 'http://example.com/notfound' } } }),
    get('/to-url-301'),
    get('/dead/x', { expect: { status: 502, body: '<h1>custom 50x</h1>\n' } }),
    get('/intercept/__status/404', { expect: { status: 200, backend: 1 } }),
    get('/intercept/__status/500'),
    get('/intercept/__status/400'),
    get('/intercept-default/__status/404'),
    get('/no-intercept/__status/404', { expect: { status: 404, body: /"backend":"B1"/ } }),
    get('/no-intercept/__status/502'),
    get('/internal-only'),
    get('/loc-override/inner'),
    get('/missing/x', { name: 'HEAD /missing/x', method: 'HEAD' }),
  ],
);

differential(
  'recursive_error_pages',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        root html;
        location /off/ {
            error_page 404 /off-handler;
            return 404;
        }
        location /off-handler {
            error_page 404 = @second;
            return 404;
        }
        location /on/ {
            recursive_error_pages on;
            error_page 404 /on-handler;
            return 404;
        }
        location /on-handler {
            recursive_error_pages on;
            error_page 404 = @second;
            return 404;
        }
        location /loop/ {
            recursive_error_pages on;
            error_page 404 /loop/again;
            return 404;
        }
        location @second { return 200 "second handler\\n"; }
    }
  `,
  [
    get('/off/x', { expect: { status: 404 } }),
    get('/on/x', { expect: { status: 200, body: 'second handler\n' } }),
    get('/loop/x'),
  ],
);

differential(
  'error_page inheritance (http > server > location), access control, limit_except',
  `
    error_page 404 /http-404;
    server {
        listen 127.0.0.1:{{PORT}};
        location /http-404 { return 200 "http-level handler for $request_uri\\n"; }
        location /missing/ { return 404; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        error_page 404 /server-404;
        location /server-404 { return 200 "server-level handler\\n"; }
        location /missing/ { return 404; }
        location /own/ {
            error_page 403 /loc-403;
            return 404;
        }
        location /loc-403 { return 200 "location handler\\n"; }
        location /denied-return/ { deny all; return 200 "return runs before the access phase\\n"; }
        location /denied/ { deny all; proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /allowed/ { allow 127.0.0.1; deny all; return 200 "allowed\\n"; }
        location /limited/ {
            limit_except GET { deny all; }
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
    }
  `,
  [
    get('/missing/x', { expect: { status: 404, body: 'http-level handler for /missing/x\n' } }),
    get('/missing/x', { port: 'PORT2' }),
    get('/own/x', { port: 'PORT2', expect: { status: 404 } }),
    get('/denied-return/', { port: 'PORT2', expect: { status: 200 } }),
    get('/denied/', { port: 'PORT2', expect: { status: 403, backend: 0 } }),
    get('/allowed/', { port: 'PORT2' }),
    get('/limited/', { port: 'PORT2', expect: { status: 200 } }),
    get('/limited/', { port: 'PORT2', method: 'HEAD' }),
    get('/limited/', { port: 'PORT2', method: 'POST', body: 'x', expect: { status: 403, backend: 0 } }),
  ],
);
