/** Static files: root, alias, index, try_files, autoindex (PREFIX/html = fixtures/differential/html). */
import { differential, get } from './harness.js';

differential(
  'root, index, try_files',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        root html;
        index index.html;
        location / { try_files $uri $uri/ =404; }
        location /app/ { try_files $uri @backend; }
        location @backend { proxy_pass http://127.0.0.1:{{BACKEND}}; }
        location /fallback/ { try_files /nope.txt /file.txt; }
        location /fallback-code/ { try_files /nope.txt =418; }
        location /fallback-args/ { try_files /nope.txt /show?from=$uri; }
        location /show { return 200 "show uri=$uri args=$args\\n"; }
        location /other-index/ { alias html/dir/; index missing.html a.txt; }
    }
  `,
  [
    get('/', { expect: { status: 200, body: '<h1>index</h1>\n' } }),
    get('/file.txt'),
    get('/dir'),
    get('/dir/'),
    get('/dir/a.txt'),
    get('/nope', { expect: { status: 404 } }),
    get('/noindex/'),
    get('/app/x?y=1', { expect: { status: 200, backend: 1 } }),
    get('/fallback/x', { expect: { status: 200, body: 'plain file\n' } }),
    get('/fallback-code/x'),
    get('/fallback-args/x?orig=1'),
    get('/other-index/'),
    get('/%66ile.txt', { name: 'GET /%66ile.txt (encoded static path)' }),
    get('/file.txt?x=1'),
  ],
);

differential(
  'alias and autoindex',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        location /alias/ { alias html/dir/; }
        location /alias-file { alias html/file.txt; }
        location ~ ^/re-alias/(.*)$ { alias html/dir/$1; }
        location /listing/ { alias html/noindex/; autoindex on; }
        location /listing-json/ { alias html/; index none; autoindex on; autoindex_format json; }
        location /listing-xml/ { alias html/dir/; index none; autoindex on; autoindex_format xml; }
    }
  `,
  [
    get('/alias/a.txt', { expect: { status: 200, body: 'a\n' } }),
    get('/alias/'),
    get('/alias'),
    get('/alias-file'),
    get('/alias-filex'),
    get('/re-alias/a.txt'),
    get('/re-alias/missing'),
    get('/listing/', { expect: { status: 200, body: /Index of \/listing\// } }),
    get('/listing-json/'),
    get('/listing-xml/'),
    get('/listing-json/static/', { name: 'GET /listing-json/static/ (subdirectory)' }),
  ],
);
