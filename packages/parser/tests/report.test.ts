import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compatibilityReport } from '../src/report.js';

const doc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/DIRECTIVES.md');

describe('compatibility report', () => {
  it('docs/DIRECTIVES.md is the report the table generates (regenerate with nxproxy --directives)', () => {
    expect(fs.readFileSync(doc, 'utf8')).toBe(compatibilityReport());
  });
  it('marks unimplemented access guards', () => {
    expect(compatibilityReport()).toMatch(/\| `auth_basic` \| http_auth_basic_module \| .* \| not implemented, \*\*guards access\*\* \|/);
  });
});
