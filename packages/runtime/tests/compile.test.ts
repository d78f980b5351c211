import { describe, expect, it } from 'vitest';
import { Found, findLocation } from '../src/http/locate.js';
import type { Req } from '../src/http/request.js';
import { compileText } from './support.js';

const fakeReq = () => ({ captures: null, namedCaptures: null }) as unknown as Req;

describe('compile: servers by socket', () => {
  it('groups servers by listen address and picks the default server', async () => {
    const t = await compileText(`events {}
http {
  server { listen 127.0.0.1:8080; server_name a.test; }
  server { listen 127.0.0.1:8080 default_server; server_name b.test *.b.test www.c.*; }
  server { listen 127.0.0.1:8081; server_name ~^(?<sub>.+)\\.d\\.test$; }
}`);
    expect(t.sockets.map((s) => s.key)).toEqual(['127.0.0.1:8080', '127.0.0.1:8081']);
    const s = t.sockets[0];
    expect(s.defaultServer.name).toBe('b.test');
    expect([...s.exact.keys()]).toEqual(['a.test', 'b.test']);
    expect(s.headWildcards.map((w) => w[0])).toEqual(['.b.test']);
    expect(s.tailWildcards.map((w) => w[0])).toEqual(['www.c.']);
    expect(t.sockets[1].regexes).toHaveLength(1);
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('a server without listen gets *:80 as root', async () => {
    const t = await compileText('events {} http { server { server_name x; } }');
    expect(t.sockets[0].key).toBe('0.0.0.0:80');
  });
});

describe('compile: locations and matching', () => {
  const conf = `events {}
http { server { listen 127.0.0.1:8080;
  location = /exact { return 200 e; }
  location / { return 200 root; }
  location /a/ { return 200 a; location ~ \\.png$ { return 200 nested-png; } location /a/b/ { return 200 ab; } }
  location ^~ /c/ { return 200 c; location ~ \\.png$ { return 200 c-png; } }
  location ~ \\.png$ { return 200 png; }
  location ~* \\.JPG$ { return 200 jpg; }
  location /api/ { proxy_pass http://127.0.0.1:9; }
  location @named { return 200 named; }
} }`;
  const cases: [string, string | number][] = [
    ['/exact', '/exact'],
    ['/exact/x', '/'],
    ['/x.png', '~\\.png$'],
    ['/a/b/x.png', '~\\.png$'],
    ['/a/b/x', '/a/b/'],
    ['/c/x.png', '~\\.png$'],
    ['/c/x', '/c/'],
    ['/y.jpg', '~*\\.JPG$'],
    ['/api', 301],
    ['/api/x', '/api/'],
  ];
  for (const [uri, want] of cases) {
    it(`${uri} -> ${want}`, async () => {
      const t = await compileText(conf);
      const m = findLocation(t.sockets[0].defaultServer.tree, uri, fakeReq());
      if (typeof want === 'number') {
        expect(m.found).toBe(Found.Redirect);
        expect(m.loc!.name).toBe('/api/');
      } else {
        const loc = m.loc!;
        expect(loc.modifier === '~' || loc.modifier === '~*' ? loc.modifier + loc.name : loc.name).toBe(want);
      }
    });
  }

  it('keeps named locations out of normal matching', async () => {
    const t = await compileText(conf);
    const tree = t.sockets[0].defaultServer.tree;
    expect(tree.named.has('@named')).toBe(true);
    expect(findLocation(tree, '/@named', fakeReq()).loc!.name).toBe('/');
  });
});

describe('compile: proxy settings', () => {
  it('merges proxy_set_header all-or-nothing and keeps the defaults', async () => {
    const t = await compileText(`events {}
http { proxy_set_header X-A a;
  upstream up { server 127.0.0.1:9001; server 127.0.0.1:9002 backup; }
  server { listen 127.0.0.1:8080;
    location /one { proxy_pass http://up; }
    location /two { proxy_set_header X-B b; proxy_pass http://127.0.0.1:9003/v1/; }
  } }`);
    const tree = t.sockets[0].defaultServer.tree;
    const one = tree.prefixes.find((l) => l.name === '/one')!.proxy!;
    const two = tree.prefixes.find((l) => l.name === '/two')!.proxy!;
    expect(one.headers.map((h) => h.name)).toEqual(['X-A', 'Host', 'Connection', 'Content-Length', 'Transfer-Encoding']);
    expect(two.headers.map((h) => h.name)).toEqual(['X-B', 'Host', 'Connection', 'Content-Length', 'Transfer-Encoding']);
    expect(one.group!.name).toBe('up');
    expect(one.group!.backups).toHaveLength(1);
    expect(one.hostHeader).toBe('up');
    expect(two.uriPart).toBe('/v1/');
    expect(two.hostHeader).toBe('127.0.0.1:9003');
    expect(one.hide.has('server')).toBe(true);
    expect(one.httpVersion).toBe('1.0');
  });
});
