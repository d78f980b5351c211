/** Variables, map and set. */
import { differential, get, raw } from './harness.js';

differential(
  'request variables in return',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name vars.test alias.test;
        location / {
            return 200 "host=$host
server_name=$server_name
server_port=$server_port
server_addr=$server_addr
remote_addr=$remote_addr
scheme=$scheme
request_method=$request_method
request=$request
server_protocol=$server_protocol
arg_x=$arg_x
arg_X_Y=$arg_X_Y
http_x_y=$http_x_y
http_user_agent=$http_user_agent
cookie_a=$cookie_a
content_length=$content_length
content_type=$content_type
is_args=$is_args
query_string=$query_string
https=$https
http_cookie=$http_cookie
request_body_file=$request_body_file
";
        }
    }
  `,
  [
    get('/p?x=1&x=2&X_Y=3&xx=4', {
      host: 'vars.test',
      headers: [['X-Y', 'dash'], ['User-Agent', 'ua/1'], ['Cookie', 'b=0; a=first; a=second']],
      expect: { body: /^host=vars.test\nserver_name=vars.test\nserver_port={{PORT}}\n.*arg_x=1\narg_X_Y=3\nhttp_x_y=dash\n.*cookie_a=first\n/s },
    }),
    get('/p?a=1', { host: 'ALIAS.test:8080', headers: [['x_y', 'underscore-header']] }),
    get('/p', { method: 'POST', host: 'other.test', headers: [['Content-Type', 'text/plain; charset=utf-8']], body: 'hello' }),
    get('/p', { version: 'HTTP/1.0', host: null, close: false, headers: [['X-Y', 'one'], ['X-Y', 'two'], ['Cookie', 'a=1'], ['Cookie', 'a=2']] }),
    get('/p?X=upper&x=lower'),
    get('/p?x', { name: 'GET /p?x (argument without =)' }),
    get('/p?x=%41%20b'),
    raw('header name with odd characters and folding-free spacing', 'GET /p HTTP/1.1\r\nHost: vars.test\r\nX-Y:    spaced value   \r\nConnection: close\r\n\r\n'),
    raw('lowercase method', 'get /p HTTP/1.1\r\nHost: vars.test\r\nConnection: close\r\n\r\n'),
    raw('unknown method', 'PURGE /p HTTP/1.1\r\nHost: vars.test\r\nConnection: close\r\n\r\n'),
    raw('absolute-form: $request keeps the line as sent', 'GET http://vars.test/p?x=1 HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n'),
  ],
);

differential(
  'map (default, exact, regex with captures, hostnames) and set',
  `
    map $uri $mapped {
        default          "dflt";
        /exact           "exact-hit";
        ~^/re/(?<part>\\w+)$  "regex-hit:$part";
        ~*^/CI/          "ci-hit";
    }
    map $http_host $by_host {
        hostnames;
        default          "no-host-match";
        example.com      "exact-host";
        *.example.com    "wild-host";
        www.example.*    "tail-wild-host";
    }
    map $arg_v $from_arg {
        ""        "empty";
        1         "one";
        default   $arg_v-passthrough;
    }
    server {
        listen 127.0.0.1:{{PORT}};
        location / {
            set $combined "$mapped/$by_host";
            set $n 1;
            return 200 "mapped=$mapped by_host=$by_host from_arg=$from_arg combined=$combined n=$n\\n";
        }
        location /set-unset {
            return 200 "never-set=[$never_set]\\n";
        }
        location /setter { set $never_set "x"; return 200 "set\\n"; }
    }
  `,
  [
    get('/exact', { host: 'example.com', expect: { body: 'mapped=exact-hit by_host=exact-host from_arg=empty combined=exact-hit/exact-host n=1\n' } }),
    get('/re/abc', { host: 'a.example.com' }),
    get('/re/abc/def', { host: 'www.example.org' }),
    get('/ci/x', { host: 'EXAMPLE.COM' }),
    get('/x?v=1', { host: 'example.com:8080' }),
    get('/x?v=zz', { host: 'other.test' }),
    get('/set-unset'),
  ],
);
