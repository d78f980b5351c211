import { describe, expect, it } from 'vitest';
import { parseArgs, quickArgs } from '../src/main.js';

describe('quickArgs (the command line without commander)', () => {
  const words = ['-v', '-V', '-t', '-T', '-q', '--json', '--strict', '--directives', '-s', '-p', '-e', '-c', '-g'];
  const values = ['stop', '/tmp/x/', 'nginx.conf', 'daemon off;', 'stderr', '-t', '', 'a b'];
  // every command line of up to three flags (values after the value-taking ones)
  const lines: string[][] = [[]];
  for (let n = 0; n < 3; n++) {
    for (const l of [...lines]) {
      if (l.length !== n) continue;
      for (const w of words) {
        if (['-s', '-p', '-e', '-c', '-g'].includes(w)) for (const v of values) lines.push([...l, w, v]);
        else lines.push([...l, w]);
      }
    }
  }
  lines.push(['-t', '-t'], ['-tq'], ['-pfoo'], ['-p'], ['-x'], ['extra'], ['-t', 'extra'], ['--help'], ['-h'], ['-?']);

  it('agrees with commander wherever it answers, and answers the usual lines', async () => {
    let answered = 0;
    for (const argv of lines) {
      const quick = quickArgs(argv);
      if (quick === undefined) continue;
      answered++;
      expect(quick, argv.join(' ')).toEqual(await parseArgs(argv));
    }
    expect(answered).toBeGreaterThan(1000);
    expect(quickArgs(['-t', '-p', '/tmp/x/', '-c', 'nginx.conf', '-e', '/tmp/x/err.log'])).toMatchObject({
      test: true,
      prefix: '/tmp/x/',
      conf: 'nginx.conf',
      errorLog: '/tmp/x/err.log',
    });
  });

  it('leaves help, errors and unusual spellings to commander', () => {
    for (const argv of [['-t', '-t'], ['-tq'], ['-pfoo'], ['-p'], ['-x'], ['extra'], ['--help'], ['-h'], ['-?'], ['-c', '-t'], ['-c', '']]) {
      expect(quickArgs(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
