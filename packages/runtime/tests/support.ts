import { checkConfig, type LoadedConfig } from '@nxproxy/parser';
import { compile } from '../src/compile/index.js';
import type { RuntimeConfig } from '../src/compile/types.js';

/** Checks and compiles a config held in memory: no files, no sockets. */
export async function compileText(text: string, extra: Record<string, string> = {}): Promise<RuntimeConfig> {
  const files: Record<string, string> = { '/cfg/nginx.conf': text, ...extra };
  const result = await checkConfig({
    prefix: '/cfg/',
    confFile: 'nginx.conf',
    openFiles: false,
    fs: {
      read: (f) => files[f] ?? { errno: 2, message: 'No such file or directory' },
      glob: (p) => Object.keys(files).filter((f) => f.startsWith(p.replace(/\*.*$/, ''))).sort(),
    },
  });
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return compile(result.config as LoadedConfig, { root: true });
}
