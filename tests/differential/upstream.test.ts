/** Upstream keepalive, next-upstream retries, timeouts inherited from http level. */
import { differential, get } from './harness.js';

differential(
  'upstream keepalive connection reuse',
  `
    upstream ka {
        server 127.0.0.1:{{BACKEND}};
        keepalive 4;
    }
    server {
        listen 127.0.0.1:{{PORT}};
        location /ka/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://ka;
        }
        location /ka10/ { proxy_pass http://ka; }
    }
  `,
  [
    get('/ka/1', { expect: { body: /"seq":1,.*"version":"HTTP\/1.1","headers":\[\["Host","ka"\]\]/ } }),
    get('/ka/2', { expect: { body: /"seq":2,/ } }),
    get('/ka/3'),
    get('/ka/__eof'),
    get('/ka/4'),
    get('/ka10/1'),
    get('/ka/5'),
  ],
);

differential(
  'proxy_next_upstream',
  `
    # max_fails=0: no failure accounting, so every request tries both servers afresh
    upstream pair {
        server 127.0.0.1:{{BACKEND}} max_fails=0;
        server 127.0.0.1:{{BACKEND2}} max_fails=0;
    }
    # default max_fails=1 fail_timeout=10s: a server that failed is skipped for 10s
    upstream fragile {
        server 127.0.0.1:{{BACKEND}};
        server 127.0.0.1:{{BACKEND2}};
    }
    upstream single { server 127.0.0.1:{{BACKEND}}; }
    upstream dead_first {
        server 127.0.0.1:{{DEAD}};
        server 127.0.0.1:{{BACKEND}};
    }
    server {
        listen 127.0.0.1:{{PORT}};
        location /retry500/ {
            proxy_next_upstream error timeout http_500;
            proxy_pass http://pair;
        }
        location /retry404/ {
            proxy_next_upstream http_404;
            proxy_pass http://pair;
        }
        location /retry-nonidem/ {
            proxy_next_upstream error timeout http_500 non_idempotent;
            proxy_pass http://pair;
        }
        location /tries1/ {
            proxy_next_upstream error timeout http_500;
            proxy_next_upstream_tries 1;
            proxy_pass http://pair;
        }
        location /off/ {
            proxy_next_upstream off;
            proxy_pass http://dead_first;
        }
        location /fragile/ {
            proxy_next_upstream error timeout http_500;
            proxy_pass http://fragile;
        }
        location /close/ { proxy_pass http://single; }
    }
  `,
  [
    get('/retry500/__status/500', { expect: { status: 500, backend: 2 } }),
    get('/retry500/__status/500', { name: 'POST is not retried on http_500', method: 'POST', body: 'p', expect: { backend: 1 } }),
    get('/retry-nonidem/__status/500', { name: 'POST with non_idempotent is retried', method: 'POST', body: 'p' }),
    get('/retry404/__status/404'),
    get('/tries1/__status/500'),
    get('/off/x', { expect: { status: 502 } }),
    get('/off/y'),
    get('/close/__close', { expect: { status: 502, backend: 1 } }),
    get('/close/after-close', { name: 'single server is still tried after a failure', expect: { status: 200 } }),
    get('/fragile/__status/500', { expect: { status: 500, backend: 2 } }),
    // The failed first attempt counts against B1 (max_fails=1); the final 500 from B2 does not.
    get('/fragile/x', { name: 'server that failed with http_500 is skipped', expect: { status: 200, backend: 1, body: /"backend":"B2"/ } }),
    get('/fragile/y', { name: 'and stays skipped within fail_timeout', expect: { body: /"backend":"B2"/ } }),
  ],
);

differential(
  'proxy timeouts and headers inherited from the http level',
  `
    proxy_read_timeout 1s;
    proxy_set_header X-From-Http "http-level";
    proxy_http_version 1.1;
    server {
        listen 127.0.0.1:{{PORT}};
        location / { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /longer/ { proxy_read_timeout 3s; proxy_pass http://127.0.0.1:{{BACKEND}}; }
    }
  `,
  [
    get('/x', { expect: { body: /"version":"HTTP\/1.1".*\["X-From-Http","http-level"\]/ } }),
    get('/__slow/1500', { expect: { status: 504 }, send: { timeoutMs: 8000 } }),
    get('/longer/__slow/1500', { expect: { status: 200 }, send: { timeoutMs: 8000 } }),
  ],
);
