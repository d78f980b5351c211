/** HTTP/1.x connection handling: HEAD, keep-alive, pipelining, HTTP/1.0, Expect. */
import { differential, get, raw } from './harness.js';

const B = 'http://127.0.0.1:{{BACKEND}}';

differential(
  'HEAD requests',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        root html;
        location /ret { return 200 "body that HEAD must not get\\n"; }
        location /ret404 { return 404; }
        location /redir { return 301 /elsewhere; }
        location /proxied/ { proxy_pass ${B}/; }
        location /static/ { }
    }
  `,
  [
    get('/ret', { method: 'HEAD', expect: { status: 200, body: '', headers: { 'content-length': '28' } } }),
    get('/ret404', { method: 'HEAD' }),
    get('/redir', { method: 'HEAD' }),
    get('/proxied/x', { method: 'HEAD', expect: { backend: 1 } }),
    get('/proxied/__chunked', { method: 'HEAD' }),
    get('/static/app.js', { method: 'HEAD' }),
    get('/static/', { method: 'HEAD' }),
    get('/ret', { method: 'HEAD', version: 'HTTP/1.0', host: null, close: false }),
  ],
);

differential(
  'keep-alive, pipelining, HTTP/1.0',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        keepalive_timeout 30s;
        location /a { return 200 "A $request_method $server_protocol\\n"; }
        location /b { return 200 "B $request_method $server_protocol\\n"; }
        location /proxied/ { proxy_pass ${B}/; }
        location /nobody { return 204; }
        location /small { client_max_body_size 2; return 200 "small\n"; }
        location /gone { return 404; }
        location /gone-text { return 404 "not here\n"; }
        location /moved { return 302 /a; }
        location /dead { proxy_pass http://127.0.0.1:9; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        keepalive_timeout 0;
        location / { return 200 "keepalive disabled\\n"; }
    }
    server {
        listen 127.0.0.1:{{PORT3}};
        keepalive_requests 2;
        location / { return 200 "req $uri\\n"; }
    }
  `,
  [
    get('/a', { name: 'HTTP/1.1 without Connection: close stays open', close: false, expect: { closed: false, headers: { connection: 'keep-alive' } } }),
    get('/a', { version: 'HTTP/1.0', host: null, close: false, expect: { closed: true } }),
    get('/a', { name: 'HTTP/1.0 keep-alive', version: 'HTTP/1.0', host: null, close: false, headers: [['Connection', 'keep-alive']], expect: { closed: false } }),
    get('/a', { name: 'Connection: Close (mixed case)', close: false, headers: [['Connection', 'Close']] }),
    get('/a', { name: 'Connection: keep-alive, close', close: false, headers: [['Connection', 'keep-alive, close']] }),
    get('/proxied/', { name: 'proxied HTTP/1.0 keep-alive', version: 'HTTP/1.0', host: null, close: false, headers: [['Connection', 'keep-alive']] }),
    get('/proxied/__chunked', { name: 'proxied chunked to HTTP/1.0 keep-alive', version: 'HTTP/1.0', host: null, close: false, headers: [['Connection', 'keep-alive']] }),
    raw('two pipelined requests', 'GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', {
      send: { responses: 2 },
      expect: { closed: true },
    }),
    raw('pipelined HEAD then GET', 'HEAD /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', {
      send: { responses: 2 },
    }),
    raw(
      'pipelined POST with body then GET',
      'POST /proxied/p HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      { send: { responses: 2 } },
    ),
    raw(
      'body ignored by return, next request still parsed',
      'POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      { send: { responses: 2 } },
    ),
    raw(
      'chunked body dropped by return, next request still parsed',
      'POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      { send: { responses: 2 } },
    ),
    raw(
      'chunked body arriving after the answer of a return, then the next request',
      'POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      { send: { responses: 2, splitAt: ['head'], splitDelayMs: 200 } },
    ),
    raw(
      'malformed chunked body dropped by return',
      'POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\n\r\n',
      { send: { responses: 2, splitAt: ['head'], splitDelayMs: 200 } },
    ),
    raw('CONNECT with a body: answered, the body read and dropped, then closed', 'CONNECT /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc', {
      send: { splitAt: ['head'], splitDelayMs: 200 },
      expect: { closed: true },
    }),
    raw('Content-Length with Transfer-Encoding: 400, the declared body waited for', 'POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc', {
      send: { splitAt: ['head'], splitDelayMs: 200 },
      expect: { closed: true },
    }),
    raw('TRACE with a chunked body', 'TRACE /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', {
      send: { splitAt: ['head'], splitDelayMs: 200 },
      expect: { closed: true },
    }),
    raw('pipelined bad request after a good one', 'GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nBAD\r\n\r\n', { send: { responses: 2 } }),
    get('/x', { name: 'keepalive_timeout 0', port: 'PORT2', close: false, expect: { closed: true } }),
    raw('keepalive_requests 2', 'GET /1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /3 HTTP/1.1\r\nHost: localhost\r\n\r\n', {
      port: 'PORT3',
      send: { responses: 3 },
    }),
    raw(
      'Expect: 100-continue, body sent after the interim response',
      'POST /proxied/e HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody',
      { send: { splitAt: ['head'], splitDelayMs: 300 } },
    ),
    raw('Expect: 100-continue to a return location', 'POST /a HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody'),
    // nginx sends "100 Continue" when it reads or drops the body, never before one of its own error pages
    raw('Expect: 100-continue, body over client_max_body_size (413)', 'POST /small HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n', {
      send: { responses: 1 },
    }),
    raw('Expect: 100-continue to return 404', 'POST /gone HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n', {
      send: { responses: 1 },
    }),
    raw('Expect: 100-continue to return 404 with a text', 'POST /gone-text HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n', {
      send: { responses: 1 },
    }),
    raw('Expect: 100-continue to return 302', 'POST /moved HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n', {
      send: { responses: 1 },
    }),
    raw('Expect: 100-continue to an upstream that refuses (502)', 'POST /dead HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody'),
    raw('unknown Expect value', 'POST /proxied/e HTTP/1.1\r\nHost: localhost\r\nExpect: something\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody'),
    get('/nobody', { close: false }),
  ],
);

const KT_FIRST = 'GET /1 HTTP/1.1\r\nHost: localhost\r\n\r\n';

differential(
  'keepalive_time and the Keep-Alive header',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        keepalive_timeout 30s 25s;
        location / { return 200 "ka\\n"; }
        location /plain { keepalive_timeout 30s; return 200 "plain\\n"; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        keepalive_time 1s;
        location / { return 200 "kt $connection_requests\\n"; }
    }
  `,
  [
    get('/', { name: 'keepalive_timeout 30s 25s: Keep-Alive: timeout=25', close: false, expect: { headers: { 'keep-alive': 'timeout=25' } } }),
    get('/', { name: 'no Keep-Alive header when the connection closes' }),
    get('/plain', { name: 'a location without the second value sends none', close: false }),
    raw('keepalive_time 1s: a request on an older connection gets Connection: close', KT_FIRST + 'GET /2 HTTP/1.1\r\nHost: localhost\r\n\r\n', {
      port: 'PORT2',
      send: { responses: 2, splitAt: [KT_FIRST.length], splitDelayMs: 1300 },
    }),
  ],
);

const BROKEN = 'Transfer-Encoding: chunked\r\n\r\nzz\r\n';

differential(
  'a malformed chunked body that came with the head: nginx answers as the handler meets it',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        root html;
        location / { return 200 "ok\\n"; }
        location /r404 { return 404; }
        location /r302 { return 302 /x; }
        location /p/ { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /int { internal; }
        location /static/ { }
    }
  `,
  [
    raw('return 200: the body is dropped first, 400', `POST / HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('return 404: nginx\'s page, then the close', `POST /r404 HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('return 302: the body is dropped first, 400', `POST /r302 HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('the implicit 301 of a proxied prefix', `POST /p HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('proxied: the body is read, 400', `POST /p/x HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('internal location: 404', `POST /int HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('a static file that does not exist: 404', `GET /static/none HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('a static file that exists: the body is dropped first, 400', `GET /static/app.js HTTP/1.1\r\nHost: localhost\r\n${BROKEN}`),
    raw('Expect: 100-continue, proxied', `POST /p/x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n${BROKEN}`),
    raw('Expect: 100-continue, return 404', `POST /r404 HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n${BROKEN}`),
  ],
);
