import { DIRECTIVES } from './directives/index.js';
import type { DirectiveSpec } from './directives/types.js';

const STATUS_TEXT: Record<DirectiveSpec['status'], string> = {
  implemented: 'implemented',
  'no-effect': 'accepted, no effect',
  unimplemented: 'not implemented',
};

/**
 * The compatibility report, from the directive table alone: every directive nginx 1.22 (Debian
 * build) knows, where it may appear, and what nxproxy does with it.
 */
export function compatibilityReport(): string {
  const counts = { implemented: 0, 'no-effect': 0, unimplemented: 0 };
  for (const d of DIRECTIVES) counts[d.status]++;
  const lines = [
    '# Directive compatibility',
    '',
    'Generated from the directive table (`packages/parser/src/directives/table.ts`) by',
    '`nxproxy --directives`; do not edit by hand.',
    '',
    `${DIRECTIVES.length} directives of nginx 1.22.1 as Debian builds it: ${counts.implemented} implemented,`,
    `${counts['no-effect']} accepted with no effect, ${counts.unimplemented} not implemented. \`nxproxy -t\` warns about`,
    'each directive that is not implemented, with its file and line; those marked **guards access**',
    'make nxproxy refuse to serve the configuration (fail closed).',
    '',
    '| directive | module | contexts | arguments | nxproxy |',
    '|---|---|---|---|---|',
  ];
  for (const d of DIRECTIVES) {
    const status = STATUS_TEXT[d.status] + (d.guardsAccess ? ', **guards access**' : '');
    lines.push(`| \`${d.name}\` | ${d.module.replace(/^ngx_/, '')} | ${d.contexts.join(', ')} | ${d.args}${d.block ? ' + block' : ''} | ${status} |`);
  }
  return lines.join('\n') + '\n';
}
