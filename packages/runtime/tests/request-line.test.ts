import { describe, expect, it } from 'vitest';
import { HeadFilter, type HeadLimits, type RequestHead } from '../src/http/request-line.js';
import { parseComplexUri } from '../src/http/uri.js';

const LIMITS: HeadLimits = { clientBuffer: 1024, largeNum: 4, largeSize: 1024, ignoreInvalid: true, underscores: false, mergeSlashes: true };

/**
 * Feeds `chunks` to a fresh filter; returns the heads and a transcript of what the sink heard:
 * `<METHOD target>` per head, body bytes as they came (`|` between pieces), `<end>`, `<error>`.
 */
function run(chunks: string[], limits = LIMITS): { heads: RequestHead[]; out: string } {
  const heads: RequestHead[] = [];
  let out = '';
  const f = new HeadFilter(
    () => limits,
    () => limits,
    {
      head: (h) => {
        heads.push(h);
        out += `<${h.method} ${h.target}>`;
      },
      body: (c) => (out += c.toString('latin1') + '|'),
      bodyEnd: () => (out += '<end>'),
      bodyError: () => (out += '<error>'),
    },
  );
  for (const c of chunks) f.feed(Buffer.from(c, 'latin1'));
  return { heads, out };
}

const one = (raw: string, limits = LIMITS): RequestHead => {
  const { heads } = run([raw], limits);
  expect(heads).toHaveLength(1);
  return heads[0];
};

describe('request head as ngx_http_parse_request_line / parse_header_line read it', () => {
  it('keeps what nginx keeps and frames the body', () => {
    const { heads, out } = run(['POST /caf\xe9?a=1 HTTP/1.1\r\nHost: x\r\nX_U: 1\r\nX-A:  v  \r\nContent-Length: 3\r\n\r\nabc']);
    expect(heads[0]).toMatchObject({ status: 0, method: 'POST', target: '/caf\xe9?a=1', version: '1.1', headers: ['Host', 'x', 'X-A', 'v', 'Content-Length', '3'], ignored: ['X_U: 1'] });
    expect(out).toBe('<POST /caf\xe9?a=1>abc|<end>');
  });

  it.each([
    ['GET / HTTP/2.0\r\n', 505, 'client sent invalid version'],
    ['GET / HTTP/01.1\r\n', 400, 'client sent invalid request'],
    ['GARBAGE\r\n\r\n', 400, 'client sent invalid method'],
    ['get / HTTP/1.1\r\n', 400, 'client sent invalid method'],
    ['GET /a\x01b HTTP/1.1\r\n', 400, 'client sent invalid request'],
    ['POST /\r\n', 400, 'client sent invalid method in HTTP/0.9 request'],
    ['GET /../x HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'client sent invalid request'],
    ['GET http://a..b/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'client sent invalid host in request line'],
    ['GET / HTTP/1.1\r\n\r\n', 400, 'client sent HTTP/1.1 request without "Host" header'],
    ['GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400, 'client sent duplicate host header: "Host: y", previous value: "Host: x"'],
    ['GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n', 400, 'client sent invalid header line: "\\x20..."'],
    ['GET / HTTP/1.1\r\nHost: x\r\nX-A : v\r\n\r\n', 400, 'client sent invalid header line: "X-A\\x20..."'],
    ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400, 'client sent invalid header line: "X-A: a\\x00..."'],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', 400, 'client sent duplicate header line: "Content-Length: 1", previous value: "Content-Length: 1"'],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'client sent invalid "Content-Length" header'],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time'],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'client sent HTTP/1.0 request with "Transfer-Encoding" header'],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501, 'client sent unknown "Transfer-Encoding": "gzip"'],
    ['TRACE / HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'client sent TRACE method'],
    ['CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'client sent CONNECT method'],
  ])('%j -> %i', (raw, status, log) => {
    const h = one(raw);
    expect(h.status).toBe(status);
    expect(h.log).toBe(log);
    expect(h.close).toBe(true);
  });

  it('accepts what nginx accepts', () => {
    expect(one('GET / HTTP/1.1\nHost: x\nConnection: close\n\n')).toMatchObject({ status: 0, close: true });
    expect(one('\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')).toMatchObject({ status: 0, requestLine: 'GET / HTTP/1.1', length: 27 });
    expect(one('GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n').headers).toEqual(['Host', 'x', 'NoColon', '']);
    expect(one('FOO_-X / HTTP/1.2\r\nHost: x\r\n\r\n')).toMatchObject({ status: 0, method: 'FOO_-X', version: '1.2', close: false });
    expect(one('GET /\r\n')).toMatchObject({ status: 0, http09: true, requestLine: 'GET /' });
    expect(one('GET http://Example.COM:80/p?q HTTP/1.1\r\nHost: y\r\n\r\n')).toMatchObject({ host: 'example.com', target: 'http://Example.COM:80/p?q' });
    expect(one('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')).toMatchObject({ close: false, keepAlive: true });
    expect(one('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n').close).toBe(true);
  });

  it('simulates the header buffers: 414 and 494 (large_client_header_buffers 4 1k)', () => {
    const line = (n: number) => `GET /${'u'.repeat(n)} HTTP/1.1\r\n`;
    // the request line, CRLF included, must fit one 1k buffer
    expect(one(line(1024 - 16) + 'Host: x\r\n\r\n').status).toBe(0);
    expect(one(line(1024 - 15) + 'Host: x\r\n\r\n')).toMatchObject({ status: 414, log: 'client sent too long URI' });
    const hdr = (n: number) => `GET / HTTP/1.1\r\nHost: x\r\nX-L: ${'v'.repeat(n)}\r\n\r\n`;
    expect(one(hdr(1024 - 7)).status).toBe(0);
    expect(one(hdr(1024 - 6))).toMatchObject({ status: 494, action: 'headers' });
    const many = 'GET / HTTP/1.1\r\nHost: x\r\n' + Array.from({ length: 6 }, (_, i) => `X-H${i}: ${'h'.repeat(900)}\r\n`).join('') + '\r\n';
    expect(one(many).status).toBe(494);
  });

  it('decides on a head only once it is complete, whatever the chunking', () => {
    const raw = 'POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \nhello\n0\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n';
    const whole = run([raw]);
    const bytes = run(raw.split(''));
    expect(bytes.heads.map((h) => h.target)).toEqual(['/p', '/n']);
    expect(bytes.out).toBe('<POST /p>h|e|l|l|o|<end><GET /n><end>');
    // nginx's lenient chunk syntax ("5 \n") decodes all the same
    expect(whole.out).toBe('<POST /p>hello|<end><GET /n><end>');
    expect(whole.heads[1].pipelined).toBe(true);
  });

  it('ignores everything after a request that closes the connection', () => {
    const { heads, out } = run(['GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(heads).toHaveLength(1);
    expect(out).toBe('<GET /a><end>');
  });

  it('tells of a malformed chunked body, whether it came with the head or after it', () => {
    const head = 'POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const later = run([head, '3\r\nabc\r\nzz\r\n']);
    expect(later.out).toBe('<POST /p>abc|<error>');
    expect(later.heads[0].status).toBe(0);
    // with the head: the request is served (what nginx answers depends on when it reads the
    // body, see InMsg.broken); its body fails before any of it is passed on
    const withHead = run([head + '3\r\nabc\r\nzz\r\n']);
    expect(withHead.heads[0]).toMatchObject({ status: 0, close: true });
    expect(withHead.out).toBe('<POST /p><error>');
  });

  it('frames the body an error head declared (nginx drops it before closing), and reads nothing after', () => {
    const { heads, out } = run(['CONNECT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab', 'cGET /n HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatchObject({ status: 405, close: true });
    expect(out).toBe('<CONNECT />ab|c|<end>');
    // an error before Content-Length was read: nothing is framed
    expect(run(['GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc']).out).toBe('<GET /><end>');
  });

  it('splits a Content-Length body across reads and finds the next head after it', () => {
    const { heads, out } = run(['POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab', 'cdeGET /b HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(heads.map((h) => h.target)).toEqual(['/a', '/b']);
    expect(out).toBe('<POST /a>ab|cde|<end><GET /b><end>');
  });
});

describe('parseComplexUri', () => {
  it.each([
    ['/a#frag', '/a', ''],
    ['/a?x#f', '/a', 'x'],
    ['/a#f?x', '/a', ''],
    ['/a%23b', '/a#b', ''],
    ['/a%3Fb?c', '/a?b', 'c'],
    ['?x', '/', 'x'],
    ['/a/..?q', '/', 'q'],
  ])('%s -> %s ? %s', (raw, uri, args) => expect(parseComplexUri(raw, true)).toEqual({ uri, args }));
});
