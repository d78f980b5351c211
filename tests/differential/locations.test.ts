/** Location matching: =, ^~, longest prefix, regex order, nesting, named locations, captures. */
import { differential, get } from './harness.js';

differential(
  'location modifiers and precedence',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location = / { return 200 "A exact-root\\n"; }
        location / { return 200 "B prefix-root\\n"; }
        location /documents/ { return 200 "C documents\\n"; }
        location /documents/archive/ { return 200 "C2 longer-prefix\\n"; }
        location ^~ /images/ { return 200 "D caret-images\\n"; }
        location ~* \\.(gif|jpg|jpeg)$ { return 200 "E regex-ci-image $1\\n"; }
        location ~ \\.jpg$ { return 200 "F never-reached\\n"; }
        location ~ ^/documents/.*\\.pdf$ { return 200 "G regex-pdf\\n"; }
        location = /exact { return 200 "H exact\\n"; }
        location /exact { return 200 "I prefix-exact\\n"; }
        location ~ ^/CaseSensitive$ { return 200 "J case-sensitive regex\\n"; }
    }
  `,
  [
    get('/', { expect: { body: 'A exact-root\n' } }),
    get('/index.html'),
    get('/documents/document.html', { expect: { body: 'C documents\n' } }),
    get('/documents/archive/x'),
    get('/documents/a.pdf', { expect: { body: 'G regex-pdf\n' } }),
    get('/documents/archive/a.pdf'),
    get('/images/1.gif', { expect: { body: 'D caret-images\n' } }),
    get('/documents/1.jpg', { expect: { body: 'E regex-ci-image jpg\n' } }),
    get('/x/1.JPG'),
    get('/exact'),
    get('/exact/'),
    get('/exactly'),
    get('/exact?x=1'),
    get('/casesensitive'),
    get('/CaseSensitive'),
    get('/%64ocuments/x.pdf', { name: 'GET /%64ocuments/x.pdf (matching uses the decoded URI)' }),
    get('/images/../documents/x.pdf', { name: 'GET /images/../documents/x.pdf (matching after normalisation)' }),
  ],
);

differential(
  'nested locations, captures, named locations via error_page',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /outer/ {
            location /outer/inner/ { return 200 "inner\\n"; }
            location ~ \\.txt$ { return 200 "outer-nested-regex\\n"; }
            return 200 "outer\\n";
        }
        location ~ ^/user/(\\d+)/(?<action>[a-z]+)$ { return 200 "user=$1 action=$action\\n"; }
        location ~ ^/two/(\\w+)/(\\w+) {
            location ~ ^/two/x/(\\w+) { return 200 "nested-capture=$1\\n"; }
            return 200 "two $1 $2\\n";
        }
        location /go-named {
            error_page 418 = @named;
            return 418;
        }
        location /go-named-code {
            error_page 418 =202 @named;
            return 418;
        }
        location @named { return 200 "named uri=$uri args=$args\\n"; }
        location ~ \\.txt$ { return 200 "top-level-regex\\n"; }
    }
  `,
  [
    get('/outer/x'),
    get('/outer/inner/y'),
    get('/outer/inner/y.txt'),
    get('/outer/a.txt', { expect: { body: 'outer-nested-regex\n' } }),
    get('/a.txt'),
    get('/user/42/edit', { expect: { body: 'user=42 action=edit\n' } }),
    get('/user/x/edit'),
    get('/two/a/b'),
    get('/two/x/zz'),
    get('/go-named?q=1', { expect: { status: 200, body: 'named uri=/go-named args=q=1\n' } }),
    get('/go-named-code'),
  ],
);

differential(
  'implicit redirect for prefix locations ending with / (proxy_pass)',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name redirect.test;
        location /api/ { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /other/ { return 200 "other\\n"; }
        location = /exact/ { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location / { return 200 "root uri=$uri\\n"; }
    }
  `,
  [
    get('/api', { host: 'redirect.test', expect: { status: 301, headers: { location: 'http://redirect.test:{{PORT}}/api/' }, backend: 0 } }),
    get('/api?x=1&y=2', { host: 'redirect.test', expect: { status: 301, headers: { location: 'http://redirect.test:{{PORT}}/api/?x=1&y=2' } } }),
    get('/api/', { expect: { status: 200, backend: 1 } }),
    get('/api/x'),
    get('/other'),
    get('/exact'),
    get('/exact/'),
    get('/api', { name: 'HEAD /api', method: 'HEAD' }),
    get('/api', { name: 'POST /api', method: 'POST', body: 'x=1' }),
    get('/api', { name: 'GET /api HTTP/1.0 without Host', version: 'HTTP/1.0', host: null, close: false }),
  ],
);

differential(
  'static files and the server root',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /only-here { return 200 "only\\n"; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        root html;
        location / { }
    }
  `,
  [
    get('/missing', { expect: { status: 404 } }),
    get('/', { expect: { status: 200, body: '<h1>index</h1>\n' } }),
    get('/file.txt', { port: 'PORT2', expect: { status: 200, body: 'plain file\n' } }),
    get('/index.html', { port: 'PORT2' }),
    get('/dir', { port: 'PORT2', expect: { status: 301 } }),
    get('/dir?x=1', { port: 'PORT2' }),
    get('/dir/', { port: 'PORT2' }),
    get('/noindex/', { port: 'PORT2', expect: { status: 403 } }),
    get('/nothing-here', { port: 'PORT2' }),
    get('/file.txt', { port: 'PORT2', name: 'POST /file.txt @PORT2', method: 'POST', body: 'x' }),
    get('/file.txt', { port: 'PORT2', name: 'HEAD /file.txt @PORT2', method: 'HEAD' }),
    get('/file.txt', { port: 'PORT2', name: 'conditional GET (If-Modified-Since)', headers: [['If-Modified-Since', 'Thu, 02 Jan 2020 03:04:05 GMT']] }),
    get('/file.txt', { port: 'PORT2', name: 'range GET', headers: [['Range', 'bytes=0-4']] }),
    get('/file.txt/', { port: 'PORT2' }),
  ],
);
