/** The rewrite module: return, rewrite flags, if conditions, break, redirects. */
import { differential, get } from './harness.js';

differential(
  'return: codes, texts, URLs, relative redirects',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ret.test;
        location = /text { return 200 "plain text $uri\\n"; }
        location = /code-only { return 404; }
        location = /code-text { return 403 "forbidden text\\n"; }
        location = /url { return http://example.com/target?x=1; }
        location = /301-abs { return 301 https://example.com/$request_uri; }
        location = /301-rel { return 301 /relative/path; }
        location = /302-rel-args { return 302 /rel?from=$uri; }
        location = /307 { return 307 /r307; }
        location = /308-text { return 308 "not-a-url"; }
        location = /204 { return 204; }
        location = /444 { return 444; }
        location = /499 { return 499 "four-nine-nine\\n"; }
        location = /200-empty { return 200; }
        location = /200-empty-text { return 200 ""; }
        location = /599 { return 599 "odd code\\n"; }
        location = /301-scheme-rel { return 301 //elsewhere.test/x; }
        location /dir/ { return 301 $uri/sub; }
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        server_name canonical.test;
        absolute_redirect off;
        location = /rel { return 302 /relative/off; }
        location = /dirlike { return 301 /dirlike/; }
    }
    server {
        listen 127.0.0.1:{{PORT3}};
        server_name canonical.test;
        server_name_in_redirect on;
        port_in_redirect off;
        location = /rel { return 302 /relative/snir; }
    }
  `,
  [
    get('/text', { expect: { status: 200, body: 'plain text /text\n', headers: { 'content-type': 'text/plain' } } }),
    get('/code-only', { expect: { status: 404 } }),
    get('/code-text', { expect: { status: 403, body: 'forbidden text\n' } }),
    get('/url', { expect: { status: 302, headers: { location: 'http://example.com/target?x=1' } } }),
    get('/301-abs?q=1'),
    get('/301-rel', { host: 'ret.test', expect: { status: 301, headers: { location: 'http://ret.test:{{PORT}}/relative/path' } } }),
    get('/301-rel', { version: 'HTTP/1.0', host: null, close: false }),
    get('/301-rel', { host: 'Other.Test:9999' }),
    get('/302-rel-args'),
    get('/307'),
    get('/308-text'),
    get('/204', { expect: { status: 204, body: '' } }),
    get('/444', { expect: { silent: true } }),
    get('/499'),
    get('/200-empty'),
    get('/200-empty-text'),
    get('/599'),
    get('/301-scheme-rel'),
    get('/dir/a'),
    get('/text', { name: 'HEAD /text', method: 'HEAD' }),
    get('/rel', { port: 'PORT2', host: 'whatever.test', expect: { status: 302, headers: { location: '/relative/off' } } }),
    get('/dirlike', { port: 'PORT2' }),
    get('/rel', { port: 'PORT3', host: 'whatever.test' }),
  ],
);

differential(
  'rewrite flags, captures, args and loops',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name rw.test;
        rewrite ^/server-level/(.*)$ /show/server/$1 last;
        location /show/ { return 200 "show uri=$uri args=$args\\n"; }
        location /last/ {
            rewrite ^/last/(\\w+)/(\\w+)$ /show/$2/$1 last;
            return 200 "last not matched\\n";
        }
        location /break/ {
            rewrite ^/break/(.*)$ /broken/$1 break;
            return 200 "after break uri=$uri\\n";
        }
        location /redirect/ { rewrite ^/redirect/(.*)$ /show/$1 redirect; }
        location /permanent/ { rewrite ^/permanent/(.*)$ /show/$1 permanent; }
        location /abs/ { rewrite ^ http://example.com$uri; }
        location /args-append/ { rewrite ^/args-append/(.*)$ /show/$1?added=1 last; }
        location /args-replace/ { rewrite ^/args-append/(.*)$ /never; rewrite ^/args-replace/(.*)$ /show/$1?added=1? last; }
        location /named/ { rewrite "^/named/(?<first>[a-z]+)/(?<second>[0-9]{2})$" /show/$second-$first last; }
        location /chain/ {
            rewrite ^/chain/a$ /chain/b;
            rewrite ^/chain/b$ /chain/c;
            return 200 "chain uri=$uri\\n";
        }
        location /loop/ { rewrite ^/loop/(.*)$ /loop/$1 last; }
        location /encode/ { rewrite ^/encode/(.*)$ /show/$1 last; }
        location /redirect-encoded/ { rewrite ^/redirect-encoded/(.*)$ /show/$1 redirect; }
        location /noflag-then-return/ {
            rewrite ^ /show/from-noflag;
            return 200 "reached return uri=$uri\\n";
        }
    }
  `,
  [
    get('/server-level/x?y=1', { expect: { body: 'show uri=/show/server/x args=y=1\n' } }),
    get('/last/a/b', { expect: { body: 'show uri=/show/b/a args=\n' } }),
    get('/last/a'),
    get('/break/x'),
    get('/redirect/x?y=1', { host: 'rw.test', expect: { status: 302, headers: { location: 'http://rw.test:{{PORT}}/show/x?y=1' } } }),
    get('/permanent/x', { expect: { status: 301 } }),
    get('/abs/q?z=9'),
    get('/args-append/x?orig=1'),
    get('/args-replace/x?orig=1'),
    get('/named/abc/12'),
    get('/named/abc/123'),
    get('/chain/a'),
    get('/loop/x', { expect: { status: 500 } }),
    get('/encode/a%20b%2Fc'),
    get('/redirect-encoded/a%20b?q=%20'),
    get('/noflag-then-return/'),
  ],
);

differential(
  'if conditions and break',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        root html;
        location /eq {
            if ($arg_a = "yes") { return 200 "a is yes\\n"; }
            if ($arg_a != "yes") { return 200 "a is not yes: [$arg_a]\\n"; }
        }
        location /re {
            if ($http_user_agent ~ ^curl/(\\d+)) { return 200 "curl major=$1\\n"; }
            if ($http_user_agent ~* ^MOZILLA) { return 200 "mozilla (ci)\\n"; }
            if ($http_user_agent !~ x) { return 200 "no x in ua\\n"; }
            if ($http_user_agent !~* X) { return 200 "unreachable\\n"; }
            return 200 "fallthrough\\n";
        }
        location /empty {
            if ($arg_v) { return 200 "v is truthy [$arg_v]\\n"; }
            return 200 "v is empty or 0\\n";
        }
        location /break-stops-if/ {
            rewrite ^/break-stops-if(/.*)$ $1 break;
            if (-f $request_filename) { return 200 "never: break ends the rewrite module\\n"; }
        }
        location /files/ {
            alias html/;
            if (-f $request_filename) { return 200 "is file $request_filename\\n"; }
            if (-d $request_filename) { return 200 "is dir $request_filename\\n"; }
            if (!-e $request_filename) { return 200 "does not exist $request_filename\\n"; }
            return 200 "exists but not file/dir\\n";
        }
        location /not-file/ {
            if (!-f $document_root/file.txt) { return 500; }
            if (!-d $document_root/dir) { return 500; }
            if (-e $document_root/missing) { return 500; }
            return 200 "negations ok\\n";
        }
        location /brk {
            set $v "before";
            if ($arg_b) {
                set $v "inside-if";
                break;
                set $v "after-break";
            }
            return 200 "v=$v\\n";
        }
        location /if-inherits {
            if ($arg_x) { add_header X-If "in-if"; }
            return 200 "if-inherits\\n";
        }
    }
  `,
  [
    get('/eq?a=yes', { expect: { body: 'a is yes\n' } }),
    get('/eq?a=no'),
    get('/eq'),
    get('/re', { headers: [['User-Agent', 'curl/8.1']], expect: { body: 'curl major=8\n' } }),
    get('/re', { headers: [['User-Agent', 'mozilla/5.0']] }),
    get('/re', { headers: [['User-Agent', 'other']] }),
    get('/re', { headers: [['User-Agent', 'xxx']] }),
    get('/empty?v=0'),
    get('/empty?v=00'),
    get('/empty?v=abc'),
    get('/files/file.txt', { expect: { body: 'is file {{PREFIX}}/html/file.txt\n' } }),
    get('/files/dir'),
    get('/files/dir/'),
    get('/files/missing'),
    get('/break-stops-if/file.txt', { expect: { status: 200, body: 'plain file\n' } }),
    get('/not-file/'),
    get('/brk'),
    get('/brk?b=1'),
    get('/if-inherits?x=1'),
  ],
);

differential(
  'server-level return, if and rewrite; changing $args',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name old.test;
        return 301 http://new.test$request_uri;
        location / { return 200 "never\\n"; }
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name canon.test www.canon.test;
        if ($host != canon.test) { return 301 http://canon.test$request_uri; }
        if ($request_method = DELETE) { return 405; }
        rewrite ^/old-path/(.*)$ /new-path/$1 permanent;
        location / { return 200 "canon uri=$uri args=$args\\n"; }
        location /set-args/ {
            set $args "replaced=1&$args";
            proxy_pass http://127.0.0.1:{{BACKEND}};
        }
        location /clear-args/ {
            set $args "";
            return 200 "args=[$args] is_args=[$is_args] request_uri=$request_uri\\n";
        }
        location /rewrite-then-proxy/ {
            rewrite ^/rewrite-then-proxy/(.*)$ /internal/$1 last;
        }
        location /internal/ {
            internal;
            proxy_pass http://127.0.0.1:{{BACKEND}}/backend/;
        }
    }
  `,
  [
    get('/some/path?x=1', { host: 'old.test', expect: { status: 301, headers: { location: 'http://new.test/some/path?x=1' } } }),
    get('/p?q=1', { host: 'www.canon.test' }),
    get('/p?q=1', { host: 'canon.test', expect: { status: 200 } }),
    get('/p', { host: 'canon.test', method: 'DELETE' }),
    get('/old-path/a?b=c', { host: 'canon.test' }),
    get('/set-args/x?orig=1', { host: 'canon.test', expect: { body: /"target":"\/set-args\/x\?replaced=1&orig=1"/ } }),
    get('/clear-args/?a=1', { host: 'canon.test' }),
    get('/rewrite-then-proxy/a?b=1', { host: 'canon.test' }),
    get('/internal/a', { host: 'canon.test', expect: { status: 404 } }),
  ],
);
