/**
 * Checks of the differential harness itself (no nginx needed): a harness that parses or
 * normalises wrongly could make two different servers look equal.
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import { EchoBackend, sendRaw, freePort, internals, type Vars } from './harness.js';

const { parseResponses, parseRequest, normaliser, observe, normaliseExpires, buildRequest } = internals;

describe('differential harness', () => {
  it('rejects when nothing listens (two refused connections never compare equal)', async () => {
    const port = await freePort();
    await expect(sendRaw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).rejects.toThrow(/cannot connect/);
  });

  it('parses Content-Length, chunked, close-delimited, HEAD and 1xx responses', () => {
    const b = (s: string): Buffer => Buffer.from(s, 'latin1');
    let r = parseResponses(b('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), false, false);
    expect(r.messages.map((m) => [m.status, m.body.toString(), m.complete])).toEqual([
      [200, 'abc', true],
      [404, '', true],
    ]);
    r = parseResponses(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n'), false, false);
    expect(r.messages[0]!.body.toString()).toBe('abcde');
    expect(r.messages[0]!.complete).toBe(true);
    r = parseResponses(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab'), false, false);
    expect(r.messages[0]!.complete).toBe(false);
    r = parseResponses(b('HTTP/1.0 200 OK\r\n\r\nuntil close'), false, false);
    expect(r.messages[0]!.complete).toBe(false);
    r = parseResponses(b('HTTP/1.0 200 OK\r\n\r\nuntil close'), false, true);
    expect([r.messages[0]!.complete, r.messages[0]!.body.toString()]).toEqual([true, 'until close']);
    r = parseResponses(b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'), true, false);
    expect(r.messages.map((m) => m.status)).toEqual([200, 204]);
    r = parseResponses(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'), false, false);
    expect(r.messages.map((m) => m.status)).toEqual([100, 200]);
    r = parseResponses(b('<html>HTTP/0.9 body'), false, true);
    expect([r.messages.length, r.garbage]).toEqual([0, '<html>HTTP/0.9 body']);
  });

  it('parses requests as the echo backend sees them', () => {
    const bytes = Buffer.from('POST /a b HTTP/1.1\r\nHost: h\r\nX-A:  v \r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nNEXT', 'latin1');
    const p = parseRequest(bytes)!;
    expect(p.req).toEqual({ method: 'POST', target: '/a b', version: 'HTTP/1.1', headers: [['Host', 'h'], ['X-A', 'v'], ['Transfer-Encoding', 'chunked']], body: 'hi' });
    expect(bytes.subarray(p.end).toString()).toBe('NEXT'); // left for the next request
    expect(parseRequest(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc'))).toBeNull();
    expect(parseRequest(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc'), true)!.req.body).toBe('abc');
  });

  it('normalises ports and prefix only where they appear whole', () => {
    const vars: Vars = { PORT: '41000', PORT2: '41001', PORT3: '41002', BACKEND: '41003', BACKEND2: '41004', DEAD: '41005', PREFIX: '/tmp/nxdiff-o-abc' };
    const n = normaliser(vars);
    expect(n('http://h:41000/x 410001 41003 /tmp/nxdiff-o-abc/html 12345')).toBe('http://h:{{PORT}}/x 410001 {{BACKEND}} {{PREFIX}}/html 12345');
  });

  it('keeps what differs: status line, header order, body, closing, backend view', () => {
    const vars: Vars = { PORT: '41000', PORT2: '41001', PORT3: '41002', BACKEND: '41003', BACKEND2: '41004', DEAD: '41005', PREFIX: '/p' };
    const res = (raw: string, closed = true) => {
      const bytes = Buffer.from(raw, 'latin1');
      const { messages, garbage } = parseResponses(bytes, false, closed);
      return { messages, garbage, closed, reset: false, timedOut: false, raw: bytes };
    };
    const base = observe(res('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: x\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nx'), [], vars);
    const sameButServerAndDate = observe(res('HTTP/1.1 200 OK\r\nServer: other\r\nDate: y\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nx'), [], vars);
    expect(sameButServerAndDate).toEqual(base);
    const variants = [
      'HTTP/1.1 200 Fine\r\nServer: nginx/1.22.1\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nx',
      'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nB: 2\r\nA: 1\r\nContent-Length: 1\r\n\r\nx',
      'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\ny',
      'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nA: 1\r\nB: 2\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
    ];
    for (const v of variants) expect(observe(res(v), [], vars)).not.toEqual(base);
    expect(observe(res('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nx', false), [], vars)).not.toEqual(base);
    const seen = { backend: 'B1', seq: 1, method: 'GET', target: '/', version: 'HTTP/1.0', headers: [['Host', 'a']] as [string, string][], body: '' };
    expect(observe(res('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nx'), [seen], vars)).not.toEqual(base);
  });

  it('normalises Expires relative to Date, keeping fixed dates', () => {
    const date = 'Mon, 01 Jan 2024 00:00:00 GMT';
    expect(normaliseExpires('Mon, 01 Jan 2024 01:00:00 GMT', date)).toBe('{{DATE}}+3600s');
    expect(normaliseExpires('Thu, 01 Jan 1970 00:00:01 GMT', date)).toBe('Thu, 01 Jan 1970 00:00:01 GMT');
    expect(normaliseExpires('Thu, 31 Dec 2037 23:55:55 GMT', date)).toBe('Thu, 31 Dec 2037 23:55:55 GMT');
  });

  it('builds requests with Host, Content-Length and Connection: close by default', () => {
    expect(buildRequest({ method: 'POST', target: '/x', body: 'ab' })).toBe('POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab');
    expect(buildRequest({ target: '/', version: 'HTTP/1.0', host: null, close: false })).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(buildRequest({ target: '/', version: '' })).toBe('GET /\r\n');
  });

  describe('echo backend', () => {
    const backend = new EchoBackend('B1');
    afterAll(() => backend.close());

    it('echoes requests, honours keep-alive and the special targets', async () => {
      const port = await backend.start();
      const two = await sendRaw(port, 'GET /one HTTP/1.1\r\nHost: h\r\n\r\nPOST /__status/404 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi', {
        responses: 2,
      });
      expect(two.messages.map((m) => m.status)).toEqual([200, 404]);
      const echoed = JSON.parse(two.messages[1]!.body.toString('latin1'));
      expect(echoed).toMatchObject({ backend: 'B1', seq: 2, method: 'POST', target: '/__status/404', body: 'hi' });
      expect(two.closed).toBe(true);
      const redirect = await sendRaw(port, 'GET /__redirect HTTP/1.0\r\n\r\n');
      expect(redirect.messages[0]!.headers).toContainEqual(['Location', `http://127.0.0.1:${port}/redirected/`]);
      const chunked = await sendRaw(port, 'GET /__chunked HTTP/1.0\r\n\r\n');
      expect(JSON.parse(chunked.messages[0]!.body.toString()).target).toBe('/__chunked');
      const eof = await sendRaw(port, 'GET /__eof HTTP/1.1\r\nHost: h\r\n\r\n');
      expect([eof.closed, eof.messages[0]!.complete]).toEqual([true, true]);
      const closed = await sendRaw(port, 'GET /__close HTTP/1.0\r\n\r\n');
      expect([closed.messages.length, closed.closed]).toEqual([0, true]);
      const t0 = Date.now();
      await sendRaw(port, 'GET /__slow/200 HTTP/1.0\r\n\r\n');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(backend.log.map((r) => r.target)).toEqual(['/one', '/__status/404', '/__redirect', '/__chunked', '/__eof', '/__close', '/__slow/200']);
    });

    it('answers a request whose body never completes', async () => {
      const sock = net.connect(backend.port, '127.0.0.1');
      const got = await new Promise<string>((resolve) => {
        let data = '';
        sock.on('data', (d) => (data += d.toString()));
        sock.on('close', () => resolve(data));
        sock.write('POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc');
      });
      expect(got).toMatch(/"body":"abc","truncated":true/);
    });
  });
});
