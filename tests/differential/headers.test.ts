/** add_header, expires. */
import { differential, get } from './harness.js';

differential(
  'add_header: always, inheritance, status codes, proxied responses',
  `
    add_header X-Http-Level "http";
    server {
        listen 127.0.0.1:{{PORT}};
        add_header X-Server-Level "server $host";
        add_header X-Second "two";
        location /inherit { return 200 "inherit\\n"; }
        location /own { add_header X-Loc "loc"; return 200 "own\\n"; }
        location /always {
            add_header X-Always "a" always;
            add_header X-Normal "n";
            return 404;
        }
        location /always-200 {
            add_header X-Always "a" always;
            add_header X-Normal "n";
            return 200 "ok\\n";
        }
        location /codes { add_header X-Code "$status"; return 200 "code\\n"; }
        location /c201 { add_header X-C "c"; return 201 "created\\n"; }
        location /c302 { add_header X-C "c"; return 302 /elsewhere; }
        location /c400 { add_header X-C "c"; return 400; }
        location /c204 { add_header X-C "c"; return 204; }
        location /empty-value { add_header X-Empty ""; add_header X-Var "$arg_v"; return 200 "e\\n"; }
        location /override-std {
            add_header Content-Type "text/x-custom";
            add_header Server "custom";
            add_header Cache-Control "no-store";
            return 200 "std\\n";
        }
        location /proxied/ {
            add_header X-Added "yes";
            add_header X-Added-Always "yes" always;
            proxy_pass http://127.0.0.1:{{BACKEND}}/;
        }
        location /nested {
            add_header X-Outer "outer";
            location /nested/inner { return 200 "inner\\n"; }
            location /nested/own { add_header X-Inner "inner"; return 200 "own\\n"; }
        }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        location / { return 200 "http-level only\\n"; }
    }
  `,
  [
    get('/inherit', { expect: { headers: { 'x-server-level': 'server localhost', 'x-http-level': null } } }),
    get('/own', { expect: { headers: { 'x-loc': 'loc', 'x-server-level': null } } }),
    get('/always', { expect: { status: 404, headers: { 'x-always': 'a', 'x-normal': null } } }),
    get('/always-200'),
    get('/codes'),
    get('/c201'),
    get('/c302'),
    get('/c400'),
    get('/c204'),
    get('/empty-value?v=1'),
    get('/empty-value'),
    get('/override-std'),
    get('/proxied/'),
    get('/proxied/__status/500', { expect: { status: 500, headers: { 'x-added': null, 'x-added-always': 'yes' } } }),
    get('/proxied/__status/304'),
    get('/proxied/__headers'),
    get('/nested/inner'),
    get('/nested/own'),
    get('/x', { port: 'PORT2', expect: { headers: { 'x-http-level': 'http' } } }),
  ],
);

differential(
  'expires',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /1h { expires 1h; return 200 "1h\\n"; }
        location /neg { expires -1; return 200 "neg\\n"; }
        location /epoch { expires epoch; return 200 "epoch\\n"; }
        location /max { expires max; return 200 "max\\n"; }
        location /off { expires off; return 200 "off\\n"; }
        location /zero { expires 0; return 200 "zero\\n"; }
        location /404 { expires 1h; return 404; }
        location /with-cc { expires 30s; add_header Cache-Control "private"; return 200 "cc\\n"; }
        location /static/ { root html; expires 1d; }
        location /proxied/ { expires 2m; proxy_pass http://127.0.0.1:{{BACKEND}}/; }
    }
  `,
  [
    get('/1h', { expect: { headers: { expires: '{{DATE}}+3600s', 'cache-control': 'max-age=3600' } } }),
    get('/neg'),
    get('/epoch', { expect: { headers: { expires: 'Thu, 01 Jan 1970 00:00:01 GMT' } } }),
    get('/max'),
    get('/off'),
    get('/zero'),
    get('/404'),
    get('/with-cc'),
    get('/static/app.js'),
    get('/proxied/'),
  ],
);
