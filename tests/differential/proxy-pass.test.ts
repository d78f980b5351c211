/** proxy_pass URI mapping, variables, upstream groups, request bodies. */
import { differential, get } from './harness.js';

differential(
  'proxy_pass URI forms',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name front.test;
        location /noruri/ { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /slash/ { proxy_pass http://127.0.0.1:{{BACKEND}}/; }
        location /v1/ { proxy_pass http://127.0.0.1:{{BACKEND}}/v2/; }
        location /noslash { proxy_pass http://127.0.0.1:{{BACKEND}}/target; }
        location /rw/ {
            rewrite ^/rw/(.*)$ /rewritten/$1 break;
            proxy_pass http://127.0.0.1:{{BACKEND}}/ignored/;
        }
        location /rwargs/ {
            rewrite ^/rwargs/(.*)$ /rewritten/$1?added=1 break;
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
        location ~ ^/regex/(.*)$ { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location ~ ^/regexvar/(.*)$ { proxy_pass http://127.0.0.1:{{BACKEND}}/captured/$1$is_args$args; }
    }
  `,
  [
    get('/noruri/a/b?x=1', { expect: { status: 200, backend: 1, body: /"target":"\/noruri\/a\/b\?x=1"/ } }),
    get('/noruri/a%20b/%2F/../c'),
    get('/noruri//double'),
    get('/slash/a/b?x=1', { expect: { body: /"target":"\/a\/b\?x=1"/ } }),
    get('/slash/a%20b%2Fc?q=%20'),
    get('/slash/'),
    get('/slash//x'),
    get('/v1/users?id=7', { expect: { body: /"target":"\/v2\/users\?id=7"/ } }),
    get('/v1/'),
    get('/v1/caf%C3%A9/a+b'),
    get('/noslash'),
    get('/noslash/x'),
    get('/noslashes-and-more'),
    get('/rw/x?y=1', { expect: { body: /"target":"\/rewritten\/x\?y=1"/ } }),
    get('/rw/a%20b'),
    get('/rwargs/x?y=1'),
    get('/regex/a?b=1'),
    get('/regexvar/a%20b?c=1'),
  ],
);

differential(
  'proxy_pass with variables',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /reqvar/ { proxy_pass http://127.0.0.1:{{BACKEND}}$request_uri; }
        location /urivar/ { proxy_pass http://127.0.0.1:{{BACKEND}}$uri; }
        location /setvar/ {
            set $u http://127.0.0.1:{{BACKEND}}/from-set$uri$is_args$args;
            proxy_pass $u;
        }
        location /hostvar/ {
            set $b 127.0.0.1:{{BACKEND2}};
            proxy_pass http://$b;
        }
        location /upvar/ {
            set $g group;
            proxy_pass http://$g;
        }
    }
    upstream group { server 127.0.0.1:{{BACKEND}}; }
  `,
  [
    get('/reqvar/a%20b//c?x=1', { expect: { body: /"target":"\/reqvar\/a%20b\/\/c\?x=1"/ } }),
    get('/urivar/a%20b?x=1'),
    get('/setvar/p?q=2', { expect: { body: /"target":"\/from-set\/setvar\/p\?q=2"/ } }),
    get('/hostvar/x?y=1', { expect: { body: /"backend":"B2"/ } }),
    get('/upvar/x'),
  ],
);

differential(
  'upstream groups',
  `
    upstream rr {
        server 127.0.0.1:{{BACKEND}};
        server 127.0.0.1:{{BACKEND2}};
    }
    upstream weighted {
        server 127.0.0.1:{{BACKEND}} weight=2;
        server 127.0.0.1:{{BACKEND2}};
    }
    upstream with_dead {
        server 127.0.0.1:{{DEAD}};
        server 127.0.0.1:{{BACKEND2}};
    }
    upstream only_dead {
        server 127.0.0.1:{{DEAD}};
    }
    upstream with_backup {
        server 127.0.0.1:{{DEAD}};
        server 127.0.0.1:{{BACKEND}} backup;
    }
    server {
        listen 127.0.0.1:{{PORT}};
        location /rr/ { proxy_pass http://rr; }
        location /weighted/ { proxy_pass http://weighted; }
        location /dead/ { proxy_pass http://with_dead; }
        location /only-dead/ { proxy_pass http://only_dead; }
        location /backup/ { proxy_pass http://with_backup; }
        location /hosthdr/ { proxy_pass http://rr/base/; proxy_set_header X-Proxy-Host $proxy_host; }
    }
  `,
  [
    get('/rr/1', { expect: { body: /"backend":"B1".*"Host","rr"/ } }),
    get('/rr/2', { expect: { body: /"backend":"B2"/ } }),
    get('/rr/3'),
    get('/weighted/1'),
    get('/weighted/2'),
    get('/weighted/3'),
    get('/weighted/4'),
    get('/dead/1', { expect: { status: 200, body: /"backend":"B2"/ } }),
    get('/dead/2'),
    get('/only-dead/1', { expect: { status: 502 } }),
    get('/only-dead/2'),
    get('/backup/1', { expect: { status: 200, body: /"backend":"B1"/ } }),
    get('/hosthdr/x'),
  ],
);

const big = 'b'.repeat(20_000);

differential(
  'request bodies',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location / { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /h11/ { proxy_http_version 1.1; proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /unbuffered/ {
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
        location /unbuffered10/ {
            proxy_request_buffering off;
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
    }
  `,
  [
    get('/post', { method: 'POST', body: 'a=1&b=2', headers: [['Content-Type', 'application/x-www-form-urlencoded']], expect: { body: /"body":"a=1&b=2"/ } }),
    get('/put', { method: 'PUT', body: '' }),
    get('/chunked', {
      method: 'POST',
      headers: [['Transfer-Encoding', 'chunked']],
      body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      expect: { body: /"Content-Length","11".*"body":"hello world"/ },
    }),
    get('/chunked-ext-trailer', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: '3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n' }),
    get('/h11/chunked', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: '5\r\nhello\r\n0\r\n\r\n' }),
    get('/unbuffered/chunked', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: '5\r\nhello\r\n0\r\n\r\n' }),
    get('/unbuffered/length', { method: 'POST', body: 'hello' }),
    get('/unbuffered10/chunked', { method: 'POST', headers: [['Transfer-Encoding', 'chunked']], body: '5\r\nhello\r\n0\r\n\r\n' }),
    // The body arrives after the head, so nginx cannot know its length when it connects upstream.
    get('/unbuffered/late', {
      name: 'unbuffered chunked body arriving late (HTTP/1.1 upstream)',
      method: 'POST',
      headers: [['Transfer-Encoding', 'chunked']],
      body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      send: { splitAt: ['head', 'head+10'], splitDelayMs: 150 },
    }),
    get('/unbuffered10/late', {
      name: 'unbuffered chunked body arriving late (HTTP/1.0 upstream)',
      method: 'POST',
      headers: [['Transfer-Encoding', 'chunked']],
      body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      send: { splitAt: ['head', 'head+10'], splitDelayMs: 150 },
    }),
    get('/unbuffered/late-length', {
      name: 'unbuffered Content-Length body arriving late',
      method: 'POST',
      body: 'hello world',
      send: { splitAt: ['head'], splitDelayMs: 150 },
    }),
    get('/big', { method: 'POST', body: big, expect: { status: 200, body: new RegExp(`"body":"${big}"`) } }),
    get('/split', {
      name: 'POST body arriving in pieces',
      method: 'POST',
      body: '0123456789',
      send: { splitAt: [40, 'head+5'], splitDelayMs: 100 },
    }),
    get('/get-with-body', { method: 'GET', body: 'unusual' }),
  ],
);

differential(
  'proxy_pass inside if, and in nested locations',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /switch/ {
            if ($arg_b = 2) { proxy_pass http://127.0.0.1:{{BACKEND2}}; }
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
        location /outer/ {
            proxy_set_header X-Outer "1";
            location /outer/inner/ { proxy_pass http://127.0.0.1:{{BACKEND}}/in/; }
            location ~ \\.json$ { proxy_pass http://127.0.0.1:{{BACKEND2}}; }
            proxy_pass http://127.0.0.1:{{BACKEND}}/out/;
        }
    }
  `,
  [
    get('/switch/x?b=1', { expect: { body: /"backend":"B1"/ } }),
    get('/switch/x?b=2', { expect: { body: /"backend":"B2".*"target":"\/switch\/x\?b=2"/ } }),
    get('/outer/x'),
    get('/outer/inner/y'),
    get('/outer/z.json'),
  ],
);
