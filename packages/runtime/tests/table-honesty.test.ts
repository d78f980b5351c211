/**
 * The directive table says which directives nxproxy implements; this keeps it honest. Every
 * directive marked 'implemented' must be read somewhere in the runtime or the CLI (its name as
 * a string literal), except those whose whole effect is at `-t` time (the checker in
 * packages/parser implements them: hash sizes nginx validates, the events block).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECTIVES } from '@nxproxy/parser';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CHECK_TIME_ONLY = new Set([
  'events',
  'variables_hash_max_size',
  'variables_hash_bucket_size',
  'server_names_hash_max_size',
  'server_names_hash_bucket_size',
  'types_hash_max_size',
  'types_hash_bucket_size',
  'map_hash_max_size',
  'map_hash_bucket_size',
  'proxy_headers_hash_max_size',
  'proxy_headers_hash_bucket_size',
]);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('directive table against the runtime', () => {
  it("names every 'implemented' directive somewhere in the runtime or the CLI", () => {
    const text = [...sources(path.join(ROOT, 'packages/runtime/src')), ...sources(path.join(ROOT, 'packages/cli/src'))]
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    const unread = DIRECTIVES.filter((d) => d.status === 'implemented' && !CHECK_TIME_ONLY.has(d.name))
      .map((d) => d.name)
      .filter((n) => !text.includes(`'${n}'`) && !text.includes(`"${n}"`));
    expect(unread).toEqual([]);
  });
});
