import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

/** File access used while loading a config; replaceable in tests. */
export interface ConfigFs {
  /** File contents as latin1 (one char per byte), or an errno-style error. */
  read(file: string): string | { errno: number; message: string };
  /** nginx's glob(3) expansion: sorted, "*" not matching dotfiles, no match = empty list. */
  glob(pattern: string): string[];
}

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  EISDIR: [21, 'Is a directory'],
  ENOTDIR: [20, 'Not a directory'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  EMFILE: [24, 'Too many open files'],
};

/** Maps a Node error to nginx's "(N: strerror)" pair. */
export function errnoOf(e: unknown): { errno: number; message: string } {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const known = ERRNO[code];
  if (known) return { errno: known[0], message: known[1] };
  return { errno: Math.abs((e as NodeJS.ErrnoException).errno ?? 5), message: code || 'I/O error' };
}

/*
 * tinyglobby (with fdir and picomatch) costs ~25 ms to load, at every start of nxproxy, while
 * only configs with a glob include need it: it is loaded (its CommonJS build, synchronously)
 * the first time a glob is expanded.
 */
let globSync: typeof import('tinyglobby').globSync | undefined;
function loadGlob(): typeof import('tinyglobby').globSync {
  return (globSync ??= (createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby')).globSync);
}

export const nodeFs: ConfigFs = {
  read(file) {
    try {
      return fs.readFileSync(file, 'latin1');
    } catch (e) {
      return errnoOf(e);
    }
  },
  glob(pattern) {
    const dir = path.dirname(pattern);
    const found = loadGlob()(pattern, { absolute: true, dot: false, onlyFiles: false, expandDirectories: false, cwd: dir });
    return found.map((f) => path.resolve(f)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  },
};

/** nginx treats an include path as a glob when it holds any of these. */
export function isGlob(p: string): boolean {
  return /[*?[]/.test(p);
}
