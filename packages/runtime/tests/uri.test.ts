import { describe, expect, it } from 'vitest';
import { escapeUri, normalizePath, validateHost } from '../src/http/uri.js';

describe('URI normalization (ngx_http_parse_complex_uri)', () => {
  it.each([
    ['/vars/%7Efoo/./bar/..//baz%3F', '/vars/~foo/baz?'],
    ['/a/%2F/b', '/a/b'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['//x', '/x'],
  ])('%s -> %s', (raw, want) => expect(normalizePath(raw, true)).toBe(want));

  it('rejects escaping the root, %00 and bad escapes', () => {
    expect(normalizePath('/../etc', true)).toBeNull();
    expect(normalizePath('/a/%00', true)).toBeNull();
    expect(normalizePath('/a%zz', true)).toBeNull();
  });

  it('keeps double slashes with merge_slashes off', () => {
    expect(normalizePath('//a//b', false)).toBe('//a//b');
  });

  it('escapes like ngx_escape_uri', () => {
    expect(escapeUri('/a b?c#d%')).toBe('/a%20b%3Fc%23d%25');
  });

  it('validates hosts as ngx_http_validate_host', () => {
    expect(validateHost('WWW.Example.COM.:8080')).toBe('www.example.com');
    expect(validateHost('a..b')).toBeNull();
    expect(validateHost('a/b')).toBeNull();
    expect(validateHost('[::1]:80')).toBe('[::1]');
  });
});
