/** Listen sockets, default_server and virtual server selection by Host. */
import { differential, get, raw } from './harness.js';

differential(
  'several servers per socket, default_server, second socket',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name a.example.com;
        return 200 "a $server_name $host $server_port\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}} default_server;
        server_name b.example.com;
        return 200 "b $server_name $host $server_port\\n";
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        server_name a.example.com;
        return 200 "a2 $server_name $host $server_port\\n";
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        server_name c.example.com;
        return 200 "c2 $server_name $host $server_port\\n";
    }
  `,
  [
    get('/', { host: 'a.example.com', expect: { status: 200, body: 'a a.example.com a.example.com {{PORT}}\n' } }),
    get('/', { host: 'b.example.com' }),
    get('/', { host: 'unknown.example.com', expect: { body: 'b b.example.com unknown.example.com {{PORT}}\n' } }),
    get('/', { host: 'A.Example.COM' }),
    get('/', { host: 'a.example.com.' }),
    get('/', { host: 'a.example.com:{{PORT}}' }),
    get('/', { host: 'a.example.com:1234' }),
    get('/', { host: 'c.example.com' }),
    get('/', { host: 'c.example.com', port: 'PORT2' }),
    get('/', { host: 'unknown.example.com', port: 'PORT2', expect: { body: /^a2 / } }),
    get('/', { host: '127.0.0.1:{{PORT}}' }),
  ],
);

differential(
  'server_name forms: exact, wildcards, .domain, regex captures, "" and _',
  `
    server {
        listen 127.0.0.1:{{PORT}};
        server_name _;
        return 200 "underscore host=$host\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name www.example.com;
        return 200 "exact\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name *.example.com;
        return 200 "leading-wildcard $server_name\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name www.example.*;
        return 200 "trailing-wildcard $server_name\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name .example.org;
        return 200 "dot-domain $server_name\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ~^(?<user>[a-z]+)\\.users\\.test$;
        return 200 "named-capture user=$user\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name "~^(\\d+)-(\\d+)\\.num\\.test$";
        return 200 "positional $1 $2\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ~^www\\.;
        return 200 "regex-www $server_name\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name "";
        return 200 "empty-name host=[$host]\\n";
    }
  `,
  [
    get('/', { host: 'www.example.com', expect: { body: 'exact\n' } }),
    get('/', { host: 'mail.example.com', expect: { body: /^leading-wildcard/ } }),
    get('/', { host: 'a.b.example.com' }),
    get('/', { host: 'example.com' }),
    get('/', { host: 'www.example.net', expect: { body: /^trailing-wildcard/ } }),
    get('/', { host: 'www.example.co.uk' }),
    get('/', { host: 'example.org', expect: { body: /^dot-domain/ } }),
    get('/', { host: 'x.y.example.org' }),
    get('/', { host: 'alice.users.test', expect: { body: 'named-capture user=alice\n' } }),
    get('/', { host: 'ALICE.users.test' }),
    get('/', { host: '12-34.num.test', expect: { body: 'positional 12 34\n' } }),
    get('/', { host: 'www.other.test' }),
    get('/', { host: 'nomatch.test', expect: { body: 'underscore host=nomatch.test\n' } }),
    get('/', { version: 'HTTP/1.0', host: null, close: false }),
    get('/', { host: '' }),
  ],
);

differential(
  'Host header validation, absolute-form targets, HTTP/1.0 without Host',
  `
    server {
        listen 127.0.0.1:{{PORT}} default_server;
        server_name default.test;
        return 200 "default host=[$host] http_host=[$http_host] uri=$uri\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name abs.test;
        return 200 "abs host=[$host] http_host=[$http_host] uri=$uri request_uri=$request_uri\\n";
    }
  `,
  [
    get('/', { version: 'HTTP/1.0', host: null, close: false, expect: { status: 200, body: 'default host=[default.test] http_host=[] uri=/\n' } }),
    get('/', { host: null, expect: { status: 400 } }),
    get('/', { host: 'bad/host', expect: { status: 400 } }),
    get('/', { host: 'bad host' }),
    get('/', { host: '..' }),
    get('/', { host: 'a..b' }),
    get('/', { host: '.abs.test.' }),
    get('/', { host: 'abs.test:' }),
    get('/', { host: 'abs.test:abc' }),
    get('/', { host: '[::1]:80' }),
    get('/', { host: '[::1' }),
    get('/', { host: 'ABS.TEST' }),
    raw('duplicate Host header', 'GET / HTTP/1.1\r\nHost: abs.test\r\nHost: abs.test\r\nConnection: close\r\n\r\n', { expect: { status: 400 } }),
    get('http://abs.test/path?q=1', { name: 'absolute-form overrides Host', host: 'default.test', expect: { body: /^abs host=\[abs.test\]/ } }),
    get('http://ABS.test:{{PORT}}/p', { name: 'absolute-form with port, mixed case', host: 'default.test' }),
    get('https://abs.test/x', { name: 'absolute-form https scheme', host: 'default.test' }),
    get('ftp://abs.test/x', { name: 'absolute-form other scheme', host: 'default.test' }),
    get('http://abs.test', { name: 'absolute-form without path', host: 'default.test' }),
    get('http://abs.test/a/../b', { name: 'absolute-form dot segments', host: 'default.test' }),
  ],
);

differential(
  'wildcard *:PORT and specific address on the same port',
  `
    server {
        listen *:{{PORT}};
        server_name wild.test;
        return 200 "wildcard-listener $server_name $server_addr:$server_port\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name specific.test;
        return 200 "specific-listener $server_name $server_addr:$server_port\\n";
    }
  `,
  [
    get('/', { host: 'wild.test', expect: { body: /^specific-listener specific.test 127.0.0.1:/ } }),
    get('/', { host: 'specific.test' }),
    get('/', { host: 'other.test' }),
  ],
);

differential(
  'server_name precedence: exact > longest leading wildcard > longest trailing wildcard > first regex',
  `
    server {
        listen 127.0.0.1:{{PORT}} default_server;
        return 200 "default\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ~^www\\.a\\.example\\.com$ ~^(?<first>[^.]+)\\.;
        return 200 "regex-1 first=[$first]\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name ~^www\\.;
        return 200 "regex-2\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name www.a.*;
        return 200 "trailing www.a.*\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name www.*;
        return 200 "trailing www.*\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name *.example.com;
        return 200 "leading *.example.com\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name *.a.example.com;
        return 200 "leading *.a.example.com\\n";
    }
    server {
        listen 127.0.0.1:{{PORT}};
        server_name exact.a.example.com;
        return 200 "exact\\n";
    }
  `,
  [
    get('/', { host: 'exact.a.example.com', expect: { body: 'exact\n' } }),
    get('/', { host: 'www.a.example.com', expect: { body: 'leading *.a.example.com\n' } }),
    get('/', { host: 'www.b.example.com' }),
    get('/', { host: 'www.a.example.org', expect: { body: 'trailing www.a.*\n' } }),
    get('/', { host: 'www.b.example.org' }),
    get('/', { host: 'foo.example.org', expect: { body: 'regex-1 first=[foo]\n' } }),
    get('/', { host: 'localhost', expect: { body: 'default\n' } }),
  ],
);
