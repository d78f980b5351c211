/** Request and response headers through proxy_pass. */
import { differential, get, raw } from './harness.js';

const B = 'http://127.0.0.1:{{BACKEND}}';

differential(
  'proxy_set_header inheritance, empty values, pass_request_headers/body, method, version',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name hdr.test;
        proxy_set_header X-Server-Level "server";
        location /inherit/ { proxy_pass ${B}; }
        location /override/ {
            proxy_set_header X-Loc "loc $host";
            proxy_pass ${B};
        }
        location /empty/ {
            proxy_set_header User-Agent "";
            proxy_set_header Accept-Encoding "";
            proxy_set_header X-Server-Level "";
            proxy_pass ${B};
        }
        location /std/ {
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Http-Host $http_host;
            proxy_pass ${B};
        }
        location /hostport/ {
            proxy_set_header Host $host:$server_port;
            proxy_pass ${B};
        }
        location /nohdrs/ { proxy_pass_request_headers off; proxy_pass ${B}; }
        location /nobody/ { proxy_pass_request_body off; proxy_pass ${B}; }
        location /nobody-nolen/ {
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass ${B};
        }
        location /method/ { proxy_method PUT; proxy_pass ${B}; }
        location /h11/ { proxy_http_version 1.1; proxy_pass ${B}; }
        location /conn/ { proxy_set_header Connection "upgrade"; proxy_set_header Upgrade $http_upgrade; proxy_http_version 1.1; proxy_pass ${B}; }
        location /dup/ {
            proxy_set_header X-Dup "first";
            proxy_set_header X-Dup "second";
            proxy_pass ${B};
        }
    }
  `,
  [
    get('/inherit/', { headers: [['User-Agent', 'ua'], ['Accept', '*/*']], expect: { body: /\["X-Server-Level","server"\]/ } }),
    get('/override/', { host: 'hdr.test', expect: { body: /^(?!.*X-Server-Level).*\["X-Loc","loc hdr.test"\]/ } }),
    get('/empty/', { headers: [['User-Agent', 'ua'], ['Accept-Encoding', 'gzip'], ['X-Keep', 'k']] }),
    get('/std/', { host: 'Hdr.Test:8080' }),
    get('/std/', { host: 'hdr.test', headers: [['X-Forwarded-For', '10.0.0.1, 10.0.0.2']] }),
    get('/std/', { version: 'HTTP/1.0', host: null, close: false, headers: [['X-Forwarded-For', 'a'], ['X-Forwarded-For', 'b']] }),
    get('/hostport/', { host: 'hdr.test:1234' }),
    get('/nohdrs/', { headers: [['User-Agent', 'ua'], ['Cookie', 'a=1']] }),
    get('/nobody/', { method: 'POST', body: 'dropped body' }),
    get('/nobody-nolen/', { method: 'POST', body: 'dropped body' }),
    get('/method/', { method: 'POST', body: 'x=1' }),
    get('/method/', { method: 'HEAD' }),
    get('/h11/', { headers: [['Connection', 'keep-alive']], close: false }),
    get('/conn/', { headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade']], close: false }),
    get('/dup/'),
  ],
);

differential(
  'hop-by-hop request headers',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location / { proxy_pass ${B}; }
        location /h11/ { proxy_http_version 1.1; proxy_pass ${B}; }
    }
  `,
  [
    raw(
      'Connection-listed, TE, Keep-Alive, Upgrade, Proxy-Connection, Trailer',
      'GET /hop HTTP/1.1\r\nHost: localhost\r\nConnection: close, X-Private\r\nX-Private: secret\r\nTE: trailers, gzip\r\nKeep-Alive: 300\r\n' +
        'Upgrade: h2c\r\nProxy-Connection: keep-alive\r\nTrailer: X-T\r\nExpect: 100-continue\r\nX-End: 1\r\n\r\n',
    ),
    raw(
      'same through proxy_http_version 1.1',
      'GET /h11/hop HTTP/1.1\r\nHost: localhost\r\nConnection: close, X-Private\r\nX-Private: secret\r\nTE: trailers\r\nKeep-Alive: 300\r\nUpgrade: h2c\r\nX-End: 1\r\n\r\n',
    ),
    raw(
      'header case and order preserved, duplicates kept',
      'GET /order HTTP/1.1\r\nhOsT: localhost\r\nx-lower: 1\r\nX-UPPER: 2\r\nX-Multi: a\r\nAccept: */*\r\nX-Multi: b\r\nconnection: close\r\n\r\n',
    ),
    raw(
      'underscore and invalid header names are dropped',
      'GET /invalid HTTP/1.1\r\nHost: localhost\r\nX_Under: u\r\nX@At: a\r\nX.Dot: d\r\nX-Ok: ok\r\nConnection: close\r\n\r\n',
    ),
    raw('space inside a header name', 'GET /invalid HTTP/1.1\r\nHost: localhost\r\nX Space: s\r\nConnection: close\r\n\r\n'),
    raw('empty header value', 'GET /empty HTTP/1.1\r\nHost: localhost\r\nX-Empty:\r\nX-Spaces:   \r\nConnection: close\r\n\r\n'),
  ],
);

differential(
  'response headers from the backend: hidden, passed, Location rewriting',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name resp.test;
        location / { proxy_pass ${B}; }
        location /hide/ {
            proxy_hide_header X-Custom;
            proxy_pass_header Server;
            proxy_pass_header X-Accel-Buffering;
            proxy_pass ${B}/;
        }
        location /ignore/ {
            proxy_ignore_headers X-Accel-Expires;
            proxy_pass ${B}/;
        }
        location /app/ { proxy_pass ${B}/; }
        location /explicit/ {
            proxy_redirect http://127.0.0.1:{{BACKEND}}/redirected/ http://$host/elsewhere/;
            proxy_pass ${B}/;
        }
        location /relative/ {
            proxy_redirect http://127.0.0.1:{{BACKEND}}/ /rel/;
            proxy_pass ${B}/;
        }
        location /off/ { proxy_redirect off; proxy_pass ${B}/; }
        location ~ ^/regexloc/(.*)$ { proxy_pass ${B}/$1; }
    }
  `,
  [
    get('/__headers', { expect: { status: 200, headers: { 'x-pad': null, 'x-custom': 'custom-value', 'keep-alive': null } } }),
    get('/hide/__headers', { expect: { headers: { 'x-custom': null, 'x-accel-buffering': 'no' } } }),
    get('/ignore/__headers'),
    get('/__headers', { name: 'HEAD /__headers', method: 'HEAD' }),
    get('/__chunked'),
    get('/__eof'),
    get('/__eof', { name: 'GET /__eof HTTP/1.0', version: 'HTTP/1.0', close: false }),
    get('/__chunked', { name: 'GET /__chunked HTTP/1.0', version: 'HTTP/1.0', close: false }),
    get('/__status/204'),
    get('/__status/304'),
    get('/__status/201'),
    get('/__status/418'),
    get('/__redirect', { host: 'resp.test' }),
    get('/app/__redirect', { host: 'resp.test', expect: { status: 302, headers: { location: 'http://resp.test:{{PORT}}/app/redirected/' } } }),
    get('/explicit/__redirect', { host: 'resp.test' }),
    get('/relative/__redirect', { host: 'resp.test' }),
    get('/off/__redirect', { expect: { headers: { location: 'http://127.0.0.1:{{BACKEND}}/redirected/' } } }),
    get('/regexloc/__redirect'),
  ],
);
