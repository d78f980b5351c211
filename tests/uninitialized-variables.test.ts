/**
 * uninitialized_variable_warn, side by side with nginx: a variable that some `set` assigns, read
 * in a request where no `set` gave it a value, is empty and logged at warn level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from './support/net.js';
import { preamble, Sides, sidesFor } from './support/side-by-side.js';

const sides = sidesFor('the uninitialized variable tests');
const running = new Sides();

const conf = (port: number, prefix: string) => `${preamble(prefix, 'warn')}
  server {
    listen 127.0.0.1:${port};
    location /set { set $maybe "yes"; return 200 "v=[$maybe]\\n"; }
    location /unset { add_header X-Never "[$never]"; return 200 "v=[$maybe]\\n"; }
    location /quiet { uninitialized_variable_warn off; return 200 "v=[$maybe]\\n"; }
    location /other { if ($arg_never) { set $never "x"; } return 200 "n=[$never] a=[$arg_zz]\\n"; }
  }
}
`;

/** The warn lines of a side's error log, without time, pid and connection number. */
function warnings(side: string): string[] {
  return running
    .errorLog(side)
    .split('\n')
    .filter((l) => l.includes('[warn]'))
    .map((l) => l.replace(/^.*\[warn\] \d+#\d+: \*\d+ /, ''));
}

describe('uninitialized_variable_warn', () => {
  beforeAll(async () => {
    await running.start(sides, 'uninit', conf);
  });
  afterAll(() => running.kill());

  it('reads empty, logs each read where nothing set it, and keeps quiet when switched off', async () => {
    const got: Record<string, { bodies: string[]; warnings: string[] }> = {};
    for (const side of sides) {
      const port = running.ports[side];
      const bodies: string[] = [];
      for (const p of ['/set', '/unset', '/quiet', '/other']) bodies.push((await httpGet(port, p)).body);
      await new Promise((r) => setTimeout(r, 100));
      got[side] = { bodies, warnings: warnings(side) };
    }
    const nx = got.nxproxy;
    expect(nx.bodies).toEqual(['v=[yes]\n', 'v=[]\n', 'v=[]\n', 'n=[] a=[]\n']);
    expect(nx.warnings).toContain('using uninitialized "maybe" variable, client: 127.0.0.1, server: , request: "GET /unset HTTP/1.1", host: "127.0.0.1:' + running.ports.nxproxy + '"');
    expect(nx.warnings.some((w) => w.includes('"never"') && w.includes('GET /unset'))).toBe(true);
    expect(nx.warnings.some((w) => w.includes('GET /quiet') || w.includes('GET /set'))).toBe(false);
    if (got.nginx) {
      expect(nx.bodies).toEqual(got.nginx.bodies);
      const norm = (ws: string[], side: string) => ws.map((w) => w.replace(`127.0.0.1:${running.ports[side]}`, 'HOST'));
      expect(norm(nx.warnings, 'nxproxy')).toEqual(norm(got.nginx.warnings, 'nginx'));
    }
  });
});
